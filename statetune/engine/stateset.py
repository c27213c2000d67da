"""``StateSet``: the states a pass produced, one per fold, and what can be done with them.

The training state of fold k is the merge of the other folds (merging is exact and as cheap
as subtracting, and keeps full precision when one fold holds most rows); the held-out state
is fold k itself. For series (time folds) the states are blocks of a time grid instead: fold k
holds out a window of time common to all series (a few blocks at the end) and trains on every
block before it, merged in order (rolling origin); :meth:`StateSet.fold_windows` says which
(see :mod:`statetune.engine.time_folds`). Totals, training and held-out states are built on
first use and reused by every trial.

Example
-------
>>> import numpy as np, statetune as st
>>> rng = np.random.default_rng(0); X = rng.normal(size=(200, 3)); y = X @ [1.0, 0, 2] + 0.1
>>> states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=4)
>>> round(states.validation_score("ridge", {"alpha": 1e-6}, metric="r2"), 6)
1.0
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from statetune.algorithms import get_algorithm
from statetune.data.schema import Schema
from statetune.engine.folds import FoldConfig
from statetune.engine.time_folds import FoldWindow, TimeFolds, time_value
from statetune.engine.time_grid import TimeGrid

__all__ = ["StateSet"]


class StateSet:
    """Fold states of one pass, keyed by state kind.

    Treat it as read-only: finalizing and scoring never change it, so threads may share it.
    """

    def __init__(
        self,
        schema: Schema,
        folds: FoldConfig | TimeFolds,
        fold_states: Mapping[str, Sequence[Any]],
        algorithms: Sequence[str],
        *,
        complete: bool = True,
        fingerprint: str | None = None,
        lineage: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.schema = schema
        self.folds = folds
        self.fold_states = {k: list(v) for k, v in fold_states.items()}
        self.algorithms = tuple(algorithms)
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
    def n_rows(self) -> int:
        """Rows absorbed by the pass (so far)."""
        states = next(iter(self.fold_states.values()))
        return sum(s.n_rows for s in states)

    @property
    def n_folds(self) -> int:
        return self.folds.n_folds

    def _kind(self, kind: str | None) -> str:
        if kind is None:
            if len(self.fold_states) == 1:
                return next(iter(self.fold_states))
            raise ValueError(f"`kind` must be given: this set holds {sorted(self.fold_states)}.")
        if kind not in self.fold_states:
            raise ValueError(f"`kind` must be one of {sorted(self.fold_states)}, but got {kind!r}.")
        return kind

    def _cached(self, key: tuple[Any, ...], build: Any) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def total(self, kind: str | None = None) -> Any:
        """The state of all rows (merge of every fold)."""
        kind = self._kind(kind)

        def build() -> Any:
            merged = self.fold_states[kind][0].copy()
            for s in self.fold_states[kind][1:]:
                merged.merge(s)
            return merged

        return self._cached((kind, -1), build)

    def _windows(self) -> list[tuple[int, int]]:
        """``[start, stop)`` blocks held out by each fold (time folds only)."""
        assert isinstance(self.folds, TimeFolds)
        folds = self.folds

        def build() -> list[tuple[int, int]]:
            kind = "lagged_moments" if "lagged_moments" in self.fold_states else None
            blocks = self.fold_states[self._kind(kind)]
            return folds.windows([b.n_rows for b in blocks])

        return self._cached(("windows",), build)

    def _merged(self, kind: str, a: int, b: int) -> Any:
        """The merge of blocks ``a..b-1`` of ``kind``, in order (the block itself when one)."""
        states = self.fold_states[kind]
        if b - a == 1:
            return states[a]

        def build() -> Any:
            merged = states[a].copy()
            for s in states[a + 1 : b]:
                merged.merge(s)
            return merged

        return self._cached((kind, "blocks", a, b), build)

    def held_out(self, kind: str | None, k: int) -> Any:
        """The state of fold ``k``'s rows (for series: of its held-out window of time, every
        series' values with ``held_start <= t < held_end``)."""
        kind = self._kind(kind)
        k = self._check_fold(k)
        if isinstance(self.folds, TimeFolds):
            return self._merged(kind, *self._windows()[k])
        return self.fold_states[kind][k]

    def train(self, kind: str | None, k: int) -> Any:
        """The state of every row outside fold ``k`` (for series: of every value before its
        window, ``t < train_end``, merged in time order)."""
        kind = self._kind(kind)
        k = self._check_fold(k)
        if isinstance(self.folds, TimeFolds):
            return self._merged(kind, 0, self._windows()[k][0])

        def build() -> Any:
            others = [s for i, s in enumerate(self.fold_states[kind]) if i != k]
            merged = others[0].copy()
            for s in others[1:]:
                merged.merge(s)
            return merged

        return self._cached((kind, k), build)

    def time_grid(self) -> TimeGrid:
        """The grid of the time blocks (series states only): the grid of the range of times,
        or of positions ``0 .. longest - 1`` when the source has no time column."""
        if not isinstance(self.folds, TimeFolds) or "lagged_moments" not in self.fold_states:
            raise ValueError(
                "A time grid needs series states (lagged moments in time blocks), but these "
                f"states hold {sorted(self.fold_states)} with {type(self.folds).__name__}."
            )
        total = self.total("lagged_moments")
        if total.n_rows == 0:
            raise ValueError("A time grid needs values, but the states hold none.")
        span = total.time_range()
        if span is None:
            grid = self.folds.grid(0, max(total.counts().values()) - 1, "i")
        else:
            grid = self.folds.grid(span[0], span[1], np.dtype(total.time_dtype).kind)
        n = len(self.fold_states["lagged_moments"])
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
        timed = self.total("lagged_moments").time_range() is not None
        counts = np.array([b.n_rows for b in self.fold_states["lagged_moments"]])
        out = []
        for k, (a, b) in enumerate(self._windows()):
            start, end = grid.line(a), grid.line(b)
            held = self.held_out("lagged_moments", k)
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

    def _algorithm(self, name: str) -> Any:
        alg = get_algorithm(name)
        if alg.state_kind not in self.fold_states:
            raise ValueError(
                f"{name!r} needs the {alg.state_kind!r} state, but this set was computed for "
                f"{list(self.algorithms)}; pass {name!r} to compute_states."
            )
        if alg.needs_target and not self.schema.has_target:
            raise ValueError(f"{name!r} needs a target, but the source has none (pass target=...).")
        return alg

    def search_space(self, name: str) -> dict[str, Any]:
        """The algorithm's search space, bounded by the total state."""
        alg = self._algorithm(name)
        return alg.search_space(self.total(alg.state_kind))

    def finalize(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """The model of ``name`` fitted on all rows, from the states alone."""
        alg = self._algorithm(name)
        return alg.finalize(
            self.total(alg.state_kind), {**(params or {}), **kwargs}, self.schema.features
        )

    def score_fold(
        self, name: str, params: Mapping[str, Any], metric: str, k: int
    ) -> tuple[float, str]:
        """Train ``name`` on every fold but ``k`` and score it on fold ``k``.

        Returns the score and how it was computed: from the held-out state exactly, or on the
        held-out sample of rows (metrics that need row-by-row predictions).
        """
        alg = self._algorithm(name)
        kind = alg.state_kind
        held = self.held_out(kind, k)
        if held.n_rows == 0:
            raise ValueError(f"Fold {k} must hold rows to validate, but it is empty.")
        train = self.train(kind, k)
        model = alg.finalize(train, dict(params), self.schema.features)
        if metric in alg.model.sample_metrics and "reservoir" not in self.fold_states:
            raise ValueError(
                f"`metric={metric!r}` is scored on a held-out sample of rows, but these states "
                "were computed without one (for exact metrics only); compute them with "
                f"metrics=[{metric!r}] or without `metrics`."
            )
        if metric in alg.model.sample_metrics and hasattr(model, "sample_score"):
            held_sample = self.held_out("reservoir", k)
            score = model.sample_score(self.train("reservoir", k), held_sample, metric)
            return float(score), f"held-out sample of {len(held_sample.w)} rows"
        if metric in alg.model.sample_metrics:
            from statetune.engine.sample_metrics import sample_score

            sample = self.held_out("reservoir", k)
            X = sample.X
            if getattr(model, "feature_names_in_", None) is not None:
                import pandas as pd

                X = pd.DataFrame(X, columns=list(self.schema.features))
            score = sample_score(model, X, sample.y, sample.w, metric)
            return score, f"held-out sample of {len(sample.w)} rows"
        return float(model.held_out_score(train, held, metric)), "held-out state (exact)"

    def fold_scores(
        self, name: str, params: Mapping[str, Any] | None = None, metric: str | None = None
    ) -> np.ndarray:
        """Score of each fold: train on the other folds, score on the held-out fold."""
        alg = self._algorithm(name)
        metric = metric or alg.default_metric
        if metric not in alg.metrics:
            raise ValueError(
                f"`metric` must be one {name!r} can compute ({', '.join(alg.metrics)}), "
                f"but got {metric!r}."
            )
        if self.n_folds < 2 and not isinstance(self.folds, TimeFolds):
            raise ValueError("`folds >= 2` must hold to validate, but the states have 1 fold.")
        return np.array(
            [self.score_fold(name, params or {}, metric, k)[0] for k in range(self.n_folds)]
        )

    def validation_score(
        self, name: str, params: Mapping[str, Any] | None = None, metric: str | None = None
    ) -> float:
        """Mean over folds of :meth:`fold_scores` (no data pass)."""
        return float(np.mean(self.fold_scores(name, params, metric)))

    def __repr__(self) -> str:
        return (
            f"StateSet(n_rows={self.n_rows}, folds={self.n_folds}, states={sorted(self.fold_states)}, "
            f"algorithms={list(self.algorithms)}, complete={self.complete})"
        )
