"""k-nearest neighbours on tables with categorical columns and missing values, against
scikit-learn's pipeline ``ColumnTransformer([SimpleImputer(strategy="mean", add_indicator),
OneHotEncoder(handle_unknown="ignore", min_frequency)]) -> StandardScaler -> KNeighbors*``:
fold by fold (``cross_val_score`` on statetune's folds as a ``PredefinedSplit``: each fold's
means, levels, groups and scaling from its training rows only) and on all rows, with the
sample holding every row; then the name ``knn`` in a study with the linear models, the model
file and ``statetune predict`` on a CSV with text columns and NaNs, and bad input named."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn import neighbors
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import PredefinedSplit, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import statetune as st
from statetune.algorithms.knn import KNeighborsRegressor
from statetune.cli import main
from statetune.states import KNNSample
from tests.fold_rule import reference_folds
from tests.table_reference import as_sklearn

NUM = ["a", "b", "c", "d", "e"]
CAT = ["color", "shape"]
FOLDS = 4


def table(n: int = 480, seed: int = 0, labels: bool = False) -> pd.DataFrame:
    """Numeric columns with NaNs at random and in a whole block, a column observed in one
    fold only (dropped by the imputer of the other folds' training rows), a column without
    NaN (no two rows at equal distance), categorical columns with a rare level, a level of
    one fold only and missing categories; ``labels``: a 3-class target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) * [1.0, 3.0, 0.5, 2.0, 1.0] + [0.0, 10.0, -2.0, 1.0, 5.0]
    color = rng.choice(["red", "green", "blue", "teal"], size=n, p=[0.4, 0.3, 0.27, 0.03])
    shape = rng.choice(["disc", "square", "star"], size=n).astype(object)
    y = X @ [1.0, -0.5, 2.0, 0.3, 1.0] + (color == "red") * 1.5 + (shape == "star") * -1.0
    y = y + rng.normal(scale=0.3, size=n)
    X[:, :4][rng.random((n, 4)) < 0.15] = np.nan  # at random
    X[100:220, 1] = np.nan  # a whole block
    folds = reference_folds(FOLDS, 0, 0, n)
    X[folds != 2, 3] = np.nan  # column d observed in fold 2 only
    shape[(folds == 1) & (rng.random(n) < 0.2)] = "hexagon"  # a level of fold 1 only
    shape[rng.random(n) < 0.05] = None  # missing categories
    df = pd.DataFrame(X, columns=NUM)
    df["color"] = pd.Categorical(color)
    df["shape"] = shape
    df["y"] = np.digitize(y, np.quantile(y, [0.33, 0.66])) if labels else y
    return df


def pipeline(params: dict, classifier: bool, nums=NUM, cats=CAT) -> Pipeline:
    prep = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="mean", add_indicator=params["add_indicator"]), nums),
            (
                "cat",
                OneHotEncoder(
                    handle_unknown="ignore",
                    min_frequency=params["min_frequency"],
                    sparse_output=False,
                ),
                cats,
            ),
        ]
    )
    cls = neighbors.KNeighborsClassifier if classifier else neighbors.KNeighborsRegressor
    knn = cls(n_neighbors=params["n_neighbors"], weights=params["weights"], p=params["p"])
    scaler = [("scale", StandardScaler())] if params["standardize"] else []
    return Pipeline([("prep", prep), *scaler, ("knn", knn)])


def cv_of(states: st.StateSet, n: int) -> PredefinedSplit:
    f = states.folds
    return PredefinedSplit(reference_folds(f.n_folds, f.seed, 0, n, f.group_rows))


GRID = [
    {"n_neighbors": 5, "weights": "uniform", "p": 2, "standardize": False},
    {"n_neighbors": 9, "weights": "distance", "p": 1, "standardize": True},
]
PREP = [(False, None), (True, 25)]


@pytest.fixture(scope="module")
def regression():
    df = table()
    states = st.compute_states(
        st.from_pandas(df, target="y"), ["knn_regressor"], folds=FOLDS, metrics=["mse"]
    )
    return df, states


@pytest.fixture(scope="module")
def classification():
    df = table(labels=True, seed=1)
    states = st.compute_states(
        st.from_pandas(df, target="y"), ["knn_classifier"], folds=FOLDS, metrics=["accuracy"]
    )
    return df, states


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize(("add_indicator", "min_frequency"), PREP)
@pytest.mark.parametrize("params", GRID)
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_fold_scores_and_all_rows_equal_the_sklearn_pipeline(
    request, task, params, add_indicator, min_frequency
):
    df, states = request.getfixturevalue(task)
    classifier = task == "classification"
    name = "knn_classifier" if classifier else "knn_regressor"
    full = {**params, "add_indicator": add_indicator, "min_frequency": min_frequency}
    X, y = as_sklearn(df.drop(columns="y"), CAT), df["y"]
    ref = pipeline(full, classifier)
    scoring = "accuracy" if classifier else "neg_mean_squared_error"
    want = cross_val_score(ref, X, y, cv=cv_of(states, len(df)), scoring=scoring)
    metric = "accuracy" if classifier else "mse"
    got = states.fold_scores(name, full, metric=metric)
    np.testing.assert_allclose(got, want if classifier else -want, rtol=1e-8)
    # all rows: the finalized model predicts new rows as the pipeline fitted on all rows
    model = states.finalize(name, full)
    ref.fit(X, y)
    new = df.drop(columns="y").iloc[:40].copy()
    new["color"] = new["color"].astype(object)
    new.loc[new.index[0], "color"] = "purple"  # a level unseen in training: zeros
    new.loc[new.index[1], "shape"] = None
    new.loc[new.index[2], "e"] = np.nan  # a column without NaN in training: imputed too
    new[NUM] = new[NUM] * 1.01  # off the training rows
    if classifier:
        np.testing.assert_allclose(
            model.predict_proba(new), ref.predict_proba(as_sklearn(new, CAT)), atol=1e-12
        )
    np.testing.assert_allclose(model.predict(new), ref.predict(as_sklearn(new, CAT)), rtol=1e-8)
    width = ref[:-1].transform(X).shape[1]
    assert model.preprocessing_.width == width
    assert list(model.feature_names_in_) == NUM + CAT


def test_all_rows_preprocessing_would_score_differently(regression):
    """The check above can fail: imputing with all rows' means (a leak of the held-out fold
    into its preprocessing) gives other fold scores."""
    df, states = regression
    params = {**GRID[1], "add_indicator": False, "min_frequency": None}
    got = states.fold_scores("knn_regressor", params, metric="mse")
    X = as_sklearn(df.drop(columns="y"), CAT)
    leaked = X.drop(columns="d")  # d: dropped by three folds' imputers
    leaked[NUM[:3]] = leaked[NUM[:3]].fillna(leaked[NUM[:3]].mean())
    ref = pipeline(params, False, nums=[*NUM[:3], "e"])
    want = -cross_val_score(
        ref, leaked, df["y"], cv=cv_of(states, len(df)), scoring="neg_mean_squared_error"
    )
    assert not np.allclose(got, want, rtol=1e-6)


def test_each_fold_preprocesses_with_its_training_rows(regression):
    df, states = regression
    folds = cv_of(states, len(df)).test_fold
    slot = states.model_slot("knn_regressor")
    train1 = states.train(slot, 1)  # fold 1 held out: "hexagon" unseen in training
    model = KNeighborsRegressor.from_state(train1, add_indicator=True, standardize=True)
    assert "hexagon" in model.preprocessing_.unseen["shape"]
    rows = folds != 1
    np.testing.assert_allclose(
        model.preprocessing_.means[:3], df.loc[rows, NUM[:3]].mean().to_numpy(), rtol=1e-12
    )
    prep = pipeline({**GRID[1], "add_indicator": True, "min_frequency": None}, False)
    prep[:-1].fit(as_sklearn(df.loc[rows].drop(columns="y"), CAT))
    np.testing.assert_allclose(model.mean_, prep["scale"].mean_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.scale_, prep["scale"].scale_, rtol=1e-10)
    assert KNeighborsRegressor.from_state(states.train(slot, 2)).preprocessing_.dropped == ("d",)


def test_penguins_a_real_table_through_the_knn_name():
    """palmerpenguins: text columns (island, sex with missing values), numeric NaNs; the
    name ``knn`` tunes the classifier on the species labels."""
    penguins = pytest.importorskip("palmerpenguins").load_penguins()
    src = st.from_pandas(penguins, target="species")
    result = st.tune(src, ["knn"], n_trials=4, cv=4, storage="memory")
    assert result.best_algorithm == "knn_classifier"
    states = result.states
    nums = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    cats = ["island", "sex"]
    X = as_sklearn(penguins.drop(columns="species"), cats)
    y = penguins["species"].astype(object)
    for params in (
        {"n_neighbors": 5, "weights": "distance", "p": 2, "standardize": True},
        {"n_neighbors": 11, "weights": "distance", "p": 1, "standardize": True},
    ):
        full = {**params, "add_indicator": True, "min_frequency": 10}
        ref = pipeline(full, True, nums, cats)
        want = cross_val_score(ref, X, y, cv=cv_of(states, len(X)), scoring="accuracy")
        got = states.fold_scores("knn_classifier", full, metric="accuracy")
        np.testing.assert_allclose(got, want, rtol=1e-8)
        model = states.finalize("knn_classifier", full)
        Q = penguins.drop(columns="species")
        Q[nums[:4]] = Q[nums[:4]] * 1.003
        np.testing.assert_allclose(
            model.predict_proba(Q), ref.fit(X, y).predict_proba(as_sklearn(Q, cats)), atol=1e-12
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_knn_competes_with_the_linear_models_on_a_table(tmp_path):
    """The issue's example: ``knn`` in a study with ridge, lasso and pcr on a table; the
    best model (kNN when it is the only one) predicts a DataFrame, and ``preprocessing``
    describes its fitted preprocessing."""
    df = table(seed=3)
    src = st.from_pandas(df, target="y")
    result = st.tune(src, ["ridge", "lasso", "pcr", "knn"], n_trials=16, cv=3, storage="memory")
    counts = result.counts
    assert set(counts.index) == {"ridge", "lasso", "pcr", "knn_regressor"}
    assert counts.loc["knn_regressor", "complete"] >= 1
    alone = st.tune(src, ["knn"], n_trials=6, cv=3, storage="memory")
    best = alone.best_model
    assert type(best).__name__ == "KNeighborsRegressor"
    fitted = alone.preprocessing["best_model"]
    kept = df.dropna(subset=["y"])
    assert fitted["imputed"]["a"] == pytest.approx(kept["a"].mean(), rel=1e-12)
    assert set(fitted["one_hot"]) == {"color", "shape"}
    ref = pipeline(best.get_params(), False).fit(as_sklearn(df.drop(columns="y"), CAT), df["y"])
    new = df.drop(columns="y").iloc[:30]
    np.testing.assert_allclose(best.predict(new), ref.predict(as_sklearn(new, CAT)), rtol=1e-8)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_model_file_and_cli_predict_on_a_csv_with_text_and_nans(regression, tmp_path):
    df, states = regression
    params = {**GRID[1], "add_indicator": True, "min_frequency": 25}
    folder = st.save_model(tmp_path / "model", "knn_regressor", states, params)
    loaded = st.load_model(folder)
    new = df.drop(columns="y").iloc[:50].copy()
    new["color"] = new["color"].astype(object)
    new.loc[new.index[0], "color"] = "purple"
    new.loc[new.index[3], "e"] = np.nan
    new[NUM] = new[NUM] * 1.01
    ref = pipeline(params, False).fit(as_sklearn(df.drop(columns="y"), CAT), df["y"])
    want = ref.predict(as_sklearn(new, CAT))
    np.testing.assert_allclose(loaded.predict(new), want, rtol=1e-8)
    path = tmp_path / "new.csv"
    new.assign(row_id=np.arange(len(new))).to_csv(path, index=False)
    out = tmp_path / "pred.csv"
    argv = ["predict", str(folder), str(path), "--out", str(out), "--id-column", "row_id"]
    assert main(argv) == 0
    got = pd.read_csv(out)
    assert got["row_id"].tolist() == list(range(len(new)))
    np.testing.assert_allclose(got["prediction"], want, rtol=1e-8)


def test_the_state_of_a_table_chunks_merges_and_round_trips(regression):
    df, _states = regression
    src = st.from_pandas(df, target="y")
    enc = src.schema.encoding.to_text()
    X = src.schema.encoding.encode(df.drop(columns="y"))
    y = df["y"].to_numpy()

    def built(cuts):
        s = KNNSample(X.shape[1], k_max=20, size=100, encoding=enc)
        for a, b in itertools.pairwise(cuts):
            part = KNNSample(X.shape[1], k_max=20, size=100, encoding=enc)
            part.update(X[a:b], y[a:b], positions=np.arange(a, b))
            s.merge(part)
        return s

    one, many = built([0, len(X)]), built([0, 7, 200, 201, len(X)])
    assert one.allclose(many) and one.table is not None
    header, arrays = many.to_arrays()
    back = KNNSample.from_arrays(header, arrays)
    assert back.allclose(one) and back.params()["encoding"] == enc
    model = KNeighborsRegressor.from_state(back, n_neighbors=3, min_frequency=25)
    assert model.preprocessing_.infrequent["color"] == ("teal",)
    assert "encoding" not in KNNSample(3).params()  # numeric rows: specs as before


def test_designs_are_memoized_a_few_at_a_time(regression):
    """Search structures are shared by the values of ``min_frequency`` that group the same
    levels, and only a few designs are kept per state (not a copy of the sample per trial)."""
    from statetune.algorithms.knn import TABLE_DESIGNS_KEPT

    _df, states = regression
    slot = states.model_slot("knn_regressor")
    train = states.train(slot, 0)
    designs = set()
    for mf in range(1, 60, 3):
        for ai in (False, True):
            for std in (False, True):
                m = KNeighborsRegressor.from_state(
                    train, min_frequency=mf, add_indicator=ai, standardize=std
                )
                designs.add((std, m.preprocessing_.names))
                again = KNeighborsRegressor.from_state(
                    train, min_frequency=mf, add_indicator=ai, standardize=std
                )
                assert again._index is m._index  # the same design: the same search structure
    assert len(designs) > TABLE_DESIGNS_KEPT
    assert len(train.derived("knn_table_indexes", dict)._items) == TABLE_DESIGNS_KEPT
    # two values of min_frequency with one design share it while it is kept
    a = KNeighborsRegressor.from_state(train, min_frequency=1)
    b = KNeighborsRegressor.from_state(train, min_frequency=2)
    assert a.preprocessing_.names == b.preprocessing_.names and a._index is b._index


def test_bad_input_is_named(regression, tmp_path):
    df, states = regression
    with pytest.raises(ValueError, match="`min_frequency` must be None or an integer >= 1"):
        states.finalize("knn_regressor", {"min_frequency": 0})
    with pytest.raises(TypeError, match="`add_indicator` must be True or False"):
        states.finalize("knn_regressor", {"add_indicator": "yes"})
    model = states.finalize("knn_regressor", {"n_neighbors": 3})
    new = df.drop(columns="y").iloc[:5]
    with pytest.raises(ValueError, match=r"lacks \['shape'\] and has extra \['form'\]"):
        model.predict(new.rename(columns={"shape": "form"}))
    with pytest.raises(TypeError, match="Column 'a' must be numeric"):
        model.predict(new.assign(a="text"))
    ids = df.assign(customer=[f"c{i}" for i in range(len(df))])
    with pytest.raises(ValueError, match=r"'customer' \(480 levels\)"):
        st.tune(st.from_pandas(ids, target="y"), ["knn"], n_trials=2, storage="memory")
    with pytest.raises(ValueError, match="`encoding` is not a state parameter to give"):
        st.compute_states(
            st.from_pandas(df, target="y"),
            ["knn_regressor"],
            state_params={"knn_regressor": {"encoding": "{}"}},
        )
    with pytest.raises(ValueError, match="base design's width"):
        KNNSample(3, encoding=states.schema.encoding.to_text())


def test_the_cli_tunes_knn_on_a_table_file_with_a_search_space_for_it(tmp_path, capsys):
    df = table(seed=5)
    path = tmp_path / "table.csv"
    df.to_csv(path, index=False)
    space = tmp_path / "space.json"
    space.write_text('{"knn": {"n_neighbors": {"type": "int", "low": 3, "high": 8}}}')
    out = tmp_path / "res"
    argv = ["tune", str(path), "--target", "y", "--algorithms", "knn", "--trials", "2"]
    argv += ["--cv", "3", "--storage", "memory", "--no-progress", "--search-space", str(space)]
    assert main([*argv, "--out", str(out)]) == 0
    assert "preprocessing: one-hot color (4 levels), shape (5 levels)" in capsys.readouterr().out
    model = st.load_model(out / "best_model")
    assert type(model).__name__ == "KNeighborsRegressor" and 3 <= model.n_neighbors <= 8


def test_the_knn_alias_works_in_compute_states_finalize_and_the_stateset():
    # not only in st.tune: the pass, st.finalize and every StateSet method resolve "knn" by
    # the target, and give what the full name gives
    from palmerpenguins import load_penguins

    df = load_penguins()
    alias = st.compute_states(
        st.from_pandas(df, target="species"), ["knn"], folds=3, state_params={"knn": {"k_max": 9}}
    )
    full = st.compute_states(
        st.from_pandas(df, target="species"),
        ["knn_classifier"],
        folds=3,
        state_params={"knn_classifier": {"k_max": 9}},
    )
    assert alias.algorithms == ("knn_classifier",)
    assert alias.search_space("knn") == full.search_space("knn_classifier")
    assert alias.search_space("knn")["n_neighbors"].high == 9
    params = {"n_neighbors": 4, "standardize": True}
    np.testing.assert_array_equal(
        alias.fold_scores("knn", params, "accuracy"),
        full.fold_scores("knn_classifier", params, "accuracy"),
    )
    new = df.drop(columns="species").iloc[:20]
    np.testing.assert_array_equal(
        st.finalize("knn", alias, params).predict(new),
        st.finalize("knn_classifier", full, params).predict(new),
    )
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    reg = st.compute_states(st.from_arrays(X, X.sum(axis=1)), ["knn"], folds=3)
    assert reg.algorithms == ("knn_regressor",)
