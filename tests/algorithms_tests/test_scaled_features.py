"""Features on very different scales (issue 9, item 1): every finalizer that solves or
decomposes is as accurate as an accurate reference when column scales span 1e-3 .. 1e12 and
offsets reach 1e9, on all rows and per training fold (statetune.testing's scaled-features
check, run over the registry), plus the reported examples: a stock index regressed on its
lagged closes and its volume, a real macro table in base units, diamond-like prices for QDA.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from sklearn import discriminant_analysis as da
from sklearn import linear_model
from sklearn.datasets import load_breast_cancer
from statsmodels.datasets import macrodata

import statetune as st
from statetune.algorithms import available_algorithms, get_algorithm
from statetune.algorithms.references import ScaledReference
from statetune.states.lagged_moments import LaggedMoments
from statetune.testing import (
    ScaledCase,
    assert_accurate_on_scaled_features,
    is_series,
    make_scaled_case,
    random_params,
    reference_estimator,
    scaled_reference,
)
from tests.fold_rule import reference_folds


def stock_index(n: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Daily closes of an index (a geometric random walk from 2,000) and volumes (~3e9)."""
    rng = np.random.default_rng(seed)
    close = 2000.0 * np.exp(np.cumsum(0.0003 + 0.01 * rng.standard_normal(n)))
    volume = np.round(np.exp(np.log(3e9) + 0.3 * rng.standard_normal(n)))
    return close, volume


def lag_table(close: np.ndarray, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``[close_{t-1}, close_{t-2}, volume_t]`` and target ``close_t``."""
    return np.c_[close[1:-1], close[:-2], volume[2:]], close[2:]


def standardized_lstsq(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares with an intercept, solved on standardized columns (equivariant), unscaled."""
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sol = np.linalg.lstsq(np.c_[(X - mu) / sd, np.ones(len(y))], y, rcond=None)[0]
    coef = sol[:-1] / sd
    return coef, float(sol[-1] - mu @ coef)


def test_stock_index_ols_equals_least_squares():
    """The reported case: OLS on two lagged closes (~2e3) and volume (~3e9). Before the fix the
    eigendecomposition of X^T X gave [0.498, 0.498] and a 24% larger residual sum of squares."""
    X, y = lag_table(*stock_index())
    model = st.finalize("ols", st.compute_states(st.from_arrays(X, y), ["ols"], folds=5))
    coef, intercept = standardized_lstsq(X, y)
    sd = X.std(axis=0)
    assert np.abs((model.coef_ - coef) * sd).max() <= 1e-9 * y.std()
    assert coef[0] > 0.9 and coef[1] < 0.1  # the series is a random walk
    rss = np.sum((y - X @ model.coef_ - model.intercept_) ** 2)
    rss_ref = np.sum((y - X @ coef - intercept) ** 2)
    assert rss <= rss_ref * (1 + 1e-10)
    assert model.rank_ == 3


def test_stock_index_ridge_fold_scores_equal_sklearn_on_the_same_folds():
    """Ridge over its own search range, scored per fold: scikit-learn's Ridge (Cholesky, which
    is insensitive to column scaling) fitted on each training fold's rows scores the same."""
    X, y = lag_table(*stock_index())
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5)
    fold = reference_folds(5, 0, 0, len(y))
    low, high = (
        states.search_space("ridge")["alpha"].low,
        states.search_space("ridge")["alpha"].high,
    )
    for alpha in np.geomspace(low, high, 5):
        ours = states.fold_scores("ridge", {"alpha": alpha}, "r2")
        ref = []
        for k in range(5):
            sk = linear_model.Ridge(alpha=alpha, solver="cholesky").fit(X[fold != k], y[fold != k])
            ref.append(sk.score(X[fold == k], y[fold == k]))
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)
    assert states.validation_score("ridge", {"alpha": low}, "r2") > 0.99


def test_stock_index_autoregression_with_volume_equals_statsmodels():
    """AR(2) of the closes with the volume as an exogenous column. statsmodels' AutoReg on the
    volume in billions is the reference (fitted on raw volumes it loses ~7 digits itself)."""
    close, volume = stock_index()
    state = LaggedMoments(max_lag=2, n_exog=1)
    state.update(close, volume[:, None])
    model = get_algorithm("autoregressive").finalize(state, {"p": 2})
    ref = reference_estimator("autoregressive", {"p": 2}, state)
    ref.fit(close, exog=volume[:, None] / 1e9)
    const, (phi1, phi2), (beta,) = ref.intercept_, ref.coef_, ref.exog_coef_
    np.testing.assert_allclose(model.coef_, [phi1, phi2], rtol=1e-9)
    assert abs(model.exog_coef_[0] * 1e9 - beta) <= 1e-9 * max(abs(beta), 1.0)
    assert abs(model.intercept_ - const) <= 1e-9 * close.std()
    assert model.coef_[0] > 0.9


def macro_table() -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' US macro data in base units: dollars (not billions), persons (not
    millions), fractions (not percent); target: real consumption in dollars."""
    df = macrodata.load_pandas().data
    X = np.c_[df.realgdp * 1e9, df["pop"] * 1e6, df.tbilrate / 100, df.unemp / 100, df.infl / 100]
    return X, df.realcons.to_numpy() * 1e9


def test_macro_table_in_base_units():
    """Columns from ~1e-2 (rates) to ~1e13 (dollars): OLS equals standardized least squares and
    ridge over its search range equals scikit-learn's Cholesky ridge on the raw columns."""
    X, y = macro_table()
    states = st.compute_states(st.from_arrays(X, y), ["ols", "ridge"], folds=3)
    sd = X.std(axis=0)
    coef = standardized_lstsq(X, y)[0]
    model = st.finalize("ols", states)
    assert np.abs((model.coef_ - coef) * sd).max() <= 1e-9 * y.std()
    space = states.search_space("ridge")["alpha"]
    for alpha in np.geomspace(space.low, space.high, 7):
        model = st.finalize("ridge", states, alpha=alpha)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns about the raw condition number
            ref = linear_model.Ridge(alpha=alpha, solver="cholesky").fit(X, y)
        assert np.abs((model.coef_ - ref.coef_) * sd).max() <= 1e-9 * y.std(), alpha


def diamonds_like(n: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A table shaped like the diamonds data (which no package ships offline): carat (~0.7),
    depth and table (~60), price (~4,000 dollars), x, y, z (~5 mm); class: the cut."""
    rng = np.random.default_rng(seed)
    cut = rng.integers(0, 5, size=n)
    carat = np.exp(rng.normal(np.log(0.7), 0.45, size=n))
    depth = 61.7 + 1.4 * rng.standard_normal(n) - 0.3 * (cut - 2)
    table = 57.5 + 2.2 * rng.standard_normal(n) - 0.6 * (cut - 2)
    x = 6.5 * carat ** (1 / 3) * (1 + 0.01 * rng.standard_normal(n))
    y = x * (1 + 0.006 * rng.standard_normal(n))
    z = x * depth / 100 * (1 + 0.01 * rng.standard_normal(n))
    price = np.round(3900 * carat**1.7 * np.exp(0.2 * rng.standard_normal(n) + 0.05 * cut))
    labels = np.array(["Fair", "Good", "Very Good", "Premium", "Ideal"])[cut]
    return np.c_[carat, depth, table, price, x, y, z], labels


def test_diamond_prices_qda_and_lda_equal_sklearn():
    """QDA was 7e-7 from scikit-learn here (an eigendecomposition of each class covariance);
    scikit-learn's SVD of the rows agrees with itself on standardized rows to 1e-11."""
    X, y = diamonds_like()
    states = st.compute_states(st.from_arrays(X, y), ["qda", "lda"], folds=3)
    qda = st.finalize("qda", states, reg_param=0.0)
    ref = da.QuadraticDiscriminantAnalysis().fit(X, y)
    assert np.abs(qda.predict_proba(X) - ref.predict_proba(X)).max() < 1e-9
    # same representation: scalings (eigenvalues, descending) and rotations up to their signs
    for S, R, S_ref, R_ref in zip(
        qda.scalings_, qda.rotations_, ref.scalings_, ref.rotations_, strict=True
    ):
        np.testing.assert_allclose(S, S_ref, rtol=1e-9)
        np.testing.assert_allclose(np.abs(np.sum(R * R_ref, axis=0)), 1.0, rtol=1e-9)
    for solver in ("lsqr", "eigen"):
        lda = st.finalize("lda", states, solver=solver)
        ref = da.LinearDiscriminantAnalysis(solver=solver).fit(X, y)
        assert np.abs(lda.predict_proba(X) - ref.predict_proba(X)).max() < 1e-9


def breast_cancer_case(seed: int = 0) -> ScaledCase:
    """scikit-learn's breast cancer table (areas ~1e3 next to smoothness ~1e-1), each column
    further multiplied by 10**u with u uniform in [-3, 6]."""
    X, y = load_breast_cancer(return_X_y=True)
    u = np.random.default_rng(seed).uniform(-3, 6, size=X.shape[1])
    return ScaledCase(X * 10.0**u, y, None, X.std(axis=0) * 10.0**u, np.zeros(X.shape[1]))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("lda", {"solver": "lsqr"}),
        ("lda", {"solver": "eigen"}),
        ("lda", {"solver": "lsqr", "shrinkage": 0.3}),
        ("qda", {"reg_param": 0.0, "tol": 0.0}),
        ("qda", {"reg_param": 0.5}),
        ("gaussian_nb", {}),
        ("ridge_classifier", {"alpha": 1e-3}),
        ("ridge_classifier", {"alpha": 1e6}),
    ],
)
def test_breast_cancer_on_random_scales(name, params):
    case = breast_cancer_case()
    errors = assert_accurate_on_scaled_features(name, case, params, rtol=1e-7)
    assert errors  # something was compared


def test_ols_minimum_norm_in_original_units():
    """A column equal to 2**20 times another (an exact dependency) next to columns on scales
    1e-3 and 1e9: OLS returns the least-squares solution of minimum norm in the ORIGINAL units
    (lstsq's), while ridge with alpha=0 refuses."""
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(400, 3))
    X = np.c_[Z[:, 0] * 1e3, Z[:, 0] * 1e3 * 2.0**20, Z[:, 1] * 1e-3, Z[:, 2] * 1e9]
    y = Z @ [2.0, -1.0, 0.5] + 0.1 * rng.normal(size=400)
    states = st.compute_states(st.from_arrays(X, y), ["ols", "ridge"], folds=2)
    model = st.finalize("ols", states)
    assert model.rank_ == 3
    # without the dependent column: beta; with it, coef_0 + 2**20 coef_1 = beta at least norm
    ref = standardized_lstsq(np.c_[X[:, 0], X[:, 2:]], y)[0]
    expected = np.r_[ref[0] * np.array([1.0, 2.0**20]) / (1.0 + 2.0**40), ref[1:]]
    assert np.abs((model.coef_ - expected) * X.std(axis=0)).max() <= 1e-9 * y.std()
    np.testing.assert_allclose(model.coef_[1:], expected[1:], rtol=1e-9)
    # coef_0 is 2**-40 of the basic solution's, formed by a difference: ~1e-4 relative at best
    np.testing.assert_allclose(model.coef_[0], expected[0], rtol=1e-3)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        st.finalize("ridge", states, alpha=0.0)


def test_every_registered_algorithm_declares_a_scaled_features_oracle_or_a_reason():
    for name in available_algorithms():
        declared = scaled_reference(name)  # raises when the model class declares no reference
        assert isinstance(declared, ScaledReference) or (isinstance(declared, str) and declared)


#: Registered algorithms whose model class declares a scaled-features oracle.
SCALED = [n for n in available_algorithms() if isinstance(scaled_reference(n), ScaledReference)]


# ---------------------------------------------------------------------------- the property
def _state_for(name: str, case: ScaledCase) -> object:
    alg = get_algorithm(name)
    if is_series(name):
        state = LaggedMoments(8, n_exog=case.X.shape[1])
        state.update(case.y, case.X)
        return state
    state = alg.make_state(case.X.shape[1], alg.needs_target)
    state.update(case.X, case.y if alg.needs_target else None, case.w)
    return state


offsets = hst.one_of(
    hst.just(0.0),
    hst.floats(0.0, 9.0).map(lambda e: 10.0**e),
    hst.floats(0.0, 9.0).map(lambda e: -(10.0**e)),
)


@pytest.mark.parametrize("name", sorted(SCALED))
@settings(max_examples=30, deadline=None)
@given(
    log10_scales=hst.lists(hst.floats(-3.0, 12.0), min_size=4, max_size=4),
    offs=hst.lists(offsets, min_size=4, max_size=4),
    y_log10_scale=hst.floats(-3.0, 12.0),
    y_offset=offsets,
    seed=hst.integers(0, 10_000),
    weighted=hst.booleans(),
    extra=hst.integers(0, 3),
)
def test_scaled_features_property(
    name, log10_scales, offs, y_log10_scale, y_offset, seed, weighted, extra
):
    """Random per-column scales 1e-3..1e12 and offsets up to 1e9 (features and target): the
    finalizer equals its reference in standardized units, on all rows and on each of 3
    training folds."""
    case = make_scaled_case(
        name,
        240,
        4,
        log10_scales=log10_scales,
        offsets=offs,
        y_log10_scale=y_log10_scale,
        y_offset=y_offset,
        seed=seed,
        weighted=weighted,
    )
    alg = get_algorithm(name)
    space = alg.search_space(_state_for(name, case))
    params = random_params(space, seed)
    options = scaled_reference(name).options  # declared by the model class
    option = options[extra % len(options)]
    params.update(option(space) if callable(option) else option)
    if case.has_offsets:  # without an intercept, offsets make the problem itself ill-posed
        params.update({k: v for k, v in (("fit_intercept", True), ("trend", "c")) if k in params})
    assert_accurate_on_scaled_features(name, case, params, rtol=1e-7)
