"""A pandas index stored in a Parquet file is not a feature (issue 9, item 4).

Files written by ``df.to_parquet()`` and by pyarrow from pandas store a DataFrame's index as
columns (``__index_level_0__``, or the index's names) and list them in the pandas metadata.
Read as features they leak row order, break ``predict`` on the very file tuned on, and make
``forecast`` ask for the index's future values. The reference is scikit-learn fitted on the
true feature columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LinearRegression

import statetune as st
from statetune.cli import main

N = 400


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, 2))
    y = X @ [2.0, -1.0] + 0.5 + 0.1 * rng.normal(size=N)
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})


def shuffled(df):
    """Rows in another order, the index kept (as after a sort or a sample)."""
    return df.iloc[np.random.default_rng(0).permutation(len(df))]


WRITERS = {
    "to_parquet, shuffled index": lambda df, p: shuffled(df).to_parquet(p),
    "to_parquet(index=True)": lambda df, p: df.to_parquet(p, index=True),
    "to_parquet, named index": lambda df, p: df.set_index(
        pd.Index(np.random.default_rng(1).permutation(len(df)) * 3, name="row_id")
    ).to_parquet(p),
    "to_parquet, MultiIndex": lambda df, p: df.set_index(
        [pd.Index([f"k{i % 5}" for i in range(len(df))], name="key"), pd.Index(np.arange(len(df)))]
    ).to_parquet(p),
    "to_parquet, DatetimeIndex": lambda df, p: df.set_index(
        pd.date_range("2020-01-01", periods=len(df), freq="h", name="when")
    ).to_parquet(p),
    "to_parquet, RangeIndex (metadata only)": lambda df, p: df.to_parquet(p),
    "pyarrow from_pandas": lambda df, p: pq.write_table(pa.Table.from_pandas(shuffled(df)), p),
    "pyarrow plain table": lambda df, p: pq.write_table(
        pa.table({c: df[c].to_numpy() for c in df.columns}), p
    ),
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_index_columns_are_not_features(tmp_path, frame, writer):
    path = tmp_path / "data.parquet"
    WRITERS[writer](frame, path)
    src = st.from_parquet(path, target="y")
    assert src.schema.features == ("a", "b")
    states = st.compute_states(src, ["ols"], folds=2)
    model = st.finalize("ols", states)
    table = pq.read_table(path, columns=["a", "b", "y"])  # the rows as the file holds them
    ref = LinearRegression().fit(
        np.column_stack([table["a"].to_numpy(), table["b"].to_numpy()]), table["y"].to_numpy()
    )
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-9)


def test_files_with_and_without_a_stored_index_mix(tmp_path, frame):
    shuffled(frame.iloc[:200]).to_parquet(tmp_path / "a.parquet")  # index stored
    pq.write_table(
        pa.Table.from_pandas(frame.iloc[200:], preserve_index=False), tmp_path / "b.parquet"
    )
    states = st.compute_states(st.from_parquet(tmp_path, target="y"), ["ols"], folds=2)
    assert states.n_rows == N and states.schema.features == ("a", "b")


def test_an_index_named_as_a_role_serves_that_role(tmp_path):
    """A DatetimeIndex named 'date' can be the time column of series data."""
    rng = np.random.default_rng(5)
    n = 300
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = 0.6 * y[t - 1] + rng.normal()
    df = pd.DataFrame({"sales": y}, index=pd.date_range("2021-01-01", periods=n, name="date"))
    df.to_parquet(tmp_path / "s.parquet")
    src = st.from_parquet(tmp_path / "s.parquet", target="sales", time="date")
    assert src.schema.features == () and src.schema.time == "date"
    assert st.compute_states(src, ["autoregressive"], folds=2).n_rows == n


def tune(tmp_path, data, *extra):
    out = tmp_path / "res"
    args = ["tune", str(data), "--trials", "3", "--storage", "memory", "--no-progress"]
    args += ["--cache-dir", str(tmp_path / "cache"), "--out", str(out), *extra]
    assert main(args) == 0
    return out / "best_model"


def test_predict_on_the_file_tuned_on(tmp_path, frame, capsys):
    data = tmp_path / "train.parquet"
    shuffled(frame).to_parquet(data)
    model = tune(tmp_path, data, "--target", "y", "--algorithms", "ols")
    pred = tmp_path / "pred.parquet"
    assert main(["predict", str(model), str(data), "--out", str(pred)]) == 0, capsys.readouterr()
    rows = shuffled(frame)
    ref = LinearRegression().fit(rows[["a", "b"]].to_numpy(), rows["y"].to_numpy())
    got = pd.read_parquet(pred)["prediction"].to_numpy()
    np.testing.assert_allclose(got, ref.predict(rows[["a", "b"]].to_numpy()), rtol=1e-8)


def test_forecast_does_not_ask_for_the_index(tmp_path, capsys):
    rng = np.random.default_rng(7)
    frames = []
    for store in ("north", "south"):
        y = np.zeros(200)
        for t in range(1, 200):
            y[t] = 4.0 + 0.5 * y[t - 1] + rng.normal()
        dates = pd.date_range("2023-01-01", periods=200, freq="D")
        frames.append(pd.DataFrame({"date": dates, "store": store, "sales": y}))
    long = pd.concat(frames).sort_values(["date", "store"])  # the index is kept, out of order
    data = tmp_path / "sales.parquet"
    long.to_parquet(data)
    model = tune(tmp_path, data, "--target", "sales", "--series", "store", "--time", "date")
    dest = tmp_path / "fc.csv"
    code = main(["forecast", str(model), "--steps", "3", "--out", str(dest)])
    assert code == 0, capsys.readouterr().err
    fc = pd.read_csv(dest)
    assert sorted(fc["series"].unique()) == ["north", "south"] and len(fc) == 6
