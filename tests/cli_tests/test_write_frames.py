"""``write_frames``: the CLI's chunked, atomic output (CSV, Parquet row groups, JSON lines)
against pandas reading the file back, and the Parquet refusal of a column whose type changes
between chunks (named, no output left, an older file kept)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from statetune.cli._common import write_frames


def _chunks() -> list[pd.DataFrame]:
    rng = np.random.default_rng(0)
    return [
        pd.DataFrame({"id": [f"{i:06d}" for i in range(a, a + 4)], "p": rng.normal(size=4)})
        for a in (0, 4, 8)
    ]


@pytest.mark.parametrize("ext", ["csv", "parquet", "jsonl"])
def test_chunks_are_written_as_one_file(tmp_path, ext):
    chunks = _chunks()
    path = tmp_path / f"out.{ext}"
    dest, rows = write_frames(iter(chunks), str(path))
    assert (dest, rows) == (path, 12)
    want = pd.concat(chunks, ignore_index=True)
    if ext == "csv":
        got = pd.read_csv(path, dtype={"id": str})
    elif ext == "parquet":
        got = pd.read_parquet(path)
        import pyarrow.parquet as pq

        assert pq.ParquetFile(path).num_row_groups == 3  # one row group per chunk
    else:
        got = pd.read_json(path, lines=True, dtype={"id": str})
    assert got["id"].astype(str).tolist() == want["id"].tolist()
    np.testing.assert_allclose(got["p"].to_numpy(float), want["p"].to_numpy(), rtol=1e-12)


def test_parquet_column_empty_in_the_first_chunk_is_text(tmp_path):
    first = pd.DataFrame({"id": [None, None], "p": [1.0, 2.0]})
    later = pd.DataFrame({"id": ["a", "b"], "p": [3.0, 4.0]})
    path = tmp_path / "out.parquet"
    write_frames(iter([first, later]), str(path))
    got = pd.read_parquet(path)
    assert got["id"].tolist()[2:] == ["a", "b"]
    assert got["id"].isna().tolist()[:2] == [True, True]


def test_parquet_type_change_is_refused_by_column_and_row(tmp_path):
    path = tmp_path / "out.parquet"
    path.write_bytes(b"an older output")
    first = pd.DataFrame({"id": [1, 2, 3], "p": [0.1, 0.2, 0.3]})
    later = pd.DataFrame({"id": ["x7", "x8"], "p": [0.4, 0.5]})
    with pytest.raises(
        ValueError, match=r"from row 3 on column\(s\) 'id' \((large_)?string, was int64\)"
    ):
        write_frames(iter([first, later]), str(path))
    assert path.read_bytes() == b"an older output"  # the older file is kept
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]  # no partial output left
