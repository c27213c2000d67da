"""Real tables shipped with statsmodels (no download): the World Bank fertility table (text
columns, missing values everywhere, a target missing in some rows) and Grunfeld's investment
panel (a text ``firm`` column). Fold scores equal ``cross_val_score`` of the scikit-learn
pipeline on statetune's folds; an id-like column is refused by name with its level count."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import linear_model
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import PredefinedSplit, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import statetune as st
from tests.fold_rule import reference_folds

datasets = pytest.importorskip("statsmodels.datasets")


def reference(nums, cats, estimator, add_indicator=False, min_frequency=None):
    prep = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="mean", add_indicator=add_indicator), nums),
            (
                "cat",
                OneHotEncoder(
                    handle_unknown="ignore", min_frequency=min_frequency, sparse_output=False
                ),
                cats,
            ),
        ]
    )
    return Pipeline([("prep", prep), ("model", estimator)])


def cv_of(states, n):
    f = states.folds
    return PredefinedSplit(reference_folds(f.n_folds, f.seed, 0, n, f.group_rows))


def test_fertility_missing_values_and_text_columns():
    df = datasets.fertility.load_pandas().data
    with pytest.raises(ValueError, match=r"'Country Name' \(202 levels\).*'Country Code' \(202"):
        st.from_pandas(df, target="2011")
    years = [str(y) for y in range(1980, 2011)]
    table = df[["Indicator Name", *years, "2011"]]
    src = st.from_pandas(table, target="2011")
    assert src.schema.preprocessing["dropped_rows_missing_target"] == 17
    kept = table.dropna(subset=["2011"])
    missing = [c for c in years if kept[c].isna().any()]
    assert len(missing) >= 8 and src.schema.preprocessing["missing"] == missing
    states = st.compute_states(src, ["ridge", "lasso"], folds=5)
    X, y = kept.drop(columns="2011"), kept["2011"]
    X = X.assign(**{"Indicator Name": X["Indicator Name"].astype(object)})
    for name, params, est in [
        ("ridge", {"alpha": 3.0, "add_indicator": True}, linear_model.Ridge(alpha=3.0)),
        (
            "lasso",
            {"alpha": 0.01, "tol": 1e-12, "max_iter": 10**5},
            linear_model.Lasso(alpha=0.01, tol=1e-12, max_iter=10**5),
        ),
    ]:
        ref = reference(years, ["Indicator Name"], est, params.get("add_indicator", False))
        want = -cross_val_score(
            ref, X, y, cv=cv_of(states, len(kept)), scoring="neg_mean_squared_error"
        )
        np.testing.assert_allclose(states.fold_scores(name, params, "mse"), want, rtol=1e-7)
        model = states.finalize(name, params)
        np.testing.assert_allclose(model.predict(X), ref.fit(X, y).predict(X), rtol=1e-7)


def test_grunfeld_text_firm_column():
    df = datasets.grunfeld.load_pandas().data
    src = st.from_pandas(df, target="invest")
    assert src.schema.preprocessing["encoded"] == {"firm": df["firm"].nunique()}
    states = st.compute_states(src, ["ridge"], folds=4)
    X, y = df.drop(columns="invest").astype({"firm": object}), df["invest"]
    nums = ["value", "capital", "year"]
    for mf in (None, 16, 21):
        ref = reference(nums, ["firm"], linear_model.Ridge(alpha=10.0), False, mf)
        got = states.fold_scores("ridge", {"alpha": 10.0, "min_frequency": mf}, "r2")
        want = cross_val_score(ref, X, y, cv=cv_of(states, len(df)), scoring="r2")
        np.testing.assert_allclose(got, want, rtol=1e-8)
        model = states.finalize("ridge", {"alpha": 10.0, "min_frequency": mf})
        np.testing.assert_allclose(model.predict(X), ref.fit(X, y).predict(X), rtol=1e-8)
    # every firm has 20 rows: with min_frequency=21 all are grouped into one column
    assert model.preprocessing_.levels["firm"] == ()
    assert len(model.preprocessing_.infrequent["firm"]) == df["firm"].nunique()


def _pipeline_of(name, params, nums, cats):
    """The scikit-learn pipeline of a statetune trial: imputer + one-hot encoder, then
    ``StandardScaler`` when ``standardize``, then the estimator."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    p = dict(params)
    ai, mf, sc = p.pop("add_indicator", False), p.pop("min_frequency", None), p.pop("standardize")
    if name == "pcr":
        est = Pipeline(
            [
                ("pca", PCA(n_components=p["n_components"], svd_solver="full")),
                ("ridge", linear_model.Ridge(alpha=p["alpha"])),
            ]
        )
    else:
        est = {
            "ridge": linear_model.Ridge,
            "lasso": linear_model.Lasso,
            "elastic_net": linear_model.ElasticNet,
        }[name](**p)
    ref = reference(nums, cats, est, ai, mf)
    if sc:
        ref.steps.insert(1, ("scale", StandardScaler()))
    return ref


def _tune_matches_the_pipeline(df, target, cats, n_trials):
    """st.tune end to end; the best trial refitted as the scikit-learn pipeline on
    statetune's folds scores what statetune says, and the best model predicts as it."""
    result = st.tune(
        st.from_pandas(df, target=target),
        ["ridge", "lasso", "elastic_net", "pcr"],
        n_trials=n_trials,
        cv=4,
        metric="mse",
        seed=0,
        storage="memory",
    )
    kept = df.dropna(subset=[target])
    X = kept.drop(columns=target).astype({c: object for c in cats})
    X = X.assign(**{c: X[c].where(X[c].notna(), np.nan) for c in cats})
    y = kept[target]
    nums = [c for c in X.columns if c not in cats]
    name, params = result.best_algorithm, result.best_params
    assert "standardize" in params
    ref = _pipeline_of(name, params, nums, cats)
    cv = cv_of(result.states, len(kept))
    want = -cross_val_score(ref, X, y, cv=cv, scoring="neg_mean_squared_error")
    # coordinate descent stops at its tolerance (default tol in the space): 1e-6
    np.testing.assert_allclose(result.best_value, want.mean(), rtol=1e-6)
    got = result.best_model.predict(kept.drop(columns=target))
    np.testing.assert_allclose(got, ref.fit(X, y).predict(X), rtol=1e-6)
    return result


def test_penguins_tuned_end_to_end():
    """palmerpenguins' table (shipped in the package): text species/island/sex with missing
    sexes, missing measurements, rows without the target."""
    penguins = pytest.importorskip("palmerpenguins")
    df = penguins.load_penguins()
    result = _tune_matches_the_pipeline(df, "body_mass_g", ["species", "island", "sex"], 20)
    assert result.states.schema.preprocessing["dropped_rows_missing_target"] == 2


def test_fertility_tuned_end_to_end():
    df = datasets.fertility.load_pandas().data
    table = df[["Indicator Name", *[str(y) for y in range(1995, 2011)], "2011"]]
    _tune_matches_the_pipeline(table, "2011", ["Indicator Name"], 12)
