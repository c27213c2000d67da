"""What a cached pass did: ``states.cache_report`` and a log line count the rows read and the
rows taken from the cache; ``st.update(states, src, cache=c)`` saves the extended states into
the cache (or refuses states it cannot key), never ignores ``cache``."""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.data import parquet as parquet_module

from .conftest import COLS, add_file, assert_states_equal


@pytest.fixture
def reads(monkeypatch):
    seen: list[str] = []
    original = parquet_module._RowGroups.chunks

    def spy(self, schema):
        seen.append(os.path.basename(self.path))
        return original(self, schema)

    monkeypatch.setattr(parquet_module._RowGroups, "chunks", spy)
    return seen


def _rows(folder, names):
    return sum(len(pd.read_parquet(folder / n)) for n in names)


def test_report_counts_rows_read_and_rows_from_the_cache(tmp_path, data_dir, caplog):
    folder, df = data_dir
    cache = st.StateCache(tmp_path / "cache")
    old = sorted(p.name for p in folder.iterdir())

    def run():
        src = st.from_parquet(folder, target="y")
        return st.compute_states(src, ["ridge", "pca"], folds=5, cache=cache)

    with caplog.at_level(logging.INFO, logger="statetune.state_cache"):
        first = run()
    r = first.cache_report
    assert (r.action, r.rows_read, r.rows_from_cache) == ("build", len(df), 0)
    assert (r.segments_read, r.segments_from_cache) == (3, 0)
    assert f"{len(df):,} rows read" in caplog.text
    again = run().cache_report
    assert (again.action, again.rows_read, again.rows_from_cache) == ("hit", 0, len(df))
    add_file(folder, 3, n=3_000)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="statetune.state_cache"):
        grown = run()
    r = grown.cache_report
    assert r.action == "extend"
    assert r.rows_read == _rows(folder, ["part-003.parquet"]) == 3_000
    assert r.rows_from_cache == _rows(folder, old) == len(df)
    assert (r.segments_read, r.segments_from_cache) == (1, 3)
    assert r.n_rows == grown.n_rows
    assert f"3,000 rows read (1 segment), {len(df):,} rows from the cache" in caplog.text
    # the key form of update reports too
    add_file(folder, 4, n=1_000)
    key = cache.keys()[0]
    up = st.update(key, st.from_parquet(folder, target="y"), cache=cache).cache_report
    assert (up.rows_read, up.rows_from_cache) == (1_000, len(df) + 3_000)
    # st.tune reads through the cache: its result's states carry the report
    src = st.from_parquet(folder, target="y")
    tuned = st.tune(src, ["ridge"], n_trials=2, cv=5, cache=cache, storage="memory")
    assert tuned.states.cache_report.action == "hit"
    assert tuned.states.cache_report.rows_from_cache == len(df) + 4_000


def test_update_with_cache_saves_the_extended_states(tmp_path, data_dir, reference, reads):
    folder, df = data_dir
    cache = st.StateCache(tmp_path / "cache")
    states = st.compute_states(
        st.from_parquet(folder, target="y"), ["ridge", "pca"], folds=5, cache=cache
    )
    new = add_file(folder, 3)
    reads.clear()
    grown = st.update(states, st.from_parquet(folder, target="y"), cache=cache)
    assert set(reads) == {"part-003.parquet"}
    # a cached pass over the grown data now reads nothing: update saved into the cache
    reads.clear()
    later = st.compute_states(
        st.from_parquet(folder, target="y"), ["ridge", "pca"], folds=5, cache=cache
    )
    assert reads == []
    assert_states_equal(later, reference(pd.concat([df, new], ignore_index=True)))
    assert later.cache_report.action == "hit"
    r = grown.cache_report
    assert (r.action, r.rows_read, r.segments_read) == ("saved", len(new), 1)


def test_update_with_cache_refuses_states_without_fingerprints(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, len(COLS))), rng.normal(size=200)
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=2)  # no cache: no hashes
    cache = st.StateCache(tmp_path / "cache")
    with pytest.raises(ValueError, match=r"fingerprint for every segment.*nothing was saved"):
        st.update(states, st.from_arrays(X[:50] + 1, y[:50]), cache=cache)
    assert cache.keys() == []
    # with fingerprints (a cached pass over arrays), the same call saves
    cached = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=2, cache=cache)
    grown = st.update(cached, st.from_arrays(X[:50] + 1, y[:50]), cache=cache)
    assert grown.n_rows == 250 and grown.cache_report.rows_read == 50
    entry = cache.load(cache.keys()[0])
    assert sum(r["n_rows"] for r in entry.lineage) == 250
