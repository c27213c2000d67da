"""Lineage: hits read nothing, appended files are read alone, changes rebuild (or raise)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import statetune as st
from statetune.data import parquet as parquet_module

from .conftest import COLS, add_file, assert_states_equal, frame


@pytest.fixture
def reads(monkeypatch):
    """Record which files a pass reads row groups from."""
    seen: list[str] = []
    original = parquet_module._RowGroups.chunks

    def spy(self, schema):
        seen.append(os.path.basename(self.path))
        return original(self, schema)

    monkeypatch.setattr(parquet_module._RowGroups, "chunks", spy)
    return seen


def test_hit_reads_nothing_and_append_reads_only_new_file(tmp_path, data_dir, reference, reads):
    folder, df = data_dir
    cache = st.StateCache(tmp_path / "cache")
    first = st.compute_states(
        st.from_parquet(folder, target="y"), ["ridge", "pca"], folds=5, cache=cache
    )
    assert_states_equal(first, reference(df))
    assert len(first.lineage) == 3 and sum(r["n_rows"] for r in first.lineage) == 27_000
    reads.clear()
    again = st.compute_states(
        st.from_parquet(folder, target="y"), ["ridge", "pca"], folds=5, cache=cache
    )
    assert reads == []
    assert_states_equal(again, first)
    new = add_file(folder, 3)
    reads.clear()
    grown = st.compute_states(
        st.from_parquet(folder, target="y"), ["ridge", "pca"], folds=5, cache=cache
    )
    assert set(reads) == {"part-003.parquet"}
    assert_states_equal(grown, reference(pd.concat([df, new], ignore_index=True)))
    # the tuner reads through the cache too: nothing changed, so no pass at all
    reads.clear()
    r = st.tune(
        st.from_parquet(folder, target="y"),
        ["ridge"],
        n_trials=3,
        cv=5,
        cache=cache,
        storage="memory",
    )
    assert reads == [] and r.states.n_rows == 30_000


def test_old_files_unreadable_or_deleted(tmp_path, data_dir, reference, monkeypatch, reads):
    folder, df = data_dir
    cache = st.StateCache(tmp_path / "cache")
    st.compute_states(st.from_parquet(folder, target="y"), ["ridge"], folds=5, cache=cache)
    new = add_file(folder, 3)
    old = {str(p) for p in folder.glob("part-00[012].parquet")}
    real = pq.ParquetFile

    def guarded(path, *a, **k):  # we run as root: simulate unreadable files
        if str(path) in old:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(pq, "ParquetFile", guarded)
    reads.clear()
    grown = st.compute_states(st.from_parquet(folder, target="y"), ["ridge"], folds=5, cache=cache)
    assert set(reads) == {"part-003.parquet"}
    full = pd.concat([df, new], ignore_index=True)
    for s1, s2 in zip(
        grown.states_of("moments"), reference(full).states_of("moments"), strict=True
    ):
        assert s1.allclose(s2, 1e-10)
    monkeypatch.setattr(pq, "ParquetFile", real)
    # deleted old files: `update` absorbs what is new and keeps what was absorbed
    for p in old:
        os.unlink(p)
    newer = add_file(folder, 4)
    key = cache.keys()[0]
    reads.clear()
    updated = st.update(key, st.from_parquet(folder, target="y"), cache=cache)
    assert set(reads) == {"part-004.parquet"}
    ref = reference(pd.concat([full, newer], ignore_index=True))
    for s1, s2 in zip(updated.states_of("moments"), ref.states_of("moments"), strict=True):
        assert s1.allclose(s2, 1e-10)


def test_changed_old_file_rebuilds_or_raises(tmp_path, data_dir, reference):
    folder, _ = data_dir
    cache = st.StateCache(tmp_path / "cache")
    st.compute_states(st.from_parquet(folder, target="y"), ["ridge"], folds=5, cache=cache)
    changed = frame(9_000, 77)
    changed.to_parquet(folder / "part-001.parquet", row_group_size=2_500)
    with pytest.raises(
        ValueError,
        match=r"must extend to this source \(strict=True\), but segment 1 \(.*part-001.parquet'\) changed",
    ):
        st.compute_states(
            st.from_parquet(folder, target="y"), ["ridge"], folds=5, cache=cache, strict=True
        )
    with pytest.warns(st.StateCacheWarning, match="rebuilt: segment 1"):
        rebuilt = st.compute_states(
            st.from_parquet(folder, target="y"), ["ridge"], folds=5, cache=cache
        )
    parts = [pd.read_parquet(folder / f"part-{i:03d}.parquet") for i in range(3)]
    expected = reference(pd.concat(parts, ignore_index=True))
    for s1, s2 in zip(rebuilt.states_of("moments"), expected.states_of("moments"), strict=True):
        assert s1.allclose(s2, 1e-10)
    with pytest.raises(ValueError, match=r"must not change, but .*part-001\.parquet' differs"):
        changed.iloc[:10].to_parquet(folder / "part-001.parquet")
        st.update(cache.keys()[0], st.from_parquet(folder, target="y"), cache=cache)


def test_in_memory_append(reference):
    df = frame(20_000, 5)
    X, y = df[COLS].to_numpy(), df["y"].to_numpy()
    old = st.compute_states(st.from_arrays(X[:18_000], y[:18_000]), ["ridge", "pca"], folds=5)
    new = st.update(old, st.from_arrays(X[18_000:], y[18_000:]))
    assert old.n_rows == 18_000  # not changed
    assert_states_equal(new, reference(df))
    assert st.update(new, st.from_arrays(X[18_000:], y[18_000:])) is new  # already absorbed
    named = st.compute_states(st.from_pandas(df.iloc[:18_000], target="y"), ["ridge"], folds=5)
    with pytest.raises(
        ValueError,
        match="Every feature column of the first chunk must be present, but the new data lacks \\['f4'\\]",
    ):
        st.update(named, st.from_pandas(df.iloc[18_000:].drop(columns=["f4"]), target="y"))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.assign(extra=1.0), r"adds \['extra'\]"),
        (lambda d: d.drop(columns=["f2"]), r"lacks \['f2'\]"),
        (
            lambda d: d.astype({"f3": "float32"}),
            r"Column 'f3' must keep its dtype float64, but .* has it as float32",
        ),
    ],
)
def test_schema_change_in_new_file_is_named_and_entry_untouched(tmp_path, data_dir, change, match):
    folder, _ = data_dir
    cache = st.StateCache(tmp_path / "cache")
    st.compute_states(st.from_parquet(folder, target="y"), ["ridge"], folds=5, cache=cache)
    key = cache.keys()[0]
    before = cache.path(key).read_bytes()
    change(frame(1_000, 9)).to_parquet(folder / "part-009.parquet")
    with pytest.raises(ValueError, match=match):
        st.compute_states(st.from_parquet(folder, target="y"), ["ridge"], folds=5, cache=cache)
    with pytest.raises(ValueError, match=match):
        st.update(key, st.from_parquet(folder / "part-009.parquet", target="y"), cache=cache)
    assert cache.path(key).read_bytes() == before


def test_batches_need_update_not_cache(tmp_path):
    X = np.ones((10, 2))
    with pytest.raises(ValueError, match="needs segments with fingerprints"):
        st.compute_states(st.from_batches([(X, X[:, 0])]), ["ridge"], folds=2, cache=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        base = st.compute_states(
            st.from_batches([(X, X[:, 0] + np.arange(10))]), ["ridge"], folds=2
        )
        assert st.update(base, st.from_batches([(X * 2, X[:, 0])])).n_rows == 20
