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
    assert "read whole as a table (220 rows" in printed.err
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


def test_files_too_large_for_a_table_keep_the_file_error(
    grunfeld_df, tmp_path, monkeypatch, capsys
):
    import statetune.cli.table_fallback as fallback

    monkeypatch.setattr(fallback, "TABLE_MAX_BYTES", 100)
    path = tmp_path / "grunfeld.csv"
    grunfeld_df.to_csv(path, index=False)
    assert main(["tune", str(path), "--target", "invest", "--storage", "memory"]) == 1
    err = capsys.readouterr().err
    assert "Column 'firm' must be numeric" in err and "too large to read whole as a table" in err
