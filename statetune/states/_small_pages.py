"""Large arrays on ordinary pages: no transparent-huge-page advice from numpy.

numpy advises the kernel to back every array of 4 MiB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Where the kernel's ``defrag`` setting is ``madvise`` (a common
default, and this machine's), each first touch of such an array may compact memory
synchronously to find a 2 MiB page. The topics finalize and score make ``V x V`` arrays
written once (the normalized pair matrix and products with it, dropped after the trial; the
training sums of a fold, kept for the fold's later trials); on huge pages their compaction
made a user's first study in a process the slowest. In one-off comparisons on the docstring
corpus of ``experiments/topics_quality.py`` (V = 2,000, 5 folds, k = 5..50, both held-out
metrics; 5 fresh processes per variant; the variants are not kept in the repository), a
first study took 1.02 s (median) with these arrays on ordinary pages and the pass's fold sums
on numpy's default pages, against 1.26 s with every array on huge pages and 1.24 s with the
fold sums on ordinary pages too (there a first ``+=`` reads, then writes, each 4 KiB page:
two faults a page). ``experiments/topics_quality.py`` times the result as it is.

numpy exposes the switch only as a private function (its documented form is the
``NUMPY_MADVISE_HUGEPAGE`` environment variable, read at import, which would change every
array of the user's process). :func:`small_pages` turns it off only while its blocks run,
and restores the previous setting; without the function (a numpy that moved it) it does
nothing, and the arrays are as numpy makes them.

Examples
--------
>>> import numpy as np
>>> with small_pages():
...     a = np.zeros((1024, 1024))
>>> float(a.sum())
0.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["small_pages"]


def _switch() -> Callable[[bool], bool] | None:
    """numpy's private ``_set_madvise_hugepage`` (it sets the advice and returns the previous
    setting), wherever this numpy keeps it; None if it has none."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            found = getattr(__import__(module, fromlist=["_"]), "_set_madvise_hugepage", None)
        except ImportError:  # pragma: no cover - depends on the numpy installed
            continue
        if callable(found):
            return found
    return None  # pragma: no cover - a numpy without the switch


_SET = _switch()
_LOCK = threading.Lock()  # guards the count of open blocks and the setting saved by the first


class _Open:
    blocks = 0  # blocks open in any thread
    before = True  # numpy's setting when the first of them opened


@contextmanager
def small_pages() -> Iterator[None]:
    """Arrays allocated inside the block get no huge-page advice from numpy.

    Blocks may overlap across threads (trials finalized in parallel): the first to open
    turns the advice off, the last to close restores the setting found by the first. The
    switch is numpy's, process-wide: arrays other threads make while a block is open get no
    advice either (they are as fast, on ordinary pages, after their first touch).
    """
    if _SET is None:  # pragma: no cover - a numpy without the switch
        yield
        return
    with _LOCK:
        if _Open.blocks == 0:
            _Open.before = bool(_SET(False))
        _Open.blocks += 1
    try:
        yield
    finally:
        with _LOCK:
            _Open.blocks -= 1
            if _Open.blocks == 0:
                _SET(_Open.before)
