"""An independent reference of the fold rule (statetune/engine/folds.py, its docstring), for
tests that need each row's fold: written from the rule, in Python integers, sharing no code
with :class:`statetune.engine.FoldConfig`.

Rule: positions are cut into groups of ``K * group_rows`` consecutive rows; in group ``g`` the
fold of position ``p`` is ``(p + h) mod K`` with ``h = splitmix64(g XOR splitmix64(seed)) mod
K`` (splitmix64: the 64-bit finalizer with the golden-ratio increment).

Example
-------
>>> f = reference_folds(3, 0, 0, 6).tolist()
>>> sorted(f[:3]), f[3:] == f[:3]
([0, 1, 2], True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["reference_folds", "splitmix64_int"]

_MASK = (1 << 64) - 1


def splitmix64_int(x: int) -> int:
    """splitmix64 of one unsigned 64-bit integer, in Python integers."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def reference_folds(
    n_folds: int, seed: int, start: int, n: int, group_rows: int = 65536
) -> np.ndarray:
    """Fold of each row at global positions ``start .. start + n - 1``."""
    out = np.empty(n, dtype=np.int64)
    if n_folds == 1:
        out[:] = 0
        return out
    size = n_folds * group_rows
    salt = splitmix64_int(seed)
    p = start
    while p < start + n:
        g = p // size
        end = min(start + n, (g + 1) * size)
        h = splitmix64_int(g ^ salt) % n_folds
        out[p - start : end - start] = (np.arange(p, end) + h) % n_folds
        p = end
    return out
