"""Fold assignment: deterministic, balanced, stable when rows are appended, seed-dependent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statetune.engine import FoldConfig
from tests.fold_rule import reference_folds


@given(
    k=st.integers(1, 10),
    start=st.integers(0, 10**7),
    n=st.integers(0, 3000),
    seed=st.integers(0, 99),
)
def test_segments_cover_rows_once_with_their_fold(k, start, n, seed):
    f = FoldConfig(k, seed, group_rows=64)
    fold = np.full(n, -1)
    for kk, sl in f.segments(start, n):
        assert (fold[sl] == -1).all()
        fold[sl] = kk
    np.testing.assert_array_equal(fold, f.assign(start, n))


@given(k=st.integers(2, 10), n=st.integers(1, 5000), seed=st.integers(0, 99))
def test_balanced_and_append_stable(k, n, seed):
    f = FoldConfig(k, seed)
    a = f.assign(0, n)
    counts = np.bincount(a, minlength=k)
    groups = -(-n // f.group_size)
    assert counts.max() - counts.min() <= groups  # within one row per group
    if n >= k:
        assert counts.min() >= 1
    longer = f.assign(0, n + 777)
    np.testing.assert_array_equal(longer[:n], a)


def test_seed_changes_assignment_and_sorted_data_spreads():
    a = FoldConfig(5, 0).assign(0, 100_000)
    b = FoldConfig(5, 1).assign(0, 100_000)
    assert (a != b).mean() > 0.5
    # every fold sees the whole range of a sorted column (no fold is a contiguous block)
    pos = np.arange(100_000)
    for k in range(5):
        assert pos[a == k].min() < 10 and pos[a == k].max() > 99_990


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_folds": 0}, "`folds >= 1` must hold, but got folds=0"),
        ({"n_folds": 2.5}, "`folds` must be an integer"),
        ({"n_folds": 3, "seed": -1}, "`seed >= 0` must hold"),
    ],
)
def test_bad_fold_config(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        FoldConfig(**kw)


@given(
    k=st.integers(1, 10),
    start=st.integers(0, 10**9),
    n=st.integers(0, 3000),
    seed=st.integers(0, 2**32),
    group_rows=st.sampled_from([1, 7, 64, 65536]),
)
def test_assign_follows_the_documented_rule(k, start, n, seed, group_rows):
    """FoldConfig.assign against an independent implementation of the rule (tests/fold_rule.py)."""
    f = FoldConfig(k, seed, group_rows=group_rows)
    np.testing.assert_array_equal(
        f.assign(start, n), reference_folds(k, seed, start, n, group_rows)
    )
