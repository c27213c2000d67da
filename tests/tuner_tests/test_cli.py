"""The statetune command: tune, predict, info; exit codes and messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.cli import main
from statetune.testing import make_regression_data, reference_estimator


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    X, y, _ = make_regression_data(3_000, 4, seed=2)
    df = pd.DataFrame(X, columns=list("abcd"))
    df["y"] = y
    path = tmp_path_factory.mktemp("d") / "train.parquet"
    df.to_parquet(path)
    return path


def test_tune_then_predict(tmp_path, parquet, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default state cache (.statetune/) goes here, not the repo
    out = tmp_path / "res"
    code = main(
        [
            "tune",
            str(parquet),
            "--target",
            "y",
            "--algorithms",
            "ridge,pcr",
            "--trials",
            "15",
            "--cv",
            "3",
            "--jobs",
            "2",
            "--out",
            str(out),
            "--storage",
            "memory",
            "--no-progress",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "best:" in text and "ridge" in text and "pcr" in text
    assert (out / "best_model" / "model.json").exists() and (out / "trials.csv").exists()
    pred = tmp_path / "pred.parquet"
    assert main(["predict", str(out / "best_model"), str(parquet), "--out", str(pred)]) == 0
    got = pd.read_parquet(pred)
    assert len(got) == 3_000 and list(got.columns) == ["prediction"]
    # the predictions are the best trial's model: the params read from trials.csv,
    # finalized through the library and fitted by scikit-learn on all rows
    trials = pd.read_csv(out / "trials.csv")
    done = trials[trials["state"] == "COMPLETE"]
    best = done.loc[done["value"].idxmin()]
    alg = best["algorithm"]
    params = {c.split(":", 1)[1]: best[c] for c in trials.columns if c.startswith(f"{alg}:")}
    if "n_components" in params:
        params["n_components"] = int(params["n_components"])
    if "fit_intercept" in params:
        params["fit_intercept"] = bool(params["fit_intercept"])
    data = pd.read_parquet(parquet)
    X, y = data[list("abcd")].to_numpy(), data["y"].to_numpy()
    ours = st.finalize(alg, st.compute_states(st.from_arrays(X, y), [alg], folds=3), params)
    np.testing.assert_allclose(got["prediction"], ours.predict(X), rtol=1e-12, atol=0)
    ref = reference_estimator(alg, params).fit(X, y).predict(X)
    assert np.abs(got["prediction"] - ref).max() <= 1e-8 * np.abs(ref).max()


def test_info(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    for name in ("ols", "ridge", "lasso", "elastic_net", "pca", "pcr"):
        assert f"{name}:" in text
    assert main(["info", "ridge"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tune", "missing.parquet", "--target", "y"], "no such file: 'missing.parquet'"),
        (["info", "svm"], "`algorithm` must be one of"),
    ],
)
def test_errors_exit_1_with_message(args, message, capsys):
    assert main(args) == 1
    assert message in capsys.readouterr().err


def test_wrong_target_and_usage_errors(parquet, capsys):
    assert main(["tune", str(parquet), "--target", "nope", "--storage", "memory"]) == 1
    assert "The target column 'nope' must exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["tune", str(parquet)])  # --target missing
    assert info.value.code == 2


def test_console_script_help():
    out = subprocess.run(
        [sys.executable, "-m", "statetune.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "tune" in out.stdout and "Exit codes" in out.stdout


def test_classification_task_is_inferred_from_a_label_target(tmp_path, capsys):
    from sklearn.datasets import load_wine

    df = load_wine(as_frame=True).frame
    df["target"] = df["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    path = tmp_path / "wine.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "res"
    code = main(
        [
            "tune",
            str(path),
            "--target",
            "target",
            "--trials",
            "12",
            "--cv",
            "3",
            "--storage",
            "memory",
            "--out",
            str(out),
            "--no-progress",
            "--no-cache",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "task: classification; algorithms: lda, qda, gaussian_nb, ridge_classifier" in text
    assert "best accuracy" in text
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out / "best_model"), str(path), "--out", str(pred)]) == 0
    got = pd.read_csv(pred)
    assert set(got["prediction"]) <= {"barolo", "grignolino", "barbera"}
