"""`statetune tune --task forecast` and `statetune forecast` on long-format CSV files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.cli import main


@pytest.fixture(scope="module")
def sales(tmp_path_factory):
    rng = np.random.default_rng(0)
    frames = []
    for store in ("north", "south", "east"):
        n = 400
        y = np.zeros(n)
        for t in range(1, n):
            y[t] = 5.0 + 0.7 * y[t - 1] + rng.normal()
        dates = pd.date_range("2022-01-01", periods=n, freq="D")
        frames.append(pd.DataFrame({"date": dates, "store": store, "sales": y}))
    df = pd.concat(frames).sort_values(["date", "store"]).reset_index(drop=True)
    folder = tmp_path_factory.mktemp("sales")
    df.iloc[:700].to_csv(folder / "2022a.csv", index=False)
    df.iloc[700:].to_csv(folder / "2022b.csv", index=False)
    return folder


def test_tune_infers_forecast_then_forecasts_every_series(tmp_path, sales, capsys):
    out = tmp_path / "res"
    args = ["tune", str(sales), "--target", "sales", "--series", "store", "--time", "date"]
    args += ["--trials", "10", "--cv", "3", "--max-lag", "6", "--storage", "memory"]
    args += ["--cache-dir", str(tmp_path / "c"), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "task: forecast; algorithms: autoregressive" in printed
    dest = tmp_path / "fc.csv"
    assert main(["forecast", str(out / "best_model"), "--steps", "4", "--out", str(dest)]) == 0
    fc = pd.read_csv(dest)
    assert sorted(fc["series"].unique()) == ["east", "north", "south"]
    assert fc.groupby("series").size().tolist() == [4, 4, 4]
    assert np.isfinite(fc["forecast"]).all()
    # an AR(1) around 5 / (1 - 0.7) ~ 16.7: forecasts stay in the series' range
    assert fc["forecast"].between(5, 30).all()
    # each series' forecast is the saved model's recursion from that series' own last values
    # (read from the CSV files, not from the state): by hand on the d-times differenced
    # series, integrated back, and through the model's forecast(history=...)
    model = st.load_model(out / "best_model")
    data = pd.concat([pd.read_csv(f) for f in sorted(sales.glob("*.csv"))])
    d = int(model.d)
    for store, rows in data.groupby("store"):
        y = rows.sort_values("date")["sales"].to_numpy()
        z = list(np.diff(y, d) if d else y)
        level = y[-1]
        want = []
        for _ in range(4):
            nxt = model.intercept_ + sum(
                c * z[-lag] for c, lag in zip(model.coef_, model.lags_, strict=True)
            )
            z.append(nxt)
            level = level + nxt if d else nxt
            want.append(level)
        got = fc[fc["series"] == store].sort_values("step")["forecast"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10)
        np.testing.assert_allclose(got, model.forecast(y, steps=4), rtol=1e-12)


def test_forecast_task_without_time_layout_is_refused(tmp_path, sales, capsys):
    code = main(["tune", str(sales), "--target", "sales", "--task", "forecast", "--no-progress"])
    assert code == 1
    assert "--task forecast` needs the series layout" in capsys.readouterr().err


def test_out_of_order_dates_exit_1_naming_series_and_row(tmp_path, capsys):
    df = pd.DataFrame(
        {
            "date": ["2022-01-01", "2022-01-02", "2022-01-04", "2022-01-03"],
            "store": ["a", "a", "a", "a"],
            "sales": [1.0, 2.0, 3.0, 4.0],
        }
    )
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    code = main(
        [
            "tune",
            str(path),
            "--target",
            "sales",
            "--series",
            "store",
            "--time",
            "date",
            "--no-progress",
            "--storage",
            "memory",
            "--cache-dir",
            str(tmp_path / "c"),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "series 'a'" in err and "row 3" in err


def test_update_extends_cached_series_states_with_a_new_file(tmp_path, sales, capsys):
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sales / "2022a.csv", data / "2022a.csv")
    cache = str(tmp_path / "c")
    args = ["tune", str(data), "--target", "sales", "--series", "store", "--time", "date"]
    args += ["--trials", "3", "--cv", "2", "--storage", "memory", "--cache-dir", cache]
    args += ["--out", str(tmp_path / "res"), "--no-progress"]
    assert main(args) == 0
    shutil.copy(sales / "2022b.csv", data / "2022b.csv")
    capsys.readouterr()
    args = ["update", str(data), "--target", "sales", "--series", "store", "--time", "date"]
    code = main([*args, "--cache-dir", cache])
    assert code == 0
    assert "700 -> 1,200 rows (500 new)" in capsys.readouterr().out


def test_forecast_refuses_models_with_exogenous_columns(tmp_path, capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2022-01-01", periods=300),
            "sales": rng.normal(size=300).cumsum(),
            "promo": rng.integers(0, 2, size=300).astype(float),
        }
    )
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "res"
    args = ["tune", str(path), "--target", "sales", "--time", "date", "--trials", "3"]
    args += ["--cv", "2", "--storage", "memory", "--no-cache", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    code = main(
        ["forecast", str(out / "best_model"), "--steps", "2", "--out", str(tmp_path / "f.csv")]
    )
    assert code == 1
    assert "exogenous columns ['promo']" in capsys.readouterr().err
