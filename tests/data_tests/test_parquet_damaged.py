"""Damaged Parquet files are refused by name (and row group), also inside a folder of good
ones, and a failed read leaves cached states as they were (issue 9, item 10)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import statetune as st
from statetune.data.frames import read_frame

N, GROUP = 30_000, 5_000


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, 3))
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": X.sum(axis=1)})


def write(path, df, **kw):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=GROUP, **kw)
    return path


def corrupt(path, offset, data):
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(data)] = data
    path.write_bytes(bytes(raw))


def page_offset(path, group, column=1):
    return pq.ParquetFile(path).metadata.row_group(group).column(column).data_page_offset


def states(path, **kw):
    return st.compute_states(st.from_parquet(path, target="y"), ["ols"], folds=2, **kw)


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "garbage bytes",
        "zero bytes",
    ],
)
def test_unreadable_footer_names_the_file(tmp_path, frame, damage):
    path = write(tmp_path / "data.parquet", frame)
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage bytes":
        path.write_bytes(np.random.default_rng(0).bytes(5_000))
    else:
        path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"File '.*data.parquet' must be a readable Parquet file"):
        st.from_parquet(path, target="y")
    with pytest.raises(ValueError, match=r"data.parquet' must be a readable Parquet file"):
        read_frame(path)


@pytest.mark.parametrize("where", ["page header", "compressed page"])
def test_damaged_page_in_the_middle_names_file_and_row_group(tmp_path, frame, where):
    path = write(tmp_path / "data.parquet", frame)
    off = page_offset(path, 2)
    if where == "page header":
        corrupt(path, off, b"\xff" * 16)
    else:
        corrupt(path, off + 40, b"\x00" * 200)
    with pytest.raises(
        ValueError,
        match=r"data.parquet' must be a readable Parquet file, but row group 2 is damaged",
    ):
        states(path)


def test_flipped_byte_in_a_checksummed_page_is_caught_not_read(tmp_path, frame):
    """Uncompressed pages decode whatever their bytes are: only their CRC tells."""
    path = write(
        tmp_path / "crc.parquet",
        frame,
        compression="none",
        use_dictionary=False,
        write_page_checksum=True,
    )
    raw = bytearray(path.read_bytes())
    raw[page_offset(path, 2) + 200] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"crc.parquet' .* row group 2 is damaged.*CRC"):
        states(path)


@pytest.mark.parametrize("bad_index", [0, 2, 4])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_one_bad_file_in_a_folder_is_named(tmp_path, frame, bad_index, n_jobs):
    cuts = np.linspace(0, N, 6).astype(int)
    paths = [
        write(tmp_path / f"part-{i}.parquet", frame.iloc[cuts[i] : cuts[i + 1]]) for i in range(5)
    ]
    bad = paths[bad_index]
    corrupt(bad, os.path.getsize(bad) - 8, b"\xff\xff\xff\x00")  # footer length: beyond the file
    with pytest.raises(ValueError, match=rf"part-{bad_index}.parquet' must be a readable Parquet"):
        states(tmp_path, n_jobs=n_jobs)
    write(bad, frame.iloc[cuts[bad_index] : cuts[bad_index + 1]])
    corrupt(bad, page_offset(bad, 0), b"\xff" * 16)  # footer fine, a page damaged
    with pytest.raises(ValueError, match=rf"part-{bad_index}.parquet' .* row group 0 is damaged"):
        states(tmp_path, n_jobs=n_jobs)


def test_failed_extension_leaves_the_cache_as_it_was(tmp_path, frame):
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder / "a.parquet", frame.iloc[:20_000])
    cache = st.StateCache(tmp_path / "cache")
    first = st.compute_states(st.from_parquet(folder, target="y"), ["ols"], folds=2, cache=cache)
    before = {p: p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    bad = write(folder / "b.parquet", frame.iloc[20_000:])
    corrupt(bad, page_offset(bad, 1), b"\xff" * 16)
    with pytest.raises(ValueError, match=r"b.parquet' .* row group 1 is damaged"):
        st.compute_states(st.from_parquet(folder, target="y"), ["ols"], folds=2, cache=cache)
    after = {p: p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    assert {p: b for p, b in after.items() if p in before} == before
    assert not [p for p in after if p not in before and p.suffix == ".npz"]
    bad.unlink()
    again = st.compute_states(st.from_parquet(folder, target="y"), ["ols"], folds=2, cache=cache)
    assert again.n_rows == first.n_rows == 20_000


def test_duplicate_column_names_are_refused(tmp_path):
    table = pa.table(
        [pa.array([1.0, 2.0]), pa.array([3.0, 4.0]), pa.array([0.0, 1.0])], names=["a", "a", "y"]
    )
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(ValueError, match=r"file '.*dup.parquet' has 'a' twice"):
        st.from_parquet(tmp_path / "dup.parquet", target="y")
