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
commutative (the order rule replaces commutativity, as DESIGN.md allows).

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from statetune.states._base import FORMAT_VERSION, NonFiniteError, register_state
from statetune.states.moments import Moments

__all__ = ["LaggedMoments", "SeriesOrderError", "lag_rows"]

#: The id of the series when ``update`` is called without ``series``.
DEFAULT_SERIES = 0
_TIME_DTYPES = {"i": "int64", "f": "float64"}


class SeriesOrderError(ValueError):
    """Timestamps of a series do not increase; the state was not changed.

    ``row`` is the position within the batch handed to ``update`` (``None`` for a merge);
    ``series`` is the id of the series.
    """

    def __init__(self, message: str, row: int | None, series: Any) -> None:
        super().__init__(message)
        self.row = row
        self.series = series


@dataclass
class _Series:
    """What a state keeps of one series besides the pooled moments."""

    count: int
    head: np.ndarray  # first min(count, P) values
    head_exog: np.ndarray  # their exogenous rows, shape (len(head), n_exog)
    tail: np.ndarray  # last min(count, P) values
    first_time: int | float | None = None  # time of the first value (None: untimed)
    last_time: int | float | None = None  # time of the last value

    def copy(self) -> _Series:
        return _Series(
            self.count,
            self.head.copy(),
            self.head_exog.copy(),
            self.tail.copy(),
            self.first_time,
            self.last_time,
        )


def lag_rows(
    before: np.ndarray, values: np.ndarray, exog: np.ndarray, max_lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lag rows ``([y_{t-1}, ..., y_{t-P}, x_t], y_t)`` for every ``y_t`` in ``values`` that has
    ``max_lag`` predecessors in ``concat(before, values)``.

    ``before`` holds at most ``max_lag`` values (a tail), so every window of the concatenation
    ends inside ``values``: no row is produced twice. Built with ``sliding_window_view``.
    """
    P = max_lag
    s = np.concatenate([before, values])
    n_rows = s.shape[0] - P
    if n_rows <= 0:
        return np.empty((0, P + exog.shape[1])), np.empty(0)
    W = sliding_window_view(s, P + 1)
    X = np.empty((n_rows, P + exog.shape[1]))
    X[:, :P] = W[:, P - 1 :: -1] if P > 1 else W[:, :1]
    X[:, P:] = exog[exog.shape[0] - n_rows :]
    return X, W[:, P].copy()


def _as_series_ids(series: Any, n: int) -> np.ndarray:
    """Series ids as int64 or unicode (floats must be integral; None and NaN refused)."""
    if series is None:
        return np.full(n, DEFAULT_SERIES, dtype=np.int64)
    arr = np.asarray(series)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"`series` must be 1-dimensional with one id per value ({n}), but got shape "
            f"{arr.shape}."
        )
    if arr.dtype == object:
        kinds = {type(v) for v in arr.tolist()}
        if all(issubclass(k, str) for k in kinds):
            arr = arr.astype(str)
        elif all(issubclass(k, int | np.integer) for k in kinds):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(
                f"Series ids must be all integers or all strings, but got types "
                f"{sorted(k.__name__ for k in kinds)}."
            )
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
        if bad.size:
            raise ValueError(
                f"Series ids must be integers or strings, but position {int(bad[0])} holds "
                f"{arr[bad[0]]}."
            )
    if arr.dtype.kind in "biuf":
        return arr.astype(np.int64)
    if arr.dtype.kind == "U":
        return arr
    raise TypeError(f"Series ids must be integers or strings, but got dtype {arr.dtype}.")


def _as_times(time: Any, n: int) -> np.ndarray | None:
    """Timestamps as int64 (integers; datetimes become nanoseconds) or finite float64."""
    if time is None:
        return None
    arr = np.asarray(time)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"`time` must be 1-dimensional with one time per value ({n}), but got shape "
            f"{arr.shape}."
        )
    if arr.dtype.kind == "M":
        nat = np.flatnonzero(np.isnat(arr))
        if nat.size:
            r = int(nat[0])
            raise NonFiniteError(
                f"Timestamps must be set, but position {r} holds NaT.", row=r, column="time"
            )
        return arr.astype("datetime64[ns]").view(np.int64)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"`time <= 2**63 - 1` must hold (int64), but got {int(arr.max())}.")
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float64, copy=False)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            r = int(bad[0])
            raise NonFiniteError(
                f"Timestamps must be finite, but position {r} holds {arr[r]}.",
                row=r,
                column="time",
            )
        return arr
    raise TypeError(f"`time` must hold integers, floats or datetimes, but got dtype {arr.dtype}.")


def _order_error(key: Any, later: Any, earlier: Any, row: int | None, where: str) -> Exception:
    return SeriesOrderError(
        f"Timestamps must increase within each series, but series {key!r} has {later} after "
        f"{earlier} {where}.",
        row=row,
        series=key,
    )


@register_state
class LaggedMoments:
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
        self._series: dict[Any, _Series] = {}
        self._derived: dict[Any, Any] = {}
        self._time_kind: str | None = None  # "i" (int64) or "f" (float64) once times are seen

    # ------------------------------------------------------------------ properties
    @property
    def n_rows(self) -> int:
        """Values absorbed, over all series."""
        return sum(s.count for s in self._series.values())

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
        keys = sorted(self._series)
        if keys and isinstance(keys[0], str):
            return np.array(keys, dtype=str)
        return np.array(keys, dtype=np.int64)

    def counts(self) -> dict[Any, int]:
        """Values seen per series id."""
        return {k: self._series[k].count for k in sorted(self._series)}

    def tail(self, series: Any = DEFAULT_SERIES) -> np.ndarray:
        """The last ``min(count, max_lag)`` values of a series (a copy)."""
        return self._get(series).tail.copy()

    def head(self, series: Any = DEFAULT_SERIES) -> np.ndarray:
        """The first ``min(count, max_lag)`` values of a series (a copy)."""
        return self._get(series).head.copy()

    def time_span(self, series: Any = DEFAULT_SERIES) -> tuple[Any, Any] | None:
        """``(first time, last time)`` of a series, or ``None`` when it was given no times."""
        s = self._get(series)
        return None if s.first_time is None else (s.first_time, s.last_time)

    @property
    def time_dtype(self) -> np.dtype | None:
        """``int64`` or ``float64`` once any series was given times, else ``None``."""
        return None if self._time_kind is None else np.dtype(_TIME_DTYPES[self._time_kind])

    def _get(self, series: Any) -> _Series:
        key = series.item() if isinstance(series, np.generic) else series
        try:
            return self._series[key]
        except KeyError:
            raise KeyError(
                f"`series` must be one of the state's series ids, but got {series!r}."
            ) from None

    def params(self) -> dict[str, Any]:
        """The state parameters: what changes the summary (never hyperparameters)."""
        return {"max_lag": self.max_lag, "n_exog": self.n_exog}

    def derived(self, key: Any, compute: Callable[[], Any]) -> Any:
        """Memoize a quantity derived from this state; dropped on every change."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

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
        if self._series and (ids.dtype.kind == "U") != isinstance(next(iter(self._series)), str):
            raise TypeError(
                "Series ids must be all strings or all integers, but this batch mixes kinds "
                "with the state's ids."
            )
        uniq, inverse = np.unique(ids, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(inverse, minlength=len(uniq)))))
        new: dict[Any, _Series] = {}
        Xs, ys = [], []
        errors: list[tuple[int, Exception]] = []
        for i, key in enumerate(uniq.tolist()):
            rows = order[bounds[i] : bounds[i + 1]]
            vals, ex = y[rows], E[rows]
            old = self._series.get(key) or self._empty()
            span: tuple[Any, Any] = (None, None)
            if times is not None:
                err = self._check_times(key, old, rows, times[rows])
                if err is not None:
                    errors.append(err)
                    continue
                span = (times[rows[0]].item(), times[rows[-1]].item())
            elif old.first_time is not None:
                errors.append(
                    (
                        int(rows[0]),
                        ValueError(
                            f"`time` must be given for series {key!r}, which holds timestamps, "
                            f"but this batch has none (position {int(rows[0])})."
                        ),
                    )
                )
                continue
            X, t = lag_rows(old.tail, vals, ex, self.max_lag)
            Xs.append(X)
            ys.append(t)
            new[key] = self._joined(old, _Series(len(vals), vals, ex, vals, *span))
        if errors:
            raise min(errors, key=lambda e: e[0])[1]
        moments = self._moments.copy()
        moments.update(np.concatenate(Xs), np.concatenate(ys))
        # commit
        self._moments = moments
        self._series.update(new)
        self._time_kind = kind
        self._derived = {}

    @staticmethod
    def _check_times(
        key: Any, old: _Series, rows: np.ndarray, tt: np.ndarray
    ) -> tuple[int, Exception] | None:
        """The first order violation of one series' batch times, as ``(position, error)``."""
        if old.count and old.first_time is None:
            r = int(rows[0])
            return r, ValueError(
                f"`time` must be omitted for series {key!r}, which was updated without "
                f"timestamps, but this batch gives times (position {r})."
            )
        if old.last_time is not None and not tt[0] > old.last_time:
            r = int(rows[0])
            return r, _order_error(
                key, tt[0].item(), old.last_time, r, f"(the state's last time) at position {r}"
            )
        bad = np.flatnonzero(~(tt[1:] > tt[:-1]))
        if bad.size:
            j = int(bad[0]) + 1
            r = int(rows[j])
            return r, _order_error(key, tt[j].item(), tt[j - 1].item(), r, f"at position {r}")
        return None

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

    def _empty(self) -> _Series:
        return _Series(0, np.empty(0), np.empty((0, self.n_exog)), np.empty(0))

    def _joined(self, a: _Series, b: _Series) -> _Series:
        """Head, tail and count of segment ``a`` followed by segment ``b``."""
        P = self.max_lag
        return _Series(
            a.count + b.count,
            np.concatenate([a.head, b.head])[:P].copy(),
            np.concatenate([a.head_exog, b.head_exog])[:P].copy(),
            np.concatenate([a.tail, b.tail])[-P:].copy(),
            a.first_time if a.count else b.first_time,
            b.last_time if b.count else a.last_time,
        )

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
            self._series
            and other._series
            and isinstance(next(iter(self._series)), str)
            != isinstance(next(iter(other._series)), str)
        ):
            raise TypeError("Series ids must be all strings or all integers in both states.")
        if None not in (self._time_kind, other._time_kind) and self._time_kind != other._time_kind:
            raise TypeError(
                f"States must share the dtype of their times to combine, but got "
                f"{self.time_dtype} and {other.time_dtype}."
            )
        for key in sorted(set(self._series) & set(other._series)):
            a, b = self._series[key], other._series[key]
            if (a.first_time is None) != (b.first_time is None):
                raise ValueError(
                    f"Series {key!r} must be timed in both states or in neither to combine, "
                    f"but only one state holds its timestamps."
                )
            if a.last_time is not None and not b.first_time > a.last_time:  # type: ignore[operator]
                raise _order_error(
                    key,
                    b.first_time,
                    a.last_time,
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
        Xs, ys = [np.empty((0, self.n_features))], [np.empty(0)]
        for key in sorted(set(self._series) & set(other._series)):
            a, b = self._series[key], other._series[key]
            X, t = lag_rows(a.tail, b.head, b.head_exog, self.max_lag)
            Xs.append(X)
            ys.append(t)
        out = Moments(self.n_features, has_target=True)
        out.update(np.concatenate(Xs), np.concatenate(ys))
        return out

    def merge(self, other: Any) -> None:
        """Absorb ``other``; for every series both hold, ``other``'s values come after ours.

        Adds both states' lag rows and, for shared series, the rows straddling the boundary
        (our tail followed by ``other``'s head). Series in only one state are simply added.
        With timestamps, ``other``'s first time of a shared series must follow our last time,
        else :class:`SeriesOrderError` (``row=None``) and nothing changes.
        """
        other = self._compatible(other)
        moments = self._moments.copy()
        moments.merge(other._moments)
        moments.merge(self.straddle(other))
        series = {k: s.copy() for k, s in self._series.items()}
        for key, b in other._series.items():
            series[key] = self._joined(series[key], b) if key in series else b.copy()
        # commit
        self._moments, self._series = moments, series
        self._time_kind = self._time_kind or other._time_kind
        self._derived = {}

    # ------------------------------------------------------------------ round trip
    def copy(self) -> LaggedMoments:
        """An independent copy."""
        new = type(self)(self.max_lag, self.n_exog)
        new._moments = self._moments.copy()
        new._series = {k: s.copy() for k, s in self._series.items()}
        new._time_kind = self._time_kind
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A JSON-able header and plain arrays (ids int64 or unicode; no object arrays).

        Heads and tails of all series are concatenated in id order; their lengths are
        ``min(count, max_lag)``, so the counts alone split them again. Times: ``has_time``
        (bool per series) and ``first_time``/``last_time`` (int64 or float64, 0 where unset).
        """
        keys = sorted(self._series)
        recs = [self._series[k] for k in keys]
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
        arrays["counts"] = np.array([s.count for s in recs], dtype=np.int64)
        arrays["heads"] = np.concatenate([np.empty(0)] + [s.head for s in recs])
        arrays["head_exog"] = np.concatenate(
            [np.empty((0, self.n_exog))] + [s.head_exog for s in recs]
        )
        arrays["tails"] = np.concatenate([np.empty(0)] + [s.tail for s in recs])
        tdtype = _TIME_DTYPES.get(self._time_kind or "f", "float64")
        arrays["has_time"] = np.array([s.first_time is not None for s in recs], dtype=bool)
        for name in ("first_time", "last_time"):
            vals = [getattr(s, name) for s in recs]
            arrays[name] = np.array([0 if v is None else v for v in vals], dtype=tdtype)
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
        ends = np.cumsum(lengths)
        for i, (key, c, b, e) in enumerate(
            zip(ids.tolist(), counts.tolist(), ends - lengths, ends, strict=True)
        ):
            span = (firsts[i].item(), lasts[i].item()) if has_time[i] else (None, None)
            new._series[key] = _Series(
                int(c), heads[b:e].copy(), head_exog[b:e].copy(), tails[b:e].copy(), *span
            )
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
        if sorted(self._series) != sorted(other._series):
            return False
        for key, a in self._series.items():
            b = other._series[key]
            if (a.count, a.first_time, a.last_time) != (b.count, b.first_time, b.last_time) or not (
                np.array_equal(a.head, b.head)
                and np.array_equal(a.head_exog, b.head_exog)
                and np.array_equal(a.tail, b.tail)
            ):
                return False
        return self._moments.allclose(other._moments, rtol)

    def __repr__(self) -> str:
        return (
            f"LaggedMoments(max_lag={self.max_lag}, n_exog={self.n_exog}, "
            f"n_series={len(self._series)}, n_rows={self.n_rows}, n_lag_rows={self.n_lag_rows})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_derived"] = {}
        return state
