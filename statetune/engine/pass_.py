"""The pass: one read of a source updates every requested state, for every fold.

Per chunk, each fold's rows of each fold group are a strided view (see ``folds.py``) handed
straight to every state's ``update``: no gather, no per-row Python. Algorithms that need the
same state kind share it.

Anytime: :func:`iter_states` yields a consistent snapshot every ``every`` rows (sequential
pass) or after each partition (parallel pass); every snapshot finalizes to working models.

Incremental and resumable: a pass can start from a :class:`~statetune.engine.cursor.Cursor`
(states, lineage, rows already read) and read only some segments; a
:class:`~statetune.engine.cursor.Checkpointer` saves cursors as it goes (sequential pass).

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
from typing import Any

import numpy as np

from statetune.algorithms import get_algorithm
from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition, Source
from statetune.engine.accumulate import Accumulator, Job, empty_states, prefetch, run_partition
from statetune.engine.cursor import Checkpointer, Cursor, PassInterrupted
from statetune.engine.executors import Executor, make_executor
from statetune.engine.folds import FoldConfig
from statetune.engine.stateset import StateSet
from statetune.engine.time_folds import TimeFolds, fold_scheme
from statetune.states import LaggedMoments, Reservoir

__all__ = ["compute_states", "iter_states", "kinds_for"]


def _merge_into(target: dict[str, list[Any]], part: dict[str, list[Any]]) -> None:
    for kind, states in part.items():
        for mine, theirs in zip(target[kind], states, strict=True):
            mine.merge(theirs)


#: Rows kept per fold for metrics that need predictions row by row (a state parameter).
SAMPLE_ROWS = 20_000


#: Lag rows kept per time block of series data (a held-out fold is one block).
BLOCK_SAMPLE_ROWS = 5_000

#: Lags kept by the lagged moments of series data unless ``max_lag`` says otherwise.
DEFAULT_MAX_LAG = 8


def _reservoir(schema: Schema, folds: FoldConfig) -> Reservoir:
    return Reservoir(schema.n_features, schema.has_target, size=SAMPLE_ROWS, seed=folds.seed)


def _lagged_moments(max_lag: int, schema: Schema, folds: Any) -> LaggedMoments:
    return LaggedMoments(max_lag, n_exog=schema.n_features)


def _lag_reservoir(max_lag: int, schema: Schema, folds: Any) -> Reservoir:
    """A sample of lag rows ``[y_{t-1}..y_{t-P}, x_t] -> y_t`` of one time block."""
    return Reservoir(max_lag + schema.n_features, True, size=BLOCK_SAMPLE_ROWS, seed=folds.seed)


def _wants_sample(algorithms: Sequence[str], metrics: Sequence[str] | None) -> bool:
    """Some algorithm has metrics scored on a held-out sample, and (when the metrics to be
    used are known) one of them is requested."""
    for name in algorithms:
        sampled = get_algorithm(name).model.sample_metrics
        if sampled and (metrics is None or any(m in sampled for m in metrics)):
            return True
    return False


def _series_kinds(
    algorithms: Sequence[str], schema: Schema, max_lag: int | None, metrics: Sequence[str] | None
) -> dict[str, Any]:
    import functools

    if max_lag is not None and (isinstance(max_lag, bool) or not isinstance(max_lag, int)):
        raise TypeError(f"`max_lag` must be an integer, but got {max_lag!r}.")
    if max_lag is not None and max_lag < 1:
        raise ValueError(f"`max_lag >= 1` must hold, but got max_lag={max_lag}.")
    for name in algorithms:
        if get_algorithm(name).state_kind != "lagged_moments":
            raise ValueError(
                f"Series data (values in time order, with series/time columns) needs forecasting "
                f"algorithms (autoregressive), but got {name!r}; build the source without "
                "series=/time= to tune it as a regression."
            )
    if not schema.has_target:
        raise ValueError("Series data needs its values as the target (target=... or y=...).")
    lags = DEFAULT_MAX_LAG if max_lag is None else max_lag
    kinds: dict[str, Any] = {"lagged_moments": functools.partial(_lagged_moments, lags)}
    if _wants_sample(algorithms, metrics):
        kinds["reservoir"] = functools.partial(_lag_reservoir, lags)
    return kinds


def kinds_for(
    algorithms: Sequence[str],
    schema: Schema,
    *,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
) -> dict[str, Any]:
    """State kind -> the algorithm (or factory) that makes it, for every state the algorithms
    need: their own, plus a held-out row sample when some of their metrics need one.

    ``max_lag`` is the state parameter of series data's lagged moments (default 8). With
    ``metrics`` (those that will be scored), the sample is kept only if one of them needs it:
    a pass for exact metrics (MSE, log-likelihood) then skips the sample's cost."""
    if isinstance(algorithms, str):
        algorithms = [algorithms]
    if not algorithms:
        raise ValueError("`algorithms` must name at least one algorithm, but got none.")
    if schema.is_series:
        return _series_kinds(algorithms, schema, max_lag, metrics)
    kinds: dict[str, Any] = {}
    for name in algorithms:
        alg = get_algorithm(name)
        if alg.state_kind == "lagged_moments":
            raise ValueError(
                f"{name!r} forecasts time series, but the source holds plain rows: build it "
                "with st.from_series(y, series=..., time=...) or pass series=/time= columns."
            )
        if alg.needs_target and not schema.has_target:
            raise ValueError(
                f"{name!r} needs a target, but the source has none: pass target=... "
                "(or y=...) to the source."
            )
        if alg.needs_target and alg.model.y_numeric and schema.target_is_labels:
            raise ValueError(
                f"{name!r} needs a numeric target, but column {schema.target!r} holds class "
                "labels; tune a classifier (lda, qda, gaussian_nb, ridge_classifier) or encode it."
            )
        kinds.setdefault(alg.state_kind, name)
    if _wants_sample(algorithms, metrics):
        kinds["reservoir"] = _reservoir
    return kinds


def _snapshot(
    states: dict[str, list[Any]],
    schema: Schema,
    folds: FoldConfig | TimeFolds,
    algorithms: Sequence[str],
    complete: bool,
    fingerprint: str | None,
    lineage: list[dict[str, Any]] | None = None,
) -> StateSet:
    copies = {k: [s.copy() for s in v] for k, v in states.items()}
    return StateSet(
        schema,
        folds,
        copies,
        algorithms,
        complete=complete,
        fingerprint=fingerprint,
        lineage=lineage,
    )


def _skip(chunks: Iterator[Chunk], rows: int) -> Iterator[Chunk]:
    """Drop the first ``rows`` rows of a chunk stream (resuming inside a segment)."""
    for chunk in chunks:
        if rows >= len(chunk):
            rows -= len(chunk)
            continue
        yield chunk.slice(rows, len(chunk)) if rows else chunk
        rows = 0


class _Lineage:
    """Segment records of a sequential pass, closed when the next segment starts."""

    def __init__(self, source: Source, done: list[dict[str, Any]], partial: dict[str, Any] | None):
        self.fps = {s.key: s.fingerprint for s in source.segments()}
        self.done = [dict(r) for r in done]
        self.current: dict[str, Any] | None = dict(partial) if partial else None

    def enter(self, key: str) -> None:
        if self.current is not None and self.current["key"] == key:
            return
        self.close()
        self.current = {"key": key, "fingerprint": self.fps.get(key), "n_rows": 0}

    def add(self, rows: int) -> None:
        assert self.current is not None
        self.current["n_rows"] += rows

    def close(self) -> None:
        if self.current is not None:
            self.done.append(self.current)
            self.current = None


def iter_states(
    source: Source,
    algorithms: Sequence[str],
    folds: int | FoldConfig | TimeFolds = 5,
    *,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    every: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
    segments: Sequence[str] | None = None,
    start: Cursor | None = None,
    checkpoint: Checkpointer | None = None,
    state_kinds: dict[str, Any] | None = None,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
) -> Iterator[StateSet]:
    """Run a pass, yielding intermediate :class:`StateSet` snapshots and the final one last.

    Parameters
    ----------
    every : int, optional
        Rows between snapshots in a sequential pass (a parallel pass snapshots after each
        partition). None yields the final states only.
    progress : callable, optional
        Called with the number of rows just absorbed (for progress bars).
    segments : list of str, optional
        Keys of the source's segments to read (default: all); used to extend cached states.
    start : Cursor, optional
        Begin from these fold states, lineage and row position instead of empty states; its
        ``partial`` segment must be the first one read, and its rows already read are skipped.
    checkpoint : Checkpointer, optional
        Save cursors during the pass (and on Ctrl-C); forces a sequential pass.
    state_kinds : dict, optional
        The states to fill (kind -> algorithm name or ``factory(schema, folds)``), instead of
        those ``algorithms`` need; used to extend cached states of any kind.
    max_lag : int, optional
        Lags kept for series data (default 8): forecasters can use up to that many.
    metrics : list of str, optional
        The metrics that will be scored; a held-out row sample is kept only if one needs it
        (default: kept whenever an algorithm has such metrics).

    Series data (a source with series/time columns, or ``st.from_series``) is read in order and
    validated in time order (:class:`~statetune.engine.time_folds.TimeFolds`), sequentially.

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
    schema = source.schema
    fold_cfg = fold_scheme(folds, seed, schema.is_series)
    kinds = (
        dict(state_kinds)
        if state_kinds is not None
        else kinds_for(algorithms, schema, max_lag=max_lag, metrics=metrics)
    )
    names = [algorithms] if isinstance(algorithms, str) else list(algorithms)
    ex = executor or make_executor(n_jobs, backend)
    parallel = (
        ex.n_jobs > 1
        and checkpoint is None
        and (start is None or start.partial is None)
        and not fold_cfg.is_time  # series values must meet their predecessors in order
    )
    segment_keys = [s.key for s in source.segments()] if segments is None else list(segments)
    parts = source.partitions(max(1, ex.n_jobs * 2) if parallel else 1, segments)
    fingerprint = source.fingerprint() if segments is None else None
    start = start or Cursor(empty_states(kinds, schema, fold_cfg), [], 0)

    def finish(states: dict[str, list[Any]], lineage: list[dict[str, Any]]) -> StateSet:
        result = _snapshot(states, schema, fold_cfg, names, True, fingerprint, lineage)
        n = result.n_rows
        if n == 0:
            raise ValueError("The source must hold at least one row, but the pass read none.")
        if n < fold_cfg.n_folds:
            raise ValueError(
                f"`folds <= n_rows` must hold, but got folds={fold_cfg.n_folds}, n_rows={n}."
            )
        return result

    sizes = [p.n_rows for p in parts]
    if not parallel or len(parts) <= 1 or any(s is None for s in sizes):
        yield from _sequential(
            source,
            parts,
            segment_keys,
            schema,
            kinds,
            fold_cfg,
            names,
            start,
            every,
            progress,
            checkpoint,
            finish,
        )
        return

    offsets = start.position + np.concatenate(([0], np.cumsum(np.asarray(sizes, dtype=np.int64))))
    jobs = [Job(p, schema, kinds, fold_cfg, int(o)) for p, o in zip(parts, offsets, strict=False)]
    total = start.states
    fps = {s.key: s.fingerprint for s in source.segments()}
    records: dict[str, dict[str, Any]] = {
        k: {"key": k, "fingerprint": fps.get(k), "n_rows": 0} for k in segment_keys
    }
    lineage = [dict(r) for r in start.lineage]
    done = 0
    for part, part_states in zip(parts, ex.map(run_partition, jobs), strict=True):
        _merge_into(total, part_states)
        done += 1
        rows = int(part.n_rows or 0)
        records[part.segment]["n_rows"] += rows
        if progress is not None:
            progress(rows)
        if every is not None and done < len(jobs):
            yield _snapshot(total, schema, fold_cfg, names, False, None, lineage)
    yield finish(total, lineage + list(records.values()))


def _by_segment(parts: list[Partition], keys: list[str]) -> list[tuple[str, list[Partition]]]:
    """Partitions grouped under every requested segment key, in order (empty ones included)."""
    groups: dict[str, list[Partition]] = {k: [] for k in keys}
    for part in parts:
        groups.setdefault(part.segment, []).append(part)
    return list(groups.items())


class _DeferredInterrupt:
    """While active (main thread only), Ctrl-C sets a flag instead of raising mid-update; the
    pass raises at the next consistent point. A second Ctrl-C raises at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _DeferredInterrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)

            def handler(signum: int, frame: Any) -> None:
                if self.requested:
                    raise KeyboardInterrupt
                self.requested = True

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            import signal

            signal.signal(signal.SIGINT, self._previous)


def _sequential(
    source: Source,
    parts: list[Partition],
    segment_keys: list[str],
    schema: Schema,
    kinds: dict[str, Any],
    fold_cfg: FoldConfig | TimeFolds,
    names: list[str],
    start: Cursor,
    every: int | None,
    progress: Callable[[int], Any] | None,
    checkpoint: Checkpointer | None,
    finish: Callable[[dict[str, list[Any]], list[dict[str, Any]]], StateSet],
) -> Iterator[StateSet]:
    """One accumulator across all partitions (no merges), tracking segments as it goes.

    A checkpoint or an interrupt only ever captures a consistent cursor: every fold of every
    chunk absorbed so far, matching position and lineage.
    """
    acc = Accumulator(Job(None, schema, kinds, fold_cfg, start.position), start.states)
    lineage = _Lineage(source, start.lineage, start.partial)
    skip = int(start.partial["n_rows"]) if start.partial else 0
    if checkpoint is not None:
        checkpoint.mark(acc.position)

    def cursor() -> Cursor:
        return Cursor(acc.states, lineage.done, acc.position, lineage.current)

    last, pending, consistent = start.position, False, True
    with _DeferredInterrupt() as deferred:
        try:
            for key, seg_parts in _by_segment(parts, segment_keys):
                lineage.enter(key)
                for part in seg_parts:
                    chunks = part.chunks(schema)
                    if skip:
                        if part.n_rows is not None and part.n_rows <= skip:
                            skip -= part.n_rows
                            continue
                        chunks, skip = _skip(chunks, skip), 0
                    for chunk in prefetch(chunks):
                        a = 0
                        while a < len(chunk):
                            if pending:  # more rows follow: the snapshot is intermediate
                                yield _snapshot(
                                    acc.states, schema, fold_cfg, names, False, None, lineage.done
                                )
                                pending = False
                            b = (
                                len(chunk)
                                if every is None
                                else min(len(chunk), a + last + every - acc.position)
                            )
                            consistent = False
                            acc.feed(chunk.slice(a, b))
                            lineage.add(b - a)
                            consistent = True
                            if deferred.requested:
                                raise KeyboardInterrupt
                            if progress is not None:
                                progress(b - a)
                            a = b
                            if every is not None and acc.position - last >= every:
                                last, pending = acc.position, True
                        if checkpoint is not None and checkpoint.due(acc.position):
                            checkpoint.save(cursor())
                            checkpoint.mark(acc.position)
        except KeyboardInterrupt as interrupt:
            if not consistent:  # raised inside an update: these states are not trustworthy
                raise
            if checkpoint is not None:
                checkpoint.save(cursor())
            partial = _snapshot(acc.states, schema, fold_cfg, names, False, None, lineage.done)
            raise PassInterrupted(partial) from interrupt
    lineage.close()
    yield finish(acc.states, lineage.done)


def compute_states(
    source: Source,
    algorithms: Sequence[str],
    folds: int | FoldConfig | TimeFolds = 5,
    *,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    every: int | None = None,
    callback: Callable[[StateSet], Any] | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
    segments: Sequence[str] | None = None,
    start: Cursor | None = None,
    checkpoint: Checkpointer | None = None,
    state_kinds: dict[str, Any] | None = None,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
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
    segments, start, checkpoint, state_kinds : optional
        Incremental and resumable passes (see :func:`iter_states`).
    max_lag, metrics : optional
        Lags kept for series data; metrics to be scored (see :func:`iter_states`).

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
        segments=segments,
        start=start,
        checkpoint=checkpoint,
        state_kinds=state_kinds,
        max_lag=max_lag,
        metrics=metrics,
    ):
        if not snap.complete and callback is not None:
            callback(snap)
        result = snap
    assert result is not None
    return result
