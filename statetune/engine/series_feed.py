"""Feeding series chunks into time blocks: lagged moments per block, and per block a sample of
the lag rows whose target falls in it (for metrics that need predictions row by row).

Rows of a chunk are values of series in time order within each series (ids may interleave).
Per chunk: check times and values, find each value's index in its series, grow the block size
if the longest series outgrew it (merging neighbouring blocks), then update every block the
chunk touches. The lag rows sampled for a block use the series' true predecessors, even those
in earlier blocks or chunks, so a held-out block's sample holds all its one-step predictions.

Example
-------
>>> import numpy as np, statetune as st
>>> src = st.from_series(np.sin(np.arange(300.0)), series=np.arange(300) % 3)
>>> s = st.compute_states(src, ["autoregressive"], folds=2)
>>> len(s.fold_states["lagged_moments"]), s.n_rows
(25, 300)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from statetune.data.source import Chunk
from statetune.engine.time_folds import TimeFolds
from statetune.states.lagged_moments import lag_rows

__all__ = ["SeriesFeeder"]


class SeriesFeeder:
    """Keeps each series' count, last values and last time across chunks of one pass.

    ``states`` maps a state kind to its list of blocks (``"lagged_moments"``, optionally
    ``"reservoir"``); the lists are changed in place. ``make(kind)`` builds an empty block.
    """

    def __init__(
        self, states: dict[str, list[Any]], folds: TimeFolds, make: Callable[[str], Any]
    ) -> None:
        self.states, self.folds, self.make = states, folds, make
        blocks = states["lagged_moments"]
        self.max_lag = blocks[0].max_lag if blocks else make("lagged_moments").max_lag
        total = None
        if blocks:
            total = blocks[0].copy()
            for b in blocks[1:]:
                total.merge(b)
        self.counts: dict[Any, int] = dict(total.counts()) if total else {}
        self.tails: dict[Any, np.ndarray] = {k: total.tail(k) for k in self.counts} if total else {}
        self.last_time: dict[Any, Any] = {}
        if total is not None:
            for k in self.counts:
                span = total.time_span(k)
                if span is not None:
                    self.last_time[k] = span[1]
        self.block = folds.block_size(max(self.counts.values(), default=0))

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
        self, uniq: list[Any], inv: np.ndarray, order: np.ndarray, bounds: np.ndarray, t: Any
    ) -> None:
        from statetune.states import SeriesOrderError

        ts = t[order]
        for i, key in enumerate(uniq):
            a, b = int(bounds[i]), int(bounds[i + 1])
            seg = ts[a:b]
            prev = self.last_time.get(key)
            full = seg if prev is None else np.concatenate([[prev], seg])
            bad = np.flatnonzero(np.diff(full) <= 0)
            if bad.size:
                j = int(bad[0])  # full[j + 1] does not come after full[j]
                row = int(order[a + j + (1 if prev is None else 0)])
                raise SeriesOrderError(
                    f"Timestamps must increase within each series, but series {key!r} has "
                    f"{_show(full[j + 1])} after {_show(full[j])}",
                    row=row,
                    series=key,
                )

    # ------------------------------------------------------------------ blocks
    def _grow(self, longest: int) -> None:
        size = self.folds.block_size(longest)
        if size == self.block:
            return
        f = size // self.block
        for blocks in self.states.values():
            merged = []
            for j in range(0, len(blocks), f):
                head = blocks[j]
                for other in blocks[j + 1 : j + f]:
                    head.merge(other)
                merged.append(head)
            blocks[:] = merged
        self.block = size

    def _ensure(self, n_blocks: int) -> None:
        for kind, blocks in self.states.items():
            while len(blocks) < n_blocks:
                blocks.append(self.make(kind))

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
        uniq_arr, inv = np.unique(ids, return_inverse=True)
        uniq = uniq_arr.tolist()
        order = np.argsort(inv, kind="stable")
        sizes = np.bincount(inv, minlength=len(uniq))
        bounds = np.concatenate(([0], np.cumsum(sizes)))
        if chunk.time is not None:
            self._check_order(uniq, inv, order, bounds, chunk.time)
        base = np.array([self.counts.get(k, 0) for k in uniq], dtype=np.int64)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.repeat(bounds[:-1], sizes)
        index = base[inv] + rank
        self._grow(int((base + sizes).max()))
        block = index // self.block
        self._ensure(int(block.max()) + 1)

        sample = self.states.get("reservoir")
        lag_X, lag_y, lag_r = [], [], []
        P = self.max_lag
        for i, key in enumerate(uniq):
            rows = order[bounds[i] : bounds[i + 1]]
            vals = y[rows]
            tail = self.tails.get(key, np.empty(0))
            if sample is not None:
                X, t = lag_rows(tail, vals, E[rows], P)
                lag_X.append(X)
                lag_y.append(t)
                lag_r.append(rows[rows.shape[0] - t.shape[0] :])
            self.tails[key] = np.concatenate([tail, vals])[-P:]
            self.counts[key] = int(base[i] + sizes[i])
            if chunk.time is not None:
                self.last_time[key] = chunk.time[rows[-1]].item()

        blocks = self.states["lagged_moments"]
        for b in np.unique(block).tolist():
            m = np.flatnonzero(block == b)
            blocks[b].update(
                y[m],
                E[m] if E.shape[1] else None,
                ids[m],
                **({} if chunk.time is None else {"time": chunk.time[m]}),
            )
        if sample is not None and lag_r:
            X = np.concatenate(lag_X)
            t = np.concatenate(lag_y)
            r = np.concatenate(lag_r)
            rb = block[r]
            for b in np.unique(rb).tolist():
                m = np.flatnonzero(rb == b)
                sample[b].update(X[m], t[m], None, positions=position + r[m])


def _show(t: Any) -> str:
    """A time as the user gave it: datetimes arrive as int64 nanoseconds."""
    if isinstance(t, int | np.integer) and abs(int(t)) > 10**15:
        import pandas as pd

        return str(pd.Timestamp(int(t)))
    return repr(t.item() if isinstance(t, np.generic) else t)
