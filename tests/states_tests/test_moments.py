"""Moments against numpy on all rows; merge/chunk laws with hypothesis; precision; errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statetune.states import Moments, NonFiniteError, state_from_arrays
from statetune.testing import (
    assert_chunk_invariant,
    assert_merge_laws,
    assert_round_trip,
    assert_subtract_inverts_merge,
    make_regression_data,
    state_digest,
)


def reference(X, y, w=None):
    Z = np.column_stack([X, y]) if y is not None else X
    w = np.ones(len(Z)) if w is None else w
    mean = (w @ Z) / w.sum()
    D = Z - mean
    return w.sum(), mean, (D * w[:, None]).T @ D


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("has_target", [True, False])
def test_matches_numpy_on_all_rows(weighted, has_target):
    X, y, w = make_regression_data(20_000, 7, seed=1, weighted=weighted)
    y = y if has_target else None
    s = Moments(7, has_target)
    s.update(X, y, w)
    W, mean, C = reference(X, y, w)
    assert s.n_rows == 20_000
    np.testing.assert_allclose(s.weight_sum, W, rtol=1e-12)
    np.testing.assert_allclose(s.mean, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.comoment, C, rtol=1e-10, atol=1e-9 * np.abs(C).max())


def test_large_offsets_keep_full_precision():
    """Columns with mean 1e9 and spread 1e-2: the co-moments keep ~all digits."""
    rng = np.random.default_rng(0)
    n = 50_000
    X = 1e9 + 1e-2 * rng.normal(size=(n, 3))
    y = 1e9 + 1e-2 * rng.normal(size=n)
    s = Moments(3)
    for a in range(0, n, 7_777):  # several batches, so merges happen too
        s.update(X[a : a + 7_777], y[a : a + 7_777])
    # exact reference: subtract the (exactly representable) offset first, in extended steps
    Z = np.column_stack([X - 1e9, y - 1e9])
    D = Z - Z.mean(axis=0)
    C = D.T @ D
    np.testing.assert_allclose(s.comoment, C, rtol=1e-9)
    # the mean itself is kept as shift + small part: exact to far below one ulp of 1e9
    exact_part = (s.shift - 1e9) + s.mean_from_shift
    np.testing.assert_allclose(exact_part, Z.mean(axis=0), rtol=1e-9, atol=1e-15)
    # the naive raw-moment formula loses everything here: prove the test can fail
    naive = np.column_stack([X, y]).T @ np.column_stack([X, y]) - n * np.outer(
        np.column_stack([X, y]).mean(0), np.column_stack([X, y]).mean(0)
    )
    assert not np.allclose(naive, C, rtol=1e-3)


def test_drifting_sorted_column_keeps_precision():
    """A sorted timestamp-like column (1.7e9 + a year of seconds) must not lose digits."""
    n = 200_000
    t = 1.7e9 + np.sort(np.random.default_rng(2).uniform(0, 3e7, size=n))
    X = np.column_stack([t, np.random.default_rng(3).normal(size=n)])
    y = 1e-7 * (t - 1.7e9) + X[:, 1]
    s = Moments(2)
    for a in range(0, n, 10_000):
        s.update(X[a : a + 10_000], y[a : a + 10_000])
    Z = np.column_stack([X[:, 0] - 1.7e9, X[:, 1], y])
    D = Z - Z.mean(0)
    np.testing.assert_allclose(s.comoment, D.T @ D, rtol=1e-9)


@given(
    n=st.integers(2, 300),
    d=st.integers(1, 6),
    cuts=st.lists(st.integers(1, 299), max_size=5),
    weighted=st.booleans(),
    offset=st.sampled_from([0.0, 1e6, -3e9]),
    seed=st.integers(0, 1000),
)
def test_chunk_and_merge_laws(n, d, cuts, weighted, offset, seed):
    X, y, w = make_regression_data(n, d, seed=seed, weighted=weighted, offset=offset)
    cuts = [c for c in cuts if c < n]
    assert_chunk_invariant("ridge", X, y, w, cuts)
    assert_merge_laws("ridge", X, y, w, cuts)
    assert_chunk_invariant("pca", X, None, w, cuts)


@given(n=st.integers(4, 200), cut=st.integers(1, 199), seed=st.integers(0, 100))
def test_subtract_undoes_merge(n, cut, seed):
    X, y, w = make_regression_data(n, 3, seed=seed, weighted=True)
    assert_subtract_inverts_merge("ridge", X, y, w, min(cut, n - 1))


def test_round_trip_and_copy_are_independent():
    X, y, _ = make_regression_data(100, 4)
    s = Moments(4)
    s.update(X, y)
    assert_round_trip(s)
    assert_round_trip(Moments(4))
    c = s.copy()
    c.update(X, y)
    assert s.n_rows == 100 and c.n_rows == 200
    header, arrays = s.to_arrays()
    assert state_from_arrays(header, arrays).allclose(s)


def test_zero_weights_equal_dropping_rows():
    X, y, _ = make_regression_data(50, 3)
    w = np.ones(50)
    w[::3] = 0.0
    a, b = Moments(3), Moments(3)
    a.update(X, y, w)
    b.update(X[w > 0], y[w > 0])
    np.testing.assert_allclose(a.comoment, b.comoment, rtol=1e-10)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)


@pytest.mark.parametrize(
    ("row", "col", "value", "match"),
    [
        (5, 2, np.nan, "column 2 holds nan at row 5"),
        (9_000, 0, np.inf, "column 0 holds inf at row 9000"),
        (3, None, np.nan, "target must be finite, but holds nan at row 3"),
    ],
)
def test_non_finite_values_are_named_and_state_untouched(row, col, value, match):
    X, y, _ = make_regression_data(10_000, 3)
    s = Moments(3)
    s.update(X[:100], y[:100])
    before = state_digest(s)
    if col is None:
        y = y.copy()
        y[row] = value
    else:
        X = X.copy()
        X[row, col] = value
    with pytest.raises(NonFiniteError, match=match) as info:
        s.update(X, y)
    assert info.value.row == row
    assert state_digest(s) == before


def test_bad_weights_and_shapes():
    s = Moments(2)
    with pytest.raises(NonFiniteError, match="Sample weights must be finite and >= 0, but got -1"):
        s.update(np.ones((3, 2)), np.ones(3), np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="must have 2 columns"):
        s.update(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="`y` is required"):
        s.update(np.ones((3, 2)))
    with pytest.raises(ValueError, match="n_features >= 1"):
        Moments(0)
    with pytest.raises(ValueError, match="share parameters"):
        s.merge(Moments(3))
    assert s.n_rows == 0


def test_overflow_is_reported():
    s = Moments(1)
    X = np.array([[1e200], [-1e200], [1e200], [3e200]])
    with pytest.raises(NonFiniteError, match="overflow"):
        s.update(X, np.ones(4))
    assert s.n_rows == 0
