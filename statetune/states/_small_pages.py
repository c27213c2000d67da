"""Large temporary arrays on ordinary pages: no transparent-huge-page advice from numpy.

numpy advises the kernel to back every array of 4 MiB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Where the kernel's ``defrag`` setting is ``madvise`` (a common
default), each first touch of such an array may compact memory synchronously to find a 2 MiB
page. The topics finalize makes ``V x V`` arrays that are written once and dropped (the
training sums of a fold, the normalized pair matrix, products with it); on huge pages their
compaction made a user's first study in a process the slowest: measured on the docstring
corpus of ``experiments/topics_quality.py`` (V = 2,000, 5 folds, k = 5..50, both held-out
metrics), medians of 5 fresh processes, 1.26 s with every array on huge pages against 1.02 s
with these on ordinary pages (and 0.93 s against 1.0-1.3 s for later calls). The pass's own
fold sums stay on huge pages: they are zeros until a word pair is added, and a touch is one
fault per 2 MiB (on ordinary pages, a read then a write of each 4 KiB page: 1.24 s).

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
    turns the advice off, the last to close restores the setting found by the first.
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
