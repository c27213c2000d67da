"""``DaskExecutor``: the pass and the trials on a Dask cluster.

The pass is a map over partitions and a tree of merges. Workers read their own partitions
(the client sends each a :class:`~statetune.data.source.Partition` description: a file and
its row groups, a Dask DataFrame partition; never rows), build the fold states of its rows
where the data is, and merge them in a tree of ``split_every`` states at a time on the
workers; the client receives one merged state per fold and slot. Only states travel.

Fold assignment is a function of the global row position, so each partition needs its first
row's position before its states are built. When every partition knows its row count
(Parquet, Dask DataFrames, arrays) the offsets are known up front; otherwise (CSV files)
each partition is parsed once by a ``statetune-read`` task whose rows stay on that worker,
the client gathers the row counts only, and the ``statetune-pass`` task then runs where the
rows are.

Task names say what they do in Dask's dashboard: ``statetune-pass-<partition>-<rows>``,
``statetune-read-<partition>``, ``statetune-merge-<level>``, ``statetune-trials``.

A task that raises is retried ``retries`` times (a flaky shared file system); a task on a
worker that dies is recomputed by the scheduler from its inputs (partition descriptions are
pure), so nothing is counted twice. A partition that still fails is reported by name.

Example
-------
>>> from statetune.engine.dask_executor import task_key
>>> task_key("statetune-pass", "file 'a.csv'", 10, token="ab12")
'statetune-pass-a.csv-10rows-ab12'
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition
from statetune.engine.accumulate import Accumulator, Job, run_partition
from statetune.engine.slots import Slot

__all__ = [
    "CHECKED_PACKAGES",
    "CONNECT_TIMEOUT",
    "TASKS_PER_THREAD",
    "DaskExecutor",
    "check_versions",
    "connect",
    "merge_states",
    "run_batch",
    "task_key",
]

#: Seconds to reach a scheduler before giving up (an unreachable address fails early).
CONNECT_TIMEOUT = 5.0
#: Pass tasks per worker thread: consecutive partitions share a task beyond that. One row
#: group a task cost a few ms of Dask overhead each: 0.48x the local n_jobs=2 pass over 4M rows
#: of Parquet (31 row groups, 2 workers); 4 tasks a thread 0.70x, 2 tasks a thread 0.82x.
TASKS_PER_THREAD = 2

States = dict[Slot, list[Any]]


def task_key(kind: str, label: str = "", rows: int | None = None, *, token: str) -> str:
    """A readable, unique Dask key: ``kind``, the partition's short name, its rows, a token.

    Example
    -------
    >>> task_key("statetune-merge", "level 1", token="x")
    'statetune-merge-level_1-x'
    """
    short = os.path.basename(label.split(",")[0].replace("file ", "").strip("'\" "))
    short = re.sub(r"[^A-Za-z0-9_.]+", "_", short).strip("_")[:60]
    parts = [kind] + ([short] if short else []) + ([f"{rows}rows"] if rows is not None else [])
    return "-".join([*parts, token])


def merge_states(*parts: States) -> States:
    """The merge of partition states, in order, into a copy of the first (inputs untouched:
    Dask may hand the same result to a retried task)."""
    out = {slot: [s.copy() for s in states] for slot, states in parts[0].items()}
    for part in parts[1:]:
        for slot, states in part.items():
            for mine, theirs in zip(out[slot], states, strict=True):
                mine.merge(theirs)
    return out


def run_batch(*jobs: Job) -> States:
    """The merged fold states of consecutive partitions, in order (one task for several small
    partitions: Dask's per-task cost, a few ms, would otherwise rival reading a row group)."""
    return merge_states(*(run_partition(job) for job in jobs))


def _read(part: Partition, schema: Schema) -> list[Chunk]:
    """Parse a partition of unknown length (a CSV file); the rows stay on this worker."""
    return list(part.chunks(schema))


def _rows(chunks: list[Chunk]) -> int:
    return sum(len(c) for c in chunks)


def _held_states(chunks: list[Chunk], job: Job) -> States:
    """Fold states of rows parsed earlier on this worker (see :func:`_read`)."""
    acc = Accumulator(job)
    for chunk in chunks:
        acc.feed(chunk)
    return acc.states


def connect(address: str, timeout: float | None = None) -> Any:
    """A ``distributed.Client`` on ``address`` (``tcp://host:port``), or on a new local cluster
    for ``local`` / ``local:N`` (N single-threaded worker processes).

    An unreachable scheduler fails within ``timeout`` seconds (default
    :data:`CONNECT_TIMEOUT`), naming the address, before any work is done.
    """
    from distributed import Client, LocalCluster

    if address == "local" or address.startswith("local:"):
        n = address.partition(":")[2] or "2"
        if not n.isdigit() or int(n) < 1:
            raise ValueError(
                f"A local scheduler must be 'local' or 'local:N' with N >= 1 workers, but got "
                f"{address!r}."
            )
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, dashboard_address=":0")
        return Client(cluster)
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise ConnectionError(
            f"The Dask scheduler at {address!r} must be reachable, but connecting failed "
            f"within {timeout:g} s: {err}"
        ) from None


#: Packages whose versions must agree between the client and the cluster (with Dask's own).
CHECKED_PACKAGES = ["statetune", "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "optuna"]


def check_versions(client: Any) -> None:
    """Dask's own version check (``client.get_versions(check=True)``) over Dask's packages and
    statetune's, its warning turned into an error: a state built by another statetune or
    numpy on a worker must not be merged silently."""
    import warnings

    errors: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            client.get_versions(check=True, packages=CHECKED_PACKAGES)
        except ValueError as err:  # Dask's critical mismatches
            errors.append(str(err))
    found = errors + [str(w.message) for w in caught if "Mismatched versions" in str(w.message)]
    if found:
        where = getattr(client, "scheduler", None)
        address = getattr(where, "address", None) or "the scheduler"
        raise ValueError(
            f"The client and the Dask cluster at {address} must run the same package versions, "
            f"but Dask's check found:\n{found[0]}"
        )


class DaskExecutor:
    """Runs the pass and the trials of statetune on a Dask ``distributed`` cluster.

    Parameters
    ----------
    client : distributed.Client or str
        A connected client, or a scheduler address (see :func:`connect`).
    split_every : int, default 8
        States merged per task in the merge tree (its depth is ``log_split_every(partitions)``).
    retries : int, default 2
        Retries of a task that raises (a worker that dies is handled by the scheduler).
    partitions_per_worker : int, default 2
        Partitions asked of a source that can be cut freely, per worker thread.
    check : bool, default True
        Run Dask's version check over statetune's packages first (see
        :func:`check_versions`): mismatched versions are an error.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> ex = DaskExecutor(Client(LocalCluster(n_workers=2, threads_per_worker=1)))  # doctest: +SKIP
    >>> states = st.compute_states(src, ["ridge"], executor=ex)  # doctest: +SKIP
    """

    #: The pass uses :meth:`tree_pass` (tasks where the data is) rather than ``map``.
    distributed = True

    def __init__(
        self,
        client: Any,
        *,
        split_every: int = 8,
        retries: int = 2,
        partitions_per_worker: int = 2,
        check: bool = True,
    ) -> None:
        self.owned = isinstance(client, str)  # made here: closed by close()
        if isinstance(client, str):
            client = connect(client)
        if not hasattr(client, "submit") or not hasattr(client, "scheduler_info"):
            raise TypeError(
                f"`client` must be a dask.distributed Client or a scheduler address, but got "
                f"{type(client).__name__}."
            )
        if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
            raise ValueError(f"`split_every >= 2` must hold, but got split_every={split_every!r}.")
        self.client = client
        self.split_every = split_every
        self.retries = retries
        self.partitions_per_worker = partitions_per_worker
        if check:
            try:
                check_versions(client)
            except ValueError:
                self.close()
                raise

    def close(self) -> None:
        """Close the client (and its local cluster) if this executor connected it."""
        if self.owned:
            cluster = getattr(self.client, "cluster", None)
            self.client.close()
            if cluster is not None:
                cluster.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r}, split_every={self.split_every})"

    @property
    def n_jobs(self) -> int:
        """Worker threads of the cluster now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def n_partitions(self) -> int:
        """Partitions to ask of a source that can be cut freely."""
        return max(2, self.n_jobs * self.partitions_per_worker)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn`` over ``items`` on the cluster, results in the items' order."""
        items = list(items)
        token = uuid.uuid4().hex[:8]
        name = getattr(fn, "__name__", "task").strip("_")
        keys = [f"statetune-{name}-{i}-{token}" for i in range(len(items))]
        futures = self.client.map(fn, items, key=keys, retries=self.retries)
        try:
            for f in futures:
                yield f.result()
        finally:
            for f in futures:
                f.release()

    def tree_pass(
        self,
        parts: Sequence[Partition],
        job: Callable[[Partition, int], Job],
        start: int,
        progress: Callable[[int], Any] | None = None,
    ) -> tuple[States, list[int]]:
        """Fold states of every partition, merged on the workers: ``(merged, rows per part)``.

        ``job(part, offset)`` describes the work of a partition starting at global row
        ``offset``; the first partition starts at ``start``.
        """
        from distributed import as_completed

        client, token = self.client, uuid.uuid4().hex[:8]
        sizes: list[int | None] = [p.n_rows for p in parts]
        held: dict[int, Any] = {}
        futures: list[Any] = []
        layer: list[Any] = []
        try:
            unknown = [i for i, s in enumerate(sizes) if s is None]
            if unknown:
                schema = job(parts[0], 0).schema
                for i in unknown:
                    held[i] = client.submit(
                        _read,
                        parts[i],
                        schema,
                        key=task_key("statetune-read", parts[i].label, token=f"{i}-{token}"),
                        retries=self.retries,
                    )
                counts = client.map(
                    _rows,
                    [held[i] for i in unknown],
                    key=[f"statetune-rows-{i}-{token}" for i in unknown],
                )
                for i, n in zip(
                    unknown, self._gather(counts, [parts[i] for i in unknown]), strict=True
                ):
                    sizes[i] = int(n)
            rows = [int(s or 0) for s in sizes]
            offsets = list(itertools.accumulate(rows[:-1], initial=start))
            owner = {}
            for first, last in self._batches(len(parts), held):
                part, n = parts[first], sum(rows[first:last])
                key = task_key("statetune-pass", part.label, n, token=f"{first}-{token}")
                if first in held:
                    f = client.submit(
                        _held_states,
                        held[first],
                        job(part, offsets[first]),
                        key=key,
                        retries=self.retries,
                    )
                else:
                    jobs = [job(parts[i], offsets[i]) for i in range(first, last)]
                    f = client.submit(run_batch, *jobs, key=key, retries=self.retries)
                futures.append(f)
                owner[f.key] = (part, n)
            level, layer = 0, futures
            while len(layer) > 1:
                level += 1
                step = self.split_every
                layer = [
                    client.submit(
                        merge_states,
                        *layer[j : j + step],
                        key=f"statetune-merge-{level}-{j // step}-{token}",
                        retries=self.retries,
                    )
                    for j in range(0, len(layer), step)
                ]
            for f in as_completed(futures):
                part, n = owner[f.key]
                if f.status == "error":
                    self._raise(f, part)
                if progress is not None:
                    progress(n)
            merged = self._gather([layer[0]], parts)[0]
        except BaseException:
            client.cancel([*held.values(), *futures, *layer])  # nothing keeps running
            raise
        finally:
            for f in held.values():
                f.release()
        return merged, rows

    def _batches(self, n: int, held: Mapping[int, Any]) -> list[tuple[int, int]]:
        """``[first, last)`` ranges of consecutive partitions run as one task: about
        :data:`TASKS_PER_THREAD` tasks per worker thread (a held CSV file is its own task)."""
        per_task = max(1, n // (TASKS_PER_THREAD * max(self.n_jobs, 1)))
        out: list[tuple[int, int]] = []
        i = 0
        while i < n:
            if i in held:
                out.append((i, i + 1))
                i += 1
                continue
            j = i + 1
            while j < n and j - i < per_task and j not in held:
                j += 1
            out.append((i, j))
            i = j
        return out

    def _gather(self, futures: list[Any], parts: Sequence[Partition]) -> list[Any]:
        out = []
        for f, part in zip(futures, parts, strict=False):
            try:
                out.append(f.result())
            except Exception as err:
                self._raise(f, part, err)
        return out

    def _raise(self, future: Any, part: Partition, err: BaseException | None = None) -> None:
        """Re-raise a task's error; a lost worker (``KilledWorker``) names the partition."""
        from distributed.scheduler import KilledWorker

        if err is None:
            err = future.exception()
        if isinstance(err, KilledWorker):
            raise RuntimeError(
                f"{part.label} must be read by a live Dask worker, but the workers running "
                f"task {future.key!r} died repeatedly (retries exhausted): {err}"
            ) from err
        assert err is not None
        raise err
