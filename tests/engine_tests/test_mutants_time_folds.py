"""Tests for the survivors of the 20-mutants-per-module run over ``engine/folds.py`` and
``engine/time_folds.py`` (issue 17, ``make mutation``). References: the independent fold rule
in ``tests/fold_rule.py`` and the unit rule of ``TimeFolds.units`` rewritten here from its
docstring."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.engine.folds import FoldConfig
from statetune.engine.time_folds import TimeFolds
from tests.fold_rule import reference_folds


@pytest.mark.parametrize(("k", "seed", "group_rows"), [(2, 3, 5), (3, 1, 4), (5, 0, 3), (4, 7, 1)])
@pytest.mark.parametrize(("start", "n"), [(0, 1), (0, 37), (11, 50), (59, 23), (3, 2)])
def test_segments_yield_one_nonempty_slice_per_fold_and_group_holding_rows(
    k, seed, group_rows, start, n
):
    """Each ``(fold, slice)`` of ``segments`` is a work item for the pass: one per (group, fold)
    that holds rows of the chunk by the reference rule, never an empty one."""
    f = FoldConfig(k, seed, group_rows)
    ref = reference_folds(k, seed, start, n, group_rows)
    groups = (np.arange(start, start + n)) // (k * group_rows)
    expected = sorted(set(zip(groups.tolist(), ref.tolist(), strict=True)))
    got = []
    for fold, sl in f.segments(start, n):
        rows = np.arange(n)[sl]
        assert rows.size > 0, f"fold {fold} got an empty slice {sl}"
        assert set(groups[rows].tolist()) == {groups[rows[0]]}
        got.append((int(groups[rows[0]]), fold))
    assert sorted(got) == expected


def reference_units(counts):
    """From the docstring: a unit is a block holding values plus the empty blocks after it
    (empty blocks before the first values join the first unit); a last unit with fewer than
    half the values of the one before joins it."""
    units = []
    for i, c in enumerate(counts):
        if c > 0:
            if units:
                units[-1][1] = i
            units.append([0 if not units else i, len(counts)])
    out = [tuple(u) for u in units]
    if len(out) >= 2:
        (a, b), (u, v) = out[-2], out[-1]
        if 2 * sum(counts[u:v]) < sum(counts[a:b]):
            out[-2:] = [(a, v)]
    return out


@pytest.mark.parametrize(
    "counts",
    [[10, 3], [10, 0, 4], [0, 10, 0, 5], [10, 5], [4, 4], [1, 0, 0], [0, 0], [9, 2, 7, 3]],
)
def test_time_units_follow_the_rule(counts):
    """Two units are the smallest case of the join rule (``[10, 3]``: 3 < 10 / 2 joins)."""
    assert TimeFolds(1, 0, 2).units(counts) == reference_units(counts)


def test_time_units_follow_the_rule_on_random_counts():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 9))
        counts = (rng.integers(0, 12, size=n) * (rng.random(n) < 0.7)).tolist()
        assert TimeFolds().units(counts) == reference_units(counts), counts


def test_one_time_fold_over_two_blocks_is_valid():
    """``folds >= 1`` and ``max_blocks >= 2`` (with ``folds < max_blocks``) are the documented
    bounds: one fold over a two-block grid holds out the last unit."""
    f = TimeFolds(n_folds=1, seed=0, max_blocks=2)
    assert f.windows([6, 5]) == [(1, 2)]
    assert f.windows([6, 0, 5]) == [(2, 3)]
    with pytest.raises(ValueError, match="folds \\+ 1 <= time blocks"):
        f.windows([6, 2])  # 2 < 6 / 2: the last block joins the first, one unit is left


@pytest.mark.parametrize("bad", [8.0, "8", True, None])
def test_time_folds_refuse_a_max_blocks_that_is_not_an_integer(bad):
    with pytest.raises(TypeError, match="max_blocks"):
        TimeFolds(2, 0, bad)


def test_time_folds_refuse_too_few_blocks_naming_the_bound():
    with pytest.raises(ValueError, match="`max_blocks >= 2`"):
        TimeFolds(1, 0, 1)


@pytest.mark.parametrize("bad", [0, -1])
def test_time_folds_refuse_fewer_than_one_fold(bad):
    with pytest.raises(ValueError, match=r"`folds >= 1` must hold"):
        TimeFolds(bad)


def test_fold_config_refuses_groups_of_no_rows():
    with pytest.raises(ValueError, match=r"`group_rows >= 1` must hold"):
        FoldConfig(5, 0, 0)
    with pytest.raises(TypeError, match="`group_rows` must be an integer"):
        FoldConfig(5, 0, 2.5)  # type: ignore[arg-type]
