"""The main job (``make run``) on a small table: it says what it is doing, times the refits on
the first rows only (the whole-file readers are never called), and prints the best model as
its scikit-learn repr."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from statetune import main_job
from statetune.demo_data import ensure_demo_parquet, make_table


def test_read_rows_reads_the_first_rows_across_batches(tmp_path):
    path = ensure_demo_parquet(tmp_path / "d.parquet", n_rows=70_000)
    X, y = main_job.read_rows(path, 66_000)  # more than one 65,536-row batch
    ref = make_table(70_000, seed=0).iloc[:66_000]
    np.testing.assert_array_equal(X, ref.drop(columns=["y"]).to_numpy())
    np.testing.assert_array_equal(y, ref["y"].to_numpy())


def test_main_job_shows_progress_reads_only_the_refit_rows_and_prints_a_repr(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)

    def whole_file(*args, **kwargs):
        raise AssertionError("the main job must not read the whole file into memory")

    monkeypatch.setattr(pd, "read_parquet", whole_file)
    monkeypatch.setattr(pq, "read_table", whole_file)
    assert main_job.main(n_rows=20_000, n_trials=12, refit_rows=4_096) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # each long step is announced before it runs
    order = [
        next(i for i, ln in enumerate(lines) if ln.startswith(prefix))
        for prefix in ("preparing the demo data", "tuning ", "best model: ", "timing ")
    ]
    assert order == sorted(order)
    timing = next(ln for ln in lines if ln.startswith("timing "))
    n_refits = int(re.search(r"timing (\d+) scikit-learn refits", timing).group(1))
    assert "on 1,638 and 3,276 training rows of the first 4,096 rows" in timing
    fits = [ln for ln in lines if re.match(r"  \w+\(.*\) on [\d,]+ rows\.\.\. [\d.]+s$", ln)]
    assert len(fits) == n_refits >= 2
    estimate = next(ln for ln in lines if ln.startswith("refitting scikit-learn"))
    assert "ESTIMATE" in estimate and "scaled linearly to 16,000 rows a fold" in estimate
    best = next(ln for ln in lines if ln.startswith("best model: "))
    assert re.match(r"best model: (Ridge|ElasticNet|Pipeline|DummyRegressor)\(", best), best
    assert "**" not in best
    assert (tmp_path / "results" / "algorithms.png").exists()


@pytest.mark.parametrize(("rows", "seconds", "n", "expected"), [(100, 1.0, 800, 8.0)])
def test_scale_to_is_linear_in_rows(rows, seconds, n, expected):
    assert main_job.scale_to(rows, seconds, n) == pytest.approx(expected)
