"""Issue 9, item 10 (storage): a full disk while writing a cache entry, a checkpoint, a saved
model or a tuning result raises an error that names the path and says the disk is full, and
leaves no half-written file: the temp file is removed and an older file at the path is kept.

The full disk is simulated deterministically: ``os.fsync`` (or the write itself) raises
``OSError(ENOSPC)`` for the files named, found from the descriptor's path in /proc."""

from __future__ import annotations

import errno
import os
import re

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.state_cache.format import atomic_write

from .conftest import COLS, frame

FULL = "the disk is full"


@pytest.fixture
def disk_full(monkeypatch):
    """``targets``: fsync raises ENOSPC for every file whose path contains one of them."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to tell which file a descriptor is")
    real = os.fsync
    targets: list[str] = []

    def fsync(fd):
        where = os.readlink(f"/proc/self/fd/{fd}")
        if any(t in where for t in targets):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return targets


def leftovers(folder):
    """Temp files (ours start with a dot and end in .tmp) anywhere under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def assert_matches_data(states, df):
    total = states.total("moments")
    assert states.n_rows == total.n_rows == len(df)
    np.testing.assert_allclose(total.mean, df[[*COLS, "y"]].to_numpy().mean(axis=0), rtol=1e-10)


def test_write_that_fails_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda f: f.write(b"old"))

    def write(f):
        f.write(b"x" * 1_000_000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match=re.escape(repr(str(path))) + ".*" + FULL) as info:
        atomic_write(path, write)
    from statetune.state_cache import DiskFullError

    assert isinstance(info.value, DiskFullError) and info.value.errno == errno.ENOSPC
    assert info.value.path == str(path)
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_disk_full_while_writing_a_cache_entry(tmp_path, disk_full):
    data = tmp_path / "data"
    data.mkdir()
    first = frame(3_000, 1)
    first.to_parquet(data / "a.parquet")
    cache = st.StateCache(tmp_path / "cache")

    def run():
        return st.compute_states(st.from_parquet(data, target="y"), ["ridge"], folds=3, cache=cache)

    disk_full.append("/states/")
    with pytest.raises(OSError) as info:
        run()
    message = str(info.value)
    assert re.search(re.escape(str(cache.states_dir)) + r"/\w+\.npz'", message), message
    assert FULL in message
    assert leftovers(tmp_path) == [] and cache.keys() == []
    disk_full.clear()
    assert_matches_data(run(), first)
    (key,) = cache.keys()
    second = frame(1_000, 2)
    second.to_parquet(data / "b.parquet")
    disk_full.append("/states/")
    with pytest.raises(OSError, match=re.escape(str(cache.path(key))) + ".*" + FULL):
        run()  # extending the entry: the old one stays as it was
    assert leftovers(tmp_path) == []
    assert cache.load(key).n_rows == len(first) and cache.verify()[0]["valid"]
    disk_full.clear()
    assert_matches_data(run(), pd.concat([first, second], ignore_index=True))


def test_disk_full_while_writing_a_checkpoint(tmp_path, disk_full):
    frame(6_000, 3).to_parquet(tmp_path / "d.parquet", row_group_size=1_000)
    cache = st.StateCache(tmp_path / "cache")
    disk_full.append("/checkpoints/")
    with pytest.raises(OSError) as info:
        st.compute_states(
            st.from_parquet(tmp_path / "d.parquet", target="y"),
            ["ridge"],
            folds=3,
            cache=cache,
            checkpoint_rows=1_000,
            checkpoint_seconds=None,
        )
    message = str(info.value)
    assert re.search(re.escape(str(cache.checkpoints_dir)) + r"/\w+\.npz'", message), message
    assert FULL in message
    assert leftovers(tmp_path) == [] and not list(cache.checkpoints_dir.glob("*.npz"))


@pytest.fixture
def ridge_states():
    X = np.random.default_rng(0).normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1
    return st.compute_states(st.from_arrays(X, y), ["ridge"], folds=2), X


@pytest.mark.parametrize("failing", ["state.npz", "model.json"])
def test_disk_full_while_saving_a_model_keeps_the_old_model(
    tmp_path, disk_full, ridge_states, failing
):
    states, X = ridge_states
    folder = tmp_path / "fresh"
    disk_full.append(failing)
    with pytest.raises(OSError, match=re.escape(str(folder / failing)) + ".*" + FULL):
        st.save_model(folder, "ridge", states, {"alpha": 0.5})
    assert list(folder.iterdir()) == []  # neither file, no temp file
    disk_full.clear()
    folder = tmp_path / "old"
    st.save_model(folder, "ridge", states, {"alpha": 0.5})
    before = st.load_model(folder).predict(X)
    disk_full.append(failing)
    with pytest.raises(OSError, match=re.escape(str(folder / failing)) + ".*" + FULL):
        st.save_model(folder, "ridge", states, {"alpha": 500.0})
    assert leftovers(tmp_path) == []
    np.testing.assert_array_equal(st.load_model(folder).predict(X), before)  # both files old


@pytest.mark.parametrize("failing", ["trials.csv", "summary.json", "history.png"])
def test_disk_full_while_saving_tuning_results(tmp_path, disk_full, ridge_states, failing):
    states, _ = ridge_states
    result = st.tune(states, ["ridge"], n_trials=3, cv=2, storage="memory")
    disk_full.append(failing)
    out = tmp_path / "results"
    with pytest.raises(OSError, match=re.escape(str(out / failing)) + ".*" + FULL):
        result.save(out)
    assert not (out / failing).exists() and leftovers(tmp_path) == []
