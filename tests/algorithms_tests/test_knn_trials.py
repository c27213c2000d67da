"""k-nearest neighbours in a study: each fold's k_max neighbours of the held-out sample are
searched once and every trial takes prefixes (equal to a fresh search), and ``st.tune`` runs
knn against the other classifiers and regressors on the held-out sample."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error
from sklearn.neighbors import NearestNeighbors

import statetune as st
from statetune.algorithms import get_algorithm


def _data(n, seed=0, classes=True):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3)) * np.array([1.0, 50.0, 1.0])
    r = np.hypot(X[:, 0], X[:, 1] / 50.0)
    if classes:  # rings: no linear or Gaussian boundary
        return X, np.where(r < 1.0, "in", np.where(r < 1.8, "mid", "out"))
    return X, np.sin(3 * r) + 0.1 * rng.normal(size=n)


@pytest.fixture
def searches(monkeypatch):
    calls: list[int] = []
    original = NearestNeighbors.kneighbors

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NearestNeighbors, "kneighbors", counting)
    return calls


def _states(name, X, y, w=None):
    return st.compute_states(
        st.from_arrays(X, y, sample_weight=w),
        [name],
        folds=3,
        state_params={name: {"k_max": 15, "size": 600}},
    )


def test_classifier_trials_reuse_one_search_per_fold_and_equal_a_fresh_search(searches):
    X, y = _data(3_000)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    states = _states("knn_classifier", X, y, w)
    states.fold_scores("knn_classifier", {"n_neighbors": 2}, "accuracy")
    assert len(searches) == 3  # one search per fold
    trials = [
        {"n_neighbors": 15, "weights": "distance", "p": 2},
        {"n_neighbors": 5, "weights": "uniform", "p": 2},
        {"n_neighbors": 1, "weights": "distance", "p": 2},
    ]
    got = {
        (i, m): states.fold_scores("knn_classifier", p, m)
        for i, p in enumerate(trials)
        for m in ("accuracy", "log_loss")
    }
    assert len(searches) == 3  # later trials take prefixes: no search
    alg = get_algorithm("knn_classifier")
    sample_slot, slot = states.sample_slot(), states.model_slot("knn_classifier")
    for i, p in enumerate(trials):
        for k in range(3):
            held = states.held_out(sample_slot, k)
            model = alg.finalize(states.train(slot, k), p)
            proba = model.predict_proba(held.X)  # a fresh search
            want_acc = accuracy_score(held.y, model.predict(held.X), sample_weight=held.w)
            want_ll = log_loss(held.y, proba, labels=model.classes_, sample_weight=held.w)
            assert got[(i, "accuracy")][k] == pytest.approx(want_acc, abs=1e-12)
            assert got[(i, "log_loss")][k] == pytest.approx(want_ll, rel=1e-10)
    searched = len(searches)
    states.fold_scores("knn_classifier", {"n_neighbors": 4, "standardize": True}, "accuracy")
    states.fold_scores("knn_classifier", {"n_neighbors": 9, "standardize": True}, "accuracy")
    assert len(searches) == searched + 3  # another space: one more search per fold, once


def test_regressor_trials_reuse_one_search_per_fold_and_equal_a_fresh_search(searches):
    X, y = _data(2_000, classes=False)
    states = _states("knn_regressor", X, y)
    params = {"n_neighbors": 6, "weights": "distance", "p": 1, "standardize": True}
    rmse = states.fold_scores("knn_regressor", params, "rmse")
    mae = states.fold_scores("knn_regressor", {**params, "n_neighbors": 13}, "mae")
    assert len(searches) == 3
    alg = get_algorithm("knn_regressor")
    for k in range(3):
        held = states.held_out(states.sample_slot(), k)
        train = states.train(states.model_slot("knn_regressor"), k)
        pred = alg.finalize(train, params).predict(held.X)
        assert rmse[k] == pytest.approx(np.sqrt(mean_squared_error(held.y, pred)), rel=1e-10)
        pred = alg.finalize(train, {**params, "n_neighbors": 13}).predict(held.X)
        assert mae[k] == pytest.approx(mean_absolute_error(held.y, pred), rel=1e-10)


def test_tune_picks_knn_among_the_classifiers_where_the_boundary_is_rings():
    X, y = _data(3_000)
    result = st.tune(
        st.from_arrays(X, y),
        ["knn_classifier", "lda", "qda", "gaussian_nb"],
        n_trials=24,
        cv=3,
        metric="accuracy",
        storage="memory",
    )
    assert result.best_algorithm == "knn_classifier"
    assert result.best_value > 0.9
    assert result.best_value == pytest.approx(
        result.states.validation_score("knn_classifier", result.best_params, "accuracy"),
        rel=1e-12,
    )
    model = result.best_model
    Xt, yt = _data(1_000, seed=5)
    assert (model.predict(Xt) == yt).mean() > 0.9


def test_tune_runs_knn_against_ridge_on_rmse():
    X, y = _data(2_000, classes=False)
    result = st.tune(
        st.from_arrays(X, y), ["knn_regressor", "ridge"], n_trials=16, cv=3, metric="rmse",
        storage="memory",
    )  # fmt: skip
    assert result.best_algorithm == "knn_regressor"
    ridge = result.states.validation_score("ridge", {"alpha": 1.0}, "rmse")
    assert result.best_value < 0.5 * ridge
