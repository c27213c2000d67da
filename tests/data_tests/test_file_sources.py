"""CSV and Parquet sources share one file-source base: the same files in the same order, one
segment per file fingerprinted by its metadata, and partitions of the selected segments only.

References: the file system (``os.walk``, ``os.utime``) and pandas reading each file whole.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from statetune.data import CsvSource, ParquetSource, from_csv, from_parquet
from statetune.data.files import FilePartition, FileSource

FORMATS = {
    "csv": (from_csv, lambda df, p: df.to_csv(p, index=False), pd.read_csv),
    "parquet": (from_parquet, lambda df, p: df.to_parquet(p), pd.read_parquet),
}


def test_both_formats_are_file_sources():
    assert issubclass(CsvSource, FileSource) and issubclass(ParquetSource, FileSource)
    assert (CsvSource.suffix, ParquetSource.suffix) == (".csv", ".parquet")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_files_segments_and_selected_partitions(tmp_path, fmt):
    make, write, read = FORMATS[fmt]
    rng = np.random.default_rng(3)
    root = tmp_path / "data"
    for rel, n in [("b", 7), ("a/1", 5), ("c/d/2", 9)]:
        path = root / f"{rel}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write(pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)}), path)
    (root / "notes.txt").write_text("not data")
    expected = sorted(
        os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(fmt)
    )

    src = make(str(root), target="y")
    assert src.paths == expected
    assert src.roles == ["y", None, None, None]
    segments = src.segments()
    assert [s.key for s in segments] == expected

    st = os.stat(expected[1])
    os.utime(expected[1], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = [
        a.fingerprint != b.fingerprint for a, b in zip(segments, src.segments(), strict=True)
    ]
    assert changed == [False, True, False]

    parts = src.partitions(segments=[expected[1]])
    assert parts and all(isinstance(p, FilePartition) for p in parts)
    assert {p.segment for p in parts} == {expected[1]}
    got = np.concatenate([c.y for p in parts for c in p.chunks(src.schema)])
    np.testing.assert_array_equal(got, read(expected[1])["y"].to_numpy())
    assert list(dict.fromkeys(p.segment for p in src.partitions())) == expected
