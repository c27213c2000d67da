"""``standardize``: ridge, lasso, elastic net and PCR with the features standardized by each
fold's training rows, from the same moments. References: scikit-learn's
``Pipeline([StandardScaler(), estimator])`` (after the ``ColumnTransformer`` of imputer and
one-hot encoder for tables) fitted on each fold's training rows, ``cross_val_score`` with
statetune's folds as a ``PredefinedSplit``; weighted rows fold by fold by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import linear_model
from sklearn.decomposition import PCA
from sklearn.model_selection import PredefinedSplit, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import statetune as st
import statetune.algorithms._standardize as standardize_mod
from statetune.validation.fold_checks import FoldPeriodWarning
from tests.algorithms_tests.test_table_preprocessing import CAT, pipeline, table
from tests.fold_rule import reference_folds
from tests.table_reference import as_sklearn

FOLDS = 4
NAMES = ["ridge", "lasso", "elastic_net", "pcr"]
GRID = [
    ("ridge", {"alpha": 30.0}),
    ("ridge", {"alpha": 3.0, "fit_intercept": False}),
    ("lasso", {"alpha": 0.05, "tol": 1e-12, "max_iter": 100_000}),
    ("elastic_net", {"alpha": 0.1, "l1_ratio": 0.3, "tol": 1e-12, "max_iter": 100_000}),
    ("pcr", {"n_components": 3, "alpha": 2.0}),
]


def estimator(name, params):
    if name == "pcr":
        return Pipeline(
            [
                ("pca", PCA(n_components=params["n_components"], svd_solver="full")),
                ("ridge", linear_model.Ridge(alpha=params["alpha"])),
            ]
        )
    cls = {
        "ridge": linear_model.Ridge,
        "lasso": linear_model.Lasso,
        "elastic_net": linear_model.ElasticNet,
    }[name]
    return cls(**params)


def scaled(name, params):
    return Pipeline([("scale", StandardScaler()), ("model", estimator(name, params))])


def numeric(n=400, seed=0):
    """Features on skewed scales and offsets, one constant column (scale 1, as the scaler)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) * [1.0, 1e3, 1e-2, 5.0, 1.0] + [0.0, 1e4, 3.0, -50.0, 0.0]
    X[:, 4] = 7.0
    X[:, 3] = np.exp(X[:, 3] / 5.0)  # skewed
    y = X @ [1.0, 1e-3, 30.0, 0.5, 0.0] + rng.normal(size=n)
    return X, y


def fold_ids(states, n):
    f = states.folds
    return reference_folds(f.n_folds, f.seed, 0, n, f.group_rows)


@pytest.fixture(scope="module")
def plain():
    X, y = numeric()
    return X, y, st.compute_states(st.from_arrays(X, y), NAMES, folds=FOLDS)


@pytest.fixture(scope="module")
def tab():
    df = table()
    with pytest.warns(FoldPeriodWarning, match=r"'hexagon': fold 1"):  # the table's own level
        return df, st.compute_states(st.from_pandas(df, target="y"), NAMES, folds=FOLDS)


@pytest.mark.parametrize(("name", "params"), GRID)
def test_fold_scores_equal_cross_val_score_of_the_scaled_pipeline(plain, name, params):
    X, y, states = plain
    got = states.fold_scores(name, {**params, "standardize": True}, metric="mse")
    cv = PredefinedSplit(fold_ids(states, len(y)))
    want = -cross_val_score(scaled(name, params), X, y, cv=cv, scoring="neg_mean_squared_error")
    np.testing.assert_allclose(got, want, rtol=1e-8)
    model = states.finalize(name, {**params, "standardize": True})
    ref = scaled(name, params).fit(X, y)
    np.testing.assert_allclose(model.predict(X), ref.predict(X), rtol=1e-8)
    np.testing.assert_allclose(model.scale_, ref[0].scale_, rtol=1e-10)
    if name != "pcr":  # coefficients of the raw features: the pipeline's over its scale
        np.testing.assert_allclose(
            model.coef_ * ref[0].scale_, ref[-1].coef_, rtol=1e-8, atol=1e-10
        )
    else:
        scores = ref[-1][0].transform(ref[0].transform(X))  # signs of components are free
        np.testing.assert_allclose(np.abs(model.transform(X)), np.abs(scores), atol=1e-8)


@pytest.mark.parametrize(("name", "params"), GRID[:1] + GRID[2:4])
def test_weighted_rows_fold_by_fold(plain, name, params):
    X, y, _ = plain
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y))
    states = st.compute_states(st.from_arrays(X, y, w), [name], folds=FOLDS)
    got = states.fold_scores(name, {**params, "standardize": True}, metric="mse")
    folds = fold_ids(states, len(y))
    want = []
    for k in range(FOLDS):
        tr, te = folds != k, folds == k
        ref = scaled(name, params)
        ref.fit(X[tr], y[tr], scale__sample_weight=w[tr], model__sample_weight=w[tr])
        want.append(np.average((y[te] - ref.predict(X[te])) ** 2, weights=w[te]))
    np.testing.assert_allclose(got, want, rtol=1e-8)


@pytest.mark.parametrize(
    ("name", "params", "add_indicator"),
    [(*GRID[0], False), (*GRID[0], True), (*GRID[2], True), (*GRID[4], True)],
)
def test_tables_scale_the_encoded_imputed_design(tab, name, params, add_indicator):
    """As StandardScaler after the ColumnTransformer: indicator and one-hot columns scaled too,
    each fold's imputation means, levels, means and scales from its training rows."""
    df, states = tab
    full = {**params, "standardize": True, "add_indicator": add_indicator, "min_frequency": 30}
    got = states.fold_scores(name, full, metric="mse")
    ref = pipeline(scaled(name, params), add_indicator, 30)
    X = as_sklearn(df.drop(columns="y"), CAT)
    cv = PredefinedSplit(fold_ids(states, len(df)))
    want = -cross_val_score(ref, X, df["y"], cv=cv, scoring="neg_mean_squared_error")
    np.testing.assert_allclose(got, want, rtol=1e-8)
    model = states.finalize(name, full)
    ref.fit(X, df["y"])
    np.testing.assert_allclose(model.predict(df.drop(columns="y")), ref.predict(X), rtol=1e-8)


def test_a_wrong_variance_or_all_rows_scaling_would_be_caught(plain, monkeypatch):
    """The checks above can fail: a sample variance (W - 1) or means and scales of all rows
    (leaked into every fold) give other fold scores than the pipeline's."""
    X, y, states = plain
    params = {"alpha": 30.0}
    cv = PredefinedSplit(fold_ids(states, len(y)))
    want = -cross_val_score(scaled("ridge", params), X, y, cv=cv, scoring="neg_mean_squared_error")
    leaked = StandardScaler().fit_transform(X)
    all_rows = -cross_val_score(
        linear_model.Ridge(**params), leaked, y, cv=cv, scoring="neg_mean_squared_error"
    )
    assert not np.allclose(all_rows, want, rtol=1e-6)  # what a wrong fold's means give
    real = standardize_mod._standardize

    def sample_variance(state):
        out, sc = real(state)
        return out, standardize_mod.Scaling(
            sc.mean, sc.scale * np.sqrt(state.weight_sum / (state.weight_sum - 1))
        )

    monkeypatch.setattr(standardize_mod, "_standardize", sample_variance)
    fresh = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=FOLDS)
    got = fresh.fold_scores("ridge", {**params, "standardize": True}, metric="mse")
    assert not np.allclose(got, want, rtol=1e-8)


def test_search_space_and_saved_model(plain, tab, tmp_path):
    X, y, states = plain
    df, table_states = tab
    for name in NAMES:
        assert "standardize" not in states.search_space(name)  # numeric: as it was
        space = table_states.search_space(name)  # a table's: offered, alpha for both scalings
        assert space["standardize"].choices == (False, True)
        if name in ("ridge", "pcr"):  # standardized, alpha competes with the weight sum
            assert space["alpha"].low <= 1e-4 * len(df) and space["alpha"].high >= len(df)
    params = {"alpha": 30.0, "standardize": True}
    st.save_model(tmp_path / "m", "ridge", states, params)
    loaded = st.load_model(tmp_path / "m")
    ref = scaled("ridge", {"alpha": 30.0}).fit(X, y)
    np.testing.assert_allclose(loaded.predict(X), ref.predict(X), rtol=1e-8)


def test_tune_picks_standardize_when_the_space_names_it(plain):
    from optuna.distributions import CategoricalDistribution

    X, y, _ = plain
    space = {"ridge": {"standardize": CategoricalDistribution([False, True])}}
    result = st.tune(
        st.from_arrays(X, y), ["ridge"], n_trials=12, seed=0, cv=FOLDS, search_space=space
    )
    seen = {t.params.get("ridge:standardize") for t in result.study.trials}
    assert seen == {False, True}
