"""The fast anchor-words finalize against a plain reference written here from the paper
(Arora et al. 2013): FastAnchorWords by explicit Gram-Schmidt deflation of every row, and
RecoverL2 solved word by word by scipy's SLSQP; plus the reuse across trials (anchor paths,
memoized per state) against fresh states, and the copy-on-write state against numpy sums."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

from statetune.algorithms._anchor_words import AnchorPath, solve_simplex_ls
from statetune.algorithms.topics import Topics
from statetune.states import CoOccurrence

V, K = 40, 5


def _corpus(n_docs, seed=0, length=40):
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.full(V, 0.1), size=K).T
    A[:K] = 0.0
    A[np.arange(K), np.arange(K)] = 0.05
    A /= A.sum(axis=0)
    theta = rng.dirichlet(np.full(K, 0.3), size=n_docs)
    return sp.csr_matrix(np.stack([rng.multinomial(length, p) for p in theta @ A.T]).astype(float))


def _state(X):
    s = CoOccurrence(X.shape[1])
    s.update(X)
    return s


def _reference_anchors(P, k):
    """The paper's greedy: farthest row, translate to it, then the row farthest from the
    span of the chosen ones, deflating every row by each new direction."""
    P = np.array(P, dtype=float)
    chosen = [int(np.argmax((P * P).sum(axis=1)))]
    P = P - P[chosen[0]]
    for _ in range(1, k):
        norms = (P * P).sum(axis=1)
        norms[chosen] = -1.0
        i = int(np.argmax(norms))
        chosen.append(i)
        b = P[i] / np.sqrt(norms[i])
        P = P - np.outer(P @ b, b)
    return np.array(chosen)


def _reference_recover(Qbar, anchors):
    """RecoverL2 word by word: min ||Qbar_w - c^T Qbar_S||^2 over the simplex (SLSQP)."""
    X = Qbar[anchors]
    k = len(anchors)
    out = []
    for q in Qbar:
        res = minimize(
            lambda c, q=q: float(((q - c @ X) ** 2).sum()),
            np.full(k, 1.0 / k),
            jac=lambda c, q=q: 2.0 * (c @ X - q) @ X.T,
            bounds=[(0.0, 1.0)] * k,
            constraints=[{"type": "eq", "fun": lambda c: c.sum() - 1.0}],
            method="SLSQP",
            options={"ftol": 1e-15, "maxiter": 500},
        )
        out.append(res.x)
    C = np.array(out)
    C[anchors] = np.eye(k)
    return C


@pytest.fixture(scope="module")
def state():
    return _state(_corpus(3000))


def test_anchor_path_prefix_is_the_papers_greedy_for_every_k(state):
    Q = state.pairs / state.pairs.sum()
    Qbar = Q / Q.sum(axis=1, keepdims=True)
    cand = np.flatnonzero(state.doc_freq >= 30)
    full = cand[_reference_anchors(Qbar[cand], 12)]
    path = AnchorPath(Qbar, cand)
    assert path.anchors(3).tolist() == full[:3].tolist()  # grown on demand
    assert path.anchors(12).tolist() == full.tolist()
    for k in (1, 4, 7, 12):  # a fresh run of k is the prefix of the longer run
        assert (
            _reference_anchors(Qbar[cand], k).tolist()
            == _reference_anchors(Qbar[cand], 12)[:k].tolist()
        )
        assert AnchorPath(Qbar, cand).anchors(k).tolist() == full[:k].tolist()
    np.testing.assert_allclose(path.cross(6), Qbar @ Qbar[full[:6]].T, rtol=1e-12)


def test_simplex_least_squares_equals_slsqp():
    rng = np.random.default_rng(3)
    X = rng.dirichlet(np.full(30, 0.3), size=6)  # 6 anchor rows
    Qbar = np.vstack([rng.dirichlet(np.full(6, 0.5), size=25) @ X, rng.dirichlet(np.ones(30), 15)])
    anchors = np.arange(6)
    Qbar = np.vstack([X, Qbar])
    ref = _reference_recover(Qbar, anchors)
    C = solve_simplex_ls(X @ X.T, Qbar @ X.T)
    C[anchors] = np.eye(6)
    np.testing.assert_allclose(C, ref, atol=2e-6)
    np.testing.assert_allclose(C.sum(axis=1), 1.0, rtol=1e-12)
    assert (C >= 0).all()


@pytest.mark.parametrize("params", [{}, {"min_df": 40}, {"projection_dim": 8}])
def test_finalize_equals_the_reference_algorithm(state, params):
    model = Topics.from_state(state, n_components=K, **params)
    kept = model.vocabulary_
    Q = state.pairs[np.ix_(kept, kept)]
    Q = Q / Q.sum()
    p = Q.sum(axis=1)
    Qbar = Q / p[:, None]
    if "projection_dim" in params:
        anchors = np.searchsorted(kept, model.anchors_)  # chosen on a random projection
    else:
        thr = max(1.0, min(0.005 * state.weight_sum, np.sort(state.doc_freq[kept])[::-1][K - 1]))
        cand = np.flatnonzero(state.doc_freq[kept] >= thr)
        anchors = cand[_reference_anchors(Qbar[cand], K)]
        assert model.anchors_.tolist() == kept[anchors].tolist()
    A = _reference_recover(Qbar, anchors) * p[:, None]
    A /= A.sum(axis=0)
    np.testing.assert_allclose(model.components_[:, kept], A.T, atol=1e-5)
    Ap = np.linalg.pinv(A)
    R = np.maximum(Ap @ Q @ Ap.T, 0)
    R = (R + R.T) / 2
    np.testing.assert_allclose(model.topic_pairs_, R / R.sum(), atol=1e-5)


def test_trials_sharing_a_state_equal_trials_on_fresh_states():
    X = _corpus(2000, seed=5)
    shared = _state(X)
    held = _state(_corpus(500, seed=6))
    for k, min_df, thr in [(6, 1, None), (3, 1, None), (8, 1, 0.02), (5, 25, None), (8, 1, None)]:
        got = Topics.from_state(shared, n_components=k, min_df=min_df, anchor_threshold=thr)
        fresh = Topics.from_state(_state(X), n_components=k, min_df=min_df, anchor_threshold=thr)
        assert got.anchors_.tolist() == fresh.anchors_.tolist()
        np.testing.assert_allclose(got.components_, fresh.components_, atol=1e-9)
        for metric in ("coherence", "pair_log_likelihood"):
            assert got.held_out_score(shared, held, metric) == pytest.approx(
                fresh.held_out_score(_state(X), _state(_corpus(500, seed=6)), metric), rel=1e-9
            )
    # a change of the state drops what trials shared: a finalize after it sees the new rows
    more = _corpus(700, seed=7)
    shared.update(more)
    held.update(more[:100])
    both = _state(sp.vstack([X, more]))
    got = Topics.from_state(shared, n_components=6)
    fresh = Topics.from_state(both, n_components=6)
    np.testing.assert_allclose(got.components_, fresh.components_, atol=1e-9)
    h2 = _state(sp.vstack([_corpus(500, seed=6), more[:100]]))
    assert got.held_out_score(shared, held, "pair_log_likelihood") == pytest.approx(
        fresh.held_out_score(both, h2, "pair_log_likelihood"), rel=1e-9
    )


def test_copy_shares_nothing_observable():
    X = _corpus(300, seed=8).toarray()
    s = _state(X[:200])
    c = s.copy()
    s.update(X[200:])
    c.merge(_state(X[250:]))
    for st_, rows in ((s, X), (c, np.vstack([X[:200], X[250:]]))):
        ref = np.zeros((V, V))
        for x in rows:
            n = x.sum()
            ref += (np.outer(x, x) - np.diag(x)) / (n * (n - 1))
        np.testing.assert_allclose(st_.pairs, ref, rtol=1e-10, atol=1e-14)
        B = (rows > 0).astype(float)
        np.testing.assert_array_equal(st_.codoc, B.T @ B)


def test_anchor_path_when_the_rows_span_fewer_dimensions_than_k():
    rng = np.random.default_rng(4)
    base = rng.dirichlet(np.ones(12), size=3)
    Qbar = np.vstack([base, base[[0, 1, 2, 0, 1]] * 1.0])  # 8 rows, 3 distinct points
    path = AnchorPath(Qbar, np.arange(8))
    anchors = path.anchors(6)
    assert len(set(anchors.tolist())) == 6  # distinct words, beyond the span too
    np.testing.assert_allclose(path.cross(6), Qbar @ Qbar[anchors].T, rtol=1e-12)


def _kkt_residuals(H, B, C):
    """The optimality conditions of ``min c^T H c - 2 b^T c`` over the simplex, row by row
    (a convex QP: they hold exactly at the minimizer and nowhere else): with ``g = H c - b``,
    ``g`` equal on the support and no smaller off it. Largest violations, relative."""
    g = C @ H - B
    nu = -np.where(C > 0, g, np.inf).min(axis=1)
    scale = np.abs(B).max(axis=1) + np.abs(H).max()
    on = np.where(C > 0, np.abs(g + nu[:, None]), 0.0).max(axis=1) / scale
    off = np.where(C > 0, 0.0, np.maximum(-(g + nu[:, None]), 0.0)).max(axis=1) / scale
    return float(on.max()), float(off.max())


@pytest.mark.parametrize("seed", [0, 1])
def test_simplex_least_squares_is_the_exact_minimizer_at_many_topics(seed):
    """40 anchors, words mixed from them plus noise: every row meets the optimality
    conditions to rounding (none left where the projected gradient's step tolerance
    stopped it, 1e-7 off)."""
    rng = np.random.default_rng(seed)
    X = rng.dirichlet(np.full(300, 0.05), size=40)  # anchor rows
    Qbar = rng.dirichlet(np.full(40, 0.3), size=400) @ X + 0.02 * rng.dirichlet(
        np.ones(300), size=400
    )
    Qbar /= Qbar.sum(axis=1, keepdims=True)
    H, B = X @ X.T, Qbar @ X.T
    C = solve_simplex_ls(H, B)
    assert (C >= 0).all()
    np.testing.assert_allclose(C.sum(axis=1), 1.0, rtol=1e-12)
    on, off = _kkt_residuals(H, B, C)
    assert on < 1e-12 and off < 1e-12


def test_simplex_least_squares_when_the_anchor_rows_repeat():
    """A singular ``H`` (two anchors with one row): still a minimizer (the objective of the
    SLSQP reference, the split between the twins is free) on the simplex."""
    rng = np.random.default_rng(7)
    X = rng.dirichlet(np.full(30, 0.3), size=5)
    X = np.vstack([X, X[:1]])  # anchor 5 repeats anchor 0
    Qbar = np.vstack([rng.dirichlet(np.full(6, 0.5), size=25) @ X, rng.dirichlet(np.ones(30), 10)])
    C = solve_simplex_ls(X @ X.T, Qbar @ X.T)
    ref = _reference_recover(np.vstack([X, Qbar]), np.arange(6))[6:]
    loss = lambda C: ((Qbar - C @ X) ** 2).sum(axis=1)  # noqa: E731
    np.testing.assert_allclose(loss(C), loss(ref), atol=1e-9)
    assert (C >= 0).all()
    np.testing.assert_allclose(C.sum(axis=1), 1.0, rtol=1e-12)


class _CountingRows(np.ndarray):
    """A square matrix that counts the products taken with it whole (``M @ v``)."""

    products = 0

    def __matmul__(self, other):
        if self.ndim == 2 and self.shape[0] == self.shape[1]:
            type(self).products += 1
        return np.asarray(self) @ np.asarray(other)


def test_anchor_path_takes_one_product_of_qbar_per_anchor(state):
    """Each greedy step reads ``Qbar`` once (the new anchor's cross column); the candidates'
    projections on the new direction are that combination of the cross columns. The anchors
    and the cross products stay the paper's."""
    Q = state.pairs / state.pairs.sum()
    Qbar = Q / Q.sum(axis=1, keepdims=True)
    cand = np.flatnonzero(state.doc_freq >= 30)
    counted = Qbar.view(_CountingRows)
    _CountingRows.products = 0
    path = AnchorPath(counted, cand)
    anchors = path.anchors(12)
    cross = path.cross(12)
    assert _CountingRows.products == 12
    assert anchors.tolist() == cand[_reference_anchors(Qbar[cand], 12)].tolist()
    np.testing.assert_allclose(cross, Qbar @ Qbar[anchors].T, rtol=1e-12)
