"""``statetune predict`` streams: files are read and predicted a chunk of rows at a time (never
whole), written as they come, and a failure part-way leaves no output; the predictions equal
the model's on the whole table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.cli import main
from tests.cli_tests.test_table_files import late_level_table, write


@pytest.fixture()
def model_dir(tmp_path):
    df = late_level_table(n=900)
    df["zone"] = np.where(np.arange(900) < 600, "7", "7b")  # numbers first, text later
    result = st.tune(
        st.from_pandas(df, target="price"), ["ridge"], n_trials=3, cv=3, storage="memory"
    )
    out = st.save_model(tmp_path / "best_model", "ridge", result.states, result.best_params)
    return out, result.best_model, df.drop(columns="price")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("out_ext", [".csv", ".parquet", ".jsonl"])
def test_predict_reads_and_writes_chunk_by_chunk_and_equals_the_whole_table(
    model_dir, suffix, out_ext, tmp_path, monkeypatch, capsys
):
    import statetune.cli.predict_cmd as predict_cmd
    import statetune.data.frames as frames
    import statetune.data.table_files as table_files

    folder, model, new = model_dir
    monkeypatch.setattr(table_files, "CHUNK_ROWS", 128)
    monkeypatch.setattr(frames, "read_frame", lambda *a, **k: pytest.fail("read whole"))
    calls = []
    real = predict_cmd._predict_frame

    def counted(m, df, args, features):
        calls.append(len(df))
        return real(m, df, args, features)

    monkeypatch.setattr(predict_cmd, "_predict_frame", counted)
    path = tmp_path / f"new{suffix}"
    write(new, path, "pandas" if suffix == ".csv" else "pyarrow")
    pred = tmp_path / f"pred{out_ext}"
    assert main(["predict", str(folder), str(path), "--out", str(pred)]) == 0
    assert calls == [128] * 7 + [4]  # 900 rows in chunks of 128
    assert "wrote 900 rows" in capsys.readouterr().out
    if out_ext == ".csv":
        got = pd.read_csv(pred)["prediction"]
    elif out_ext == ".parquet":
        got = pd.read_parquet(pred)["prediction"]
    else:
        got = [json.loads(line)["prediction"] for line in pred.read_text().splitlines()]
    # the zone column reads "7" as text in every chunk (as in training), not as the number 7
    np.testing.assert_allclose(got, model.predict(new), rtol=1e-12)


def test_a_bad_value_in_a_late_chunk_is_named_and_leaves_no_output(
    model_dir, tmp_path, monkeypatch, capsys
):
    import statetune.data.table_files as table_files

    folder, _, new = model_dir
    monkeypatch.setattr(table_files, "CHUNK_ROWS", 128)
    new = new.copy()
    new["rooms"] = new["rooms"].astype(object)
    new.loc[700, "rooms"] = "three"
    path = tmp_path / "new.csv"
    new.to_csv(path, index=False)
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(folder), str(path), "--out", str(pred)]) == 1
    err = capsys.readouterr().err
    assert "Column 'rooms' must be numeric" in err
    assert "'three' at data row 700 (line 702)" in err
    assert not pred.exists()
    assert not list(tmp_path.glob(".pred.csv.*"))  # no temp file left


@pytest.mark.parametrize("out_ext", [".csv", ".parquet", ".jsonl"])
def test_id_column_values_are_copied_as_written_whatever_each_chunk_looks_like(
    model_dir, out_ext, tmp_path, monkeypatch
):
    # ids that are text in one chunk and look like numbers in another ("000150"), then a
    # chunk with no id at all, then one missing id: copied through as written, in order
    import statetune.data.table_files as table_files

    folder, _, new = model_dir
    monkeypatch.setattr(table_files, "CHUNK_ROWS", 128)
    ids = [f"A{i}" if i < 128 else f"{i:06d}" for i in range(len(new))]
    for i in range(256, 384):
        ids[i] = None
    ids[500] = None
    new = new.assign(id=ids)
    path = tmp_path / "new.csv"
    new.to_csv(path, index=False)
    pred = tmp_path / f"pred{out_ext}"
    args = ["predict", str(folder), str(path), "--out", str(pred), "--id-column", "id"]
    assert main(args) == 0
    if out_ext == ".csv":
        got = pd.read_csv(pred, dtype={"id": str})["id"]
    elif out_ext == ".parquet":
        got = pd.read_parquet(pred)["id"]
    else:
        got = pd.Series([json.loads(line)["id"] for line in pred.read_text().splitlines()])
    want = pd.Series(ids)
    assert got.isna().tolist() == want.isna().tolist()
    assert got[want.notna()].tolist() == want[want.notna()].tolist()
    assert got[150] == "000150"
