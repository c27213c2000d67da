"""Deterministic fold assignment from a row's global position.

Positions are cut into groups of ``K * group_rows`` consecutive rows (``group_rows=65536`` by
default). In group ``g`` the fold of position ``p`` is ``(p + h(seed, g)) mod K`` with ``h`` a
64-bit mix (splitmix64). Consequences:

- a row's fold depends only on its position, so appending rows never moves old rows;
- every K consecutive rows hold each fold once: folds are balanced to within one row per
  group, and sorted data spreads evenly over the folds (unlike blocks-per-fold schemes);
- within a group, fold k's rows are every K-th row, a strided *view*: the pass hands each
  fold its rows without gathering (copying) them, which measured as costly as the whole
  ``Z.T @ Z`` product (experiments/pass_throughput.py);
- caveat: data whose rows cycle with a period sharing a factor with K (e.g. two alternating
  sources and K = 2) puts one phase in each fold within a group; the rotation changes
  between groups, but shuffle such data first if that matters.

Example
-------
>>> from statetune.engine.folds import FoldConfig
>>> f = FoldConfig(n_folds=3, seed=0)
>>> sorted(f.assign(0, 3).tolist())
[0, 1, 2]
>>> bool((f.assign(0, 10)[4:] == f.assign(4, 6)).all())
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["FoldConfig", "splitmix64"]


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer on uint64 arrays (wrapping arithmetic)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an integer, but got {value!r}.")
    if value < low:
        raise ValueError(f"`{name} >= {low}` must hold, but got {name}={value}.")


@dataclass(frozen=True)
class FoldConfig:
    """``n_folds`` folds (1 means no cross-validation) drawn with ``seed``."""

    n_folds: int = 5
    seed: int = 0
    group_rows: int = 65536
    #: False: rows are assigned by position (see ``TimeFolds`` for series).
    is_time: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_int("folds", self.n_folds, 1)
        _check_int("seed", self.seed, 0)
        _check_int("group_rows", self.group_rows, 1)

    @property
    def group_size(self) -> int:
        return self.n_folds * self.group_rows

    def _rotation(self, groups: np.ndarray) -> np.ndarray:
        salt = splitmix64(np.array([self.seed], dtype=np.uint64))[0]
        return (splitmix64(groups.astype(np.uint64) ^ salt) % np.uint64(self.n_folds)).astype(
            np.int64
        )

    def assign(self, start: int, n: int) -> np.ndarray:
        """Fold of each row at global positions ``start .. start + n - 1``."""
        pos = np.arange(start, start + n, dtype=np.int64)
        if self.n_folds == 1:
            return np.zeros(n, dtype=np.intp)
        h = self._rotation(pos // self.group_size)
        return ((pos + h) % self.n_folds).astype(np.intp)

    def segments(self, start: int, n: int) -> Iterator[tuple[int, slice]]:
        """``(fold, slice)`` pairs covering rows ``0..n-1`` of a chunk at global ``start``.

        Each slice is a strided slice (step K) selecting one fold's rows of one group.
        """
        K, G = self.n_folds, self.group_size
        a = 0
        while a < n:
            g = (start + a) // G
            b = min(n, (g + 1) * G - start)
            h = int(self._rotation(np.array([g]))[0]) if K > 1 else 0
            for k in range(K):
                first = a + (k - h - (start + a)) % K
                if first < b:
                    yield k, slice(first, b, K)
            a = b

    def to_json(self) -> dict[str, Any]:
        return {
            "n_folds": int(self.n_folds),
            "seed": int(self.seed),
            "group_rows": int(self.group_rows),
            "scheme": "rotated-strided-groups-v1",
        }
