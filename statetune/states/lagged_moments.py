"""``LaggedMoments``: the :class:`Moments` of lag vectors of one or many time series.

For every time ``t`` of a series that has at least ``max_lag = P`` predecessors, the row
``[y_{t-1}, ..., y_{t-P}, x_t, y_t]`` (``x_t`` the optional exogenous columns) is folded into
one pooled :class:`Moments` (features = the ``P`` lags then the exogenous columns, target =
``y_t``). That is sufficient for least-squares autoregressions of any order ``p <= P`` (and of
the differenced series, see :mod:`statetune.algorithms.autoregressive`).

Each series (keyed by an id) also keeps

* its *tail*, the last ``P`` values, so the next batch's lag rows can be formed: a series
  split anywhere across ``update`` calls gives the same state (chunk invariance);
* its *head*, the first ``P`` values (and their exogenous rows), so that two consecutive
  segments of a series can be merged: the rows straddling the boundary are built from the
  earlier segment's tail and the later segment's head;
* its count of values;
* the first and last *time* of its values, when ``update`` was given ``time`` (int64, e.g.
  nanoseconds since the epoch, or float64). Times must increase strictly within each series,
  across ``update`` calls and across :meth:`LaggedMoments.merge` (``b``'s first time after
  ``a``'s last); a violation raises :class:`SeriesOrderError` and leaves the state unchanged.
  A series is timed or untimed throughout: mixing the two for one series is refused.

Order rule of :meth:`LaggedMoments.merge`: ``a.merge(b)`` means that, for every series both
states contain, ``b``'s values come *after* ``a``'s (``b`` continues ``a``). Series held by
only one side are combined by plain addition, so merging states of disjoint series is
commutative and associative; merging segments of one series is associative but not
commutative (the order rule replaces commutativity, as docs/design.md allows).

There are no sample weights: ``weight_sum == n_rows`` (values absorbed).

Example
-------
>>> import numpy as np
>>> from statetune.states.lagged_moments import LaggedMoments
>>> y = np.arange(10.0) ** 2
>>> a, b = LaggedMoments(max_lag=2), LaggedMoments(max_lag=2)
>>> a.update(y[:4]); b.update(y[4:]); a.merge(b)   # b continues a
>>> whole = LaggedMoments(max_lag=2); whole.update(y)
>>> a.allclose(whole), whole.n_rows, whole.n_lag_rows
(True, 10, 8)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    register_state,
)
from statetune.states._series_records import (
    _TIME_DTYPES,
    DEFAULT_SERIES,
    SeriesOrderError,
    _as_series_ids,
    _as_times,
    _gather,
    _join,
    _lookup,
    _order_error,
    _Records,
    _SeriesView,
    _tight,
    _union,
    _windows_to_rows,
    grouped_lag_rows,
    lag_rows,
)
from statetune.states.capabilities import Ordered
from statetune.states.moments import Moments

__all__ = ["LaggedMoments", "SeriesOrderError", "grouped_lag_rows", "lag_rows"]


@register_state
class LaggedMoments(Memoized, Ordered):
    """Pooled moments of lag vectors, plus each series' head, tail and count.

    Parameters
    ----------
    max_lag : int
        ``P``: the number of lags in each row; a value contributes a row once its series has
        ``P`` earlier values.
    n_exog : int, default 0
        Number of exogenous columns ``x_t`` passed as ``exog`` to :meth:`update`.

    Notes
    -----
    ``moments`` is a :class:`Moments` with ``n_features = P + n_exog`` (columns
    ``y_{t-1}, ..., y_{t-P}``, then ``x_t``) and the target ``y_t``; ``n_lag_rows`` rows.
    The per-series records are arrays over the sorted ids, so updates and merges cost a few
    numpy passes whatever the number of series.
    """

    kind = "lagged_moments"

    def __init__(self, max_lag: int, n_exog: int = 0) -> None:
        if isinstance(max_lag, bool) or int(max_lag) != max_lag or int(max_lag) < 1:
            raise ValueError(f"`max_lag >= 1` must hold, but got max_lag={max_lag!r}.")
        if isinstance(n_exog, bool) or int(n_exog) != n_exog or int(n_exog) < 0:
            raise ValueError(f"`n_exog >= 0` must hold, but got n_exog={n_exog!r}.")
        self.max_lag = int(max_lag)
        self.n_exog = int(n_exog)
        self.n_features = self.max_lag + self.n_exog
        self._moments = Moments(self.n_features, has_target=True)
        self._ids: np.ndarray = np.empty(0, dtype=np.int64)  # sorted series ids
        self._rec = _Records.empty(0, self.max_lag, self.n_exog)
        self._derived: dict[Any, Any] = {}
        self._time_kind: str | None = None  # "i" (int64) or "f" (float64) once times are seen

    # ------------------------------------------------------------------ properties
    @property
    def n_rows(self) -> int:
        """Values absorbed, over all series."""
        return int(self._rec.count.sum())

    @property
    def weight_sum(self) -> float:
        """``n_rows`` (no sample weights for series)."""
        return float(self.n_rows)

    @property
    def n_lag_rows(self) -> int:
        """Lag rows in ``moments``: values with at least ``max_lag`` predecessors."""
        return self._moments.n_rows

    @property
    def moments(self) -> Moments:
        """The pooled moments of the lag rows (do not mutate)."""
        return self._moments

    @property
    def series_ids(self) -> np.ndarray:
        """Sorted ids of the series seen (int64 or unicode)."""
        return self._ids.copy()

    @property
    def _series(self) -> dict[Any, _SeriesView]:
        """Each series' record by id (views into the arrays; for tests and debugging)."""
        return {k: _SeriesView(self, i) for i, k in enumerate(self._ids.tolist())}

    def counts(self) -> dict[Any, int]:
        """Values seen per series id."""
        return dict(zip(self._ids.tolist(), self._rec.count.tolist(), strict=True))

    def tail(self, series: Any = DEFAULT_SERIES) -> np.ndarray:
        """The last ``min(count, max_lag)`` values of a series (a copy)."""
        return _SeriesView(self, self._index(series)).tail

    def head(self, series: Any = DEFAULT_SERIES) -> np.ndarray:
        """The first ``min(count, max_lag)`` values of a series (a copy)."""
        return _SeriesView(self, self._index(series)).head

    def time_span(self, series: Any = DEFAULT_SERIES) -> tuple[Any, Any] | None:
        """``(first time, last time)`` of a series, or ``None`` when it was given no times."""
        s = _SeriesView(self, self._index(series))
        return None if s.first_time is None else (s.first_time, s.last_time)

    def series_table(self) -> dict[str, np.ndarray]:
        """Per-series arrays over :attr:`series_ids` (copies): ``counts``, ``tails`` (the last
        ``max_lag`` slots, right-aligned, zero-padded), ``tail_len``, ``has_time``,
        ``first_time`` and ``last_time`` (0 where unset)."""
        r = self._rec
        return {
            "ids": self._ids.copy(),
            "counts": r.count.copy(),
            "tails": r.tail.copy(),
            "tail_len": r.tail_len.copy(),
            "has_time": r.has_time.copy(),
            "first_time": r.first.copy(),
            "last_time": r.last.copy(),
        }

    def time_range(self) -> tuple[Any, Any] | None:
        """``(earliest time, latest time)`` over the series given times (Python numbers), or
        ``None`` when no series has times."""
        r = self._rec
        timed = r.has_time & (r.count > 0)
        if not timed.any():
            return None
        return r.first[timed].min().item(), r.last[timed].max().item()

    @property
    def time_dtype(self) -> np.dtype | None:
        """``int64`` or ``float64`` once any series was given times, else ``None``."""
        return None if self._time_kind is None else np.dtype(_TIME_DTYPES[self._time_kind])

    def _tdtype(self, kind: str | None) -> str:
        return _TIME_DTYPES.get(kind or "f", "float64")

    def _index(self, series: Any) -> int:
        key = series.item() if isinstance(series, np.generic) else series
        ids = self._ids
        ok = isinstance(key, str) if ids.dtype.kind == "U" else isinstance(key, int | float)
        if ok and ids.size:
            pos, found = _lookup(ids, np.array([key], dtype=ids.dtype))
            if found[0] and ids[pos[0]] == key:
                return int(pos[0])
        raise KeyError(f"`series` must be one of the state's series ids, but got {series!r}.")

    def params(self) -> dict[str, Any]:
        """The state parameters: what changes the summary (never hyperparameters)."""
        return {"max_lag": self.max_lag, "n_exog": self.n_exog}

    # ------------------------------------------------------------------ update / merge
    def update(self, y: Any, exog: Any = None, series: Any = None, time: Any = None) -> None:
        """Fold in the next values of one or many series, in time order (all or nothing).

        Parameters
        ----------
        y : array of shape (n,)
            The next values. With ``series``, values of one id are taken in their order here;
            ids may be interleaved or in blocks.
        exog : array of shape (n, n_exog), optional
            Exogenous columns, required when ``n_exog > 0``.
        series : array of shape (n,), optional
            Series ids (integers or strings); all values belong to series ``0`` when omitted.
        time : array of shape (n,), optional
            Timestamps: integers (int64, e.g. nanoseconds; datetime64 is converted to int64
            nanoseconds) or floats. Within each series they must increase strictly, starting
            after the last time the state holds for that series.

        Raises
        ------
        NonFiniteError
            A value or exogenous entry is NaN or infinite (names its position and series).
        SeriesOrderError
            Times do not increase within a series (names the series, its position, both times).

        Notes
        -----
        Vectorized: the values are grouped by series with one stable sort, each group is
        preceded by its series' tail and the lag rows are windows of that one array.
        """
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"`y` must be 1-dimensional, but got an array of shape {y.shape}.")
        if not np.issubdtype(y.dtype, np.number) and y.dtype != np.bool_:
            raise TypeError(f"`y` must be numeric, but got dtype {y.dtype}.")
        y = y.astype(np.float64, copy=False)
        n = y.shape[0]
        E = self._as_exog(exog, n)
        ids = _as_series_ids(series, n)
        times = _as_times(time, n)
        self._check_finite(y, E, ids)
        if n == 0:
            return
        kind = self._time_kind
        if times is not None:
            if kind is not None and times.dtype.kind != kind:
                raise TypeError(
                    f"`time` must have the dtype of the state's times ({self.time_dtype}), "
                    f"but got {times.dtype}."
                )
            kind = times.dtype.kind
        if self._ids.size and (ids.dtype.kind == "U") != (self._ids.dtype.kind == "U"):
            raise TypeError(
                "Series ids must be all strings or all integers, but this batch mixes kinds "
                "with the state's ids."
            )
        P, tdtype = self.max_lag, self._tdtype(kind)
        uniq, inv = np.unique(ids, return_inverse=True)
        uniq = _tight(uniq)
        order = np.argsort(inv, kind="stable")
        sizes = np.bincount(inv, minlength=len(uniq))
        starts = np.cumsum(sizes) - sizes
        ends = starts + sizes
        pos, found = _lookup(self._ids, uniq)
        rec = self._rec.with_time_dtype(tdtype)
        old = _Records.empty(len(uniq), P, self.n_exog, tdtype)
        old.put(found, rec.take(pos[found]))
        ts = None if times is None else times[order]
        self._check_batch_times(uniq, old, order, starts, ts)
        vals, ex = y[order], E[order]
        X, t, _, _, _ = grouped_lag_rows(old.tail, old.tail_len, vals, ex, sizes)
        q = np.arange(P)
        n_head = np.minimum(sizes, P)[:, None]
        head_idx = starts[:, None] + q
        tail_idx = ends[:, None] - P + q
        batch = _Records(
            sizes.astype(np.int64),
            _gather(vals, head_idx, q < n_head),
            _gather(ex, head_idx, q < n_head),
            _gather(vals, tail_idx, q >= P - n_head),
            n_head[:, 0].astype(np.int64),
            np.full(len(uniq), ts is not None),
            np.zeros(len(uniq), dtype=tdtype) if ts is None else ts[starts],
            np.zeros(len(uniq), dtype=tdtype) if ts is None else ts[ends - 1],
        )
        joined = _join(old, batch, P)
        moments = self._moments.copy()
        moments.update(X, t)
        if found.all():  # nothing can fail from here: write the records in place
            new_ids, new = self._ids, rec
            new.put(pos, joined)
        else:
            new_ids, ia, ib = _union(self._ids, uniq)
            new = _Records.empty(len(new_ids), P, self.n_exog, tdtype)
            new.put(ia, rec)
            new.put(ib, joined)
        # commit
        self._moments, self._ids, self._rec = moments, new_ids, new
        self._time_kind = kind
        self._derived = {}

    @staticmethod
    def _check_batch_times(
        uniq: np.ndarray,
        old: _Records,
        order: np.ndarray,
        starts: np.ndarray,
        ts: np.ndarray | None,
    ) -> None:
        """Raise the order violation at the smallest batch position, if any (vectorized)."""
        first_rows = order[starts]
        if ts is None:
            bad = np.flatnonzero(old.has_time)
            if bad.size:
                g = int(bad[np.argmin(first_rows[bad])])
                r = int(first_rows[g])
                raise ValueError(
                    f"`time` must be given for series {uniq[g].item()!r}, which holds "
                    f"timestamps, but this batch has none (position {r})."
                )
            return
        untimed = (old.count > 0) & ~old.has_time
        late = old.has_time & ~(ts[starts] > old.last)
        group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(ts))))
        j = np.flatnonzero(~(ts[1:] > ts[:-1])) + 1
        # sorted positions of violations: a group's first value, or a value not after the last
        p = np.concatenate([starts[untimed | late], j[group[j] == group[j - 1]]])
        if p.size == 0:
            return
        k = int(p[np.argmin(order[p])])
        g, r = int(group[k]), int(order[k])
        key = uniq[g].item()
        if k == starts[g] and untimed[g]:
            raise ValueError(
                f"`time` must be omitted for series {key!r}, which was updated without "
                f"timestamps, but this batch gives times (position {r})."
            )
        if k == starts[g] and late[g]:
            raise _order_error(
                key, ts[k].item(), old.last[g].item(), r, f"(the state's last time) at position {r}"
            )
        raise _order_error(key, ts[k].item(), ts[k - 1].item(), r, f"at position {r}")

    def _as_exog(self, exog: Any, n: int) -> np.ndarray:
        if self.n_exog == 0:
            if exog is not None and np.asarray(exog).size:
                raise ValueError("`exog` must be None: this state has n_exog=0.")
            return np.empty((n, 0))
        if exog is None:
            raise ValueError(f"`exog` is required: this state has n_exog={self.n_exog}.")
        E = np.asarray(exog, dtype=np.float64)
        if E.ndim == 1 and self.n_exog == 1:
            E = E[:, None]
        if E.shape != (n, self.n_exog):
            raise ValueError(f"`exog` must have shape ({n}, {self.n_exog}), but got {E.shape}.")
        return E

    @staticmethod
    def _check_finite(y: np.ndarray, E: np.ndarray, ids: np.ndarray) -> None:
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            r = int(bad[0])
            raise NonFiniteError(
                f"Series values must be finite, but position {r} (series {ids[r].item()!r}) "
                f"holds {y[r]}.",
                row=r,
                column="y",
            )
        bad_e = np.argwhere(~np.isfinite(E))
        if bad_e.size:
            r, c = (int(v) for v in bad_e[0])
            raise NonFiniteError(
                f"Exogenous values must be finite, but column {c} holds {E[r, c]} at position "
                f"{r} (series {ids[r].item()!r}).",
                row=r,
                column=c,
            )

    def _shared(self, other: LaggedMoments) -> tuple[np.ndarray, np.ndarray]:
        """``(pos, found)``: where ``other``'s series sit among ours."""
        if self._ids.size == 0 or other._ids.size == 0:
            return _lookup(self._ids[:0], other._ids)
        if self._ids.shape == other._ids.shape and np.array_equal(self._ids, other._ids):
            return np.arange(self._ids.size), np.ones(self._ids.size, dtype=bool)
        return _lookup(self._ids, other._ids)

    def _compatible(self, other: Any) -> LaggedMoments:
        if not isinstance(other, LaggedMoments):
            raise TypeError(
                f"`other` must be a LaggedMoments state, but got {type(other).__name__}."
            )
        if other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} "
                f"and {other.params()}."
            )
        if (
            self._ids.size
            and other._ids.size
            and (self._ids.dtype.kind == "U") != (other._ids.dtype.kind == "U")
        ):
            raise TypeError("Series ids must be all strings or all integers in both states.")
        if None not in (self._time_kind, other._time_kind) and self._time_kind != other._time_kind:
            raise TypeError(
                f"States must share the dtype of their times to combine, but got "
                f"{self.time_dtype} and {other.time_dtype}."
            )
        pos, found = self._shared(other)
        a, b = self._rec.take(pos[found]), other._rec.take(found)
        mixed = a.has_time != b.has_time
        late = a.has_time & b.has_time & ~(b.first > a.last)
        bad = np.flatnonzero(mixed | late)
        if bad.size:
            i = int(bad[0])
            key = other._ids[found][i].item()
            if mixed[i]:
                raise ValueError(
                    f"Series {key!r} must be timed in both states or in neither to combine, "
                    f"but only one state holds its timestamps."
                )
            raise _order_error(
                key,
                b.first[i].item(),
                a.last[i].item(),
                None,
                "(the other state's first time after "
                "this state's last) in a merge: the other state must continue this one",
            )
        return other

    def straddle(self, other: Any) -> Moments:
        """Moments of the rows straddling the boundary when ``other`` continues ``self``
        (the rows :meth:`merge` adds besides both states' own rows).

        Raises :class:`SeriesOrderError` when timestamps show ``other`` does not continue us.
        """
        other = self._compatible(other)
        return self._straddle(other, *self._shared(other))

    def _straddle(self, other: LaggedMoments, pos: np.ndarray, found: np.ndarray) -> Moments:
        P = self.max_lag
        a, b = self._rec.take(pos[found]), other._rec.take(found)
        # each shared series: our tail, then the other's head; windows end in the head
        W = sliding_window_view(np.concatenate([a.tail, b.head], axis=1), P + 1, axis=1)
        k = np.arange(P)
        ok = (k < np.minimum(b.count, P)[:, None]) & (a.tail_len[:, None] + k >= P)
        X, t = _windows_to_rows(W[:, :P][ok], b.head_exog[ok], P)
        out = Moments(self.n_features, has_target=True)
        out.update(X, t)
        return out

    def merge(self, other: Any) -> None:
        """Absorb ``other``; for every series both hold, ``other``'s values come after ours.

        Adds both states' lag rows and, for shared series, the rows straddling the boundary
        (our tail followed by ``other``'s head). Series in only one state are simply added.
        With timestamps, ``other``'s first time of a shared series must follow our last time,
        else :class:`SeriesOrderError` (``row=None``) and nothing changes.
        """
        other = self._compatible(other)
        pos, found = self._shared(other)
        moments = self._moments.copy()
        moments.merge(other._moments)
        moments.merge(self.straddle(other))  # (a test double may override straddle)
        kind = self._time_kind or other._time_kind
        tdtype = self._tdtype(kind)
        a, b = self._rec.with_time_dtype(tdtype), other._rec.with_time_dtype(tdtype)
        ids, ia, ib = _union(self._ids, other._ids)
        rec = _Records.empty(len(ids), self.max_lag, self.n_exog, tdtype)
        rec.put(ia, a)
        rec.put(ib[~found], b.take(~found))
        rec.put(ib[found], _join(a.take(pos[found]), b.take(found), self.max_lag))
        # commit
        self._moments, self._ids, self._rec = moments, ids, rec
        self._time_kind = kind
        self._derived = {}

    # ------------------------------------------------------------------ round trip
    def copy(self) -> LaggedMoments:
        """An independent copy."""
        new = type(self)(self.max_lag, self.n_exog)
        new._moments = self._moments.copy()
        new._ids = self._ids.copy()
        new._rec = self._rec.copy()
        new._time_kind = self._time_kind
        return new

    def _masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Which head and tail slots are set, per series."""
        q, P = np.arange(self.max_lag), self.max_lag
        return q < np.minimum(self._rec.count, P)[:, None], q >= P - self._rec.tail_len[:, None]

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A JSON-able header and plain arrays (ids int64 or unicode; no object arrays).

        Heads and tails of all series are concatenated in id order; their lengths are
        ``min(count, max_lag)``, so the counts alone split them again. Times: ``has_time``
        (bool per series) and ``first_time``/``last_time`` (int64 or float64, 0 where unset).
        """
        rec = self._rec
        heads, tails = self._masks()
        m_header, m_arrays = self._moments.to_arrays()
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": self.n_rows,
            "moments": m_header,
            "time_dtype": None if self._time_kind is None else _TIME_DTYPES[self._time_kind],
        }
        arrays = {f"moments.{k}": v for k, v in m_arrays.items()}
        arrays["series_ids"] = self.series_ids
        arrays["counts"] = rec.count.copy()
        arrays["heads"] = rec.head[heads]
        arrays["head_exog"] = rec.head_exog[heads]
        arrays["tails"] = rec.tail[tails]
        tdtype = self._tdtype(self._time_kind)
        arrays["has_time"] = rec.has_time.copy()
        arrays["first_time"] = np.where(rec.has_time, rec.first, 0).astype(tdtype)
        arrays["last_time"] = np.where(rec.has_time, rec.last, 0).astype(tdtype)
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> LaggedMoments:
        """Inverse of :meth:`to_arrays`; checks lengths."""
        params = header["params"]
        new = cls(int(params["max_lag"]), int(params["n_exog"]))
        m_arrays = {k[len("moments.") :]: v for k, v in arrays.items() if k.startswith("moments.")}
        new._moments = Moments.from_arrays(header["moments"], m_arrays)
        ids = np.asarray(arrays["series_ids"])
        if ids.dtype.kind not in "iU":
            raise ValueError(f"Series ids must be int64 or unicode, but got dtype {ids.dtype}.")
        if ids.dtype.kind == "i":
            ids = ids.astype(np.int64)
        counts = np.asarray(arrays["counts"], dtype=np.int64)
        lengths = np.minimum(counts, new.max_lag)
        heads = np.asarray(arrays["heads"], dtype=np.float64)
        head_exog = np.asarray(arrays["head_exog"], dtype=np.float64)
        tails = np.asarray(arrays["tails"], dtype=np.float64)
        total = int(lengths.sum())
        if (
            ids.shape != counts.shape
            or heads.shape != (total,)
            or tails.shape != (total,)
            or head_exog.shape != (total, new.n_exog)
        ):
            raise ValueError(
                f"LaggedMoments arrays must hold {len(ids)} counts and {total} head and tail "
                f"values, but got {counts.shape}, {heads.shape}, {tails.shape}."
            )
        if ids.size > 1 and not (ids[1:] > ids[:-1]).all():
            raise ValueError("`series_ids` must be sorted and distinct, but they are not.")
        tdtype = header.get("time_dtype")
        if tdtype not in (None, "int64", "float64"):
            raise ValueError(f"`time_dtype` must be int64 or float64, but got {tdtype!r}.")
        new._time_kind = None if tdtype is None else np.dtype(tdtype).kind
        n = len(ids)
        has_time = np.asarray(arrays.get("has_time", np.zeros(n, dtype=bool)), dtype=bool)
        firsts = np.asarray(arrays.get("first_time", np.zeros(n)), dtype=tdtype or "float64")
        lasts = np.asarray(arrays.get("last_time", np.zeros(n)), dtype=tdtype or "float64")
        if not has_time.shape == firsts.shape == lasts.shape == (n,) or (
            tdtype is None and has_time.any()
        ):
            raise ValueError(
                f"LaggedMoments time arrays must hold one entry per series ({n}) and a "
                f"`time_dtype` when any is set, but got shapes {has_time.shape}, "
                f"{firsts.shape}, {lasts.shape} and time_dtype={tdtype!r}."
            )
        rec = _Records.empty(n, new.max_lag, new.n_exog, tdtype or "float64")
        rec.count[:], rec.tail_len[:], rec.has_time[:] = counts, lengths, has_time
        rec.first[:] = np.where(has_time, firsts, 0)
        rec.last[:] = np.where(has_time, lasts, 0)
        new._ids, new._rec = _tight(ids), rec
        head_mask, tail_mask = new._masks()
        rec.head[head_mask], rec.head_exog[head_mask], rec.tail[tail_mask] = heads, head_exog, tails
        if new.n_rows != int(header["n_rows"]):
            raise ValueError(
                f"`n_rows == sum(counts)` must hold, but got n_rows={header['n_rows']} and "
                f"sum(counts)={new.n_rows}."
            )
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        """Same series, counts, heads, tails and times (exactly) and moments within ``rtol``."""
        if not isinstance(other, LaggedMoments) or other.params() != self.params():
            return False
        if self._time_kind != other._time_kind:
            return False
        if self._ids.shape != other._ids.shape or (self._ids.dtype.kind == "U") != (
            other._ids.dtype.kind == "U"
        ):
            return False
        (ha, ta), (hb, tb) = self._masks(), other._masks()
        a, b = self._rec, other._rec
        same = (
            np.array_equal(self._ids, other._ids)
            and np.array_equal(a.count, b.count)
            and np.array_equal(a.has_time, b.has_time)
            and np.array_equal(a.first[a.has_time], b.first[b.has_time])
            and np.array_equal(a.last[a.has_time], b.last[b.has_time])
            and np.array_equal(ta, tb)
            and np.array_equal(a.head[ha], b.head[hb])
            and np.array_equal(a.head_exog[ha], b.head_exog[hb])
            and np.array_equal(a.tail[ta], b.tail[tb])
        )
        return bool(same) and self._moments.allclose(other._moments, rtol)

    def __repr__(self) -> str:
        return (
            f"LaggedMoments(max_lag={self.max_lag}, n_exog={self.n_exog}, "
            f"n_series={len(self._ids)}, n_rows={self.n_rows}, n_lag_rows={self.n_lag_rows})"
        )
