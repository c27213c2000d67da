"""The baseline: mean predictor, class prior and naive forecast, against scikit-learn's dummy
estimators and numpy on every held-out fold; the state's merge law; bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.dummy import DummyClassifier, DummyRegressor

import statetune as st
from statetune.states import TargetSummary
from tests.engine_tests.test_time_windows import as_ns, lag_table, ragged_panel, raw
from tests.fold_rule import reference_folds


def fold_ids(n: int, k: int) -> np.ndarray:
    return reference_folds(k, 0, 0, n)


def test_mean_predictor_equals_dummy_regressor_on_every_fold_with_skewed_weights():
    X, y = load_diabetes(return_X_y=True)
    y = y * 1e6 + 3e9  # far from zero: the summary keeps its digits
    w = np.random.default_rng(0).gamma(0.5, size=len(y))
    states = st.compute_states(st.from_arrays(X, y, w), ["ridge", "baseline"], folds=5)
    folds = fold_ids(len(y), 5)
    for metric, ref in (
        ("mse", skm.mean_squared_error),
        ("r2", skm.r2_score),
        (
            "rmse",
            lambda a, b, sample_weight: np.sqrt(
                skm.mean_squared_error(a, b, sample_weight=sample_weight)
            ),
        ),
    ):
        got = states.fold_scores("baseline", {}, metric)
        want = []
        for k in range(5):
            tr, ho = folds != k, folds == k
            dummy = DummyRegressor().fit(X[tr], y[tr], sample_weight=w[tr])
            want.append(ref(y[ho], dummy.predict(X[ho]), sample_weight=w[ho]))
        np.testing.assert_allclose(got, want, rtol=1e-9)
    model = st.finalize("baseline", states)
    dummy = DummyRegressor().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model.predict(X[:3]), dummy.predict(X[:3]), rtol=1e-12)


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "log_loss"])
def test_class_prior_equals_dummy_classifier_on_every_fold(metric):
    data = load_wine(as_frame=True).frame
    data["target"] = data["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    data = data.sample(frac=1.0, random_state=0).reset_index(drop=True)
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=len(data))
    data["w"] = w
    states = st.compute_states(
        st.from_pandas(data, target="target", weight="w"), ["lda", "baseline"], folds=4
    )
    X = data.drop(columns=["target", "w"]).to_numpy()
    y = data["target"].to_numpy()
    folds = fold_ids(len(y), 4)
    got = states.fold_scores("baseline", {}, metric)
    for k in range(4):
        tr, ho = folds != k, folds == k
        dummy = DummyClassifier(strategy="prior").fit(X[tr], y[tr], sample_weight=w[tr])
        if metric == "log_loss":
            want = skm.log_loss(
                y[ho], dummy.predict_proba(X[ho]), sample_weight=w[ho], labels=dummy.classes_
            )
        else:
            score = getattr(skm, f"{metric}_score")
            want = score(y[ho], dummy.predict(X[ho]), sample_weight=w[ho])
        np.testing.assert_allclose(got[k], want, rtol=1e-12)
    model = st.finalize("baseline", states)
    dummy = DummyClassifier(strategy="prior").fit(X, y, sample_weight=w)
    assert model.classes_.tolist() == dummy.classes_.tolist()
    np.testing.assert_allclose(model.predict_proba(X[:2]), dummy.predict_proba(X[:2]))
    assert model.predict(X[:2]).tolist() == dummy.predict(X[:2]).tolist()


def test_class_prior_roc_auc_is_that_of_a_constant_score():
    data = load_breast_cancer(as_frame=True).frame
    data["target"] = data["target"].map({0: "malignant", 1: "benign"})
    states = st.compute_states(st.from_pandas(data, target="target"), ["baseline"], folds=3)
    np.testing.assert_allclose(states.fold_scores("baseline", {}, "roc_auc"), 0.5)


def test_naive_forecasts_equal_numpy_on_windows_of_time_of_a_ragged_panel():
    df = ragged_panel(n_series=60)
    time = as_ns(df["date"])
    states = st.compute_states(
        st.from_pandas(df, target="value", series="series", time="date"),
        ["autoregressive", "baseline"],
        folds=3,
        max_lag=12,
    )
    assert states.search_space("baseline")["lag"].choices == (1, 4, 7, 12)
    tab = lag_table(df, "series", time, "value", [], 12)
    windows = states.fold_windows()
    for lag in (1, 12):
        got = states.fold_scores("baseline", {"lag": lag}, "mse")
        for k, w in enumerate(windows):
            held = (tab.time >= raw(w.held_start)) & (tab.time < raw(w.held_end))
            err = tab.target[held] - tab.lags[held, lag - 1]
            np.testing.assert_allclose(got[k], np.mean(err**2), rtol=1e-9)
    # the naive forecast shares the forecasters' state: no second state in the pass
    assert [s.spec.kind for s in states.fold_states if s.role == "model"] == ["lagged_moments"]


def test_tuning_shows_the_baseline_next_to_the_models():
    X, y = load_diabetes(return_X_y=True)
    result = st.tune(
        st.from_arrays(X, y),
        ["ridge", "baseline"],
        n_trials=12,
        cv=5,
        storage="memory",
        progress=False,
        seed=3,
    )
    best = result.trials.groupby("algorithm")["value"].min()
    assert best["ridge"] < best["baseline"]  # a model that beats nothing would show here
    assert "baseline" in result.summary()


def test_metrics_that_do_not_fit_the_target_are_refused_by_name():
    X, y = load_diabetes(return_X_y=True)
    states = st.compute_states(st.from_arrays(X, y), ["baseline"], folds=3)
    with pytest.raises(
        ValueError, match=r"`metric='accuracy'` scores class labels, but the target is numeric"
    ):
        states.fold_scores("baseline", {}, "accuracy")


def test_a_missing_target_value_is_named_by_its_row():
    X, y = load_diabetes(return_X_y=True)
    y = y.copy()
    y[123] = np.nan
    with pytest.raises(ValueError, match="row 123"):
        st.compute_states(st.from_arrays(X, y), ["baseline"], folds=3)


numbers = st_.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    y=st_.lists(numbers, min_size=1, max_size=60),
    cuts=st_.lists(st_.integers(0, 60), max_size=4),
    scale=st_.sampled_from([1e-6, 1.0, 1e9]),
)
def test_merging_chunks_equals_one_update(y, cuts, scale):
    y = np.asarray(y) * scale
    w = np.linspace(0.5, 2.0, len(y))
    whole = TargetSummary(1)
    whole.update(None, y, w)
    bounds = sorted({0, len(y), *(c for c in cuts if c <= len(y))})
    merged = TargetSummary(1)
    for a, b in itertools.pairwise(bounds):
        part = TargetSummary(1)
        part.update(None, y[a:b], w[a:b])
        merged.merge(part)
    assert merged.allclose(whole, rtol=1e-9)
    np.testing.assert_allclose(whole.mean, np.average(y, weights=w), rtol=1e-12, atol=1e-9 * scale)
    m2 = float(w @ (y - np.average(y, weights=w)) ** 2)
    np.testing.assert_allclose(whole.m2, m2, rtol=1e-9, atol=1e-9 * scale**2)
    header, arrays = merged.to_arrays()
    assert TargetSummary.from_arrays(header, arrays).allclose(merged)


def test_class_weights_merge_across_chunks_with_classes_unseen_by_one_side():
    a, b = TargetSummary(1, labels=True), TargetSummary(1, labels=True)
    a.update(None, np.array(["x", "y", "x"]))
    b.update(None, np.array(["z", "x"]), np.array([2.0, 0.5]))
    a.merge(b)
    assert a.classes.tolist() == ["x", "y", "z"]
    assert a.class_weights.tolist() == [2.5, 1.0, 2.0] and a.n_rows == 5
    with pytest.raises(ValueError, match="must share parameters"):
        a.merge(TargetSummary(1))


def test_scikit_learn_fit_takes_numbers_as_a_regression_and_labels_as_classes():
    X = np.zeros((4, 2))
    reg = st.algorithms.baseline.Baseline().fit(X, np.array([1.0, 2.0, 3.0, 6.0]))
    assert reg.predict(X[:1]).tolist() == [3.0]
    clf = st.algorithms.baseline.Baseline().fit(X, pd.Series(["a", "b", "b", "c"]))
    assert clf.predict(X[:1]).tolist() == ["b"]
    np.testing.assert_allclose(clf.predict_proba(X[:1]), [[0.25, 0.5, 0.25]])


def test_naive_forecast_mse_keeps_its_digits_on_series_near_1e9():
    # Values near 1e9 with steps of ~1e3: the held-out SSE must come from differences kept
    # exact (the state's shifts), not from raw second moments (which would lose every digit).
    df = ragged_panel(n_series=20)
    df["value"] = 1e9 + df["value"] * 1e3
    time = as_ns(df["date"])
    states = st.compute_states(
        st.from_pandas(df, target="value", series="series", time="date"),
        ["baseline"],
        folds=3,
        max_lag=6,
    )
    tab = lag_table(df, "series", time, "value", [], 6)
    for lag in (1, 2, 3, 6):
        got = states.fold_scores("baseline", {"lag": lag}, "mse")
        for k, w in enumerate(states.fold_windows()):
            held = (tab.time >= raw(w.held_start)) & (tab.time < raw(w.held_end))
            err = tab.target[held] - tab.lags[held, lag - 1]
            np.testing.assert_allclose(got[k], np.mean(err**2), rtol=1e-9)
