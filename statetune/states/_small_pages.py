"""Large state arrays on ordinary pages: no transparent-huge-page advice from numpy.

numpy advises the kernel to back every array of 4 MiB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). Where the kernel's ``defrag`` setting is ``madvise`` (a common
default), the first touch of such an array then compacts memory synchronously to find 2 MiB
pages. For the co-occurrence state's dense ``V x V`` sums, touched once per fold on a fresh
process, that compaction was measured at 0.5-0.9 s of system time for 340 MB (a first topic
study 1.5-2x slower than the next); on ordinary pages it is 0.25 s, and the study's later
work on these arrays was not measurably slower.

numpy exposes the switch only as a private function (its documented form is the
``NUMPY_MADVISE_HUGEPAGE`` environment variable, read at import, which would change every
array of the user's process). :func:`small_pages` turns it off only while the state allocates,
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
_LOCK = threading.RLock()  # one thread at a time flips numpy's process-wide switch


@contextmanager
def small_pages() -> Iterator[None]:
    """Arrays allocated inside the block get no huge-page advice from numpy."""
    if _SET is None:  # pragma: no cover - a numpy without the switch
        yield
        return
    with _LOCK:
        before = _SET(False)
        try:
            yield
        finally:
            _SET(before)
