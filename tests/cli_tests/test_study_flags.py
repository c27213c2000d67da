"""``statetune tune`` study options: --sampler, --pruner, --search-space, --timeout; and
``--version`` / ``python -m statetune``.

Each option is checked against the same study run through the Python API with the Optuna
object (or ``search_space`` dict) the option stands for: the same trials, parameters and values.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import subprocess
import sys

import optuna
import pandas as pd
import pytest

import statetune as st
from statetune.cli import main

ALGS = ["ridge", "lasso"]


def _cli_trials(data, tmp_path, *flags, trials=15, algorithms=ALGS):
    out = tmp_path / "res"
    argv = [
        "tune", str(data), "--target", "y", "--algorithms", ",".join(algorithms),
        "--trials", str(trials), "--cv", "3", "--seed", "3", "--storage", "memory",
        "--no-progress", "--out", str(out), *flags,
    ]  # fmt: skip
    assert main(argv) == 0
    return pd.read_csv(out / "trials.csv")


def _api_trials(data, trials=15, algorithms=ALGS, **kwargs):
    result = st.tune(
        st.from_parquet(data, "y"), algorithms, n_trials=trials, cv=3, seed=3,
        storage="memory", **kwargs,
    )  # fmt: skip
    return result.trials


def _same_trials(cli, api):
    """The same trials in the same order: parameters, states and values (not timings)."""
    cols = [c for c in api.columns if c not in ("seconds", "fold_scores", "fail_reason")]
    cols = [c for c in cols if "time" not in c and "duration" not in c]
    assert len(cli) == len(api) and set(cols) <= set(cli.columns)
    got, want = cli[cols].reset_index(drop=True), api[cols].reset_index(drop=True)
    for c in cols:
        if pd.api.types.is_numeric_dtype(want[c]) and not pd.api.types.is_bool_dtype(want[c]):
            pd.testing.assert_series_equal(got[c], want[c], check_dtype=False, rtol=1e-12)
        else:
            assert got[c].astype(str).tolist() == want[c].astype(str).tolist(), c


def _params(frame):
    return frame[[c for c in frame.columns if "alpha" in c or c == "algorithm"]]


@pytest.mark.parametrize(
    ("name", "sampler"),
    [
        ("random", lambda: optuna.samplers.RandomSampler(seed=3)),
        (
            "qmc",
            lambda: optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=True, seed=3, warn_independent_sampling=False
            ),
        ),
    ],
)
def test_sampler_flag_runs_that_sampler_seeded_from_seed(name, sampler, diabetes, tmp_path):
    cli = _cli_trials(diabetes, tmp_path, "--sampler", name, "--pruner", "none")
    api = _api_trials(diabetes, sampler=sampler(), pruner=optuna.pruners.NopPruner())
    _same_trials(cli, api)
    # and not what the default (TPE) asks: 15 trials go past TPE's 10 random start-up trials
    tpe = _api_trials(diabetes, pruner=optuna.pruners.NopPruner())
    assert not _params(cli).equals(_params(tpe))


@pytest.mark.parametrize(
    ("name", "pruner"),
    [
        ("none", optuna.pruners.NopPruner),
        ("median", optuna.pruners.MedianPruner),
        ("hyperband", optuna.pruners.HyperbandPruner),
    ],
)
def test_pruner_flag_uses_that_pruner(name, pruner, diabetes, tmp_path):
    cli = _cli_trials(diabetes, tmp_path, "--pruner", name, trials=40)
    api = _api_trials(diabetes, trials=40, pruner=pruner())
    _same_trials(cli, api)
    if name == "none":
        assert (cli["state"] == "COMPLETE").all()
    else:  # pruning happens on these trials: the two runs differ in what they prune
        assert (cli["state"] == "PRUNED").any()


SPACE = {
    "ridge": {"alpha": {"type": "float", "low": 0.5, "high": 2.0, "log": True}},
    "lasso": {"alpha": {"type": "float", "low": 0.01, "high": 0.1}},
}
SPACE_YAML = """\
ridge:
  alpha: {type: float, low: 0.5, high: 2.0, log: true}
lasso:
  alpha:
    type: float
    low: 0.01
    high: 0.1
"""


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_search_space_file_is_the_python_search_space(suffix, diabetes, tmp_path):
    path = tmp_path / f"space{suffix}"
    path.write_text(json.dumps(SPACE) if suffix == ".json" else SPACE_YAML)
    cli = _cli_trials(diabetes, tmp_path, "--search-space", str(path), "--pruner", "none")
    dists = {
        "ridge": {"alpha": optuna.distributions.FloatDistribution(0.5, 2.0, log=True)},
        "lasso": {"alpha": optuna.distributions.FloatDistribution(0.01, 0.1)},
    }
    api = _api_trials(diabetes, search_space=dists, pruner=optuna.pruners.NopPruner())
    _same_trials(cli, api)
    alpha = cli.filter(like="alpha").max(axis=1)  # each trial sets one algorithm's alpha
    ridge = cli["algorithm"] == "ridge"
    assert alpha[ridge].between(0.5, 2.0).all() and alpha[~ridge].between(0.01, 0.1).all()
    assert ridge.any() and (~ridge).any()


@pytest.mark.parametrize(
    ("space", "where"),
    [
        ({"svm": {"C": {"type": "float", "low": 1, "high": 2}}}, "key 'svm'"),
        ({"ridge": {"alpah": {"type": "float", "low": 1, "high": 2}}}, "`ridge.alpah`"),
        ({"ridge": {"alpha": {"type": "float", "low": "x", "high": 2}}}, "`ridge.alpha`.low"),
        ({"ridge": {"alpha": {"type": "float", "low": 1}}}, "`ridge.alpha`.high"),
        ({"ridge": {"alpha": {"type": "float", "low": 3, "high": 2}}}, "`ridge.alpha`"),
        ({"ridge": {"alpha": {"type": "beta", "low": 1, "high": 2}}}, "`ridge.alpha`.type"),
        ({"ridge": {"alpha": [1, 2]}}, "`ridge.alpha`"),
        ({"ridge": {"fit_intercept": {"choices": []}}}, "`ridge.fit_intercept`.choices"),
    ],
)
def test_bad_search_space_file_names_the_file_and_the_key(space, where, diabetes, tmp_path, capsys):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(space))
    assert main(["tune", str(diabetes), "--target", "y", "--algorithms", "ridge,lasso",
                 "--search-space", str(path), "--storage", "memory", "--no-progress"]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert str(path) in err and where in err, err


def test_search_space_file_that_is_not_json_or_missing(diabetes, tmp_path, capsys):
    bad = tmp_path / "space.json"
    bad.write_text('{"ridge": {"alpha": ')
    base = ["tune", str(diabetes), "--target", "y", "--storage", "memory", "--search-space"]
    assert main([*base, str(bad)]) == 1
    assert f"{str(bad)!r} must be valid JSON" in capsys.readouterr().err
    assert main([*base, str(tmp_path / "none.yaml")]) == 1
    assert "no such file: " in capsys.readouterr().err


@pytest.mark.skipif(
    "timeout" not in inspect.signature(st.tune).parameters,
    reason="st.tune has no timeout= yet (added on the tuner branch); the CLI passes --timeout",
)
def test_timeout_stops_the_study(diabetes, tmp_path):
    import time

    t0 = time.perf_counter()
    cli = _cli_trials(diabetes, tmp_path, "--timeout", "3", trials=1_000_000)
    assert time.perf_counter() - t0 < 120 and 0 < len(cli) < 1_000_000


def test_version_and_python_dash_m(tmp_path):
    version = importlib.metadata.version("statetune")
    for argv in (["-m", "statetune", "--version"], ["-m", "statetune.cli", "--version"]):
        done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"statetune {version}"
    done = subprocess.run(
        [sys.executable, "-m", "statetune", "info", "ridge"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("ridge: ")


def test_search_space_file_range_the_data_cannot_serve_names_the_file(diabetes, tmp_path, capsys):
    path = tmp_path / "space.yaml"
    path.write_text("pcr:\n  n_components: {type: int, low: 1, high: 50}\n")  # 10 columns
    argv = ["tune", str(diabetes), "--target", "y", "--algorithms", "pcr", "--search-space",
            str(path), "--storage", "memory", "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "n_components" in err and "50" in err, err


def test_timeout_is_passed_to_tune_only_when_given(diabetes, tmp_path, monkeypatch):
    """Through a stand-in for a tune() that takes timeout= (the real one is checked above)."""
    real, seen = st.tune, []

    def tune_with_timeout(*args, timeout=None, **kwargs):  # the signature the CLI inspects
        raise AssertionError("not called")

    def record(*args, **kwargs):
        seen.append(dict(kwargs))
        kwargs.pop("timeout", None)
        return real(*args, **kwargs)

    record.__signature__ = inspect.signature(tune_with_timeout)
    monkeypatch.setattr(st, "tune", record)
    _cli_trials(diabetes, tmp_path, "--timeout", "30", trials=3)
    _cli_trials(diabetes, tmp_path, trials=3)
    assert seen[0]["timeout"] == 30.0 and "timeout" not in seen[1]
