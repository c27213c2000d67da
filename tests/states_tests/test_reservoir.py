"""Reservoir: uniform, chunk-invariant, exactly mergeable with positions, round trip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st_

import statetune as st
from statetune.states import Reservoir, state_from_arrays
from statetune.testing import assert_round_trip, make_classification_data
from tests.fold_rule import reference_folds


def filled(X, y, cuts, size=50, seed=0):
    r = Reservoir(X.shape[1], True, size, seed)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    for a, b in itertools.pairwise(bounds):
        r.update(X[a:b], y[a:b], positions=np.arange(a, b))
    return r


@given(
    n=st_.integers(1, 400),
    cuts=st_.lists(st_.integers(1, 399), max_size=5),
    seed=st_.integers(0, 50),
)
def test_chunk_invariance_and_merge_law(n, cuts, seed):
    X, y, _ = make_classification_data(n, 3, seed=seed)
    whole = filled(X, y, [], seed=seed)
    assert filled(X, y, cuts, seed=seed).allclose(whole)
    bounds = [0, *sorted(c for c in cuts if 0 < c < n), n]
    parts = []  # disjoint row sets, each with its rows' global positions
    for a, b in itertools.pairwise(bounds):
        r = Reservoir(3, True, 50, seed)
        r.update(X[a:b], y[a:b], positions=np.arange(a, b))
        parts.append(r)
    merged = parts[-1].copy()
    for p in reversed(parts[:-1]):
        merged.merge(p)
    assert merged.allclose(whole)
    assert len(whole.y) == min(n, 50) and whole.n_rows == n


def test_sample_is_uniform():
    n, size = 100_000, 5_000
    r = Reservoir(1, False, size, seed=3)
    r.update(np.arange(n, dtype=float)[:, None], positions=np.arange(n))
    counts, _ = np.histogram(r.positions, bins=10, range=(0, n))
    assert np.all(np.abs(counts - size / 10) < 4 * np.sqrt(size / 10))  # ~4 sigma
    assert len(np.unique(r.positions)) == size


def test_round_trip_with_string_labels_and_pass_positions():
    X, y, w = make_classification_data(3_000, 4, seed=1, weighted=True)
    states = st.compute_states(st.from_arrays(X, y, w), ["lda"], folds=3)
    for k in range(3):
        r = states.held_out("reservoir", k)
        assert_round_trip(r)
        header, arrays = r.to_arrays()
        assert arrays["y"].dtype.kind == "U"
        assert state_from_arrays(header, arrays).allclose(r)
        # the sample holds exactly the fold's rows (all of them: 1,000 < 20,000)
        fold = reference_folds(states.folds.n_folds, 0, 0, 3_000)
        np.testing.assert_array_equal(np.sort(r.positions), np.flatnonzero(fold == k))
        np.testing.assert_array_equal(r.y, y[r.positions])
        np.testing.assert_array_equal(r.w, w[r.positions])


def test_bad_weights_refused():
    r = Reservoir(2, True, 10)
    with pytest.raises(ValueError, match="Sample weights must be finite and >= 0"):
        r.update(np.ones((3, 2)), np.array([0, 1, 0]), np.array([1.0, -1.0, 1.0]))
    assert r.n_rows == 0
