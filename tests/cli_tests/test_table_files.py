"""``statetune tune`` on files with text columns or missing values (statsmodels' grunfeld,
with its text ``firm`` column, and NaNs put in): read whole as a table, tuned exactly as
``st.tune(st.from_pandas(df))`` is, and predicted from the same files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.datasets import grunfeld

import statetune as st
from statetune.cli import main


@pytest.fixture()
def grunfeld_df():
    df = grunfeld.load_pandas().data
    df.loc[df.index % 7 == 3, "capital"] = np.nan  # missing values in a feature
    return df


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_text_columns_and_missing_values_are_tuned_as_a_table(
    grunfeld_df, suffix, tmp_path, capsys
):
    path = tmp_path / f"grunfeld{suffix}"
    if suffix == ".csv":
        grunfeld_df.to_csv(path, index=False)
    else:
        grunfeld_df.to_parquet(path, index=False)
    out = tmp_path / "res"
    argv = ["tune", str(path), "--target", "invest", "--algorithms", "ridge,lasso"]
    argv += ["--trials", "15", "--cv", "4", "--storage", "memory", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "streamed as a table in chunks of" in printed.err
    assert "preprocessing: one-hot firm (11 levels); mean-imputed capital" in printed.out
    # the same study as the Python API on the DataFrame
    ref = st.tune(
        st.from_pandas(pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path), "invest"),
        ["ridge", "lasso"],
        n_trials=15,
        cv=4,
        storage="memory",
    )
    model = st.load_model(out / "best_model")
    assert model.get_params() == ref.best_model.get_params()
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out / "best_model"), str(path), "--out", str(pred)]) == 0
    rows = grunfeld_df.drop(columns="invest")
    np.testing.assert_allclose(
        pd.read_csv(pred)["prediction"], ref.best_model.predict(rows), rtol=1e-10
    )


def late_level_table(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Text columns with NaNs, a level that first appears in the last rows, numeric NaNs,
    a few rows without a target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "size": rng.lognormal(size=n) * 50.0,
            "city": rng.choice(["oslo", "rome", "lima"], size=n).astype(object),
            "rooms": rng.integers(1, 6, size=n).astype(float),
            "kind": rng.choice(["flat", "house"], size=n).astype(object),
        }
    )
    df.loc[n - 40 :, "city"] = "quito"  # only in the last chunk
    df["price"] = (
        3.0 * df["size"]
        + 20.0 * df["rooms"]
        + df["city"].map({"oslo": 50.0, "rome": 10.0, "lima": -5.0, "quito": 80.0})
        + rng.normal(scale=5.0, size=n)
    )
    df.loc[rng.random(n) < 0.1, "size"] = np.nan
    df.loc[rng.random(n) < 0.05, "city"] = None
    df.loc[rng.random(n) < 0.05, "kind"] = None
    df.loc[[3, 500], "price"] = np.nan
    return df


def write(df: pd.DataFrame, path, writer: str) -> None:
    if writer == "pandas":
        df.to_csv(path, index=False)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=128)


@pytest.mark.parametrize(("writer", "suffix"), [("pandas", ".csv"), ("pyarrow", ".parquet")])
def test_files_larger_than_a_chunk_stream_through_the_encoding(writer, suffix, tmp_path):
    """Chunked (no whole-file read): the same states as from_pandas of the whole table, so
    the same fold scores; the late level is in the vocabulary."""
    from statetune.data.table_files import from_table_files

    df = late_level_table()
    path = tmp_path / f"t{suffix}"
    write(df, path, writer)
    src = from_table_files(path, target="price", chunk_rows=100)
    assert "city=quito" in src.schema.features
    assert src.schema.preprocessing["dropped_rows_missing_target"] == 2
    names = ["ridge", "lasso"]
    got = st.compute_states(src, names, folds=4)
    ref = st.compute_states(st.from_pandas(df, target="price"), names, folds=4)
    for name, params in [("ridge", {"alpha": 2.0, "add_indicator": True}), ("lasso", {})]:
        params = {**params, "standardize": True}
        np.testing.assert_allclose(
            got.fold_scores(name, params, metric="mse"),
            ref.fold_scores(name, params, metric="mse"),
            rtol=1e-10,
        )


@pytest.mark.parametrize(("writer", "suffix"), [("pandas", ".csv"), ("pyarrow", ".parquet")])
def test_cli_tunes_and_predicts_a_file_larger_than_a_chunk(
    writer, suffix, tmp_path, monkeypatch, capsys
):
    import statetune.data.table_files as table_files
    from statetune.tuner.results import TuneResult

    monkeypatch.setattr(table_files, "CHUNK_ROWS", 128)
    monkeypatch.setattr(TuneResult, "save_plots", lambda *a, **k: None)  # not tested here
    df = late_level_table()
    path = tmp_path / f"t{suffix}"
    write(df, path, writer)
    out = tmp_path / "res"
    argv = ["tune", str(path), "--target", "price", "--algorithms", "ridge"]
    argv += ["--trials", "4", "--cv", "3", "--storage", "memory", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "streamed as a table in chunks of 128 rows" in printed.err
    model = st.load_model(out / "best_model")
    states = st.compute_states(st.from_pandas(df, target="price"), ["ridge"], folds=3)
    params = {k: v for k, v in model.get_params().items() if k in states.search_space("ridge")}
    ref = states.finalize("ridge", params)
    new = df.drop(columns="price").iloc[-60:]  # quito rows, missing values
    new_path = tmp_path / f"new{suffix}"
    write(new, new_path, writer)
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out / "best_model"), str(new_path), "--out", str(pred)]) == 0
    np.testing.assert_allclose(pd.read_csv(pred)["prediction"], ref.predict(new), rtol=1e-9)


def test_a_column_with_too_many_levels_is_refused_while_streaming(tmp_path):
    from statetune.data.table_files import from_table_files

    df = late_level_table()
    df["id"] = [f"row{i}" for i in range(len(df))]
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    with pytest.raises(
        ValueError, match=r"max_levels=200 levels.*'id' has 299 levels by file .*data rows 200..299"
    ):
        from_table_files(path, target="price", chunk_rows=100)
