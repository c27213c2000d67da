"""Filling fold states from chunks: strided fold views for row-major chunks, a fold-ordered
column-major block for columnar ones; a read-ahead thread; the per-partition unit of work.

Example
-------
>>> from statetune.engine.accumulate import COLUMN_BLOCK_ROWS
>>> COLUMN_BLOCK_ROWS
16384
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from statetune.algorithms import get_algorithm
from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition
from statetune.engine.series_feed import SeriesFeeder, SeriesKindError
from statetune.states import NegativeCountError, NonFiniteError, SeriesOrderError

__all__ = ["COLUMN_BLOCK_ROWS", "Accumulator", "Job", "empty_states", "prefetch", "run_partition"]

#: Rows laid out per block for columnar chunks: 16,384 x 51 float64 (6.7 MB) stays in cache.
COLUMN_BLOCK_ROWS = 16384


@dataclass
class Job:
    partition: Partition | None  # None for a stream fed chunk by chunk
    schema: Schema
    kinds: dict[str, Any]  # state kind -> algorithm name that makes it, or a factory
    folds: Any  # FoldConfig or TimeFolds
    row_offset: int


def empty_states(job_kinds: dict[str, Any], schema: Schema, folds: Any) -> dict[str, list[Any]]:
    """K empty states of each kind (``job_kinds``: kind -> algorithm name, or a state factory);
    no blocks yet for time folds (they are added as the series grow)."""
    if folds.is_time:
        return {kind: [] for kind in job_kinds}
    return {
        kind: [_make(maker, schema, folds) for _ in range(folds.n_folds)]
        for kind, maker in job_kinds.items()
    }


def _make(maker: Any, schema: Schema, folds: Any) -> Any:
    if callable(maker):
        return maker(schema, folds)
    return get_algorithm(maker).make_state(schema.n_features, schema.has_target)


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
            f"at row {global_row} of the source ({chunk.where})."
        )
    else:
        value = chunk.value(row_in_chunk, int(col))
    return ValueError(
        f"Column {name!r} must be finite, but holds {value} at row {global_row} of the source "
        f"({chunk.where})."
    )


class Accumulator:
    """Fold states being filled from consecutive chunks starting at ``row_offset``."""

    def __init__(self, job: Job, states: dict[str, list[Any]] | None = None) -> None:
        self.job = job
        self.states = (
            states if states is not None else empty_states(job.kinds, job.schema, job.folds)
        )
        self.position = job.row_offset
        self.series: SeriesFeeder | None = None
        if job.folds.is_time:
            self.series = SeriesFeeder(
                self.states,
                job.folds,
                lambda kind: _make(job.kinds[kind], job.schema, job.folds),
            )

    def feed(self, chunk: Chunk) -> None:
        if self.series is not None:
            self._feed_series(chunk)
        elif chunk.X is not None:
            self._feed_rows(chunk)
        else:
            self._feed_columns(chunk)
        self.position += len(chunk)

    def _feed_series(self, chunk: Chunk) -> None:
        assert self.series is not None
        try:
            self.series.feed(chunk, self.position)
        except NonFiniteError as err:
            row = int(err.row or 0)
            raise _data_error(err, chunk, self.job.schema, row, self.position + row) from None
        except SeriesKindError as err:
            name = self.job.schema.column_name(err.column)
            row = self.position + err.row
            raise TypeError(
                f"Column {name!r} {err.what} at row {row} of the source ({chunk.where})."
            ) from None
        except SeriesOrderError as err:
            row = self.position + int(err.row or 0)
            raise SeriesOrderError(
                f"{err.args[0]} at row {row} of the source ({chunk.where}).",
                row=row,
                series=err.series,
            ) from None

    def _update(self, k: int, X: Any, y: Any, w: Any, chunk: Chunk, rows: Any) -> None:
        """Update fold ``k`` of every state; ``rows`` maps a row of ``X`` to the chunk's row."""
        for states in self.states.values():
            try:
                if getattr(states[k], "wants_positions", False):
                    local = (
                        np.arange(rows.start, rows.stop, rows.step, dtype=np.int64)
                        if isinstance(rows, range)  # np.asarray(range) iterates in Python
                        else np.asarray(rows, dtype=np.int64)
                    )
                    positions = self.position + local
                    states[k].update(X, y, w, positions=positions)
                else:
                    states[k].update(X, y, w)
            except NonFiniteError as err:
                row = int(rows[err.row or 0])
                raise _data_error(err, chunk, self.job.schema, row, self.position + row) from None
            except NegativeCountError as err:
                row = int(rows[err.row])
                name = self.job.schema.column_name(err.column)
                raise ValueError(
                    f"Column {name!r} must hold non-negative counts, but holds "
                    f"{chunk.value(row, err.column)} at row {self.position + row} of the source "
                    f"({chunk.where})."
                ) from None

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


def run_partition(job: Job) -> dict[str, list[Any]]:
    """All fold states of one partition (the unit of work an executor runs)."""
    assert job.partition is not None
    acc = Accumulator(job)
    for chunk in job.partition.chunks(job.schema):
        acc.feed(chunk)
    if job.partition.n_rows is not None and acc.position - job.row_offset != job.partition.n_rows:
        raise ValueError(
            f"{job.partition.label} must hold the {job.partition.n_rows} rows its metadata "
            f"announces, but {acc.position - job.row_offset} were read."
        )
    return acc.states
