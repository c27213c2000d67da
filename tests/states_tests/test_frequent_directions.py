"""FrequentDirections: the covariance bound for every k < ell, whatever the chunking and merge
order, against the exact scatter computed by numpy on all rows (an independent reference)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from statetune.states import FrequentDirections, NonFiniteError, state_class
from statetune.testing import npz_round_trip


def _scatter(X, w=None):
    w = np.ones(len(X)) if w is None else w
    mu = (w @ X) / w.sum()
    D = X - mu
    return D.T @ (D * w[:, None]), mu


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small SVDs and eigendecompositions: BLAS threads on a shared machine only stall."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _assert_bound(state, X, w=None, tol=1e-9):
    """0 <= C - M^T M <= error_bound I and error_bound <= tail_k / (ell - k), every k < ell.

    Eigenvalues are taken in an orthonormal basis Q of the rows of X and M (C - M^T M is zero
    off it), so a wide matrix of few rows costs (n x n), not (d x d)."""
    w = np.ones(len(X)) if w is None else w
    mu = (w @ X) / w.sum()
    D = (X - mu) * np.sqrt(w)[:, None]
    M = state.sketch()
    Q = np.linalg.qr(np.hstack([D.T, M.T]))[0]
    Dq, Mq = D @ Q, M @ Q
    Cq = Dq.T @ Dq
    E = Cq - Mq.T @ Mq
    ev = np.linalg.eigvalsh((E + E.T) / 2)
    lam = np.maximum(np.linalg.eigvalsh(Cq)[::-1], 0.0)
    lam = np.concatenate([lam, np.zeros(state.ell)])
    scale = tol * lam[0] + 1e-12
    assert ev.min() >= -scale, f"C - M^T M is not PSD: {ev.min()}"
    assert ev.max() <= state.error_bound + scale
    for k in range(state.ell):
        bound = lam[k:].sum() / (state.ell - k)
        assert ev.max() <= bound + scale, f"bound broke at k={k}: {ev.max()} > {bound}"
    np.testing.assert_allclose(state.mean[: X.shape[1]], mu, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        state.feature_scatter_diag, (D * D).sum(axis=0), rtol=1e-9, atol=1e-9
    )
    return ev.max(), lam


def _low_rank_plus_noise(n, d, rank, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n, rank)) * np.linspace(10.0, 2.0, rank)
    return U @ rng.normal(size=(rank, d)) + rng.normal(size=(n, d)) + offset


def _fill(X, ell, cuts=(), w=None, y=None):
    s = FrequentDirections(X.shape[1], has_target=y is not None, ell=ell)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    for a, b in itertools.pairwise(bounds):
        s.update(X[a:b], None if y is None else y[a:b], None if w is None else w[a:b])
    return s


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 160),
    ell=st.integers(1, 12),
    cuts=st.lists(st.integers(1, 159), max_size=4),
    order=st.permutations(range(5)),
    weighted=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_bound_holds_for_every_k_chunking_and_merge_order(n, ell, cuts, order, weighted, seed):
    X = _low_rank_plus_noise(n, 30, 4, seed, offset=50.0)
    w = np.random.default_rng(seed).uniform(0, 3, n) if weighted else None
    whole = _fill(X, ell, (), w)
    _assert_bound(whole, X, w)
    chunked = _fill(X, ell, cuts, w)
    assert chunked.allclose(whole), "the chunking changed the state"
    # five parts merged in the order hypothesis drew, left to right and as a tree
    bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
    parts = [
        _fill(X[a:b], ell, (), None if w is None else w[a:b]) for a, b in itertools.pairwise(bounds)
    ]
    parts += [FrequentDirections(30, False, ell) for _ in range(5 - len(parts) % 5 or 0)]
    seq = [parts[i % len(parts)] for i in order if i < len(parts)]
    left = FrequentDirections(30, False, ell)
    for p in seq:
        left.merge(p)
    _assert_bound(left, X, w)
    tree = [p.copy() for p in reversed(parts)]
    while len(tree) > 1:
        a, b = tree.pop(), tree.pop()
        a.merge(b)
        tree.insert(0, a)
    _assert_bound(tree[0], X, w)
    assert left.n_rows == tree[0].n_rows == n


def test_bound_on_real_digits_every_merge_order():
    X = load_digits().data.astype(np.float64)  # 1,797 rows x 64 columns
    for ell in (4, 10, 20):
        thirds = np.array_split(np.arange(len(X)), 3)
        parts = [_fill(X[i], ell, cuts=(100, 333)) for i in thirds]
        for perm in itertools.permutations(range(3)):
            s = parts[perm[0]].copy()
            for j in perm[1:]:
                s.merge(parts[j])
            _assert_bound(s, X)


def test_bound_on_a_wide_low_rank_plus_noise_matrix():
    X = _low_rank_plus_noise(400, 2_000, 8, seed=3, offset=1e3)
    s = _fill(X, ell=16, cuts=(57, 200, 301))
    err, lam = _assert_bound(s, X)
    assert err <= lam[8:].sum() / 8  # k = rank: only the noise tail counts
    a, b = _fill(X[:250], 16), _fill(X[250:], 16)
    b.merge(a)
    _assert_bound(b, X)


def test_exact_sums_and_target_against_numpy():
    rng = np.random.default_rng(1)
    X = _low_rank_plus_noise(300, 20, 3, seed=1, offset=1e6)
    y = X @ rng.normal(size=20) + rng.normal(size=300)
    w = rng.uniform(0, 2, 300)
    s = _fill(X, 6, cuts=(10, 150), w=w, y=y)
    wm = w / w.sum()
    mx, my = wm @ X, wm @ y
    np.testing.assert_allclose(s.mean, np.append(mx, my), rtol=1e-12)
    np.testing.assert_allclose(s.cross_moment, ((X - mx) * w[:, None]).T @ (y - my), rtol=1e-8)
    np.testing.assert_allclose(s.target_scatter, w @ (y - my) ** 2, rtol=1e-10)
    np.testing.assert_allclose(s.total_scatter, np.trace(_scatter(X, w)[0]), rtol=1e-10)
    assert s.weight_sum == pytest.approx(w.sum())


def test_ell_at_least_d_is_exact_and_memory_stays_order_ell_d():
    X = _low_rank_plus_noise(500, 12, 12, seed=2)
    s = _fill(X, ell=13, cuts=(7, 99))
    C, _ = _scatter(X)
    M = s.sketch()
    np.testing.assert_allclose(M.T @ M, C, rtol=1e-9, atol=1e-9 * np.abs(C).max())
    assert s.error_bound == pytest.approx(0.0, abs=1e-9 * np.trace(C))
    t = _fill(_low_rank_plus_noise(2_000, 50, 5, seed=2), ell=8, cuts=(3, 1_001))
    assert t.sketch_rows < 3 * 8 + 8 // 2


def test_round_trip_and_registry():
    X = _low_rank_plus_noise(77, 9, 2, seed=4)
    y = X[:, 0] * 2.0
    s = _fill(X, 5, cuts=(33,), y=y)
    back = npz_round_trip(s)
    assert back.allclose(s, rtol=0.0) and back.to_arrays()[0] == s.to_arrays()[0]
    assert state_class("frequent_directions") is FrequentDirections
    back.update(X[:3], y[:3])  # a loaded state keeps working
    assert back.n_rows == 80


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="ell >= 1"):
        FrequentDirections(3, ell=0)
    s = FrequentDirections(3, has_target=False, ell=2)
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(NonFiniteError, match="column 1 holds nan at row 2"):
        s.update(X)
    assert s.n_rows == 0
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        s.update(np.ones((2, 4)))
    with pytest.raises(ValueError, match="share parameters"):
        s.merge(FrequentDirections(3, has_target=False, ell=3))
