"""The pass: one read of a source updates every requested state, for every fold.

Per chunk, each fold's rows of each fold group are a strided view (see ``folds.py``) handed
straight to every state's ``update``: no gather, no per-row Python. Algorithms that need the
same state kind share it.

Anytime: :func:`iter_states` yields a consistent snapshot every ``every`` rows (sequential
pass) or after each partition (parallel pass); every snapshot finalizes to working models.

Example
-------
>>> import numpy as np, statetune as st
>>> X = np.random.default_rng(0).normal(size=(1000, 3)); y = X.sum(axis=1)
>>> snaps = list(st.iter_states(st.from_arrays(X, y), ["ridge"], folds=2, every=400))
>>> [s.n_rows for s in snaps]
[400, 800, 1000]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from statetune.algorithms import get_algorithm
from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition, Source
from statetune.engine.executors import Executor, make_executor
from statetune.engine.folds import FoldConfig
from statetune.engine.stateset import StateSet
from statetune.states import NonFiniteError

__all__ = ["compute_states", "iter_states", "run_partition"]

#: Rows laid out per block for columnar chunks: 16,384 x 51 float64 (6.7 MB) stays in cache.
COLUMN_BLOCK_ROWS = 16384


@dataclass
class _Job:
    partition: Partition
    schema: Schema
    kinds: dict[str, str]  # state kind -> algorithm name that makes it
    folds: FoldConfig
    row_offset: int


def _empty_states(job_kinds: dict[str, str], schema: Schema, n_folds: int) -> dict[str, list[Any]]:
    return {
        kind: [
            get_algorithm(a).make_state(schema.n_features, schema.has_target)
            for _ in range(n_folds)
        ]
        for kind, a in job_kinds.items()
    }


def _data_error(
    err: NonFiniteError, chunk: Chunk, schema: Schema, row_in_chunk: int, global_row: int
) -> ValueError:
    col = err.column
    if col is None:
        return ValueError(f"{err} ({chunk.where}, near global row {global_row})")
    name = schema.column_name(col)
    if col == "target":
        value = chunk.y[row_in_chunk] if chunk.y is not None else None
    elif col == "sample_weight":
        value = chunk.w[row_in_chunk] if chunk.w is not None else None
        return ValueError(
            f"Column {name!r} (sample weights) must be finite and >= 0, but holds {value} "
            f"at row {global_row} ({chunk.where})."
        )
    else:
        value = chunk.value(row_in_chunk, int(col))
    return ValueError(
        f"Column {name!r} must be finite, but holds {value} at row {global_row} ({chunk.where})."
    )


class _Accumulator:
    """Fold states being filled from consecutive chunks starting at ``row_offset``."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.states = _empty_states(job.kinds, job.schema, job.folds.n_folds)
        self.position = job.row_offset

    def feed(self, chunk: Chunk) -> None:
        if chunk.X is not None:
            self._feed_rows(chunk)
        else:
            self._feed_columns(chunk)
        self.position += len(chunk)

    def _update(self, k: int, X: Any, y: Any, w: Any, chunk: Chunk, rows: Any) -> None:
        """Update fold ``k`` of every state; ``rows`` maps a row of ``X`` to the chunk's row."""
        for states in self.states.values():
            try:
                states[k].update(X, y, w)
            except NonFiniteError as err:
                row = int(rows[err.row or 0])
                raise _data_error(err, chunk, self.job.schema, row, self.position + row) from None

    def _feed_rows(self, chunk: Chunk) -> None:
        """Row-major chunk: each fold's rows of each group are a strided view (no copy)."""
        assert chunk.X is not None
        n = len(chunk)
        for k, sl in self.job.folds.segments(self.position, n):
            X = chunk.X[sl]
            y = None if chunk.y is None else chunk.y[sl]
            w = None if chunk.w is None else chunk.w[sl]
            self._update(k, X, y, w, chunk, range(n)[sl])

    def _feed_columns(self, chunk: Chunk) -> None:
        """Columnar chunk: lay each column out fold by fold into a column-major block (the one
        copy a columnar source needs anyway), so each fold is a contiguous BLAS operand."""
        assert chunk.columns is not None
        n, K = len(chunk), self.job.folds.n_folds
        for a in range(0, n, COLUMN_BLOCK_ROWS):
            m = min(COLUMN_BLOCK_ROWS, n - a)
            parts: list[list[np.ndarray]] = [[] for _ in range(K)]
            for k, sl in self.job.folds.segments(self.position + a, m):
                parts[k].append(np.arange(sl.start, sl.stop, sl.step))
            per_fold = [np.concatenate(p) if p else np.empty(0, dtype=np.intp) for p in parts]
            perm = np.concatenate(per_fold)
            bounds = np.cumsum([0, *(len(p) for p in per_fold)])
            block = np.empty((m, len(chunk.columns)), order="F")
            for j, col in enumerate(chunk.columns):
                block[:, j] = col[a : a + m][perm]
            y = None if chunk.y is None else chunk.y[a : a + m][perm]
            w = None if chunk.w is None else chunk.w[a : a + m][perm]
            for k in range(K):
                s, e = int(bounds[k]), int(bounds[k + 1])
                if e > s:
                    self._update(
                        k,
                        block[s:e],
                        None if y is None else y[s:e],
                        None if w is None else w[s:e],
                        chunk,
                        perm[s:e] + a,
                    )


def prefetch(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """Read the next chunk in a background thread while the current one is reduced.

    Decoding (pyarrow, pandas) and the BLAS reductions release the GIL, so reading and
    computing overlap on two cores. Errors from the reader surface at the same chunk.
    """
    from concurrent.futures import ThreadPoolExecutor

    sentinel = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="statetune-read") as pool:
        future = pool.submit(next, chunks, sentinel)
        while True:
            chunk = future.result()
            if chunk is sentinel:
                return
            future = pool.submit(next, chunks, sentinel)
            yield chunk  # type: ignore[misc]


def run_partition(job: _Job) -> dict[str, list[Any]]:
    """All fold states of one partition (the unit of work an executor runs)."""
    acc = _Accumulator(job)
    for chunk in job.partition.chunks(job.schema):
        acc.feed(chunk)
    if job.partition.n_rows is not None and acc.position - job.row_offset != job.partition.n_rows:
        raise ValueError(
            f"{job.partition.label} must hold the {job.partition.n_rows} rows its metadata "
            f"announces, but {acc.position - job.row_offset} were read."
        )
    return acc.states


def _merge_into(target: dict[str, list[Any]], part: dict[str, list[Any]]) -> None:
    for kind, states in part.items():
        for mine, theirs in zip(target[kind], states, strict=True):
            mine.merge(theirs)


def _kinds(algorithms: Sequence[str], schema: Schema) -> dict[str, str]:
    if isinstance(algorithms, str):
        algorithms = [algorithms]
    if not algorithms:
        raise ValueError("`algorithms` must name at least one algorithm, but got none.")
    kinds: dict[str, str] = {}
    for name in algorithms:
        alg = get_algorithm(name)
        if alg.needs_target and not schema.has_target:
            raise ValueError(
                f"{name!r} needs a target, but the source has none: pass target=... "
                "(or y=...) to the source."
            )
        kinds.setdefault(alg.state_kind, name)
    return kinds


def _snapshot(
    states: dict[str, list[Any]],
    schema: Schema,
    folds: FoldConfig,
    algorithms: Sequence[str],
    complete: bool,
    fingerprint: str | None,
) -> StateSet:
    copies = {k: [s.copy() for s in v] for k, v in states.items()}
    return StateSet(schema, folds, copies, algorithms, complete=complete, fingerprint=fingerprint)


def iter_states(
    source: Source,
    algorithms: Sequence[str],
    folds: int = 5,
    *,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    every: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
) -> Iterator[StateSet]:
    """Run a pass, yielding intermediate :class:`StateSet` snapshots and the final one last.

    Parameters
    ----------
    every : int, optional
        Rows between snapshots in a sequential pass (a parallel pass snapshots after each
        partition). None yields the final states only.
    progress : callable, optional
        Called with the number of rows just absorbed (for progress bars).

    Examples
    --------
    >>> import numpy as np, statetune as st
    >>> src = st.from_arrays(np.ones((10, 2)) + np.arange(10)[:, None] ** 2, np.arange(10.0))
    >>> [s.complete for s in st.iter_states(src, ["ols"], folds=2, every=5)]
    [False, True]
    """
    if not isinstance(source, Source):
        raise TypeError(
            f"`source` must be a statetune source (st.from_arrays, from_pandas, from_csv, "
            f"from_parquet, from_batches), but got {type(source).__name__}."
        )
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise ValueError(f"`every >= 1` must hold, but got every={every!r}.")
    fold_cfg = folds if isinstance(folds, FoldConfig) else FoldConfig(folds, seed)
    schema = source.schema
    kinds = _kinds(algorithms, schema)
    names = [algorithms] if isinstance(algorithms, str) else list(algorithms)
    ex = executor or make_executor(n_jobs, backend)
    parts = source.partitions(max(1, ex.n_jobs * 2) if ex.n_jobs > 1 else 1)
    fingerprint = source.fingerprint()

    def finish(states: dict[str, list[Any]]) -> StateSet:
        result = _snapshot(states, schema, fold_cfg, names, True, fingerprint)
        n = result.n_rows
        if n == 0:
            raise ValueError("The source must hold at least one row, but the pass read none.")
        if n < fold_cfg.n_folds:
            raise ValueError(
                f"`folds <= n_rows` must hold, but got folds={fold_cfg.n_folds}, n_rows={n}."
            )
        return result

    sizes = [p.n_rows for p in parts]
    if ex.n_jobs == 1 or len(parts) == 1 or any(s is None for s in sizes):
        # Sequential streaming: one accumulator across all partitions, no merges.
        acc = _Accumulator(_Job(parts[0], schema, kinds, fold_cfg, 0))
        last, pending = 0, False
        for part in parts:
            for chunk in prefetch(part.chunks(schema)):
                a = 0
                while a < len(chunk):
                    if pending:  # more rows follow: the snapshot is intermediate
                        yield _snapshot(acc.states, schema, fold_cfg, names, False, None)
                        pending = False
                    b = (
                        len(chunk)
                        if every is None
                        else min(len(chunk), a + last + every - acc.position)
                    )
                    acc.feed(chunk.slice(a, b))
                    if progress is not None:
                        progress(b - a)
                    a = b
                    if every is not None and acc.position - last >= every:
                        last, pending = acc.position, True
        yield finish(acc.states)
        return

    offsets = np.concatenate(([0], np.cumsum(np.asarray(sizes, dtype=np.int64))))
    jobs = [_Job(p, schema, kinds, fold_cfg, int(o)) for p, o in zip(parts, offsets, strict=False)]
    total = _empty_states(kinds, schema, fold_cfg.n_folds)
    done = 0
    for job, part_states in zip(jobs, ex.map(run_partition, jobs), strict=True):
        _merge_into(total, part_states)
        done += 1
        if progress is not None:
            progress(int(job.partition.n_rows or 0))
        if every is not None and done < len(jobs):
            yield _snapshot(total, schema, fold_cfg, names, False, None)
    yield finish(total)


def compute_states(
    source: Source,
    algorithms: Sequence[str],
    folds: int = 5,
    *,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    every: int | None = None,
    callback: Callable[[StateSet], Any] | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
) -> StateSet:
    """One pass over ``source`` computing every state ``algorithms`` need, for each fold.

    Parameters
    ----------
    source : Source
        From ``st.from_arrays``, ``from_pandas``, ``from_csv``, ``from_parquet`` or ``from_batches``.
    algorithms : list of str
        Registry names (``"ridge"``, ``"pca"``, ...); algorithms sharing a state share it.
    folds : int, default 5
        Number of cross-validation folds (1: no validation).
    seed : int, default 0
        Seed of the fold assignment.
    n_jobs : int, default 1
        Partitions read in parallel (``-1``: all cores).
    backend : {"threading", "loky"}, optional
        joblib backend when ``n_jobs != 1``; threads by default.
    every, callback : optional
        Anytime: ``callback(snapshot)`` for each intermediate snapshot (see :func:`iter_states`).
    progress : callable, optional
        Called with the number of rows just absorbed (for progress bars).

    Returns
    -------
    StateSet

    Examples
    --------
    >>> import numpy as np, statetune as st
    >>> X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0]
    >>> st.compute_states(st.from_arrays(X, y), ["ridge", "pca"], folds=5).n_rows
    100
    """
    result = None
    for snap in iter_states(
        source,
        algorithms,
        folds,
        seed=seed,
        n_jobs=n_jobs,
        backend=backend,
        every=every,
        executor=executor,
        progress=progress,
    ):
        if not snap.complete and callback is not None:
            callback(snap)
        result = snap
    assert result is not None
    return result
