"""Feeding series chunks into time blocks: lagged moments per block, and per block a sample of
the lag rows whose target falls in it (for metrics that need predictions row by row).

Rows of a chunk are values of series in time order within each series (ids may interleave).
Per chunk: check times and values, find each value's index in its series, widen the time grid
to the chunk's times (merging neighbouring blocks when its width doubles, adding empty blocks at
either end; see :mod:`statetune.engine.time_folds` for why the result does not depend on the
chunks), then update every block the chunk touches. A value's time is its timestamp, or its
index in its series when the source has no time column. The lag rows sampled for a block use
the series' true predecessors, even those in earlier blocks or chunks, so a held-out window's
sample holds all its one-step predictions.

Example
-------
>>> import numpy as np, statetune as st
>>> src = st.from_series(np.sin(np.arange(300.0)), series=np.arange(300) % 3)
>>> s = st.compute_states(src, ["autoregressive"], folds=2)
>>> len(s.states_of("lagged_moments")), s.n_rows
(25, 300)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.data.source import Chunk
from statetune.engine.slots import Slot
from statetune.engine.time_folds import TimeFolds, time_value
from statetune.engine.time_grid import TimeGrid
from statetune.states.capabilities import Ordered, Sampling
from statetune.states.lagged_moments import grouped_lag_rows

__all__ = ["SeriesFeeder", "SeriesKindError"]


class SeriesKindError(TypeError):
    """A chunk's series ids or times change kind (numbers vs strings, integer vs fractional
    times); ``column`` is ``"series"`` or ``"time"``, ``row`` the chunk row, ``what`` says
    what was expected and found. No state was changed."""

    def __init__(self, what: str, row: int, column: str) -> None:
        super().__init__(what)
        self.what, self.row, self.column = what, row, column


class SeriesFeeder:
    """Keeps each series' count, last values and last time, and the time grid, across chunks
    of one pass.

    ``states`` maps a slot to its list of blocks: one :class:`~statetune.states.capabilities.
    Ordered` state (lagged moments) and optionally a :class:`~statetune.states.capabilities.
    Sampling` one (a sample of lag rows); the lists are changed in place, and empty blocks are
    built from each slot's spec.
    The per-series records are arrays over the sorted ids, so a chunk costs a few numpy
    passes whatever the number of series. Blocks given (a cursor, cached states) must lie on
    the grid of their own time range, as every pass leaves them.
    """

    def __init__(self, states: dict[Slot, list[Any]], folds: TimeFolds) -> None:
        self.states, self.folds = states, folds
        ordered = [s for s in states if s.spec.has(Ordered)]
        if len(ordered) != 1:
            raise ValueError(
                "Series states extend together with one ordered state (lagged moments: they "
                f"know each series' count and last values), but {[str(s) for s in states]} "
                "were given."
            )
        self.ordered = ordered[0]
        samples = [s for s in states if s.spec.has(Sampling)]
        self.sample: Slot | None = samples[0] if samples else None
        others = set(states) - {self.ordered, self.sample}
        if len(samples) > 1 or others:
            raise ValueError(
                "Series data feeds one ordered state and at most one sample of its lag rows, "
                f"but got {[str(s) for s in states]}."
            )
        blocks = states[self.ordered]
        total = blocks[0].copy() if blocks else self.ordered.spec.build()
        for b in blocks[1:]:
            total.merge(b)
        self.max_lag = total.max_lag
        table = total.series_table()
        self._ids: np.ndarray = table["ids"]
        self._count: np.ndarray = table["counts"]
        self._tail: np.ndarray = table["tails"]
        self._tail_len: np.ndarray = table["tail_len"]
        self._has_time: np.ndarray = table["has_time"]
        self._last: np.ndarray = table["last_time"]
        #: True: times are timestamps; False: positions in each series; None: no value yet.
        self.timed: bool | None = None
        self.grid: TimeGrid | None = None
        if total.n_rows:
            span = total.time_range()
            self.timed = span is not None
            if span is None:
                span = (0, int(self._count.max()) - 1)
            kind = "i" if not self.timed else np.dtype(total.time_dtype).kind
            self.grid = folds.grid(span[0], span[1], kind)
        n_grid = 0 if self.grid is None else self.grid.n_blocks
        if len(blocks) != n_grid:
            raise ValueError(
                f"Series blocks must lie on the time grid of their times ({n_grid} blocks), but "
                f"{len(blocks)} were given: they were built by another fold scheme; rebuild them "
                "with compute_states."
            )

    @property
    def counts(self) -> dict[Any, int]:
        """Values seen per series id."""
        return dict(zip(self._ids.tolist(), self._count.tolist(), strict=True))

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check(chunk: Chunk, ids: np.ndarray, y: np.ndarray, E: np.ndarray) -> None:
        """Finite values, naming the series and the chunk row (before any state changes)."""
        from statetune.states import NonFiniteError

        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            r = int(bad[0])
            raise NonFiniteError(f"series {ids[r].item()!r}", row=r, column="target")
        bad_e = np.argwhere(~np.isfinite(E))
        if bad_e.size:
            r, c = (int(v) for v in bad_e[0])
            raise NonFiniteError(f"series {ids[r].item()!r}", row=r, column=c)

    def _check_order(
        self,
        uniq: np.ndarray,
        order: np.ndarray,
        sizes: np.ndarray,
        prev: np.ndarray,
        has_prev: np.ndarray,
        t: Any,
    ) -> None:
        """Times increase within each series, from its last time on; else the first violation
        of the first series (in id order) that has one."""
        from statetune.states import SeriesOrderError

        ts = np.asarray(t)[order]
        starts = np.cumsum(sizes) - sizes
        group = np.repeat(np.arange(len(sizes)), sizes)
        j = np.flatnonzero(ts[1:] <= ts[:-1]) + 1
        first = np.flatnonzero(has_prev & (ts[starts] <= prev))
        p = np.concatenate([starts[first], j[group[j] == group[j - 1]]])
        if p.size == 0:
            return
        k = int(p.min())  # sorted by series, then by position within the series
        g = int(group[k])
        earlier = prev[g : g + 1] if k == starts[g] else ts[k - 1 : k]
        pair = np.concatenate([earlier, ts[k : k + 1]])
        key = uniq[g].item()
        raise SeriesOrderError(
            f"Timestamps must increase within each series, but series {key!r} has "
            f"{_show(pair[1])} after {_show(pair[0])}",
            row=int(order[k]),
            series=key,
        )

    def _check_kinds(self, ids: np.ndarray) -> None:
        """Series ids keep their kind (integers or strings) across chunks and files."""
        if self._ids.size and (self._ids.dtype.kind == "U") != (ids.dtype.kind == "U"):
            want = "strings" if self._ids.dtype.kind == "U" else "integers"
            got = "strings" if ids.dtype.kind == "U" else "integers"
            raise SeriesKindError(
                f"must keep the kind of its series ids ({want}), but holds {got} "
                f"({ids[0].item()!r})",
                row=0,
                column="series",
            )

    def _same_time_kind(self, t: np.ndarray) -> np.ndarray:
        """Times in the kind the pass established (CSV chunks and Parquet files may infer
        integers in one place and floats in another): converted when that is exact."""
        if not self._has_time.any() or t.dtype == self._last.dtype:
            return t
        if self._last.dtype.kind == "f":
            return t.astype(np.float64)
        frac = np.flatnonzero(t != np.round(t))
        if frac.size:
            r = int(frac[0])
            raise SeriesKindError(
                f"must keep integer times as earlier rows had them, but holds {t[r]}",
                row=r,
                column="time",
            )
        return t.astype(np.int64)

    # ------------------------------------------------------------------ blocks
    def _widen(self, lo: Any, hi: Any, kind: str) -> None:
        """Move the blocks onto the grid of ``[lo, hi]`` joined with the current range: merge
        the blocks that fall together (in time order), add empty blocks elsewhere."""
        old = self.grid
        if old is not None:
            lo, hi = min(lo, old.lo), max(hi, old.hi)
        new = self.folds.grid(lo, hi, kind)
        if new == old:
            return
        target = (
            np.zeros(0, dtype=np.int64) if old is None else old.moved_to(new)
        )  # new block of each old block
        for slot, blocks in self.states.items():
            out: list[Any] = [None] * new.n_blocks
            for j, block in zip(target.tolist(), blocks, strict=True):
                if out[j] is None:
                    out[j] = block
                elif block.n_rows:
                    out[j].merge(block)  # later in time: it continues the block before
            blocks[:] = [slot.spec.build() if b is None else b for b in out]
        self.grid = new

    # ------------------------------------------------------------------ feed
    def feed(self, chunk: Chunk, position: int) -> None:
        """Absorb a chunk whose first row is at global ``position``."""
        y = np.asarray(chunk.y, dtype=np.float64)
        n = y.shape[0]
        if n == 0:
            return
        if chunk.X is not None:
            E = chunk.X
        elif chunk.columns:
            E = np.column_stack(chunk.columns)
        else:
            E = np.empty((n, 0))
        E = np.asarray(E, dtype=np.float64)
        ids = chunk.series if chunk.series is not None else np.zeros(n, dtype=np.int64)
        self._check(chunk, ids, y, E)
        self._check_kinds(ids)
        times = None if chunk.time is None else self._same_time_kind(np.asarray(chunk.time))
        uniq, inv = np.unique(ids, return_inverse=True)
        if uniq.dtype.kind == "U":
            uniq = uniq.astype(f"U{max(1, int(np.char.str_len(uniq).max()))}")
        order = np.argsort(inv, kind="stable")
        sizes = np.bincount(inv, minlength=len(uniq))
        bounds = np.concatenate(([0], np.cumsum(sizes)))
        pos, found = self._lookup(uniq)
        held = pos[found]
        base = np.zeros(len(uniq), dtype=np.int64)
        base[found] = self._count[held]
        has_prev = found.copy()
        has_prev[found] = self._has_time[held]
        prev = np.zeros(len(uniq), dtype=self._last.dtype)
        prev[found] = self._last[held]
        if times is not None:
            self._check_order(uniq, order, sizes, prev, has_prev, times)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.repeat(bounds[:-1], sizes)
        index = base[inv] + rank
        timed = times is not None
        if self.timed is not None and timed != self.timed:
            raise SeriesKindError(
                "must give a time to every value or to none (the pass places values in time "
                f"by {'their times' if self.timed else 'their positions'})",
                row=0,
                column="time",
            )
        at = times if times is not None else index
        kind = at.dtype.kind if timed else "i"
        self._widen(at.min().item(), at.max().item(), kind)
        self.timed = timed
        assert self.grid is not None
        block = self.grid.index(at)

        P = self.max_lag
        tails = np.zeros((len(uniq), P))
        tail_len = np.zeros(len(uniq), dtype=np.int64)
        tails[found], tail_len[found] = self._tail[held], self._tail_len[held]
        sample = None if self.sample is None else self.states[self.sample]
        if sample is not None:  # the tails serve the sample's lag rows only
            X, t, has_row, tails, tail_len = grouped_lag_rows(
                tails, tail_len, y[order], E[order], sizes
            )

        by_block = np.argsort(block, kind="stable")
        cuts = np.flatnonzero(np.diff(block[by_block])) + 1
        blocks = self.states[self.ordered]
        for m in np.split(by_block, cuts):
            blocks[int(block[m[0]])].update(
                y[m],
                E[m] if E.shape[1] else None,
                ids[m],
                **({} if times is None else {"time": times[m]}),
            )
        if sample is not None and has_row.any():
            r = order[has_row]  # chunk rows of the lag rows, by series then time
            rb = block[r]
            by_rb = np.argsort(rb, kind="stable")
            for m in np.split(by_rb, np.flatnonzero(np.diff(rb[by_rb])) + 1):
                sample[int(rb[m[0]])].update(X[m], t[m], None, positions=position + r[m])
        last = None if times is None else times[order[bounds[1:] - 1]]
        self._commit(uniq, pos, found, base + sizes, tails, tail_len, last)

    def _lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(pos, found)`` of ``keys`` among the sorted ids (pos clipped into range)."""
        if self._ids.size == 0:
            return np.zeros(len(keys), dtype=np.intp), np.zeros(len(keys), dtype=bool)
        pos = np.minimum(np.searchsorted(self._ids, keys), self._ids.size - 1)
        return pos, self._ids[pos] == keys

    def _commit(
        self,
        uniq: np.ndarray,
        pos: np.ndarray,
        found: np.ndarray,
        counts: np.ndarray,
        tails: np.ndarray,
        tail_len: np.ndarray,
        last: np.ndarray | None,
    ) -> None:
        """Write the chunk's series records: update those we hold, insert the new ones."""
        if last is not None and not self._has_time.any():
            self._last = self._last.astype(last.dtype)
        elif last is not None:
            self._last = self._last.astype(np.result_type(self._last, last))
        if not found.all():
            new = uniq[~found]
            ids = np.concatenate([self._ids, new]) if self._ids.size else new
            keep = np.argsort(ids, kind="stable")
            self._ids = ids[keep]
            n_new = len(new)
            P = self.max_lag
            self._count = np.concatenate([self._count, np.zeros(n_new, np.int64)])[keep]
            self._tail = np.concatenate([self._tail, np.zeros((n_new, P))])[keep]
            self._tail_len = np.concatenate([self._tail_len, np.zeros(n_new, np.int64)])[keep]
            self._has_time = np.concatenate([self._has_time, np.zeros(n_new, bool)])[keep]
            self._last = np.concatenate([self._last, np.zeros(n_new, self._last.dtype)])[keep]
            pos = np.searchsorted(self._ids, uniq)
        self._count[pos] = counts
        self._tail[pos], self._tail_len[pos] = tails, tail_len
        if last is not None:
            self._last[pos], self._has_time[pos] = last, True


def _show(t: Any) -> str:
    """A time as the user gave it: datetimes arrive as int64 nanoseconds."""
    v = time_value(t)
    return repr(v) if isinstance(v, int | float) else str(v)
