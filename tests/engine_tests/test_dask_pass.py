"""The pass on Dask: workers read their partitions, states merge in a tree on the workers,
and the result equals the local pass (exact states to 1e-12, seeded samples identically)
whatever the partition count; files, Dask DataFrames, the cache, and a lost worker."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.states import Moments
from statetune.testing import make_regression_data
from tests.fold_rule import reference_folds

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def data():
    X, y, _ = make_regression_data(30_000, 4, seed=3)
    return X, y


def _prefixes(client, run):
    """Task-name prefixes of the tasks ``run()`` made the cluster execute."""
    from distributed import get_task_stream

    with get_task_stream(client) as ts:
        out = run()
    return out, ["-".join(str(t["key"]).split("-")[:2]) for t in ts.data], ts.data


def _sample_arrays(states, kind):
    return [s.to_arrays()[1] for s in states.states_of(kind)]


@pytest.mark.parametrize("per_worker", [1, 7, 40])  # 40: partitions share tasks
def test_dask_pass_equals_local_pass_whatever_the_partition_count(dask_client, data, per_worker):
    X, y = data
    src = st.from_arrays(X, y)
    ex = st.DaskExecutor(dask_client, split_every=3, partitions_per_worker=per_worker)
    dist = st.compute_states(src, ["ridge", "kmeans"], folds=4, seed=2, executor=ex)
    local = st.compute_states(src, ["ridge", "kmeans"], folds=4, seed=2)
    # exact state against numpy on each fold's rows (independent fold rule)
    fold = reference_folds(4, 2, 0, len(X))
    for k in range(4):
        ref = Moments(4)
        ref.update(X[fold == k], y[fold == k])
        assert dist.held_out("moments", k).allclose(ref, 1e-12)
        assert dist.held_out("moments", k).allclose(local.held_out("moments", k), 1e-12)
    # the seeded held-out sample: identical rows, keys and weights
    for a, b in zip(
        _sample_arrays(dist, "reservoir"), _sample_arrays(local, "reservoir"), strict=True
    ):
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    assert dist.n_rows == len(X)


def _write_csvs(tmp, X, y, n_files):
    paths = []
    for i, idx in enumerate(np.array_split(np.arange(len(X)), n_files)):
        df = pd.DataFrame(X[idx], columns=[f"x{j}" for j in range(X.shape[1])])
        df["y"] = y[idx]
        p = os.path.join(tmp, f"part{i}.csv")
        df.to_csv(p, index=False)
        paths.append(p)
    return paths


def test_csv_files_of_unknown_length_are_read_once_where_their_states_are_built(
    dask_client, data, tmp_path
):
    X, y = data
    _write_csvs(tmp_path, X, y, 3)
    src = st.from_csv(str(tmp_path), target="y")
    ex = st.DaskExecutor(dask_client)
    dist, names, _ = _prefixes(
        dask_client, lambda: st.compute_states(src, ["ridge"], folds=3, executor=ex)
    )
    local = st.compute_states(src, ["ridge"], folds=3)
    for a, b in zip(dist.states_of("moments"), local.states_of("moments"), strict=True):
        assert a.allclose(b, 1e-12)
    assert names.count("statetune-read") == 3 and names.count("statetune-pass") == 3
    assert "statetune-merge" in names
    assert [r["n_rows"] for r in dist.lineage] == [r["n_rows"] for r in local.lineage]
    assert [r["n_rows"] for r in dist.lineage] == [10_000, 10_000, 10_000]


def test_parquet_pass_and_a_bad_value_named_by_file_and_row(dask_client, data, tmp_path):
    X, y = data
    for i, idx in enumerate(np.array_split(np.arange(len(X)), 2)):
        df = pd.DataFrame(X[idx], columns=["a", "b", "c", "d"])
        df["y"] = y[idx]
        df.to_parquet(tmp_path / f"f{i}.parquet", row_group_size=4000)
    src = st.from_parquet(str(tmp_path), target="y")
    ex = st.DaskExecutor(dask_client)
    dist = st.compute_states(src, ["ridge"], folds=5, executor=ex)
    local = st.compute_states(src, ["ridge"], folds=5, n_jobs=2)
    assert dist.total("moments").allclose(local.total("moments"), 1e-12)
    ref = Moments(4)
    ref.update(X, y)
    assert dist.total("moments").allclose(ref, 1e-12)

    bad = pd.DataFrame(X[:100], columns=["a", "b", "c", "d"])
    bad["y"] = y[:100]
    bad.loc[57, "c"] = np.inf
    bad.to_parquet(tmp_path / "f2.parquet")
    with pytest.raises(ValueError, match=r"Column 'c' must be finite, but holds inf at row 30057"):
        st.compute_states(st.from_parquet(str(tmp_path), target="y"), ["ridge"], executor=ex)


def test_from_dask_partitions_are_segments_and_equal_the_pandas_pass(dask_client, data):
    dd = pytest.importorskip("dask.dataframe")
    X, y = data
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["y"] = y
    for n in (1, 5):
        src = st.from_dask(dd.from_pandas(df, npartitions=n), target="y")
        assert [p.n_rows for p in src.partitions()] == [
            len(i) for i in np.array_split(np.arange(len(X)), n)
        ] or sum(p.n_rows for p in src.partitions()) == len(X)
        dist = st.compute_states(src, ["ridge"], folds=3, executor=st.DaskExecutor(dask_client))
        local = st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=3)
        for a, b in zip(dist.states_of("moments"), local.states_of("moments"), strict=True):
            assert a.allclose(b, 1e-12)
        assert len(dist.lineage) == n  # lineage per partition
        assert sum(r["n_rows"] for r in dist.lineage) == len(X)
    with pytest.raises(TypeError, match="Column 'c' must be numeric"):
        st.from_dask(dd.from_pandas(df.assign(c="u"), npartitions=2), target="y")


def test_cache_with_a_dask_pass_reads_an_appended_file_in_one_task(dask_client, data, tmp_path):
    X, y = data
    folder = tmp_path / "data"
    folder.mkdir()
    _write_csvs(folder, X[:20_000], y[:20_000], 2)
    cache = st.StateCache(tmp_path / "cache")
    ex = st.DaskExecutor(dask_client)
    first = st.compute_states(
        st.from_csv(str(folder), target="y"), ["ridge"], folds=3, cache=cache, executor=ex
    )
    assert first.n_rows == 20_000
    extra = pd.DataFrame(X[20_000:], columns=[f"x{j}" for j in range(4)])
    extra["y"] = y[20_000:]
    extra.to_csv(folder / "part9.csv", index=False)
    grown, names, _ = _prefixes(
        dask_client,
        lambda: st.compute_states(
            st.from_csv(str(folder), target="y"), ["ridge"], folds=3, cache=cache, executor=ex
        ),
    )
    assert names.count("statetune-pass") == 1 and names.count("statetune-read") == 1
    ref = Moments(4)
    ref.update(X, y)
    assert grown.total("moments").allclose(ref, 1e-12)
    assert [r["n_rows"] for r in grown.lineage] == [10_000, 10_000, 10_000]


class _SlowPartition(Partition):
    """Array rows handed over slowly (a partition takes ~0.4 s), to kill a worker mid-pass."""

    def __init__(self, X, y, i, deadly=False):
        self.X, self.y, self.n_rows, self.deadly = X, y, len(X), deadly
        self.label, self.segment = f"slow part {i}", "slow"

    def chunks(self, schema):
        if self.deadly:
            os._exit(1)
        time.sleep(0.4)
        yield Chunk(self.X, self.y, None, self.label)


class _SlowSource(Source):
    def __init__(self, X, y):
        self.inner = st.from_arrays(X, y)
        self.X, self.y, self.deadly = X, y, None

    @property
    def schema(self):
        return self.inner.schema

    def segments(self):
        return [Segment("slow", "fp", len(self.X))]

    def partitions(self, n_hint=1, segments=None):
        idx = np.array_split(np.arange(len(self.X)), 6)
        return [
            _SlowPartition(self.X[i], self.y[i], j, j == self.deadly) for j, i in enumerate(idx)
        ]


def _kill_when_busy(client, kill):
    """Call ``kill(worker_address)`` on the first worker seen running a task (in a thread)."""
    done: list[str] = []

    def watch():
        deadline = time.time() + 30
        while time.time() < deadline and not done:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                kill(busy[0])
                done.append(busy[0])
            time.sleep(0.02)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread, done


def test_a_worker_lost_mid_pass_is_survived_without_double_counting(data):
    from distributed import Client, LocalCluster

    X, y = data
    # a cluster of its own (in-process, cheap): losing a worker must not shrink the shared one
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = Client(cluster)

    def close(address):
        worker = next(w for w in cluster.workers.values() if w.address == address)
        client.loop.add_callback(worker.close, executor_wait=False)

    try:
        thread, lost = _kill_when_busy(client, close)
        ex = st.DaskExecutor(client)
        dist = st.compute_states(_SlowSource(X, y), ["ridge"], folds=3, executor=ex)
        thread.join()
        assert lost, "no worker was busy to lose"
        assert len(client.nthreads()) == 1  # the pass finished on the other worker
    finally:
        client.close()
        cluster.close()
    ref = Moments(4)
    ref.update(X, y)
    assert dist.n_rows == len(X)
    assert dist.total("moments").allclose(ref, 1e-12)  # each partition counted once


@pytest.mark.slow  # starts two worker processes: 10-20 s on a shared 2-core machine
def test_a_worker_process_killed_mid_pass_is_survived_and_a_lost_partition_named(data):
    import cloudpickle
    import dask
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(__import__(__name__, fromlist=["_"]))
    X, y = data
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    client = Client(cluster)
    try:
        ex = st.DaskExecutor(client)

        def sigkill(address):
            pid = client.run(os.getpid, workers=[address])[address]
            os.kill(pid, 9)

        thread, killed = _kill_when_busy(client, sigkill)
        dist = st.compute_states(_SlowSource(X, y), ["ridge"], folds=3, executor=ex)
        thread.join()
        assert killed
        ref = Moments(4)
        ref.update(X, y)
        assert dist.total("moments").allclose(ref, 1e-12)
        client.wait_for_workers(2, timeout=60)
        # a partition whose reading kills its worker every time is reported by name
        src = _SlowSource(X, y)
        src.deadly = 3
        with pytest.raises(RuntimeError, match=r"slow part \d must be read by a live Dask worker"):
            st.compute_states(src, ["ridge"], folds=3, executor=ex)
    finally:
        client.close()
        cluster.close()


def test_seeded_coreset_is_identical_to_the_local_pass_with_the_same_partitioning(
    dask_client, data
):
    X, y = data
    src = st.from_arrays(X, y)
    ex = st.DaskExecutor(dask_client)  # 2 threads x 2: four partitions, as local n_jobs=2
    assert ex.n_partitions() == 4
    dist = st.compute_states(src, ["kmeans"], folds=3, executor=ex)
    local = st.compute_states(src, ["kmeans"], folds=3, n_jobs=2)
    for kind in ("kmeans_coreset", "reservoir"):
        for a, b in zip(_sample_arrays(dist, kind), _sample_arrays(local, kind), strict=True):
            for name in a:
                np.testing.assert_array_equal(a[name], b[name])
