"""Scores from held-out states equal scoring a model trained on the other folds on held-out rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import decomposition, linear_model
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.pipeline import make_pipeline

import statetune as st
from statetune.testing import make_regression_data
from tests.fold_rule import reference_folds

N, D, K = 3_000, 6, 4


@pytest.fixture(scope="module")
def data():
    X, y, w = make_regression_data(N, D, seed=11, weighted=True)
    return X, y, w


def folds_of(states):
    return reference_folds(states.folds.n_folds, states.folds.seed, 0, states.n_rows)


SK = {
    "ols": lambda p: linear_model.LinearRegression(**p),
    "ridge": lambda p: linear_model.Ridge(**p, solver="svd"),
    "lasso": lambda p: linear_model.Lasso(**p, tol=1e-12, max_iter=100_000),
    "elastic_net": lambda p: linear_model.ElasticNet(**p, tol=1e-12, max_iter=100_000),
    "pcr": lambda p: make_pipeline(
        decomposition.PCA(p["n_components"], svd_solver="full"), linear_model.Ridge(p["alpha"])
    ),
}
PARAMS = {
    "ols": {"fit_intercept": False},
    "ridge": {"alpha": 3.0},
    "lasso": {"alpha": 0.02},
    "elastic_net": {"alpha": 0.05, "l1_ratio": 0.3},
    "pcr": {"n_components": 3, "alpha": 2.0},
}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", list(SK))
@pytest.mark.parametrize("metric", ["mse", "rmse", "r2"])
def test_regression_scores_equal_scoring_held_out_rows(data, name, metric, weighted):
    X, y, w = data
    w = w if weighted and name != "pcr" else None
    params = dict(PARAMS[name])
    if name in ("lasso", "elastic_net"):
        params.update(tol=1e-12, max_iter=100_000)
    states = st.compute_states(st.from_arrays(X, y, w), [name], folds=K, seed=3)
    fold = folds_of(states)
    ours = states.fold_scores(name, params, metric=metric)
    sk_params = {k: v for k, v in PARAMS[name].items()}
    for k in range(K):
        tr, te = fold != k, fold == k
        fit_kw = {} if w is None else {"sample_weight": w[tr]}
        if name == "pcr":
            ref = SK[name](sk_params).fit(X[tr], y[tr])
        else:
            ref = SK[name](sk_params).fit(X[tr], y[tr], **fit_kw)
        pred = ref.predict(X[te])
        sw = None if w is None else w[te]
        mse = mean_squared_error(y[te], pred, sample_weight=sw)
        expected = {
            "mse": mse,
            "rmse": np.sqrt(mse),
            "r2": r2_score(y[te], pred, sample_weight=sw),
        }[metric]
        assert ours[k] == pytest.approx(expected, rel=1e-8), (k, ours[k], expected)
    assert states.validation_score(name, params, metric) == pytest.approx(ours.mean())


@pytest.mark.parametrize("whiten", [False, True])
def test_pca_scores_equal_scoring_held_out_rows(data, whiten):
    X, _, _ = data
    states = st.compute_states(st.from_arrays(X), ["pca"], folds=K)
    fold = folds_of(states)
    params = {"n_components": 3, "whiten": whiten}
    rec = states.fold_scores("pca", params, "reconstruction_error")
    ev = states.fold_scores("pca", params, "explained_variance")
    ll = states.fold_scores("pca", params, "log_likelihood")
    for k in range(K):
        tr, te = fold != k, fold == k
        ref = decomposition.PCA(3, whiten=whiten, svd_solver="full").fit(X[tr])
        back = ref.inverse_transform(ref.transform(X[te]))
        err = ((X[te] - back) ** 2).sum(axis=1)
        assert rec[k] == pytest.approx(err.mean(), rel=1e-8)
        total = ((X[te] - X[te].mean(0)) ** 2).sum()
        assert ev[k] == pytest.approx(1 - err.sum() / total, rel=1e-8)
        assert ll[k] == pytest.approx(ref.score(X[te]), rel=1e-8)


def test_metric_errors(data):
    X, y, _ = data
    states = st.compute_states(st.from_arrays(X, y), ["ridge", "pca"], folds=3)
    with pytest.raises(
        ValueError,
        match=r"`metric` must be one 'ridge' can compute \(mse, rmse, r2\), but got 'mae'",
    ):
        states.validation_score("ridge", {"alpha": 1.0}, metric="mae")
    with pytest.raises(ValueError, match=r"`algorithm` must be one of"):
        states.validation_score("nope", {})
    one = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=1)
    with pytest.raises(ValueError, match="`folds >= 2` must hold to validate"):
        one.validation_score("ridge", {"alpha": 1.0})


def test_a_pass_for_exact_metrics_skips_the_sample_and_says_so():
    import numpy as np
    import pytest

    import statetune as st

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] > 0).astype(int)
    exact = st.compute_states(st.from_arrays(X, y), ["lda"], folds=3, metrics=["log_likelihood"])
    full = st.compute_states(st.from_arrays(X, y), ["lda"], folds=3)
    assert exact.sample_slot() is None and full.sample_slot() is not None
    np.testing.assert_allclose(
        exact.fold_scores("lda", {}, "log_likelihood"),
        full.fold_scores("lda", {}, "log_likelihood"),
    )
    with pytest.raises(ValueError, match="computed without one"):
        exact.fold_scores("lda", {}, "accuracy")
    sampled = st.compute_states(st.from_arrays(X, y), ["lda"], folds=3, metrics=["accuracy"])
    assert sampled.sample_slot() is not None
