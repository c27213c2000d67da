"""PCA, ridge and PCR from a FrequentDirections sketch, against scikit-learn and numpy on all
rows: exact when the sketch is (ell > d), within the proven bounds when it is not, and the
engine choice by state parameter and by width."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn import decomposition, linear_model
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.algorithms._sketch import DEFAULT_ELL, SKETCH_MIN_FEATURES
from statetune.algorithms.decomposition import PCA
from statetune.algorithms.linear import Ridge
from statetune.algorithms.pcr import PCR
from statetune.data.schema import Schema
from statetune.states import FrequentDirections, Moments
from statetune.validation.plan import plan_slots


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _data(n=600, d=60, rank=5, seed=0, offset=100.0):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n, rank)) * np.linspace(8.0, 2.0, rank)
    X = U @ rng.normal(size=(rank, d)) + 0.5 * rng.normal(size=(n, d)) + offset
    y = X @ rng.normal(size=d) * 0.1 + rng.normal(size=n)
    return X, y


def _schema(d):
    return Schema(features=tuple(f"x{i}" for i in range(d)), dtypes=("float64",) * d, target="y")


def _fd(X, y, ell, cuts=(97, 301)):
    s = FrequentDirections(X.shape[1], has_target=y is not None, ell=ell)
    b = [0, *cuts, len(X)]
    for a, c in itertools.pairwise(b):
        s.update(X[a:c], None if y is None else y[a:c])
    return s


def test_exact_sketch_equals_scikit_learn_pca_ridge_pcr():
    X, y = _data(d=12)
    s = _fd(X, y, ell=13)  # ell > d: every shrink removes nothing
    for k in (1, 5, 12):
        m, ref = PCA.from_state(s, n_components=k), decomposition.PCA(k).fit(X)
        np.testing.assert_allclose(m.explained_variance_, ref.explained_variance_, rtol=1e-8)
        np.testing.assert_allclose(m.explained_variance_ratio_, ref.explained_variance_ratio_, 1e-8)
        np.testing.assert_allclose(np.abs(m.components_ @ ref.components_.T), np.eye(k), atol=1e-7)
        np.testing.assert_allclose(abs(m.transform(X[:5])), abs(ref.transform(X[:5])), rtol=1e-6)
        np.testing.assert_allclose(m.noise_variance_, ref.noise_variance_, rtol=1e-6, atol=1e-12)
    for alpha in (1e-3, 1.0, 1e3):
        # without an intercept the raw Gram about a mean of 100 is ill-conditioned (~1e9 at
        # alpha=1e-3): checked from alpha=1 on
        for fi in (True, False) if alpha >= 1.0 else (True,):
            r = Ridge.from_state(s, alpha=alpha, fit_intercept=fi)
            ref = linear_model.Ridge(alpha=alpha, fit_intercept=fi, solver="svd").fit(X, y)
            np.testing.assert_allclose(r.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(r.predict(X[:7]), ref.predict(X[:7]), rtol=1e-7)
        p = PCR.from_state(s, n_components=4, alpha=alpha)
        ref = make_pipeline(decomposition.PCA(4), linear_model.Ridge(alpha=alpha)).fit(X, y)
        np.testing.assert_allclose(p.predict(X[:7]), ref.predict(X[:7]), rtol=1e-8)


@pytest.mark.parametrize("which", ["low_rank", "digits"])
def test_projection_error_within_fd_bound_of_best_rank_k(which):
    """||A - A P^T P||_F^2 <= (1 + k / (ell - k)) ||A - A_k||_F^2 (centered A; Ghashami et al.
    2016, Theorem 1.1), the best rank-k error from numpy's SVD of all rows."""
    X = _data(n=1_000, d=200, rank=6)[0] if which == "low_rank" else load_digits().data * 1.0
    A = X - X.mean(axis=0)
    sv = np.linalg.svd(A, compute_uv=False)
    for ell in (8, 16, 32):
        s = _fd(X, None, ell)
        for k in (1, 3, ell // 2, ell - 1):
            P = PCA.from_state(s, n_components=k).components_
            err = np.linalg.norm(A - (A @ P.T) @ P) ** 2
            best = float((sv[k:] ** 2).sum())
            assert err <= (1 + k / (ell - k)) * best * (1 + 1e-9), (ell, k, err / best)


def test_ridge_from_sketch_within_delta_over_alpha_of_scikit_learn():
    """||b_fd - b|| <= (Delta / alpha) ||b||: the trace-corrected sketch is within Delta of C."""
    X, y = _data(n=800, d=150, rank=4)
    s = _fd(X, y, ell=20)
    delta = s.error_bound
    assert delta > 0
    for alpha in (0.1 * delta, delta, 10 * delta, 100 * delta):
        b = Ridge.from_state(s, alpha=alpha).coef_
        ref = linear_model.Ridge(alpha=alpha, solver="svd").fit(X, y).coef_
        assert np.linalg.norm(b - ref) <= delta / alpha * np.linalg.norm(ref) * (1 + 1e-9)


def test_held_out_scores_from_the_sketch_are_within_their_bounds():
    X, y = _data(n=900, d=80, rank=5, seed=3)
    train, held = _fd(X[:600], y[:600], 16), _fd(X[600:], y[600:], 16, cuts=(50, 200))
    Xh, yh, W = X[600:], y[600:], 300.0
    pca = PCA.from_state(train, n_components=6)
    rows = Xh - pca.mean_
    exact = float(((rows - rows @ pca.components_.T @ pca.components_) ** 2).sum()) / W
    got = pca.held_out_score(train, held, "reconstruction_error")
    assert abs(got - exact) <= 6 * held.error_bound / W * (1 + 1e-9) and got != exact
    r = Ridge.from_state(train, alpha=10.0)
    mse = float(((yh - r.predict(Xh)) ** 2).mean())
    got = r.held_out_score(train, held, "mse")
    assert abs(got - mse) <= held.error_bound * float(r.coef_ @ r.coef_) / W * (1 + 1e-9)
    # ell > d: exact, equal to scikit-learn's PCA.score and the row-by-row MSE
    t2, h2 = _fd(X[:600, :10], y[:600], 11), _fd(X[600:, :10], y[600:], 11)
    for whiten in (False, True):
        m = PCA.from_state(t2, n_components=3, whiten=whiten)
        ref = decomposition.PCA(3, whiten=whiten).fit(X[:600, :10])
        assert m.held_out_score(t2, h2, "log_likelihood") == pytest.approx(
            ref.score(X[600:, :10]), rel=1e-7
        )
    r2 = Ridge.from_state(t2, alpha=1.0)
    assert r2.held_out_score(t2, h2, "mse") == pytest.approx(
        float(((yh - r2.predict(X[600:, :10])) ** 2).mean()), rel=1e-8
    )


def test_engine_choice_by_state_parameter_and_width():
    wide, narrow = _schema(SKETCH_MIN_FEATURES), _schema(SKETCH_MIN_FEATURES - 1)
    (slot,) = plan_slots(["pca", "ridge", "pcr"], wide)
    assert (
        slot.spec.state_class is FrequentDirections and dict(slot.spec.params)["ell"] == DEFAULT_ELL
    )
    (slot,) = plan_slots(["pca", "ridge"], narrow)
    assert slot.spec.state_class is Moments
    asked = {"sketch": "frequent_directions", "ell": 64}
    (slot,) = plan_slots(["pca", "ridge"], narrow, state_params={"pca": asked, "ridge": asked})
    assert slot.spec.state_class is FrequentDirections and dict(slot.spec.params)["ell"] == 64
    (slot,) = plan_slots(["pca"], wide, state_params={"pca": {"sketch": "exact"}})
    assert slot.spec.state_class is Moments
    # ell >= n_features: the exact moments (the sketch would be exact anyway)
    (slot,) = plan_slots(["pca"], narrow, state_params={"pca": {"ell": 5_000}})
    assert slot.spec.state_class is Moments
    # other algorithms never take a sketch; lasso beside a sketched ridge gets its moments
    kinds = {s.spec.state_class for s in plan_slots(["ridge", "lasso"], wide)}
    assert kinds == {FrequentDirections, Moments}
    assert get_algorithm("pca").accepts(slot.spec)


def test_bad_sketch_parameters_are_named():
    narrow = _schema(3)
    with pytest.raises(ValueError, match="ell >= 1"):
        plan_slots(["pca"], narrow, state_params={"pca": {"ell": 0}})
    with pytest.raises(ValueError, match="`sketch` must be one of"):
        plan_slots(["pca"], narrow, state_params={"pca": {"sketch": "random"}})
    with pytest.raises(ValueError, match="sketch='exact'"):
        plan_slots(["pca"], narrow, state_params={"pca": {"sketch": "exact", "ell": 2}})
    X, y = _data(d=30)
    s = _fd(X, y, ell=8)
    with pytest.raises(
        ValueError, match=r"`n_components < ell` must hold .* n_components=8, ell=8"
    ):
        PCA.from_state(s, n_components=8)
    with pytest.raises(ValueError, match="`n_components < ell`"):
        PCR.from_state(s, n_components=10)
    assert PCA.from_state(s).n_components_ == 7  # None: the most the sketch serves
    assert PCA.search_space(s)["n_components"].high == 7


def test_compute_states_and_tune_through_state_params():
    X, y = _data(n=1_200, d=40, rank=4, seed=5)
    src = st.from_arrays(X, y)
    asked = {"ell": 12}
    states = st.compute_states(
        src,
        ["pca", "ridge", "pcr"],
        folds=3,
        state_params={a: asked for a in ("pca", "ridge", "pcr")},
    )
    score, how = states.score_fold("pca", {"n_components": 4}, "explained_variance", 0)
    assert "approximate" in how and 0.0 < score <= 1.0
    model = states.finalize("pca", n_components=4)
    ref = decomposition.PCA(4).fit(X)
    captured = np.trace(model.components_ @ np.cov(X.T) @ model.components_.T)
    assert captured / ref.explained_variance_.sum() >= 0.99
    result = st.tune(
        src, ["ridge", "pcr"], n_trials=4, cv=3, state_params={"ridge": asked, "pcr": asked}
    )
    assert np.isfinite(result.best_value)


def test_explained_variance_lies_in_the_weyl_interval_and_is_close_for_strong_components():
    """lambda_i in [s_i^2, s_i^2 + Delta]; the planted directions, among the top ell // 2 that a
    shrink leaves whole, sit at the bottom of the interval."""
    X, _ = _data(n=3_000, d=120, rank=5, seed=7)
    s = _fd(X, None, ell=12)
    m, ref = PCA.from_state(s, n_components=8), decomposition.PCA(8).fit(X)
    assert s.error_bound > 0
    hi = m.explained_variance_ + m.sketch_error_bound_
    tol = 1e-9 * ref.explained_variance_[0]
    assert np.all(m.explained_variance_ - tol <= ref.explained_variance_)
    assert np.all(ref.explained_variance_ <= hi + tol)
    strong = slice(0, 5)  # the five planted directions: at the bottom of the interval
    gap = np.abs(m.explained_variance_[strong] - ref.explained_variance_[strong])
    assert np.all(gap <= 0.05 * m.sketch_error_bound_), (gap, m.sketch_error_bound_)
    np.testing.assert_allclose(
        m.explained_variance_ratio_.sum(), ref.explained_variance_ratio_.sum(), 0.01
    )


def test_standardize_from_a_sketch_is_refused_by_name():
    """Scaling columns after sketching loses the sketch's bound: refused, never ignored."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 12)) * np.logspace(0, 3, 12)
    y = X @ rng.normal(size=12)
    for alg in ("ridge", "pcr"):
        states = st.compute_states(
            st.from_arrays(X, y), [alg], folds=1, state_params={alg: {"ell": 6}}
        )
        with pytest.raises(ValueError, match="`standardize=True` needs the exact moments"):
            st.finalize(alg, states, standardize=True)
