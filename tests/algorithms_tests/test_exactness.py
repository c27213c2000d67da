"""Finalized models equal scikit-learn estimators fitted on all rows (to 1e-8 relative): the
reference each model class declares (read through the registry), on every registered
algorithm (statetune.testing) and on real and offset data here."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

import statetune as st
from statetune.algorithms import ElasticNet, Lasso, available_algorithms
from statetune.algorithms.references import NoReference, QualityBound
from statetune.testing import (
    assert_equals_reference,
    assert_quality_bound,
    declared_reference,
    make_regression_data,
    reference_estimator,
)

RTOL = 1e-8
EPS = np.finfo(np.float64).eps


def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, y, 0.0


def offset_data():
    """Columns of mean 1e9 and standard deviation 1e-2 (DESIGN numerics case)."""
    rng = np.random.default_rng(7)
    n = 30_000
    # distinct spreads around 1e-2, so principal components are well separated
    X = 1e9 + 1e-2 * rng.normal(size=(n, 4)) * np.array([1.0, 0.5, 2.0, 1.5])
    y = (X - 1e9) @ np.array([50.0, -20.0, 0.0, 10.0]) + 1e-3 * rng.normal(size=n) + 5.0
    # X - 1e9 is exact (Sterbenz), so scikit-learn fitted on it is the exact reference for X:
    # fitted on raw X it loses ~6 digits in its own centering (see test_offsets_beat_raw_fit).
    return X, y, 1e9


def weighted_data():
    return make_regression_data(3_000, 6, seed=3, weighted=True)


DATASETS = {"diabetes": diabetes, "offset_1e9": offset_data}


def states_for(X, y, w=None, algorithms=("ols", "ridge", "lasso", "elastic_net", "pca", "pcr")):
    return st.compute_states(st.from_arrays(X, y, w), list(algorithms), folds=3)


def close(a, b, rtol=RTOL, scale=None):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.abs(b).max() if scale is None else scale
    assert np.abs(a - b).max() <= rtol * max(scale, 1e-300), (a, b)


def shifted_intercept(intercept, coef, shift):
    """``intercept + shift * sum(coef)`` in exact rational arithmetic, rounded once: the
    intercept of the same affine function in the coordinates ``X - shift``."""
    exact = Fraction(float(intercept)) + Fraction(shift) * sum(Fraction(float(c)) for c in coef)
    return float(exact)


def assert_intercept(model, ref_intercept, shift, y):
    """The model's intercept equals the exact reference's (fitted on ``X - shift``, itself
    exact) in those coordinates, to 1e-8 relative of the intercept (or of the target's spread
    when the intercept is near zero), plus the rounding of storing ``intercept_`` and of the
    ``mu_x @ coef`` it came from: a few ulps of ``|intercept_| + shift * sum|coef_|``
    (7.6e-6 absolute at the 1e9 offset, where ``intercept_`` is ~4e10; nothing otherwise)."""
    got = shifted_intercept(model.intercept_, model.coef_, shift)
    rounding = 8 * EPS * (abs(model.intercept_) + abs(shift) * np.abs(model.coef_).sum())
    tol = RTOL * max(abs(ref_intercept), np.std(y)) + rounding
    assert abs(got - ref_intercept) <= tol, (got, ref_intercept, tol)


def assert_predictions(model, ref_pred, X, y):
    """``predict(X)`` equals the exact reference's predictions to 1e-8 relative of the
    target's scale, plus the rounding of evaluating ``X @ coef_ + intercept_`` in float64
    (a few ulps of ``|X| @ |coef_| + |intercept_|`` per row: ~2e-4 at the 1e9 offset, where
    y has spread 0.53, so predicting the mean fails by three orders of magnitude)."""
    got = model.predict(X)
    rounding = 8 * EPS * (np.abs(X) @ np.abs(model.coef_) + abs(model.intercept_))
    err = np.abs(got - ref_pred)
    assert (err <= RTOL * np.abs(y).max() + rounding).all(), (err.max(), rounding.max())


@pytest.mark.parametrize("data", list(DATASETS))
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 1e-3, 1.0, 100.0])
def test_ridge_and_ols_equal_sklearn(data, fit_intercept, alpha):
    X, y, shift = DATASETS[data]()
    if data == "offset_1e9" and not fit_intercept:
        pytest.skip("without an intercept the 1e9 offset makes the problem itself ill-posed")
    states = states_for(X, y)
    if alpha == 0.0:
        model = st.finalize("ols", states, fit_intercept=fit_intercept)
        ref = reference_estimator("ols", {"fit_intercept": fit_intercept}).fit(X - shift, y)
    else:
        model = st.finalize("ridge", states, alpha=alpha, fit_intercept=fit_intercept)
        ref = reference_estimator("ridge", {"alpha": alpha, "fit_intercept": fit_intercept})
        ref.fit(X - shift, y)
    close(model.coef_, ref.coef_)
    assert_intercept(model, ref.intercept_, shift, y)
    assert_predictions(model, ref.predict(X[:50] - shift), X[:50], y)


def test_weighted_ridge_equals_sklearn():
    X, y, w = weighted_data()
    states = states_for(X, y, w, ["ridge"])
    model = st.finalize("ridge", states, alpha=2.5)
    ref = reference_estimator("ridge", {"alpha": 2.5}).fit(X, y, sample_weight=w)
    close(model.coef_, ref.coef_)
    assert_intercept(model, ref.intercept_, 0.0, y)
    assert_predictions(model, ref.predict(X[:50]), X[:50], y)


@pytest.mark.parametrize("data", list(DATASETS))
@pytest.mark.parametrize(("alpha_frac", "l1_ratio"), [(0.01, 1.0), (0.1, 0.5), (0.001, 0.2)])
def test_lasso_elastic_net_equal_sklearn(data, alpha_frac, l1_ratio):
    X, y, shift = DATASETS[data]()
    states = states_for(X, y, algorithms=["elastic_net"])
    Xc, yc = X - X.mean(0), y - y.mean()
    alpha = alpha_frac * np.abs(Xc.T @ yc).max() / len(y) / l1_ratio
    kw = {"alpha": alpha, "tol": 1e-12, "max_iter": 100_000}
    if l1_ratio == 1.0:
        model = st.finalize("lasso", states, **kw)
        ref = reference_estimator("lasso", kw).fit(X - shift, y)
        cls = Lasso
    else:
        model = st.finalize("elastic_net", states, l1_ratio=l1_ratio, **kw)
        ref = reference_estimator("elastic_net", {"l1_ratio": l1_ratio, **kw}).fit(X - shift, y)
        cls = ElasticNet
    assert isinstance(model, cls)
    close(model.coef_, ref.coef_)
    assert_intercept(model, ref.intercept_, shift, y)
    assert_predictions(model, ref.predict(X[:50] - shift), X[:50], y)
    # objective value on all rows, computed independently with numpy on the exact shifted data
    Xs = X - shift

    def objective(coef, intercept):
        r = y - Xs @ coef - intercept
        pen = alpha * l1_ratio * np.abs(coef).sum() + 0.5 * alpha * (1 - l1_ratio) * coef @ coef
        return (r @ r) / (2 * len(y)) + pen

    best = objective(ref.coef_, ref.intercept_)
    close(model.objective(states.total("moments")), best, 1e-8)
    if shift == 0.0:
        close(objective(model.coef_, model.intercept_), best)


def test_weighted_elastic_net_equals_sklearn():
    X, y, w = weighted_data()
    states = states_for(X, y, w, ["elastic_net"])
    kw = {"alpha": 0.05, "l1_ratio": 0.7, "tol": 1e-12, "max_iter": 100_000}
    model = st.finalize("elastic_net", states, **kw)
    ref = reference_estimator("elastic_net", kw).fit(X, y, sample_weight=w)
    close(model.coef_, ref.coef_)
    assert_intercept(model, ref.intercept_, 0.0, y)
    assert_predictions(model, ref.predict(X[:50]), X[:50], y)


@pytest.mark.parametrize("data", list(DATASETS))
@pytest.mark.parametrize("whiten", [False, True])
def test_pca_equals_sklearn(data, whiten):
    X, _, shift = DATASETS[data]()
    states = st.compute_states(st.from_arrays(X), ["pca"], folds=2)
    k = min(3, X.shape[1])
    model = st.finalize("pca", states, n_components=k, whiten=whiten)
    ref = reference_estimator("pca", {"n_components": k, "whiten": whiten}).fit(X - shift)
    signs = np.sign((model.components_ * ref.components_).sum(axis=1))
    close(model.components_ * signs[:, None], ref.components_, scale=1.0)
    close(model.explained_variance_, ref.explained_variance_)
    close(model.explained_variance_ratio_, ref.explained_variance_ratio_)
    close(model.noise_variance_, ref.noise_variance_)
    np.testing.assert_array_equal(signs, 1.0)  # same sign rule as scikit-learn
    Xt = X[:20]
    if shift == 0.0:  # transform(X) itself subtracts a rounded 1e9 mean; compare on plain data
        close(model.transform(Xt), ref.transform(Xt), scale=np.abs(ref.transform(Xt)).max())
        close(model.score(X), ref.score(X), scale=abs(ref.score(X)))


@pytest.mark.parametrize("data", list(DATASETS))
@pytest.mark.parametrize(("k", "alpha"), [(2, 0.0), (3, 0.5), (4, 30.0)])
def test_pcr_equals_pipeline(data, k, alpha):
    X, y, shift = DATASETS[data]()
    states = states_for(X, y, algorithms=["pcr"])
    model = st.finalize("pcr", states, n_components=k, alpha=alpha)
    ref = reference_estimator("pcr", {"n_components": k, "alpha": alpha}).fit(X - shift, y)
    # the pipeline's affine map, read off exactly enough on the small shifted coordinates
    d = X.shape[1]
    ref_intercept = ref.predict(np.zeros((1, d)))[0]
    ref_coef = ref.predict(np.eye(d)) - ref_intercept
    close(model.coef_, ref_coef)
    assert_intercept(model, ref_intercept, shift, y)
    assert_predictions(model, ref.predict(X[:100] - shift), X[:100], y)


def test_offsets_beat_raw_fit():
    """On the 1e9-offset data a raw scikit-learn fit loses digits; the moments do not."""
    X, y, shift = offset_data()
    exact = reference_estimator("ols").fit(X - shift, y).coef_
    raw = reference_estimator("ols").fit(X, y).coef_
    ours = st.finalize("ols", states_for(X, y, algorithms=["ols"])).coef_
    assert np.abs(ours - exact).max() < 1e-10 * np.abs(exact).max()
    assert np.abs(raw - exact).max() > 1e-8 * np.abs(exact).max()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", available_algorithms())
def test_every_registered_algorithm_equals_its_declared_reference(name, seed):
    """The contract suite's exactness check over the registry: on all rows and each training
    fold (series: each rolling-origin training window), at the declared hyperparameters and a
    random point of the search space (one per seed)."""
    declared = declared_reference(name)
    if isinstance(declared, NoReference):
        pytest.skip(f"{name}: {declared.reason}")
    if isinstance(declared, QualityBound):
        assert_quality_bound(name, seed=seed)
        return
    errors = assert_equals_reference(name, seed=seed)
    assert set(errors) == set(declared.compare)


def far_from_zero_data(weighted):
    """Feature means 2-20 times their spread: without an intercept, the raw Gram
    ``X^T W X`` differs from the centered one by ``W mu mu^T``, so dropping or misweighting
    that term changes every coefficient. The problem stays well-posed enough for coordinate
    descent (the lasso's reference) to converge to 1e-8."""
    rng = np.random.default_rng(21)
    n = 4_000
    X = np.array([8.0, -5.0, 10.0, 6.0]) + rng.normal(size=(n, 4)) * [1.0, 2.0, 0.5, 3.0]
    y = X @ np.array([1.5, -0.5, 0.25, 2.0]) + 7.0 + rng.normal(size=n)
    w = rng.uniform(0.1, 3.0, size=n) if weighted else None
    return X, y, w


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("ols", {}),
        ("ridge", {"alpha": 1e-3}),
        ("ridge", {"alpha": 50.0}),
        ("lasso", {"alpha": 0.05, "tol": 1e-14, "max_iter": 1_000_000}),
        ("elastic_net", {"alpha": 0.05, "l1_ratio": 0.5, "tol": 1e-14, "max_iter": 1_000_000}),
    ],
)
def test_no_intercept_equals_sklearn_on_features_far_from_zero(name, params, weighted):
    X, y, w = far_from_zero_data(weighted)
    states = states_for(X, y, w, [name])
    model = st.finalize(name, states, fit_intercept=False, **params)
    ref = reference_estimator(name, {**params, "fit_intercept": False}).fit(X, y, sample_weight=w)
    assert model.intercept_ == 0.0 and ref.intercept_ == 0.0
    close(model.coef_, ref.coef_)
    close(model.predict(X[:50]), ref.predict(X[:50]))
