"""Tables with categorical columns and missing values: the linear finalizers against
scikit-learn's pipelines (imputer + one-hot encoder + estimator), on all rows and fold by fold
(``cross_val_score`` with statetune's folds as a ``PredefinedSplit``): the imputation means
and the levels of each fold come from its training rows only."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import linear_model
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.model_selection import PredefinedSplit, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import statetune as st
from statetune.validation.fold_checks import FoldPeriodWarning
from tests.fold_rule import reference_folds
from tests.table_reference import as_sklearn

NUM = ["a", "b", "c", "d"]
CAT = ["color", "shape"]
FOLDS = 4


def fold_ids(states: st.StateSet, n: int) -> np.ndarray:
    f = states.folds
    return reference_folds(f.n_folds, f.seed, 0, n, f.group_rows)


def table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Numeric columns with NaNs at random and in a whole block, a column observed in one
    fold only, categorical columns with a rare level, a level present in one fold only and
    missing categories."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 3.0, 0.5, 2.0] + [0.0, 10.0, -2.0, 1.0]
    color = rng.choice(["red", "green", "blue", "teal"], size=n, p=[0.4, 0.3, 0.27, 0.03])
    shape = rng.choice(["disc", "square", "star"], size=n).astype(object)
    y = X @ [1.0, -0.5, 2.0, 0.3] + (color == "red") * 1.5 + (shape == "star") * -1.0
    y = y + rng.normal(scale=0.3, size=n)
    X[rng.random((n, 4)) < 0.15] = np.nan  # at random
    X[100:260, 1] = np.nan  # a whole block
    folds = reference_folds(FOLDS, 0, 0, n)
    X[folds != 2, 3] = np.nan  # column d observed in fold 2 only
    shape[(folds == 1) & (rng.random(n) < 0.2)] = "hexagon"  # a level of fold 1 only
    shape[rng.random(n) < 0.05] = None  # missing categories
    df = pd.DataFrame(X, columns=NUM)
    df["color"] = pd.Categorical(color)
    df["shape"] = shape
    df["y"] = y
    return df


def pipeline(estimator, add_indicator=False, min_frequency=None, cats=CAT, nums=NUM):
    encoder = OneHotEncoder(
        handle_unknown="ignore", min_frequency=min_frequency, sparse_output=False
    )
    prep = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="mean", add_indicator=add_indicator), nums),
            ("cat", encoder, cats),
        ]
    )
    return Pipeline([("prep", prep), ("model", estimator)])


def reference(name, params):
    p = {k: v for k, v in params.items() if k not in ("add_indicator", "min_frequency")}
    if name == "ridge":
        return linear_model.Ridge(**p)
    if name == "ols":
        return linear_model.LinearRegression(**p)
    if name == "lasso":
        return linear_model.Lasso(**p)
    if name == "elastic_net":
        return linear_model.ElasticNet(**p)
    if name == "pcr":
        return Pipeline(
            [
                ("pca", PCA(n_components=p["n_components"], svd_solver="full")),
                ("ridge", linear_model.Ridge(alpha=p["alpha"])),
            ]
        )
    raise AssertionError(name)


GRID = [
    ("ridge", {"alpha": 2.0}),
    ("ridge", {"alpha": 0.3, "fit_intercept": False}),
    ("ols", {}),
    ("lasso", {"alpha": 0.01, "tol": 1e-12, "max_iter": 100_000}),
    ("elastic_net", {"alpha": 0.02, "l1_ratio": 0.4, "tol": 1e-12, "max_iter": 100_000}),
    ("pcr", {"n_components": 5, "alpha": 0.5}),
]


@pytest.fixture(scope="module")
def data():
    df = table()
    with pytest.warns(FoldPeriodWarning, match=r"'hexagon': fold 1"):  # made so, on purpose
        states = st.compute_states(
            st.from_pandas(df, target="y"),
            ["ridge", "ols", "lasso", "elastic_net", "pcr"],
            folds=FOLDS,
        )
    return df, states


@pytest.mark.parametrize("add_indicator", [False, True])
@pytest.mark.parametrize("min_frequency", [None, 30])
@pytest.mark.parametrize(("name", "params"), GRID)
def test_all_rows_equal_the_sklearn_pipeline(data, name, params, add_indicator, min_frequency):
    df, states = data
    full = {**params, "add_indicator": add_indicator, "min_frequency": min_frequency}
    model = states.finalize(name, full)
    ref = pipeline(reference(name, params), add_indicator, min_frequency)
    X = as_sklearn(df.drop(columns="y"), CAT)
    ref.fit(X, df["y"])
    np.testing.assert_allclose(model.predict(df.drop(columns="y")), ref.predict(X), rtol=1e-8)
    if name != "pcr":
        np.testing.assert_allclose(model.coef_, ref[-1].coef_, rtol=1e-8, atol=1e-10)
    assert model.preprocessing_.width == ref[0].transform(X).shape[1]


@pytest.mark.parametrize("add_indicator", [False, True])
@pytest.mark.parametrize("min_frequency", [None, 30])
@pytest.mark.parametrize(("name", "params"), GRID)
def test_fold_scores_equal_cross_val_score_of_the_pipeline(
    data, name, params, add_indicator, min_frequency
):
    """Fold-correct: each fold's imputation means and levels are its training rows' own."""
    df, states = data
    full = {**params, "add_indicator": add_indicator, "min_frequency": min_frequency}
    got = states.fold_scores(name, full, metric="mse")
    ref = pipeline(reference(name, params), add_indicator, min_frequency)
    cv = PredefinedSplit(fold_ids(states, len(df)))
    want = -cross_val_score(
        ref, as_sklearn(df.drop(columns="y"), CAT), df["y"], cv=cv, scoring="neg_mean_squared_error"
    )
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_all_rows_imputation_would_score_differently(data):
    """The check above can fail: imputing with all rows' means gives other fold scores."""
    df, states = data
    got = states.fold_scores("ridge", {"alpha": 2.0}, metric="mse")
    X = as_sklearn(df.drop(columns="y"), CAT)
    leaked = X.copy()
    leaked[NUM] = leaked[NUM].fillna(leaked[NUM].mean())
    ref = pipeline(linear_model.Ridge(alpha=2.0))
    cv = PredefinedSplit(fold_ids(states, len(df)))
    want = -cross_val_score(ref, leaked, df["y"], cv=cv, scoring="neg_mean_squared_error")
    assert not np.allclose(got, want, rtol=1e-6)


def test_what_each_fold_did_is_reported(data):
    df, states = data
    folds = fold_ids(states, len(df))
    slot = states.model_slot("ridge")
    train1 = states.train(slot, 1)  # fold 1 held out: "hexagon" unseen in training
    design = train1.design(add_indicator=True)
    assert "hexagon" in design.unseen["shape"]
    train2 = states.train(slot, 2)  # fold 2 held out: column d never observed
    assert states.train(slot, 2).design().dropped == ("d",)
    means = design.means
    rows = folds != 1
    np.testing.assert_allclose(means[:3], df.loc[rows, NUM[:3]].mean().to_numpy(), rtol=1e-12)
    assert train2.design(True).indicators == ("a", "b", "c", "d")
    summary = states.finalize("ridge", {"add_indicator": True}).preprocessing_.summary()
    assert summary["indicators"] == ["a", "b", "c", "d"]
    assert set(summary["one_hot"]) == {"color", "shape"}
    assert states.schema.preprocessing["encoded"] == {"color": 4, "shape": 5}


def test_predict_on_new_rows_unseen_levels_and_new_missing_values(data):
    df, states = data
    model = states.finalize("ridge", {"alpha": 1.0, "add_indicator": True, "min_frequency": 30})
    ref = pipeline(linear_model.Ridge(alpha=1.0), True, 30)
    ref.fit(as_sklearn(df.drop(columns="y"), CAT), df["y"])
    new = df.drop(columns="y").iloc[:6].copy()
    new["color"] = new["color"].astype(object)
    new.loc[new.index[0], "color"] = "purple"  # unseen level: zeros
    new.loc[new.index[1], "shape"] = None
    new.loc[new.index[2], "a"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unseen level is no (pandas deprecation) warning
        got = model.predict(new)
    np.testing.assert_allclose(got, ref.predict(as_sklearn(new, CAT)), rtol=1e-8)
    with pytest.raises(ValueError, match=r"lacks \['shape'\] and has extra \['form'\]"):
        model.predict(new.rename(columns={"shape": "form"}))
    with pytest.raises(ValueError, match="in the order the model was fitted on"):
        model.predict(new[list(reversed(new.columns))])


def test_saved_model_applies_the_same_preprocessing(data, tmp_path):
    df, states = data
    params = {"alpha": 1.0, "add_indicator": True, "min_frequency": 30}
    st.save_model(tmp_path, "ridge", states, params)
    loaded = st.load_model(tmp_path)
    X = df.drop(columns="y")
    np.testing.assert_allclose(
        loaded.predict(X), states.finalize("ridge", params).predict(X), rtol=1e-12
    )
    assert list(loaded.feature_names_in_) == NUM + CAT


def test_missing_target_rows_are_dropped_and_counted():
    df = table(200)
    df.loc[[3, 50, 51], "y"] = np.nan
    src = st.from_pandas(df, target="y")
    assert src.schema.preprocessing["dropped_rows_missing_target"] == 3
    states = st.compute_states(src, ["ridge"], folds=2)
    assert states.n_rows == 197
    keep = df.dropna(subset=["y"])
    ref = pipeline(linear_model.Ridge(alpha=1.0)).fit(
        as_sklearn(keep.drop(columns="y"), CAT), keep["y"]
    )
    np.testing.assert_allclose(states.finalize("ridge", {}).coef_, ref[-1].coef_, rtol=1e-8)


def test_models_that_cannot_take_tables_refuse_by_column():
    df = table(200)
    df["label"] = np.where(df["y"] > 0, "hi", "lo")
    with pytest.raises(
        ValueError, match=r"'lda' must get numeric columns .*missing values in \['a'"
    ):
        st.compute_states(st.from_pandas(df.drop(columns="y"), target="label"), ["lda"], folds=2)
    with pytest.raises(ValueError, match=r"'pca' .*categorical columns \['color', 'shape'\]"):
        st.compute_states(st.from_pandas(df.drop(columns="label"), target="y"), ["pca"], folds=2)


def test_too_many_levels_are_refused_by_name():
    df = table(300)
    df["id"] = [f"row{i}" for i in range(len(df))]
    with pytest.raises(ValueError, match=r"'id' \(300 levels\) has more"):
        st.from_pandas(df, target="y")
    src = st.from_pandas(df, target="y", max_levels=400)
    assert src.schema.preprocessing["encoded"]["id"] == 300


def test_tuning_a_table_end_to_end(data, tmp_path):
    df, _ = data
    result = st.tune(
        st.from_pandas(df, target="y"),
        ["ridge", "lasso", "pcr"],
        n_trials=15,
        cv=3,
        storage="memory",
        cache=st.StateCache(tmp_path / "cache"),
    )
    assert result.states.schema.preprocessing["missing"] == ["a", "b", "c", "d"]
    pred = result.best_model.predict(df.drop(columns="y"))
    assert np.isfinite(pred).all()
    # What was done, for the user: the source's encoding and the best model's fitted part.
    prep = result.preprocessing
    assert prep["encoded"] == {"color": 4, "shape": 5}  # 4 colours; 4 shapes and missing
    assert prep["missing"] == NUM
    observed = df[NUM[:3]].mean()  # all rows: the best model is finalized on every fold
    fitted = prep["best_model"]["imputed"]
    np.testing.assert_allclose([fitted[c] for c in NUM[:3]], observed.to_numpy(), rtol=1e-12)
    text = result.summary()
    assert "preprocessing: one-hot color (4 levels), shape (5 levels)" in text
    assert "mean-imputed a, b, c, d" in text
    # What the cache did: a first run built every state, reading every row.
    assert result.cache_report.rows_read == len(df)
    assert result.cache_report.rows_from_cache == 0
    assert str(result.cache_report) in text
    numeric = st.tune(
        st.from_arrays(np.ones((30, 2)).cumsum(0), np.arange(30.0)),
        ["ridge"],
        n_trials=2,
        cv=3,
        storage="memory",
    )
    assert numeric.preprocessing is None and numeric.cache_report is None


def test_cli_predict_reads_a_csv_with_text_columns_and_missing_values(data, tmp_path):
    from statetune.cli import main

    df, states = data
    params = {"alpha": 1.0, "add_indicator": True}
    st.save_model(tmp_path / "model", "ridge", states, params)
    new = df.drop(columns="y").iloc[:80]
    new.to_csv(tmp_path / "new.csv", index=False)
    assert new.isna().any().any() and new["shape"].isna().any()
    out = tmp_path / "pred.csv"
    assert (
        main(["predict", str(tmp_path / "model"), str(tmp_path / "new.csv"), "--out", str(out)])
        == 0
    )
    ref = pipeline(linear_model.Ridge(alpha=1.0), True).fit(
        as_sklearn(df.drop(columns="y"), CAT), df["y"]
    )
    got = pd.read_csv(out)["prediction"].to_numpy()
    np.testing.assert_allclose(got, ref.predict(as_sklearn(new, CAT)), rtol=1e-8)


def test_a_cached_table_state_is_found_again(tmp_path):
    df = table(300, seed=3)
    cache = st.StateCache(tmp_path)
    first = st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=3, cache=cache)
    again = st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=3, cache=cache)
    params = {"alpha": 1.0, "add_indicator": True, "min_frequency": 10}
    np.testing.assert_array_equal(
        first.fold_scores("ridge", params, "mse"), again.fold_scores("ridge", params, "mse")
    )
    X = as_sklearn(df.drop(columns="y"), CAT)
    ref = pipeline(linear_model.Ridge(alpha=1.0), True, 10).fit(X, df["y"])
    model = again.finalize("ridge", params)
    np.testing.assert_allclose(model.predict(df.drop(columns="y")), ref.predict(X), rtol=1e-8)


def test_new_rows_with_the_same_vocabulary_update_and_a_new_level_is_refused():
    df = table(300, seed=4)
    head, tail = df.iloc[:200], df.iloc[200:]
    first = st.compute_states(st.from_pandas(head, target="y"), ["ridge"], folds=2)
    more = st.update(first, st.from_pandas(head, target="y"))  # same levels: absorbed
    assert more.n_rows == 400
    with pytest.raises(ValueError, match=r"vocabulary.*adds \['color=pink'\]"):
        st.update(first, st.from_pandas(tail.assign(color="pink"), target="y"))


def test_frequency_weights_equal_repeated_rows():
    """Sample weights are frequency weights: imputation means and level counts are weighted,
    as the pipeline fitted on the rows repeated."""
    df = table(200, seed=6)
    w = np.random.default_rng(6).integers(0, 4, size=len(df))
    params = {"alpha": 1.5, "add_indicator": True, "min_frequency": 40}
    states = st.compute_states(st.from_pandas(df.assign(w=w), target="y", weight="w"), ["ridge"])
    model = states.finalize("ridge", params)
    rep = df.loc[df.index.repeat(w)]
    ref = pipeline(linear_model.Ridge(alpha=1.5), True, 40)
    ref.fit(as_sklearn(rep.drop(columns="y"), CAT), rep["y"])
    np.testing.assert_allclose(model.coef_, ref[-1].coef_, rtol=1e-8, atol=1e-10)
    X = df.drop(columns="y")
    np.testing.assert_allclose(model.predict(X), ref.predict(as_sklearn(X, CAT)), rtol=1e-8)
