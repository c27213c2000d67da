"""The pass: one read of a source updates every requested state, for every fold.

Per chunk, each fold's rows of each fold group are a strided view (see ``folds.py``) handed
straight to every state's ``update``: no gather, no per-row Python. The pass fills *slots*
(a role and a :class:`~statetune.states.spec.StateSpec` each); it knows nothing of algorithms.

Anytime: :func:`iter_pass` yields a consistent snapshot every ``every`` rows (sequential
pass) or after each partition (parallel pass); every snapshot finalizes to working models.

Epochs: a state declaring :class:`~statetune.states.capabilities.Epochs` with ``epochs = E``
gets ``E`` reads of the source: after the first read (which fills every slot) the source is read
again for those states alone, sequentially, from position 0 (the same rows at the same global
positions, so the same folds, in the same order: no reshuffling between epochs).

Incremental and resumable: a pass can start from a :class:`~statetune.engine.cursor.Cursor`
(states, lineage, rows already read) and read only some segments; a
:class:`~statetune.engine.cursor.Checkpointer` saves cursors as it goes (sequential pass).

Example
-------
>>> import numpy as np
>>> from statetune.data import from_arrays
>>> from statetune.engine import MODEL, PassOptions, Slot
>>> from statetune.states.spec import StateSpec
>>> X = np.random.default_rng(0).normal(size=(1000, 3)); y = X.sum(axis=1)
>>> slot = Slot(MODEL, StateSpec.of("moments", n_features=3, has_target=True))
>>> snaps = list(iter_pass(from_arrays(X, y), [slot], 2, PassOptions(every=400)))
>>> [s.n_rows for s in snaps]
[400, 800, 1000]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from statetune.data.fingerprint import combine
from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.engine.accumulate import Accumulator, Job, empty_states, prefetch, run_partition
from statetune.engine.cursor import Checkpointer, Cursor, PassInterrupted
from statetune.engine.executors import make_executor
from statetune.engine.fold_states import FoldStates
from statetune.engine.folds import FoldConfig
from statetune.engine.options import PassOptions
from statetune.engine.slots import Slot, unique_slots
from statetune.engine.time_folds import TimeFolds, fold_scheme
from statetune.states.capabilities import Epochs

__all__ = ["iter_pass", "run_pass"]


def _merge_into(target: dict[Slot, list[Any]], part: dict[Slot, list[Any]]) -> None:
    for slot, states in part.items():
        for mine, theirs in zip(target[slot], states, strict=True):
            mine.merge(theirs)


def _snapshot(
    states: dict[Slot, list[Any]],
    schema: Schema,
    folds: FoldConfig | TimeFolds,
    complete: bool,
    fingerprint: str | None,
    lineage: list[dict[str, Any]] | None = None,
) -> FoldStates:
    copies = {k: [s.copy() for s in v] for k, v in states.items()}
    return FoldStates(
        schema, folds, copies, complete=complete, fingerprint=fingerprint, lineage=lineage
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

    def __init__(
        self, segs: Sequence[Segment], done: list[dict[str, Any]], partial: dict[str, Any] | None
    ):
        self.segs = {s.key: s for s in segs}
        self.done = [dict(r) for r in done]
        self.current: dict[str, Any] | None = dict(partial) if partial else None

    def enter(self, key: str) -> None:
        if self.current is not None and self.current["key"] == key:
            return
        self.close()
        seg = self.segs.get(key)
        fingerprint = None if seg is None else seg.known_fingerprint
        self.current = {"key": key, "fingerprint": fingerprint, "n_rows": 0}

    def add(self, rows: int) -> None:
        assert self.current is not None
        self.current["n_rows"] += rows

    def close(self) -> None:
        if self.current is not None:
            self.done.append(self.current)
            self.current = None


@dataclass
class _Pass:
    """What one pass reads and fills (shared by the sequential and the parallel pass)."""

    source: Source
    segs: list[Segment]  # the source's segments, fingerprinted at most once per pass
    keys: list[str]  # the segments to read
    schema: Schema
    slots: list[Slot]
    folds: FoldConfig | TimeFolds
    options: PassOptions
    start: Cursor
    checkpoint: Checkpointer | None
    whole: bool  # every segment is read: the result carries the source's fingerprint

    def snapshot(self, states: dict[Slot, list[Any]], lineage: list[dict[str, Any]]) -> FoldStates:
        return _snapshot(states, self.schema, self.folds, False, None, lineage)

    def finish(self, states: dict[Slot, list[Any]], lineage: list[dict[str, Any]]) -> FoldStates:
        fps = [s.known_fingerprint for s in self.segs] if self.whole else [None]
        fingerprint = None if any(f is None for f in fps) else combine(*fps)
        result = _snapshot(states, self.schema, self.folds, True, fingerprint, lineage)
        n = result.n_rows
        if n == 0:
            raise ValueError("The source must hold at least one row, but the pass read none.")
        if n < self.folds.n_folds:
            raise ValueError(
                f"`folds <= n_rows` must hold, but got folds={self.folds.n_folds}, n_rows={n}."
            )
        return result


def iter_pass(
    source: Source,
    slots: Sequence[Slot],
    folds: int | FoldConfig | TimeFolds = 5,
    options: PassOptions | None = None,
    *,
    seed: int = 0,
    segments: Sequence[str] | None = None,
    start: Cursor | None = None,
    checkpoint: Checkpointer | None = None,
) -> Iterator[FoldStates]:
    """Run a pass filling ``slots``, yielding intermediate :class:`FoldStates` snapshots
    (every ``options.every`` rows) and the final one last.

    Parameters
    ----------
    source : Source
        What to read.
    slots : list of Slot
        The states to fill (role + spec; repeats are filled once).
    folds : int, FoldConfig or TimeFolds, default 5
        The fold scheme (an int: K shuffled folds of ``seed``, or time folds for series).
    options : PassOptions, optional
        Parallelism, snapshots and progress (see :class:`PassOptions`).
    segments : list of str, optional
        Keys of the source's segments to read (default: all); used to extend cached states.
    start : Cursor, optional
        Begin from these fold states, lineage and row position instead of empty states; its
        ``partial`` segment must be the first one read, and its rows already read are skipped.
    checkpoint : Checkpointer, optional
        Save cursors during the pass (and on Ctrl-C); forces a sequential pass, except on a
        Dask executor (its pass is all-or-nothing: the cluster recomputes lost partitions).

    Series data (a source with series/time columns) is read in order and validated in time
    order (:class:`~statetune.engine.time_folds.TimeFolds`), sequentially.

    Examples
    --------
    >>> import numpy as np
    >>> from statetune.data import from_arrays
    >>> from statetune.engine import MODEL, PassOptions, Slot
    >>> from statetune.states.spec import StateSpec
    >>> slot = Slot(MODEL, StateSpec.of("moments", n_features=2, has_target=True))
    >>> src = from_arrays(np.ones((10, 2)) + np.arange(10)[:, None] ** 2, np.arange(10.0))
    >>> [s.complete for s in iter_pass(src, [slot], 2, PassOptions(every=5))]
    [False, True]
    """
    for states in start.states.values() if start is not None else ():
        for s in states:
            if isinstance(s, Epochs) and s.epoch > 1:
                raise ValueError(
                    f"States learned over several epochs must be rebuilt to take new rows (each "
                    f"epoch reads every row in order), but a {type(s).__name__} in epoch "
                    f"{s.epoch} was given to start from; rebuild it with compute_states."
                )
    first = None
    for snap in _one_read(
        source,
        slots,
        folds,
        options,
        seed=seed,
        segments=segments,
        start=start,
        checkpoint=checkpoint,
    ):
        if snap.complete and _epochs(snap.slots):
            first = snap
        else:
            yield snap
    if first is not None:
        yield _later_epochs(source, first, options or PassOptions(), seed)


def _epochs(slots: Sequence[Slot]) -> dict[Slot, int]:
    """Slots whose state reads the rows more than once, with their number of epochs."""
    reads = {s: int(s.spec.kwargs().get("epochs", 1)) for s in slots if s.spec.has(Epochs)}
    return {s: n for s, n in reads.items() if n > 1}


def _later_epochs(source: Source, first: FoldStates, options: PassOptions, seed: int) -> FoldStates:
    """Epochs 2.. of the states that want them: the segments of the first read, read again
    sequentially from position 0 (a parallel read would start its partitions from empty
    models, and averaging those with the trained ones would undo the training)."""
    states = dict(first.fold_states)  # copies made by the first read's snapshot
    reads = _epochs(first.slots)
    keys = [str(r["key"]) for r in first.lineage]
    again_options = options.replace(n_jobs=1, executor=None, every=None, callback=None)
    for epoch in range(2, max(reads.values()) + 1):
        again = [slot for slot, n in reads.items() if n >= epoch]
        for slot in again:
            for state in states[slot]:
                state.next_epoch()
        start = Cursor({slot: states[slot] for slot in again}, [], 0)
        try:
            *_, out = _one_read(
                source, again, first.folds, again_options, seed=seed, segments=keys, start=start
            )
        except PassInterrupted as stop:
            partial = FoldStates(
                first.schema,
                first.folds,
                {**states, **stop.partial.fold_states},
                complete=False,
                lineage=first.lineage,
            )
            raise PassInterrupted(partial) from stop.__cause__
        states.update(out.fold_states)
    return FoldStates(
        first.schema,
        first.folds,
        states,
        complete=True,
        fingerprint=first.fingerprint,
        lineage=first.lineage,
    )


def _one_read(
    source: Source,
    slots: Sequence[Slot],
    folds: int | FoldConfig | TimeFolds = 5,
    options: PassOptions | None = None,
    *,
    seed: int = 0,
    segments: Sequence[str] | None = None,
    start: Cursor | None = None,
    checkpoint: Checkpointer | None = None,
) -> Iterator[FoldStates]:
    """One read of the source filling ``slots`` (see :func:`iter_pass`)."""
    if not isinstance(source, Source):
        raise TypeError(
            f"`source` must be a statetune source (st.from_arrays, from_pandas, from_csv, "
            f"from_parquet, from_batches), but got {type(source).__name__}."
        )
    options = options or PassOptions()
    slots = unique_slots(slots)
    if not slots:
        raise ValueError("A pass must fill at least one state, but got no slots.")
    schema = source.schema
    fold_cfg = fold_scheme(folds, seed, schema.is_series)
    ex = options.executor or make_executor(options.n_jobs, options.backend)
    tree = getattr(ex, "distributed", False)  # a cluster: map and merge where the data is
    parallel = (
        # a cluster recomputes lost work itself: its pass is not checkpointed
        (tree or (ex.n_jobs > 1 and checkpoint is None))
        and (start is None or start.partial is None)
        and not fold_cfg.is_time  # series values must meet their predecessors in order
    )
    segs = source.segments()
    keys = [s.key for s in segs] if segments is None else list(segments)
    cluster: Any = ex if tree else None  # a DaskExecutor
    n_hint = cluster.n_partitions() if tree else max(1, ex.n_jobs * 2)
    parts = source.partitions(n_hint if parallel else 1, segments)
    start = start or Cursor(empty_states(slots, fold_cfg), [], 0)
    run = _Pass(
        source, segs, keys, schema, slots, fold_cfg, options, start, checkpoint, segments is None
    )
    sizes = [p.n_rows for p in parts]
    if parallel and tree and options.every is None and parts:
        merged, rows = cluster.tree_pass(
            parts,
            lambda part, offset: Job(part, schema, slots, fold_cfg, offset),
            start.position,
            options.progress,
        )
        total = start.states
        _merge_into(total, merged)
        yield run.finish(total, _records(start.lineage, keys, segs, parts, rows))
        return
    if not parallel or len(parts) <= 1 or any(s is None for s in sizes):
        yield from _sequential(run, parts)
        return

    offsets = start.position + np.concatenate(([0], np.cumsum(np.asarray(sizes, dtype=np.int64))))
    jobs = [Job(p, schema, slots, fold_cfg, int(o)) for p, o in zip(parts, offsets, strict=False)]
    total = start.states
    lineage = [dict(r) for r in start.lineage]
    done = 0
    for part, part_states in zip(parts, ex.map(run_partition, jobs), strict=True):
        _merge_into(total, part_states)
        done += 1
        if options.progress is not None:
            options.progress(int(part.n_rows or 0))
        if options.every is not None and done < len(jobs):
            yield run.snapshot(total, lineage)
    yield run.finish(total, _records(lineage, keys, segs, parts, [int(s or 0) for s in sizes]))


def _records(
    lineage: list[dict[str, Any]],
    keys: list[str],
    segs: list[Segment],
    parts: list[Partition],
    rows: list[int],
) -> list[dict[str, Any]]:
    """``lineage`` followed by one record per segment read in a parallel pass (its rows summed
    over its partitions)."""
    records: dict[str, dict[str, Any]] = {k: {"key": k, "n_rows": 0} for k in keys}
    for part, n in zip(parts, rows, strict=True):
        records[part.segment]["n_rows"] += n
    by_key = {s.key: s for s in segs}
    for r in records.values():
        seg = by_key.get(r["key"])
        r["fingerprint"] = None if seg is None else seg.known_fingerprint
    fields = ("key", "fingerprint", "n_rows")
    return [dict(r) for r in lineage] + [{k: r[k] for k in fields} for r in records.values()]


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


def _sequential(run: _Pass, parts: list[Partition]) -> Iterator[FoldStates]:
    """One accumulator across all partitions (no merges), tracking segments as it goes.

    A checkpoint or an interrupt only ever captures a consistent cursor: every fold of every
    chunk absorbed so far, matching position and lineage.
    """
    start, checkpoint, every = run.start, run.checkpoint, run.options.every
    progress = run.options.progress
    acc = Accumulator(Job(None, run.schema, run.slots, run.folds, start.position), start.states)
    lineage = _Lineage(run.segs, start.lineage, start.partial)
    skip = int(start.partial["n_rows"]) if start.partial else 0
    if checkpoint is not None:
        checkpoint.mark(acc.position)

    def cursor() -> Cursor:
        return Cursor(acc.states, lineage.done, acc.position, lineage.current)

    last, pending, consistent = start.position, False, True
    with _DeferredInterrupt() as deferred:
        try:
            for key, seg_parts in _by_segment(parts, run.keys):
                lineage.enter(key)
                for part in seg_parts:
                    chunks = part.chunks(run.schema)
                    if skip:
                        if part.n_rows is not None and part.n_rows <= skip:
                            skip -= part.n_rows
                            continue
                        chunks, skip = _skip(chunks, skip), 0
                    for chunk in prefetch(chunks):
                        a = 0
                        while a < len(chunk):
                            if pending:  # more rows follow: the snapshot is intermediate
                                yield run.snapshot(acc.states, lineage.done)
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
            raise PassInterrupted(run.snapshot(acc.states, lineage.done)) from interrupt
    lineage.close()
    yield run.finish(acc.states, lineage.done)


def run_pass(
    source: Source,
    slots: Sequence[Slot],
    folds: int | FoldConfig | TimeFolds = 5,
    options: PassOptions | None = None,
    *,
    seed: int = 0,
    segments: Sequence[str] | None = None,
    start: Cursor | None = None,
    checkpoint: Checkpointer | None = None,
) -> FoldStates:
    """One pass over ``source`` filling every slot, for each fold: the last snapshot of
    :func:`iter_pass` (``options.callback`` sees the intermediate ones).

    Examples
    --------
    >>> import numpy as np
    >>> from statetune.data import from_arrays
    >>> from statetune.engine import MODEL, Slot
    >>> from statetune.states.spec import StateSpec
    >>> slot = Slot(MODEL, StateSpec.of("moments", n_features=2, has_target=True))
    >>> run_pass(from_arrays(np.eye(6)[:, :2], np.ones(6)), [slot], folds=3).n_rows
    6
    """
    options = options or PassOptions()
    result = None
    for snap in iter_pass(
        source,
        slots,
        folds,
        options,
        seed=seed,
        segments=segments,
        start=start,
        checkpoint=checkpoint,
    ):
        if not snap.complete and options.callback is not None:
            options.callback(snap)
        result = snap
    assert result is not None
    return result
