"""``statetune tune`` prints its own progress and summary, not Optuna's INFO lines; the
user's Optuna verbosity is left as it was when ``main`` returns (it runs in-process too)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import optuna
import pandas as pd

from statetune.cli import main


def _csv(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    df["y"] = df.a - df.c + rng.normal(size=300)
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    return path


def test_the_cli_prints_no_optuna_info_lines(tmp_path):
    path = _csv(tmp_path)
    args = [str(path), "--target", "y", "--algorithms", "ridge", "--trials", "3", "--cv", "3"]
    args += ["--storage", "memory", "--no-progress", "--out", str(tmp_path / "res")]
    done = subprocess.run(
        [sys.executable, "-m", "statetune", "tune", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "A new study created" not in done.stderr + done.stdout
    assert "study: " in done.stdout  # the CLI's own line names the study


def test_main_restores_the_users_optuna_verbosity(tmp_path):
    path = _csv(tmp_path)
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        args = ["tune", str(path), "--target", "y", "--algorithms", "ridge", "--trials", "2"]
        args += ["--cv", "3", "--storage", "memory", "--no-progress"]
        assert main([*args, "--out", str(tmp_path / "res")]) == 0
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(before)
