"""``statetune tune --algorithms ridge,linear_learner_regressor`` on a numeric target: its
search-space file keys are the bank's grid, and ``predict`` with the saved model gives its own
coefficients' predictions; on class labels ``linear_learner`` (and a space file with the
classifier's ``threshold``) tunes the classifier."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import statetune as st
from statetune.algorithms import LinearLearner, LinearLearnerRegressor
from statetune.cli import main


def test_tune_linear_learner_on_a_numeric_target_then_predict(diabetes, wine, tmp_path, capsys):
    base = ["--trials", "8", "--cv", "3", "--storage", "memory", "--no-progress"]
    both = [
        "tune",
        str(diabetes),
        "--target",
        "y",
        "--algorithms",
        "ridge,linear_learner_regressor",
    ]
    assert main([*both, *base, "--out", str(tmp_path / "both")]) == 0
    assert "linear_learner_regressor" in capsys.readouterr().out
    space = tmp_path / "space.json"
    space.write_text(
        json.dumps({"linear_learner_regressor": {"loss": {"choices": ["squared", "huber"]}}})
    )
    out = tmp_path / "res"
    one = ["tune", str(diabetes), "--target", "y", "--algorithms", "linear_learner_regressor"]
    assert (
        main([*one, *base, "--search-space", str(space), "--metric", "r2", "--out", str(out)]) == 0
    )
    model = st.load_model(out / "best_model")
    assert isinstance(model, LinearLearnerRegressor) and model.loss in ("squared", "huber")
    df = pd.read_parquet(diabetes)
    X = df.drop(columns="y").to_numpy()
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out / "best_model"), str(diabetes), "--out", str(pred)]) == 0
    got = pd.read_csv(pred).iloc[:, -1].to_numpy()
    np.testing.assert_allclose(got, X @ model.coef_ + model.intercept_, rtol=1e-9)
    assert 1 - np.mean((df["y"] - got) ** 2) / df["y"].var() > 0.4
    # class labels: the classifier, and its own hyperparameters in the space file
    space.write_text(json.dumps({"linear_learner": {"threshold": {"choices": [0.5]}}}))
    labels = ["tune", str(wine), "--target", "cultivar", "--algorithms", "linear_learner"]
    out = tmp_path / "cls"
    assert main([*labels, *base, "--search-space", str(space), "--out", str(out)]) == 0
    assert isinstance(st.load_model(out / "best_model"), LinearLearner)
