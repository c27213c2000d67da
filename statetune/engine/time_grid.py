"""``TimeGrid``: time blocks of width ``B = 2**e`` anchored at time 0, over a range of times.

Block ``a`` (an *absolute* index) holds the times ``t`` with ``floor(t / B) == a``, that is
``a * B <= t < (a + 1) * B``; the grid over ``[lo, hi]`` keeps the blocks ``floor(lo / B)``
through ``floor(hi / B)`` (``n_blocks`` of them, numbered ``0..n_blocks - 1`` from the first).
``B`` is the smallest power of two with ``n_blocks <= max_blocks``, with ``e >= 0`` for integer
times and, for float times, ``B`` no finer than the float spacing (``ulp``) of the largest
``|t|`` (so every grid line is a float). Integer times are int64 (datetimes arrive as
nanoseconds since the epoch); float times use the exact ``floor(ldexp(t, -e))``.

Two facts make grids mergeable as data arrive:

* *nesting*: ``floor(floor(t / 2**e) / 2**d) == floor(t / 2**(e + d))``, so the blocks of
  ``2**(e + d)`` are unions of ``2**d`` consecutive blocks of ``2**e`` (block ``a`` goes to
  ``a >> d``): a coarser grid is obtained by merging neighbours, never by splitting;
* *monotony*: the grid of a range is never finer than the grid of a sub-range. For a fixed
  ``e`` the number of blocks cannot shrink when the range grows, and it never grows when ``e``
  does (``floor(x / 2) - floor(w / 2) <= x - w`` for integers ``x >= w``), so the smallest
  feasible ``e`` of ``[lo', hi'] ⊇ [lo, hi]`` is at least that of ``[lo, hi]``; the floor of
  floats (the ulp of the largest ``|t|``) can only rise as the range grows, too.

Example
-------
>>> from statetune.engine.time_grid import TimeGrid
>>> g = TimeGrid.cover(3, 100, "i", max_blocks=8)
>>> g.width, g.first, g.n_blocks, g.index([3, 15, 16, 100]).tolist()
(16, 0, 7, [0, 0, 1, 6])
>>> g2 = TimeGrid.cover(3, 200, "i", max_blocks=8); g.moved_to(g2).tolist()
[0, 0, 1, 1, 2, 2, 3]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TimeGrid"]


def _floor_div_pow2(t: int | float, e: int) -> int:
    """``floor(t / 2**e)`` exactly (integers: arithmetic shift; floats: ``ldexp``)."""
    if isinstance(t, int):
        return t >> e if e >= 0 else t << -e
    a = math.floor(math.ldexp(t, -e))
    # a negative time whose scaled value underflows to -0.0 (|t| / 2**e below the smallest
    # subnormal) lies in block -1, not 0; any scaled value of magnitude >= 1 is exact
    return -1 if a == 0 and t < 0 else a


@dataclass(frozen=True)
class TimeGrid:
    """The blocks of width ``2**exponent`` covering ``[lo, hi]`` (see the module doc).

    ``kind`` is ``"i"`` (int64 times) or ``"f"`` (float64); ``first`` is the absolute index
    of block 0.
    """

    kind: str
    lo: int | float
    hi: int | float
    exponent: int
    first: int
    n_blocks: int

    @classmethod
    def cover(cls, lo: Any, hi: Any, kind: str, max_blocks: int) -> TimeGrid:
        """The finest power-of-two grid with at most ``max_blocks`` blocks over ``[lo, hi]``."""
        if kind not in ("i", "f"):
            raise ValueError(f"`kind` must be 'i' or 'f', but got {kind!r}.")
        lo_, hi_ = (int(lo), int(hi)) if kind == "i" else (float(lo), float(hi))
        if not lo_ <= hi_:
            raise ValueError(f"`lo <= hi` must hold, but got lo={lo!r}, hi={hi!r}.")
        if isinstance(lo_, int) and isinstance(hi_, int):
            e = max(0, (hi_ - lo_).bit_length() - max_blocks.bit_length())
        else:
            span_half = hi_ / 2 - lo_ / 2  # no overflow; only a starting point (checked below)
            # below the smallest feasible exponent (by a margin for rounding); 0 when lo and hi
            # are subnormal neighbours
            e = math.frexp(span_half)[1] - max_blocks.bit_length() - 2 if span_half else -1100
            # no finer than the float spacing at the largest |t|: grid lines are floats
            e = max(e, math.frexp(math.ulp(max(abs(lo_), abs(hi_))))[1] - 1)
        while True:
            first = _floor_div_pow2(lo_, e)
            n = _floor_div_pow2(hi_, e) - first + 1
            if n <= max_blocks:
                return cls(kind, lo_, hi_, e, first, n)
            e += 1

    @property
    def width(self) -> int | float:
        """``B = 2**exponent`` in the time unit."""
        return 2**self.exponent if self.exponent >= 0 else math.ldexp(1.0, self.exponent)

    def index(self, t: Any) -> np.ndarray:
        """Block (0-based, from the first) of each time in ``t`` (all within ``[lo, hi]``)."""
        t = np.asarray(t)
        e = self.exponent
        if self.kind == "i":
            a = np.right_shift(t.astype(np.int64, copy=False), e)
            return (a - np.int64(self.first)).astype(np.int64, copy=False)
        # exact: floor of an exactly scaled float, minus an integer-valued float near it
        tf = t.astype(np.float64, copy=False)
        a = np.floor(np.ldexp(tf, -e))
        a[(a == 0) & (tf < 0)] = -1.0  # underflow to -0.0: block -1 (see _floor_div_pow2)
        return (a - float(self.first)).astype(np.int64)

    def line(self, j: int) -> int | float:
        """The time where block ``j`` (0-based, ``0 <= j <= n_blocks``) begins; ``line(n_blocks)``
        is the end of the grid (exclusive)."""
        a = self.first + j
        if self.kind == "i":
            return a << self.exponent
        return math.ldexp(float(a), self.exponent)

    def moved_to(self, coarser: TimeGrid) -> np.ndarray:
        """Block of ``coarser`` (a grid of a range containing ours) holding each of our blocks:
        ``(first + j) >> d`` relative to ``coarser.first`` (the nesting property)."""
        if coarser.exponent < self.exponent:
            raise ValueError(
                f"Blocks only merge into a coarser grid, but got exponent {self.exponent} -> "
                f"{coarser.exponent}."
            )
        d = coarser.exponent - self.exponent
        return np.array(
            [((self.first + j) >> d) - coarser.first for j in range(self.n_blocks)], dtype=np.int64
        )
