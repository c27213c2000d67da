"""The time grid: the finest power-of-two block width within ``max_blocks`` over a range of
times, anchored at 0; nesting and monotony (what makes blocks mergeable as data arrive).

References are exact rational arithmetic (``fractions.Fraction``) on the times.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st_

from statetune.engine.time_grid import TimeGrid

INT64 = 2**63 - 1


def floor_block(t: float | int, e: int) -> int:
    return math.floor(Fraction(t) / Fraction(2) ** e)


def count(lo: float | int, hi: float | int, e: int) -> int:
    return floor_block(hi, e) - floor_block(lo, e) + 1


def check(grid: TimeGrid, lo: float | int, hi: float | int, M: int) -> None:
    """Feasible, finest (integers: ``B >= 1``; floats: ``B >=`` the float spacing of the
    largest ``|t|``), and the indices and lines of exact arithmetic."""
    e = grid.exponent
    assert e is not None
    assert grid.n_blocks == count(lo, hi, e) <= M
    assert grid.first == floor_block(lo, e)
    ulp = math.frexp(math.ulp(max(abs(lo), abs(hi))))[1] - 1 if grid.kind == "f" else 0
    if e > ulp:
        assert count(lo, hi, e - 1) > M  # a finer grid has too many blocks
    ts = [lo, hi, lo + (hi - lo) / 3 if grid.kind == "f" else lo + (hi - lo) // 3]
    dtype = np.float64 if grid.kind == "f" else np.int64
    assert grid.index(np.array(ts, dtype=dtype)).tolist() == [
        floor_block(t, e) - grid.first for t in ts
    ]
    assert grid.line(0) <= lo < grid.line(1)
    assert grid.line(grid.n_blocks - 1) <= hi < grid.line(grid.n_blocks)


@settings(max_examples=300, deadline=None)
@given(
    lo=st_.integers(-(2**62), 2**62),
    width=st_.one_of(st_.integers(0, 5_000), st_.integers(0, 2**62)),
    M=st_.integers(2, 70),
)
def test_integer_grid_is_the_finest_power_of_two_within_max_blocks(lo, width, M):
    hi = min(lo + width, INT64)
    check(TimeGrid.cover(lo, hi, "i", M), lo, hi, M)


finite = st_.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(a=finite, b=st_.one_of(finite, st_.floats(-1e-3, 1e-3)), M=st_.integers(2, 70))
@example(a=-2.2250738585e-313, b=68719476736.0, M=2)  # scaled time underflows to -0.0
def test_float_grid_is_the_finest_power_of_two_within_max_blocks(a, b, M):
    lo, hi = sorted((a, a + b))
    check(TimeGrid.cover(lo, hi, "f", M), lo, hi, M)


@settings(max_examples=300, deadline=None)
@given(
    points=st_.lists(st_.integers(-(10**12), 10**12), min_size=2, max_size=6),
    M=st_.integers(2, 40),
    kind=st_.sampled_from(["i", "f"]),
)
def test_a_wider_range_gives_a_coarser_grid_whose_blocks_are_unions(points, M, kind):
    """Any sub-range's grid is at most as coarse, and each of its blocks lies inside the block
    ``moved_to`` names: blocks only ever merge as the range of times grows."""
    values = points if kind == "i" else [p / 7.0 for p in points]
    lo, hi = min(values), max(values)
    sub_lo, sub_hi = sorted(values[:2])
    full, sub = TimeGrid.cover(lo, hi, kind, M), TimeGrid.cover(sub_lo, sub_hi, kind, M)
    assert sub.exponent <= full.exponent
    moved = sub.moved_to(full)
    for t in (sub_lo, sub_hi):
        arr = np.array([t], dtype=np.int64 if kind == "i" else np.float64)
        assert moved[sub.index(arr)[0]] == full.index(arr)[0]


def test_grid_edges():
    g = TimeGrid.cover(-(2**63), INT64, "i", 2)  # the whole int64 range: 2 blocks of 2**63
    assert (g.exponent, g.n_blocks, g.first) == (63, 2, -1)
    assert g.index(np.array([-(2**63), -1, 0, INT64])).tolist() == [0, 0, 1, 1]
    assert TimeGrid.cover(7, 7, "i", 2).width == 1
    assert TimeGrid.cover(0.75, 0.75, "f", 2).width == math.ulp(0.75)  # one time: one block
    tiny = TimeGrid.cover(5e-324, 1e-323, "f", 2)  # subnormal neighbours
    assert tiny.n_blocks <= 2 and tiny.index(np.array([5e-324, 1e-323])).tolist()[0] == 0
    with pytest.raises(ValueError, match="`lo <= hi` must hold"):
        TimeGrid.cover(3, 2, "i", 4)
    with pytest.raises(ValueError, match="only merge into a coarser grid"):
        TimeGrid.cover(0, 1000, "i", 4).moved_to(TimeGrid.cover(0, 10, "i", 4))
