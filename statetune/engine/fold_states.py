"""``FoldStates``: the states a pass produced, one list of fold states per slot.

The training state of fold k is the merge of the other folds (merging is exact and as cheap
as subtracting, and keeps full precision when one fold holds most rows); the held-out state
is fold k itself. For series (time folds) the states are blocks of a time grid instead: fold k
holds out a window of time common to all series (a few blocks at the end) and trains on every
block before it, merged in order (rolling origin); :meth:`FoldStates.fold_windows` says which
(see :mod:`statetune.engine.time_folds`). Totals, training and held-out states are built on
first use and reused by every trial.

This container knows slots (role + spec) only; finalizing and scoring models live above it,
in :class:`statetune.validation.StateSet`.

Example
-------
>>> import numpy as np
>>> from statetune.data import from_arrays
>>> from statetune.engine import MODEL, Slot, run_pass
>>> from statetune.states.spec import StateSpec
>>> slot = Slot(MODEL, StateSpec.of("moments", n_features=2, has_target=True))
>>> fs = run_pass(from_arrays(np.eye(4)[:, :2], np.ones(4)), [slot], folds=2)
>>> fs.total(slot).n_rows, fs.train(slot, 0).n_rows
(4, 2)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from statetune.data.schema import Schema
from statetune.engine.folds import FoldConfig
from statetune.engine.slots import HELD_OUT_SAMPLE, MODEL, ROLES, Slot
from statetune.engine.time_folds import FoldWindow, TimeFolds, time_value
from statetune.engine.time_grid import TimeGrid
from statetune.states import state_class
from statetune.states.capabilities import FoldBanks, Ordered
from statetune.states.spec import StateSpec

__all__ = ["FoldStates", "SlotKey"]

#: What names a slot: the slot, its spec, a state class or kind name (model role first), a
#: role name, or None (the only model slot).
SlotKey = Slot | StateSpec | type | str | None


class FoldStates:
    """Fold states of one pass, keyed by :class:`~statetune.engine.slots.Slot`.

    Treat it as read-only: reading totals and fold states never changes it, so threads may
    share it.
    """

    def __init__(
        self,
        schema: Schema,
        folds: FoldConfig | TimeFolds,
        fold_states: Mapping[Slot, Sequence[Any]],
        *,
        complete: bool = True,
        fingerprint: str | None = None,
        lineage: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.schema = schema
        self.folds = folds
        self.fold_states: dict[Slot, list[Any]] = {k: list(v) for k, v in fold_states.items()}
        #: False for an intermediate (anytime) snapshot taken before the pass ended.
        self.complete = complete
        self.fingerprint = fingerprint
        #: Segments absorbed, in order: ``{"key", "fingerprint", "n_rows"}`` records.
        self.lineage = [dict(r) for r in (lineage or [])]
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Picklable for process executors: the lock and memoized merges stay behind."""
        state = self.__dict__.copy()
        del state["_lock"]
        state["_memo"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def slots(self) -> list[Slot]:
        return list(self.fold_states)

    @property
    def n_rows(self) -> int:
        """Rows absorbed by the pass (so far), as counted by its model states."""
        models = [s for s in self.fold_states if s.role == MODEL] or list(self.fold_states)
        return sum(s.n_rows for s in self.fold_states[models[0]])

    @property
    def n_folds(self) -> int:
        return self.folds.n_folds

    @property
    def is_series(self) -> bool:
        """Time folds over an ordered state (blocks of a time grid)."""
        return isinstance(self.folds, TimeFolds) and self.ordered_slot() is not None

    def ordered_slot(self) -> Slot | None:
        """The slot of the ordered (series) state, if any."""
        for slot in self.fold_states:
            if slot.role == MODEL and slot.spec.has(Ordered):
                return slot
        return None

    def sample_slot(self) -> Slot | None:
        """The held-out sample's slot, if the pass kept one."""
        for slot in self.fold_states:
            if slot.role == HELD_OUT_SAMPLE:
                return slot
        return None

    def slot(self, key: SlotKey = None) -> Slot:
        """The slot ``key`` names (see :data:`SlotKey`); the error lists the slots held."""
        held = self.fold_states
        if isinstance(key, Slot):
            found = [key] if key in held else []
        elif isinstance(key, StateSpec):
            found = [s for s in held if s.spec == key]
        elif key is None:
            found = [s for s in held if s.role == MODEL]
            found = found if len(found) == 1 else []
        elif isinstance(key, str) and key in ROLES:
            found = [s for s in held if s.role == key]
        else:
            cls = state_class(key) if isinstance(key, str) else key
            found = [s for s in held if issubclass(s.spec.state_class, cls)]
            found.sort(key=lambda s: s.role != MODEL)
        if not found:
            raise ValueError(
                f"The states must hold a slot for {key!r}, but they hold {[str(s) for s in held]}."
            )
        return found[0]

    def states_of(self, key: SlotKey = None) -> list[Any]:
        """The fold states (series: time blocks) of the slot ``key`` names."""
        return self.fold_states[self.slot(key)]

    def _cached(self, key: tuple[Any, ...], build: Any) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def total(self, key: SlotKey = None) -> Any:
        """The state of all rows (merge of every fold)."""
        slot = self.slot(key)

        def build() -> Any:
            merged = self.fold_states[slot][0].copy()
            for s in self.fold_states[slot][1:]:
                merged.merge(s)
            return merged

        return self._cached((slot, -1), build)

    def _windows(self) -> list[tuple[int, int]]:
        """``[start, stop)`` blocks held out by each fold (time folds only)."""
        assert isinstance(self.folds, TimeFolds)
        folds = self.folds

        def build() -> list[tuple[int, int]]:
            blocks = self.fold_states[self.ordered_slot() or self.slot()]
            return folds.windows([b.n_rows for b in blocks])

        return self._cached(("windows",), build)

    def _merged(self, slot: Slot, a: int, b: int) -> Any:
        """The merge of blocks ``a..b-1`` of ``slot``, in order (the block itself when one)."""
        states = self.fold_states[slot]
        if b - a == 1:
            return states[a]

        def build() -> Any:
            merged = states[a].copy()
            for s in states[a + 1 : b]:
                merged.merge(s)
            return merged

        return self._cached((slot, "blocks", a, b), build)

    def held_out(self, key: SlotKey, k: int) -> Any:
        """The state of fold ``k``'s rows (for series: of its held-out window of time, every
        series' values with ``held_start <= t < held_end``)."""
        slot = self.slot(key)
        k = self._check_fold(k)
        if isinstance(self.folds, TimeFolds):
            return self._merged(slot, *self._windows()[k])
        if slot.spec.has(FoldBanks):  # one state learned every fold's model
            total = self.total(slot)  # outside the lock: _cached is not reentrant
            return self._cached((slot, "held", k), lambda: total.held_view(k))
        return self.fold_states[slot][k]

    def train(self, key: SlotKey, k: int) -> Any:
        """The state of every row outside fold ``k`` (for series: of every value before its
        window, ``t < train_end``, merged in time order)."""
        slot = self.slot(key)
        k = self._check_fold(k)
        if isinstance(self.folds, TimeFolds):
            return self._merged(slot, 0, self._windows()[k][0])
        if slot.spec.has(FoldBanks):  # one state learned every fold's model
            total = self.total(slot)
            return self._cached((slot, "train", k), lambda: total.fold_view(k))

        def build() -> Any:
            others = [s for i, s in enumerate(self.fold_states[slot]) if i != k]
            merged = others[0].copy()
            for s in others[1:]:
                merged.merge(s)
            return merged

        return self._cached((slot, k), build)

    def time_grid(self) -> TimeGrid:
        """The grid of the time blocks (series states only): the grid of the range of times,
        or of positions ``0 .. longest - 1`` when the source has no time column."""
        ordered = self.ordered_slot()
        if not isinstance(self.folds, TimeFolds) or ordered is None:
            raise ValueError(
                "A time grid needs series states (lagged moments in time blocks), but these "
                f"states hold {[str(s) for s in self.fold_states]} with "
                f"{type(self.folds).__name__}."
            )
        total = self.total(ordered)
        if total.n_rows == 0:
            raise ValueError("A time grid needs values, but the states hold none.")
        span = total.time_range()
        if span is None:
            grid = self.folds.grid(0, max(total.counts().values()) - 1, "i")
        else:
            grid = self.folds.grid(span[0], span[1], np.dtype(total.time_dtype).kind)
        n = len(self.fold_states[ordered])
        if grid.n_blocks != n:
            raise ValueError(
                f"Series blocks must lie on the time grid of their times ({grid.n_blocks} "
                f"blocks), but the states hold {n}: they were built by another fold scheme; "
                "rebuild them with compute_states."
            )
        return grid

    def fold_windows(self) -> list[FoldWindow]:
        """Each fold's window of time (series states only): fold ``k`` trains on every value
        with ``t < train_end`` and holds out every value with ``held_start <= t < held_end``,
        over all series. ``t`` is the timestamp (``pandas.Timestamp`` for datetimes) or, with
        no time column, each value's position in its own series (``by="position"``)."""
        grid = self.time_grid()
        ordered = self.ordered_slot()
        assert ordered is not None
        timed = self.total(ordered).time_range() is not None
        counts = np.array([b.n_rows for b in self.fold_states[ordered]])
        out = []
        for k, (a, b) in enumerate(self._windows()):
            start, end = grid.line(a), grid.line(b)
            held = self.held_out(ordered, k)
            first, last = held.time_range() or (start, min(end, grid.hi + 1) - 1)
            out.append(
                FoldWindow(
                    fold=k,
                    train_end=time_value(start),
                    held_start=time_value(start),
                    held_end=time_value(end),
                    first_held=time_value(first),
                    last_held=time_value(last),
                    n_train=int(counts[:a].sum()),
                    n_held=int(counts[a:b].sum()),
                    n_series=len(held.series_ids),
                    by="time" if timed else "position",
                    blocks=(a, b),
                )
            )
        return out

    def _check_fold(self, k: int) -> int:
        if not 0 <= k < self.n_folds:
            raise ValueError(f"`0 <= fold < {self.n_folds}` must hold, but got fold={k}.")
        return k

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_rows={self.n_rows}, folds={self.n_folds}, "
            f"states={[str(s) for s in self.fold_states]}, complete={self.complete})"
        )
