"""``statetune predict`` on a saved k-nearest-neighbours model: the model folder (state arrays
and hyperparameters, no pickle) round trips, and its predictions are scikit-learn's
KNeighbors* on the same rows (the sample holds every row of these small tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import neighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import statetune as st
from statetune.cli import main


def _save(data, target, algorithm, params, folder):
    """The model of ``params`` saved from the states of ``data`` (no study: the CLI tune path
    is the same for every algorithm and tested in test_predict.py)."""
    df = pd.read_parquet(data)
    states = st.compute_states(st.from_pandas(df, target=target), [algorithm], folds=3)
    st.save_model(folder, algorithm, states, params)
    return folder


def _reference(cls, model):
    knn = cls(n_neighbors=model.n_neighbors, weights=model.weights, p=model.p)
    return make_pipeline(StandardScaler(), knn) if model.standardize else knn


def test_predict_proba_of_a_saved_knn_classifier(wine, tmp_path):
    params = {"n_neighbors": 7, "weights": "distance", "p": 1, "standardize": True}
    folder = _save(wine, "cultivar", "knn_classifier", params, tmp_path / "model")
    saved = st.load_model(folder)
    assert type(saved).__name__ == "KNeighborsClassifier"
    assert {k: getattr(saved, k) for k in params} == params
    df = pd.read_parquet(wine)
    X, y = df.drop(columns="cultivar"), df["cultivar"].to_numpy()
    out = tmp_path / "proba.csv"
    assert main(["predict", str(folder), str(wine), "--out", str(out), "--proba"]) == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["barbera", "barolo", "grignolino"]
    ref = _reference(neighbors.KNeighborsClassifier, saved).fit(X.to_numpy(), y)
    Q = X * 1.001  # off the training rows (distance weights: no exact hits)
    np.testing.assert_allclose(saved.predict_proba(Q), ref.predict_proba(Q.to_numpy()), atol=1e-10)
    np.testing.assert_allclose(got.to_numpy(), saved.predict_proba(X), atol=1e-12)
    out = tmp_path / "labels.parquet"
    assert main(["predict", str(folder), str(wine), "--out", str(out)]) == 0
    assert (pd.read_parquet(out)["prediction"].to_numpy() == saved.predict(X)).all()


def test_predict_of_a_saved_knn_regressor(diabetes, tmp_path):
    params = {"n_neighbors": 12, "weights": "uniform", "p": 2, "standardize": False}
    folder = _save(diabetes, "y", "knn_regressor", params, tmp_path / "model")
    saved = st.load_model(folder)
    df = pd.read_parquet(diabetes)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    out = tmp_path / "pred.csv"
    assert main(["predict", str(folder), str(diabetes), "--out", str(out)]) == 0
    ref = _reference(neighbors.KNeighborsRegressor, saved).fit(X.to_numpy(), y)
    Q = X * 1.001
    np.testing.assert_allclose(saved.predict(Q), ref.predict(Q.to_numpy()), rtol=1e-10)
    np.testing.assert_allclose(pd.read_csv(out)["prediction"], saved.predict(X), rtol=1e-12)
