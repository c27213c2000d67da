"""``statetune info ALG --data``: the ranges a study on that data searches; without data, how
each data-bounded range follows the data; and the warning after ``tune`` when a best value sits
on a bound of its range that could be widened."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

import statetune as st
from statetune.algorithms.params import describe_space
from statetune.cli import main


def _search_space_line(text: str, name: str) -> str:
    lines = text.splitlines()
    at = lines.index(next(line for line in lines if line.startswith(f"{name}: ")))
    return next(line for line in lines[at:] if line.startswith("  search space: "))


def _bounds(line: str, param: str) -> tuple[float, float]:
    m = re.search(rf"{param}: (?:int|float) in \[(\S+), (\S+)\]", line)
    assert m, line
    return float(m.group(1)), float(m.group(2))


def test_info_on_data_shows_the_space_the_study_searches(diabetes, capsys):
    assert main(["info", "pcr", "--data", str(diabetes), "--target", "y"]) == 0
    line = _search_space_line(capsys.readouterr().out, "pcr")
    result = st.tune(st.from_parquet(diabetes, "y"), ["pcr"], n_trials=1, cv=5, storage="memory")
    moves = ["n_components", "alpha"]
    want = "; ".join(f"{p}: {t}" for p, t in describe_space(result.spaces["pcr"], moves).items())
    assert line == f"  search space: {want}"
    n_features = pd.read_parquet(diabetes).shape[1] - 1
    assert _bounds(line, "n_components") == (1, n_features)  # 10 columns, not the reference's 4


def test_info_on_scaled_data_scales_alpha_by_the_square(diabetes, tmp_path, capsys):
    df = pd.read_parquet(diabetes)
    scaled = tmp_path / "scaled.parquet"
    (df * 10.0).to_parquet(scaled, index=False)
    for path in (diabetes, scaled):
        assert main(["info", "ridge", "--data", str(path), "--target", "y"]) == 0
    lines = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("  search space")
    ]
    (lo1, hi1), (lo2, hi2) = (_bounds(line, "alpha") for line in lines)
    np.testing.assert_allclose([lo2 / lo1, hi2 / hi1], [100.0, 100.0], rtol=0.02)


def test_info_without_data_says_how_bounds_follow_the_data(capsys):
    assert main(["info", "pcr"]) == 0
    text = capsys.readouterr().out
    how = next(line for line in text.splitlines() if line.startswith("  bounds from the data: "))
    assert "n_components: the upper bound is the number of feature columns" in how
    assert "alpha: bounds scale with the square of the data" in how
    assert "--data PATH --target Y" in text
    assert main(["info", "lda"]) == 0  # a declared range: nothing follows the data
    assert "bounds from the data: " not in capsys.readouterr().out


def test_info_default_algorithms_on_labelled_data(wine, capsys):
    assert main(["info", "--data", str(wine), "--target", "cultivar"]) == 0
    text = capsys.readouterr().out
    names = [line.split(":")[0] for line in text.splitlines() if re.match(r"^\w+: ", line)]
    assert names == ["lda", "qda", "gaussian_nb", "ridge_classifier"]


def _tune(data, tmp_path, *flags):
    argv = ["tune", str(data), "--target", "y", "--algorithms", "pcr", "--trials", "25",
            "--cv", "3", "--storage", "memory", "--no-progress", "--pruner", "none",
            "--out", str(tmp_path / "res"), *flags]  # fmt: skip
    assert main(argv) == 0
    trials = pd.read_csv(tmp_path / "res" / "trials.csv")
    return trials.loc[trials["value"].idxmin()]


def test_best_value_on_a_widenable_bound_is_warned(every_column, tmp_path, capsys):
    # the target needs all 4 columns, but the file allows 1..2 components: the best is 2
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"pcr": {"n_components": {"type": "int", "low": 1, "high": 2}}}))
    best = _tune(every_column, tmp_path, "--search-space", str(space))
    assert best.filter(like="n_components").item() == 2
    err = capsys.readouterr().err
    assert "n_components=2 sits on the upper bound of its range [1, 2]" in err
    assert "consider widening the range with --search-space" in err


def test_best_value_on_a_hard_bound_is_not_warned(every_column, tmp_path, capsys):
    # all 4 components are best, and 4 is all there are: no wider range exists
    best = _tune(every_column, tmp_path)
    assert best.filter(like="n_components").item() == 4
    assert "n_components" not in capsys.readouterr().err


def test_edge_of_a_range():
    from statetune.algorithms.params import FloatParam, IntParam
    from statetune.cli.tune_cmd import edge_of

    log = FloatParam(1e-3, 1e3, log=True)  # 6 decades: 1% is 0.06 decade, a factor 1.148
    assert edge_of(1e-3 * 1.14, log) == "lower" and edge_of(1e-3 * 1.16, log) is None
    assert edge_of(1e3 / 1.14, log) == "upper" and edge_of(1e3 / 1.16, log) is None
    lin = FloatParam(0.0, 10.0)
    assert edge_of(0.09, lin) == "lower" and edge_of(9.95, lin) == "upper"
    assert edge_of(0.2, lin) is None and edge_of(5.0, lin) is None
    ints = IntParam(1, 8)
    assert [edge_of(k, ints) for k in (1, 2, 7, 8)] == ["lower", None, None, "upper"]
