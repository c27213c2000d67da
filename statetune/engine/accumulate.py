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
import scipy.sparse as sp

from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition
from statetune.engine.series_feed import SeriesFeeder, SeriesKindError
from statetune.engine.slots import Slot
from statetune.states import LabelError, NegativeCountError, NonFiniteError, SeriesOrderError
from statetune.states.capabilities import FoldBanks, ReadsSparse, Sampling

__all__ = ["COLUMN_BLOCK_ROWS", "Accumulator", "Job", "empty_states", "prefetch", "run_partition"]

#: Rows laid out per block for columnar chunks: 16,384 x 51 float64 (6.7 MB) stays in cache.
COLUMN_BLOCK_ROWS = 16384


@dataclass
class Job:
    partition: Partition | None  # None for a stream fed chunk by chunk
    schema: Schema
    slots: list[Slot]  # the states to fill, each built from its spec
    folds: Any  # FoldConfig or TimeFolds
    row_offset: int


def empty_states(slots: list[Slot], folds: Any) -> dict[Slot, list[Any]]:
    """K empty states of each slot, built from its spec; no blocks yet for time folds (they
    are added as the series grow)."""
    if folds.is_time:
        return {slot: [] for slot in slots}
    return {slot: [slot.spec.build() for _ in range(folds.n_folds)] for slot in slots}


def _first_bad_value(chunk: Chunk) -> tuple[int, int | str] | None:
    """``(row, column)`` of the chunk's first row holding a value no state accepts: NaN or
    infinity in a feature or a numeric target, a weight that is NaN, infinite or negative
    (within a row: features in order, then target, then weight); None if there is none."""
    found: list[tuple[int, int, int | str]] = []  # (row, rank within the row, column)
    if chunk.X is not None and sp.issparse(chunk.X):
        X = sp.csr_array(chunk.X)
        k = np.flatnonzero(~np.isfinite(X.data))
        if k.size:
            r = int(np.searchsorted(X.indptr, k[0], side="right") - 1)
            c = int(X.indices[k[0]])
            found.append((r, c, c))
    elif chunk.X is not None:
        bad = ~np.isfinite(chunk.X)
        rows = np.flatnonzero(bad.any(axis=1))
        if rows.size:
            r = int(rows[0])
            c = int(np.flatnonzero(bad[r])[0])
            found.append((r, c, c))
    elif chunk.columns is not None:
        for c, col in enumerate(chunk.columns):
            rows = np.flatnonzero(~np.isfinite(col))
            if rows.size:
                found.append((int(rows[0]), c, c))
    if chunk.y is not None and chunk.y.dtype.kind in "iuf":
        rows = np.flatnonzero(~np.isfinite(chunk.y))
        if rows.size:
            found.append((int(rows[0]), 1 << 30, "target"))
    if chunk.w is not None:
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero(~(np.isfinite(chunk.w) & (chunk.w >= 0)))
        if rows.size:
            found.append((int(rows[0]), (1 << 30) + 1, "sample_weight"))
    if not found:
        return None
    r, _, column = min(found, key=lambda f: (f[0], f[1]))
    return r, column


def _value(chunk: Chunk, row: int, column: int | str) -> Any:
    if column == "target":
        return chunk.y[row] if chunk.y is not None else None
    if column == "sample_weight":
        return chunk.w[row] if chunk.w is not None else None
    return chunk.value(row, int(column))


def _data_error(
    err: Exception, chunk: Chunk, schema: Schema, row_in_chunk: int, global_row: int
) -> ValueError:
    """The user-facing error for a bad value (or an overflow) at a row of the chunk."""
    col = getattr(err, "column", None)
    if col is None:
        return ValueError(f"{err} ({chunk.where}, near global row {global_row})")
    name = schema.column_name(col)
    value = _value(chunk, row_in_chunk, col)
    at = f"at row {global_row} of the source ({chunk.where})"
    if isinstance(err, NegativeCountError):
        return ValueError(f"Column {name!r} must hold non-negative counts, but holds {value} {at}.")
    if isinstance(err, LabelError):
        return ValueError(
            f"Column {name!r} must hold {err.what}, but holds {value} {at} {err.hint}."
        )
    if col == "sample_weight":
        return ValueError(
            f"Column {name!r} (sample weights) must be finite and >= 0, but holds {value} {at}."
        )
    if isinstance(value, float | int | np.number) and np.isfinite(value):  # sums overflow
        return ValueError(
            f"Column {name!r} must keep the state's sums within float64, but they overflow {at}, "
            f"where it holds {value} (squares and products beyond 1e308 overflow); rescale the "
            "column."
        )
    return ValueError(f"Column {name!r} must be finite, but holds {value} {at}.")


#: One update of the pass: fold ``k`` absorbs rows ``X, y, w``; ``rows`` maps each of them to
#: its row in the chunk.
_Piece = tuple[int, Any, Any, Any, Any]


class Accumulator:
    """Fold states being filled from consecutive chunks starting at ``row_offset``."""

    def __init__(self, job: Job, states: dict[Slot, list[Any]] | None = None) -> None:
        self.job = job
        self.states = states if states is not None else empty_states(job.slots, job.folds)
        self.position = job.row_offset
        self.series: SeriesFeeder | None = None
        if job.folds.is_time:
            self.series = SeriesFeeder(self.states, job.folds)

    def feed(self, chunk: Chunk) -> None:
        if self.series is not None:
            self._feed_series(chunk)
        elif chunk.X is not None:
            self._feed_rows(chunk)
        else:
            self._feed_columns(chunk)
        if self.series is None:
            self._feed_fold_banks(chunk)
        self.position += len(chunk)

    def _feed_fold_banks(self, chunk: Chunk) -> None:
        """States that learn every fold's model (:class:`FoldBanks`) get the whole chunk,
        in row order, with each row's fold id, in fold 0's place."""
        banks = [states[0] for states in self.states.values() if isinstance(states[0], FoldBanks)]
        if not banks:
            return
        n = len(chunk)
        X = chunk.X if chunk.X is not None else np.column_stack(chunk.columns or [])
        if sp.issparse(X):  # the source bounds a chunk's dense size
            X = X.toarray()  # type: ignore[attr-defined]
        folds = self.job.folds.assign(self.position, n)
        for state in banks:
            try:
                state.update(X, chunk.y, chunk.w, folds=folds, n_folds=self.job.folds.n_folds)
            except (NonFiniteError, NegativeCountError, LabelError) as err:
                raise self._whole_chunk_error(err, chunk) from None

    def _feed_series(self, chunk: Chunk) -> None:
        assert self.series is not None
        try:
            self.series.feed(chunk, self.position)
        except NonFiniteError as err:
            raise self._whole_chunk_error(err, chunk) from None
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

    def _whole_chunk_error(
        self, err: NonFiniteError | NegativeCountError | LabelError, chunk: Chunk
    ) -> ValueError:
        """The error of a state fed the whole chunk, naming the chunk's first bad value when
        it comes before the row the state stopped at."""
        row, col = int(err.row or 0), err.column
        first = _first_bad_value(chunk)
        if first is not None and first[0] <= row:
            row, col = first
        err.column = col
        return _data_error(err, chunk, self.job.schema, row, self.position + row)

    def _update_state(self, state: Any, piece: _Piece, dense: Any = None) -> None:
        _, X, y, w, rows = piece
        if sp.issparse(X) and not isinstance(state, ReadsSparse):
            # the source bounds a chunk's dense size (data.arrays.DENSE_CHUNK_BYTES)
            X = X.toarray() if dense is None else dense
        if isinstance(state, Sampling):
            local = (
                np.arange(rows.start, rows.stop, rows.step, dtype=np.int64)
                if isinstance(rows, range)  # np.asarray(range) iterates in Python
                else np.asarray(rows, dtype=np.int64)
            )
            state.update(X, y, w, positions=self.position + local)
        else:
            state.update(X, y, w)

    def _apply(self, pieces: Any, chunk: Chunk) -> None:
        """Update fold ``k`` of every state with each piece, in order.

        On bad data the error names the chunk's FIRST row at fault, not the first one the
        failing update saw: a NaN or infinity anywhere in the chunk (a scan), or an overflow
        that an update not yet made would hit earlier (copies of the states try the pieces
        that remain; the states themselves are left as they are). The states of a pass that
        raised are never saved: the pass gives up on them.
        """
        pieces = iter(pieces)
        for piece in pieces:
            dense = None
            if sp.issparse(piece[1]) and any(
                not isinstance(states[piece[0]], ReadsSparse) for states in self.states.values()
            ):
                dense = piece[1].toarray()  # once per piece, for every state that needs rows
            for i, states in enumerate(self.states.values()):
                if isinstance(states[0], FoldBanks):
                    continue  # fed the whole chunk by _feed_fold_banks
                try:
                    self._update_state(states[piece[0]], piece, dense)
                except (NonFiniteError, NegativeCountError, LabelError) as err:
                    raise self._first_fault(chunk, piece, i, err, pieces) from None

    def _first_fault(
        self, chunk: Chunk, piece: _Piece, kind: int, err: Exception, rest: Any
    ) -> ValueError:
        """The error for the chunk's first row at fault (see :meth:`_apply`)."""
        rows = piece[4]
        faults: list[tuple[int, int, Exception]] = [
            (int(rows[getattr(err, "row", 0) or 0]), 1, err)
        ]
        first = _first_bad_value(chunk)
        if first is not None:
            bad = NonFiniteError("a value that is not finite", row=first[0], column=first[1])
            faults.append((first[0], 0, bad))
        kinds = list(self.states.values())
        probes: dict[tuple[int, int], Any] = {(piece[0], kind): None}  # rows after its fault
        todo = [(piece, j) for j in range(kind + 1, len(kinds))]
        todo += [(p, j) for p in rest for j in range(len(kinds))]
        for p, j in todo:
            key = (p[0], j)
            if key not in probes:
                probes[key] = kinds[j][p[0]].copy()
            if probes[key] is None:
                continue  # this fold already faulted: later rows of it come after
            try:
                self._update_state(probes[key], p)
            except (NonFiniteError, NegativeCountError, LabelError) as found:
                faults.append((int(p[4][getattr(found, "row", 0) or 0]), 1, found))
                probes[key] = None
        row, _, fault = min(faults, key=lambda f: (f[0], f[1]))
        return _data_error(fault, chunk, self.job.schema, row, self.position + row)

    def _feed_rows(self, chunk: Chunk) -> None:
        """Row-major chunk: each fold's rows of each group are a strided view (no copy)."""
        assert chunk.X is not None
        n = len(chunk)
        self._apply(
            (
                (
                    k,
                    chunk.X[sl],
                    None if chunk.y is None else chunk.y[sl],
                    None if chunk.w is None else chunk.w[sl],
                    range(n)[sl],
                )
                for k, sl in self.job.folds.segments(self.position, n)
            ),
            chunk,
        )

    def _feed_columns(self, chunk: Chunk) -> None:
        """Columnar chunk: lay each column out fold by fold into a column-major block (the one
        copy a columnar source needs anyway), so each fold is a contiguous BLAS operand."""
        self._apply(self._column_pieces(chunk), chunk)

    def _column_pieces(self, chunk: Chunk) -> Any:
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
                    yield (
                        k,
                        block[s:e],
                        None if y is None else y[s:e],
                        None if w is None else w[s:e],
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


def run_partition(job: Job) -> dict[Slot, list[Any]]:
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
