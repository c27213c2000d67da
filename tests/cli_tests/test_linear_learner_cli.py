"""``statetune tune --algorithms linear_learner`` on a table with text labels, then
``predict`` with the saved model: the bank's member predicts like its own coefficients."""

from __future__ import annotations

import numpy as np
import pandas as pd

import statetune as st
from statetune.cli import main


def test_tune_linear_learner_then_predict(wine, tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["tune", str(wine), "--target", "cultivar", "--algorithms", "linear_learner"]
    argv += ["--trials", "8", "--cv", "3", "--metric", "accuracy", "--storage", "memory"]
    argv += ["--no-progress", "--out", str(out)]
    assert main(argv) == 0
    assert "linear_learner" in capsys.readouterr().out
    model = st.load_model(out / "best_model")
    assert model.loss in ("logistic", "hinge", "squared")
    df = pd.read_parquet(wine)
    X = df.drop(columns="cultivar")
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out / "best_model"), str(wine), "--out", str(pred)]) == 0
    labels = pd.read_csv(pred).iloc[:, -1].to_numpy()
    scores = X.to_numpy() @ model.coef_.T + model.intercept_
    np.testing.assert_array_equal(labels, model.classes_[scores.argmax(axis=1)])
    assert (labels == df["cultivar"].to_numpy()).mean() > 0.85
