"""Per-series records of :class:`~statetune.states.lagged_moments.LaggedMoments` and the
vectorized lag-row algebra behind it (one stable sort by series, tails prepended, sliding
windows), kept apart so the state's file holds the state.

Example
-------
>>> import numpy as np
>>> from statetune.states._series_records import lag_rows
>>> X, y = lag_rows(np.array([1.0]), np.array([2.0, 3.0]), np.empty((2, 0)), 1)
>>> X.ravel().tolist(), y.tolist()
([1.0, 2.0], [2.0, 3.0])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from statetune.states._base import NonFiniteError

if TYPE_CHECKING:
    from statetune.states.lagged_moments import LaggedMoments

__all__ = ["DEFAULT_SERIES", "SeriesOrderError", "grouped_lag_rows", "lag_rows"]

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
class _Records:
    """What a state keeps of each of ``S`` series besides the pooled moments, as arrays.

    Rows follow the state's sorted ids. Heads are left-aligned and tails right-aligned in
    ``P`` slots, zero-padded: a head holds ``min(count, P)`` values, a tail ``tail_len``
    (``min(count, P)`` too, unless a test double forgets it). Unset times are 0.
    """

    count: np.ndarray  # int64 (S,)
    head: np.ndarray  # (S, P): first values
    head_exog: np.ndarray  # (S, P, n_exog): their exogenous rows
    tail: np.ndarray  # (S, P): last values, right-aligned
    tail_len: np.ndarray  # int64 (S,)
    has_time: np.ndarray  # bool (S,)
    first: np.ndarray  # (S,) int64 or float64: time of the first value
    last: np.ndarray  # (S,) time of the last value

    @classmethod
    def empty(cls, n: int, max_lag: int, n_exog: int, tdtype: Any = np.float64) -> _Records:
        z = np.zeros(n, dtype=np.int64)
        t = np.zeros(n, dtype=tdtype)
        return cls(
            z,
            np.zeros((n, max_lag)),
            np.zeros((n, max_lag, n_exog)),
            np.zeros((n, max_lag)),
            z.copy(),
            np.zeros(n, dtype=bool),
            t,
            t.copy(),
        )

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def take(self, idx: np.ndarray) -> _Records:
        """The records at ``idx`` (an index array or boolean mask), as copies."""
        return _Records(*(a[idx] for a in self.arrays()))

    def copy(self) -> _Records:
        return _Records(*(a.copy() for a in self.arrays()))

    def put(self, idx: np.ndarray, other: _Records) -> None:
        for a, b in zip(self.arrays(), other.arrays(), strict=True):
            a[idx] = b

    def with_time_dtype(self, tdtype: Any) -> _Records:
        return dataclasses.replace(
            self,
            first=self.first.astype(tdtype, copy=False),
            last=self.last.astype(tdtype, copy=False),
        )


def _join(a: _Records, b: _Records, P: int) -> _Records:
    """Records of segments ``a`` followed by segments ``b`` (row by row), vectorized."""
    q = np.arange(P)
    k = q - np.minimum(a.count, P)[:, None]  # head slot q comes from b's head[k] when k >= 0
    kk = np.clip(k, 0, P - 1)
    head = np.where(k >= 0, np.take_along_axis(b.head, kk, 1), a.head)
    head_exog = np.where(
        (k >= 0)[:, :, None], np.take_along_axis(b.head_exog, kk[:, :, None], 1), a.head_exog
    )
    from_b = q >= P - b.tail_len[:, None]  # else a's value b.tail_len slots further right
    ka = np.clip(q + b.tail_len[:, None], 0, P - 1)
    tail = np.where(from_b, b.tail, np.take_along_axis(a.tail, ka, 1))
    tail_len = np.minimum(a.tail_len + b.tail_len, P)
    tail[q < P - tail_len[:, None]] = 0.0
    return _Records(
        a.count + b.count,
        head,
        head_exog,
        tail,
        tail_len,
        a.has_time | b.has_time,
        np.where(a.count > 0, a.first, b.first),
        np.where(b.count > 0, b.last, a.last),
    )


def _tight(ids: np.ndarray) -> np.ndarray:
    """Unicode ids in the narrowest width (as ``np.array(list, dtype=str)`` gives)."""
    if ids.dtype.kind == "U" and ids.size:
        return ids.astype(f"U{max(1, int(np.char.str_len(ids).max()))}")
    return ids


def _lookup(ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pos, found)``: where each key sits in the sorted ``ids`` (pos valid where found)."""
    if ids.size == 0:
        return np.zeros(len(keys), dtype=np.intp), np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(ids, keys), ids.size - 1)
    return pos, ids[pos] == keys


def _union(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted union of two sorted id arrays and where each side's ids land in it."""
    if a.size == 0:
        return b.copy(), np.zeros(0, dtype=np.intp), np.arange(b.size)
    if b.size == 0 or (a.shape == b.shape and np.array_equal(a, b)):
        return a.copy(), np.arange(a.size), np.arange(b.size)
    merged, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    return _tight(merged), inv[: a.size], inv[a.size :]


def _gather(values: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``values[idx]`` where ``valid``, zero elsewhere (``idx`` clipped into range)."""
    if len(values) == 0:
        return np.zeros(idx.shape + values.shape[1:])
    out = values[np.clip(idx, 0, len(values) - 1)]
    out[~valid] = 0.0
    return out


def _windows_to_rows(W: np.ndarray, exog: np.ndarray, P: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[y_{t-P}, ..., y_t]`` (one per row) and ``x_t`` as ``(X, y_t)``."""
    X = np.empty((W.shape[0], P + exog.shape[1]))
    X[:, :P] = W[:, P - 1 :: -1] if P > 1 else W[:, :1]
    X[:, P:] = exog
    return X, W[:, P].copy()


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


def grouped_lag_rows(
    tails: np.ndarray, tail_len: np.ndarray, values: np.ndarray, exog: np.ndarray, sizes: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lag rows of many series at once, each continuing its tail.

    ``values`` (and ``exog``) hold the new values of ``G`` series one after the other, series
    ``g`` taking ``sizes[g]`` consecutive entries; ``tails`` (G, P) holds each series' last
    ``tail_len[g]`` earlier values, right-aligned. Every series is preceded by its tail in one
    extended array and the windows of ``sliding_window_view`` ending at values with ``P``
    predecessors become the rows, in the order of ``values``: no loop over series.

    Returns ``(X, y_t, has_row, new_tails, new_tail_len)``: ``has_row`` marks the entries of
    ``values`` that gave a row, ``new_tails`` the series' last ``P`` values (right-aligned).

    Examples
    --------
    >>> import numpy as np
    >>> X, t, has, tails, n = grouped_lag_rows(
    ...     np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([1, 0]),
    ...     np.array([2.0, 3.0, 10.0, 11.0, 12.0]), np.empty((5, 0)), [2, 3])
    >>> X.tolist(), t.tolist(), has.tolist(), tails.tolist(), n.tolist()
    ([[2.0, 1.0], [11.0, 10.0]], [3.0, 12.0], [False, True, False, False, True], [[2.0, 3.0], [11.0, 12.0]], [2, 2])
    """
    G, P = tails.shape
    n = values.shape[0]
    sizes = np.asarray(sizes, dtype=np.int64)
    group = np.repeat(np.arange(G), sizes)
    starts = np.cumsum(sizes) - sizes
    ext = np.empty(G * P + n)
    seg = np.arange(G) * P + starts  # where group g's tail begins in ext
    ext[(seg[:, None] + np.arange(P)).ravel()] = tails.ravel()
    ext[np.arange(n) + (group + 1) * P] = values
    has_row = tail_len[group] + (np.arange(n) - starts[group]) >= P
    win = np.flatnonzero(has_row) + group[has_row] * P  # window start = value's index - P
    X, t = _windows_to_rows(sliding_window_view(ext, P + 1)[win], exog[has_row], P)
    new_len = np.minimum(tail_len + sizes, P)
    new_tails = ext[(seg + sizes)[:, None] + np.arange(P)]
    new_tails[np.arange(P) < P - new_len[:, None]] = 0.0
    return X, t, has_row, new_tails, new_len


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


class _SeriesView:
    """One series' record, read from (and, for ``tail``, written to) the state's arrays."""

    def __init__(self, state: LaggedMoments, i: int) -> None:
        self._state, self._i = state, i

    @property
    def count(self) -> int:
        return int(self._state._rec.count[self._i])

    @property
    def head(self) -> np.ndarray:
        return self._state._rec.head[self._i, : min(self.count, self._state.max_lag)].copy()

    @property
    def head_exog(self) -> np.ndarray:
        return self._state._rec.head_exog[self._i, : min(self.count, self._state.max_lag)].copy()

    @property
    def tail(self) -> np.ndarray:
        rec, P = self._state._rec, self._state.max_lag
        return rec.tail[self._i, P - int(rec.tail_len[self._i]) :].copy()

    @tail.setter
    def tail(self, values: np.ndarray) -> None:
        rec, P = self._state._rec, self._state.max_lag
        values = np.asarray(values, dtype=np.float64)[-P:]
        rec.tail[self._i] = 0.0
        rec.tail[self._i, P - len(values) :] = values
        rec.tail_len[self._i] = len(values)

    @property
    def first_time(self) -> Any:
        rec = self._state._rec
        return rec.first[self._i].item() if rec.has_time[self._i] else None

    @property
    def last_time(self) -> Any:
        rec = self._state._rec
        return rec.last[self._i].item() if rec.has_time[self._i] else None
