"""``statetune info``: every algorithm's search space with ranges, without statetune.testing.

References: the search space each algorithm declares on states of real data (scikit-learn's
digits: non-negative pixel counts with class labels; statsmodels' sunspots for series),
evaluated again on the same data scaled and narrowed to tell which bounds follow the data.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import statsmodels.datasets
from sklearn.datasets import load_digits

from statetune.algorithms import available_algorithms, get_algorithm
from statetune.algorithms.params import describe_space
from statetune.cli import main


def _info_sections(text: str) -> dict[str, dict[str, str]]:
    """``{algorithm: {param: description}}`` from the ``search space:`` lines of ``info``."""
    out: dict[str, dict[str, str]] = {}
    name = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and ": " in line:
            name = line.split(":", 1)[0]
        elif line.startswith("  search space: ") and name is not None:
            body = line.removeprefix("  search space: ")
            parts = re.split(r"; (?=\w+: )", body) if body else []
            out[name] = dict(part.split(": ", 1) for part in parts)
    return out


def _real_state(name: str, n_columns: int, scale: float, rows: int | None = None):
    alg = get_algorithm(name)
    if alg.task == "forecasting":
        values = statsmodels.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
        state = alg.make_state(0, True)
        state.update(scale * values)
        return state
    X, y = load_digits(return_X_y=True)
    X, y = X[:rows], y[:rows]
    X = X[:, X.var(axis=0) > 1.0][:, :n_columns]  # pixel counts 0..16 with some spread
    state = alg.make_state(X.shape[1], True)
    state.update(scale * X, y.astype(np.float64))
    return state


@pytest.fixture(scope="module")
def info_text() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "statetune.cli", "info"], capture_output=True, text=True, check=True
    ).stdout
    return out


@pytest.mark.parametrize("name", available_algorithms())
def test_info_lists_every_tuned_hyperparameter_with_its_range(info_text, name):
    shown = _info_sections(info_text)[name]
    real = get_algorithm(name).search_space(_real_state(name, 8, 1.0))
    assert list(shown) == list(real)
    assert set(shown) <= set(get_algorithm(name).model().get_params())
    moved = {
        p
        for p in real
        if any(
            get_algorithm(name).search_space(_real_state(name, d, k, n)).get(p) != real[p]
            for d, k, n in ((8, 10.0, None), (6, 1.0, None), (8, 1.0, 300))
        )
    }
    for param, text in shown.items():
        assert re.fullmatch(r"(int|float) in \[\S+, \S+\]( \(.*\))?|one of \[.*\]( \(.*\))?", text)
        assert ("bounds from the data" in text) == (param in moved), (param, text)
        if param not in moved:  # a declared range: the same whatever the data
            assert text == describe_space(real)[param]


def test_info_of_one_algorithm_shows_its_space(capsys):
    assert main(["info", "elastic_net"]) == 0
    shown = _info_sections(capsys.readouterr().out)
    assert list(shown) == ["elastic_net"]
    assert shown["elastic_net"]["l1_ratio"] == "float in [0.05, 1]"
    assert shown["elastic_net"]["alpha"].endswith("(log, bounds from the data)")


def test_info_does_not_import_the_testing_module():
    code = (
        "import sys\n"
        "from statetune.cli import main\n"
        "assert main(['info']) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('statetune.testing'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
