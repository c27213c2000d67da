"""FrequentDirections quality beyond the bound: the top k directions of a sketch of ell = 2k rows
keep >= 99% of the variance of exact PCA (scikit-learn on all rows) on a low-rank-plus-noise
table, whatever the chunking and merge order; and the shrink leaves the top ell // 2
directions whole (against numpy's SVD)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA
from threadpoolctl import threadpool_limits

from statetune.algorithms.decomposition import PCA
from statetune.states import FrequentDirections
from statetune.states.frequent_directions import shrink


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _table(n=10_000, d=200, rank=20, noise=3.0, seed=0):
    """The spectrum of experiments/fd_pca.py (30 * 0.85^i on 20 planted directions), with the
    noise raised so that d = 200 columns carry the noise mass of its 2,000 unit-noise ones."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, rank)))[0].T
    signal = rng.normal(size=(n, rank)) * (30.0 * 0.85 ** np.arange(rank))
    return signal @ basis + noise * rng.normal(size=(n, d)) + 5.0


def _captured(state, X, k, ref):
    """Variance of all rows along the sketch's top k components / exact PCA's top k."""
    P = PCA.from_state(state, n_components=k).components_
    Z = (X - X.mean(axis=0)) @ P.T
    return float((Z * Z).sum() / (len(X) - 1)) / float(ref.explained_variance_.sum())


def _fill(X, ell, cuts=()):
    s = FrequentDirections(X.shape[1], has_target=False, ell=ell)
    bounds = [0, *cuts, len(X)]
    for a, b in itertools.pairwise(bounds):
        s.update(X[a:b])
    return s


def test_top_k_of_a_sketch_of_2k_rows_keeps_99_percent_whatever_the_merge_order():
    """Classic FD (every direction shrunk each time) kept 0.987 here; issue 13 asks >= 0.99."""
    X, k = _table(), 10
    ref = SkPCA(k, svd_solver="full").fit(X)
    whole = _fill(X, 2 * k, cuts=(1, 777, 5_003))
    assert _captured(whole, X, k, ref) >= 0.99
    quarters = np.array_split(np.arange(len(X)), 4)
    parts = [_fill(X[i], 2 * k, cuts=(123,)) for i in quarters]
    for order in ((0, 1, 2, 3), (3, 1, 0, 2), (2, 3, 1, 0)):
        left = FrequentDirections(X.shape[1], False, 2 * k)
        for j in order:
            left.merge(parts[j])
        assert _captured(left, X, k, ref) >= 0.99, order
    tree_a, tree_b = parts[1].copy(), parts[3].copy()
    tree_a.merge(parts[0])
    tree_b.merge(parts[2])
    tree_b.merge(tree_a)
    assert tree_b.n_rows == len(X)
    assert _captured(tree_b, X, k, ref) >= 0.99


@pytest.mark.parametrize(("ell", "protect"), [(1, 0), (4, 2), (5, 2), (6, 0)])
def test_shrink_leaves_the_protected_directions_whole_and_lowers_the_next_by_delta(ell, protect):
    M = np.random.default_rng(ell).normal(size=(2 * ell + 3, 9)) * np.linspace(5.0, 0.5, 9)
    s = np.linalg.svd(M, compute_uv=False)
    rows, delta = shrink(M, ell, protect)
    top = ell + protect
    assert delta == pytest.approx(s[top - 1] ** 2, rel=1e-10)
    want = np.concatenate([s[:protect] ** 2, s[protect : top - 1] ** 2 - delta])
    got = np.linalg.svd(rows, compute_uv=False) ** 2
    np.testing.assert_allclose(np.sort(got)[::-1], want[want > 1e-12 * s[0] ** 2], rtol=1e-9)
    E = M.T @ M - rows.T @ rows  # 0 <= E <= delta I, trace drop >= ell delta
    ev = np.linalg.eigvalsh(E)
    assert ev.min() >= -1e-9 * s[0] ** 2 and ev.max() <= delta * (1 + 1e-9)
    assert np.trace(E) >= ell * delta * (1 - 1e-12)


def test_the_state_protects_the_top_half_and_keeps_its_memory():
    X = _table(n=3_000, d=60, noise=1.0)
    for ell in (1, 2, 7, 20):
        s = _fill(X, ell, cuts=(5, 1_000))
        assert s.protected == ell // 2
        assert s.sketch_rows < 3 * ell + ell // 2
