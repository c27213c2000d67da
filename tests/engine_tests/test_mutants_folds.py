"""Tests written for surviving mutants of engine/folds.py and engine/time_folds.py (issue 17,
``make mutation``): the persisted description of a fold scheme, and the pass's per-fold
segments, checked against the independent fold rule in ``tests/fold_rule.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from statetune.engine.folds import FoldConfig
from statetune.engine.time_folds import TimeFolds, folds_from_json
from tests.fold_rule import reference_folds


@pytest.mark.parametrize(
    "folds",
    [
        FoldConfig(),
        FoldConfig(3, 7, 100),
        FoldConfig(1, 2, 5),
        TimeFolds(),
        TimeFolds(2, 9, 8),
    ],
)
def test_fold_scheme_survives_its_json(folds):
    """The cache and the study identity store ``to_json()``; it must name every field and
    read back as the same scheme."""
    data = folds.to_json()
    assert data["n_folds"] == folds.n_folds and data["seed"] == folds.seed
    assert isinstance(data["scheme"], str) and data["scheme"]
    back = folds_from_json(data)
    assert type(back) is type(folds) and back == folds


@pytest.mark.parametrize(("k", "seed", "group_rows"), [(1, 0, 4), (2, 3, 5), (3, 1, 4), (5, 0, 3)])
@pytest.mark.parametrize(("start", "n"), [(0, 1), (0, 37), (11, 50), (59, 23), (7, 0)])
def test_segments_hand_each_fold_exactly_its_rows(k, seed, group_rows, start, n):
    f = FoldConfig(k, seed, group_rows)
    ref = reference_folds(k, seed, start, n, group_rows)
    got = np.full(n, -1)
    for fold, sl in f.segments(start, n):
        assert 0 <= fold < k
        rows = np.arange(n)[sl]
        assert (got[rows] == -1).all(), "a row handed to two folds"
        got[rows] = fold
    assert got.tolist() == ref.tolist()


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (np.int64(2 * 10**15), pd.Timestamp(2 * 10**15)),  # 1970-01-24 in nanoseconds
        (np.int64(-(2 * 10**15)), pd.Timestamp(-(2 * 10**15))),
        (np.int64(10**15), 10**15),  # the boundary itself stays a number
        (np.int64(42), 42),
        (np.float64(3e15), 3e15),  # floats are never nanoseconds
    ],
)
def test_time_value_reads_int64_beyond_1e15_as_nanoseconds(t, expected):
    from statetune.engine.time_folds import time_value

    got = time_value(t)
    assert type(got) is type(expected) and got == expected
