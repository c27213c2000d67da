"""k-nearest neighbours finalized from a ``KNNSample``: equal to scikit-learn's KNeighbors*
fitted on the same sampled rows (and on all rows when the sample holds them all), feature
scaling from the exact moments of each fold, and bad input named."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import neighbors
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.algorithms.knn import KNeighborsClassifier, KNeighborsRegressor
from statetune.states import KNNSample

PARAMS = [
    {"n_neighbors": 1, "weights": "uniform", "p": 2, "standardize": False},
    {"n_neighbors": 7, "weights": "distance", "p": 1, "standardize": True},
    {"n_neighbors": 20, "weights": "uniform", "p": 1, "standardize": True},
    {"n_neighbors": 12, "weights": "distance", "p": 2, "standardize": False},
]


def _data(n, d=4, seed=0, classes=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.array([1.0, 10.0, 0.1, 1000.0])[:d] + 5.0
    z = X / np.array([1.0, 10.0, 0.1, 1000.0])[:d]
    y = z[:, 0] + np.sin(z[:, 1]) * z[:, 2] + 0.3 * rng.normal(size=n)
    return X, ((y > 5.5).astype(int) + (y > 6.5).astype(int) if classes else y)


def _state(X, y, chunk=333, **params):
    s = KNNSample(X.shape[1], **params)
    for a in range(0, len(X), chunk):
        s.update(X[a : a + chunk], y[a : a + chunk], positions=np.arange(a, min(a + chunk, len(X))))
    return s


def _sklearn(cls, p, Xfit, yfit, scaler_rows):
    knn = cls(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"]).fit(
        StandardScaler().fit(scaler_rows).transform(Xfit) if p["standardize"] else Xfit, yfit
    )
    if not p["standardize"]:
        return knn.predict, getattr(knn, "predict_proba", None)
    scaler = StandardScaler().fit(scaler_rows)  # exact moments of ALL rows, not the sample's
    proba = getattr(knn, "predict_proba", None)
    return (
        lambda Z: knn.predict(scaler.transform(Z)),
        None if proba is None else (lambda Z: proba(scaler.transform(Z))),
    )


@pytest.mark.parametrize("params", PARAMS)
def test_classifier_equals_sklearn_fitted_on_the_same_sample_rows(params):
    X, y = _data(3_000)
    Q, _ = _data(400, seed=1)
    state = _state(X, y, k_max=20, size=500)
    Xs, ys, ws = state.sample()
    assert len(ws) == 500 and np.all(ws == 1.0)
    ours = KNeighborsClassifier.from_state(state, **params)
    predict, proba = _sklearn(neighbors.KNeighborsClassifier, params, Xs, ys, X)
    np.testing.assert_allclose(ours.predict_proba(Q), proba(Q), rtol=0, atol=1e-10)
    assert np.array_equal(ours.predict(Q), predict(Q))
    assert ours.n_samples_fit_ == 500 and ours.classes_.tolist() == [0, 1, 2]


@pytest.mark.parametrize("params", PARAMS)
def test_regressor_equals_sklearn_fitted_on_the_same_sample_rows(params):
    X, y = _data(3_000, classes=False)
    Q, _ = _data(400, seed=1)
    state = _state(X, y, k_max=20, size=500)
    Xs, ys, _ = state.sample()
    ours = KNeighborsRegressor.from_state(state, **params)
    predict, _ = _sklearn(neighbors.KNeighborsRegressor, params, Xs, ys, X)
    np.testing.assert_allclose(ours.predict(Q), predict(Q), rtol=1e-10, atol=1e-10)


def test_a_sample_holding_every_row_equals_sklearn_on_all_rows_real_data():
    X, y = load_breast_cancer(return_X_y=True)
    ours = st.finalize(
        "knn_classifier",
        st.compute_states(st.from_arrays(X, y), ["knn_classifier"], folds=2),
        {"n_neighbors": 9, "weights": "distance", "p": 2, "standardize": True},
    )
    ref = make_pipeline(
        StandardScaler(), neighbors.KNeighborsClassifier(9, weights="distance")
    ).fit(X, y)
    np.testing.assert_allclose(
        ours.predict_proba(X[::3] + 0.01), ref.predict_proba(X[::3] + 0.01), atol=1e-10
    )
    Xd, yd = load_diabetes(return_X_y=True)
    ours = st.finalize(
        "knn_regressor",
        st.compute_states(st.from_arrays(Xd, yd), ["knn_regressor"], folds=2),
        {"n_neighbors": 15, "p": 1},
    )
    ref = neighbors.KNeighborsRegressor(15, p=1).fit(Xd, yd)
    np.testing.assert_allclose(ours.predict(Xd), ref.predict(Xd), rtol=1e-10)


def test_standardization_uses_the_exact_moments_of_each_training_fold():
    X, y = _data(2_000)
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(X))
    states = st.compute_states(
        st.from_arrays(X, y, sample_weight=w),
        ["knn_classifier"],
        folds=4,
        state_params={"knn_classifier": {"size": 300, "k_max": 10}},
    )
    fold = states.folds.assign(0, len(X))
    slot = states.model_slot("knn_classifier")
    for k in range(4):
        rows = fold != k
        ref = StandardScaler().fit(X[rows], sample_weight=w[rows])
        model = get_algorithm("knn_classifier").finalize(
            states.train(slot, k), {"n_neighbors": 3, "standardize": True}
        )
        np.testing.assert_allclose(model.mean_, ref.mean_, rtol=1e-12)
        np.testing.assert_allclose(model.scale_, ref.scale_, rtol=1e-10)


def test_bad_input_is_named():
    X, y = _data(100)
    with pytest.raises(ValueError, match="k_max >= 1"):
        KNNSample(4, k_max=0)
    with pytest.raises(ValueError, match="size >= k_max"):
        KNNSample(4, k_max=30, size=20)
    state = _state(X, y, k_max=10, size=50)
    with pytest.raises(ValueError, match=r"n_neighbors <= k_max.*n_neighbors=11, k_max=10"):
        KNeighborsClassifier.from_state(state, n_neighbors=11)
    small = _state(X[:6], y[:6], k_max=10, size=50)
    with pytest.raises(ValueError, match=r"n_neighbors <= rows in the sample.*sample of 6 rows"):
        KNeighborsRegressor.from_state(small, n_neighbors=8)
    with pytest.raises(ValueError, match="`weights` must be one of"):
        KNeighborsClassifier.from_state(state, weights="gaussian")
    with pytest.raises(ValueError, match="`p` must be one of"):
        KNeighborsClassifier.from_state(state, p=3)
    with pytest.raises(ValueError, match=r"stratify=True.*class labels.*0\.5"):
        KNNSample(1, stratify=True).update(np.zeros((2, 1)), np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"State parameters of 'knn_classifier'.*k_max"):
        st.compute_states(
            st.from_arrays(X, y), ["knn_classifier"], state_params={"knn_classifier": {"k": 3}}
        )


def test_a_stratified_sample_through_a_pass_keeps_every_class_for_k_max():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6_000, 2))
    y = np.where(rng.uniform(size=6_000) < 0.005, "rare", "common")
    X[y == "rare"] += 3.0
    states = st.compute_states(
        st.from_arrays(X, y),
        ["knn_classifier"],
        folds=3,
        state_params={"knn_classifier": {"stratify": True, "size": 300, "k_max": 10}},
    )
    slot = states.model_slot("knn_classifier")
    for k in range(3):
        _, ys, _ = states.train(slot, k).sample()
        assert (ys == "rare").sum() >= min(10, states.train(slot, k).class_counts()["rare"])
    assert states.validation_score("knn_classifier", {"n_neighbors": 5}, "balanced_accuracy") > 0.8
