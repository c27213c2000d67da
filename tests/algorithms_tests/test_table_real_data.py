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
