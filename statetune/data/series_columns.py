"""Series id and time columns of a source, as the pass needs them.

Ids become int64 or unicode arrays; times become int64 (integers, and datetimes as
nanoseconds since the epoch, time zones in UTC) or float64. A missing id or time is refused
with its column and row: a value whose series or time is unknown cannot be placed in order.

Example
-------
>>> import pandas as pd
>>> from statetune.data.series_columns import series_ids, time_values
>>> series_ids(pd.Series(["a", "b"]), "store", "the DataFrame").tolist()
['a', 'b']
>>> time_values(pd.Series(pd.to_datetime(["1970-01-01", "1970-01-02"])), "date", "x").tolist()
[0, 86400000000000]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["series_ids", "time_values"]


def _missing(s: pd.Series, name: str, where: str, first_row: int, what: str) -> None:
    absent = np.flatnonzero(s.isna().to_numpy())
    if absent.size:
        raise ValueError(
            f"Column {name!r} must hold a {what} in every row, but {where} has none at row "
            f"{first_row + int(absent[0])}."
        )


def _fits_int64(s: pd.Series, name: str, where: str) -> None:
    if (
        pd.api.types.is_unsigned_integer_dtype(s)
        and len(s)
        and int(s.max()) > np.iinfo(np.int64).max
    ):
        raise ValueError(
            f"Column {name!r} must fit in int64, but {where} holds {int(s.max())}; store it as "
            "text."
        )


def series_ids(values: Any, name: str, where: str, first_row: int = 0) -> np.ndarray:
    """Series ids as int64 (integers, integral floats, booleans) or unicode (anything else)."""
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    _missing(s, name, where, first_row, "series id")
    _fits_int64(s, name, where)
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
        return s.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(s):
        arr = s.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(arr != np.round(arr))
        if bad.size:
            raise ValueError(
                f"Column {name!r} must hold integer or text series ids, but {where} holds "
                f"{arr[bad[0]]} at row {first_row + int(bad[0])}."
            )
        return arr.astype(np.int64)
    return s.astype(str).to_numpy(dtype=str)


def time_values(values: Any, name: str, where: str, first_row: int = 0) -> np.ndarray:
    """Times as int64 (integers; datetimes in nanoseconds since the epoch) or float64."""
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    _missing(s, name, where, first_row, "time")
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("datetime64[ns]").to_numpy().view(np.int64)
    if pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s):
        _fits_int64(s, name, where)
        return s.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(s):
        arr = s.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(
                f"Column {name!r} must hold finite times, but {where} holds {arr[bad[0]]} at row "
                f"{first_row + int(bad[0])}."
            )
        return arr
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        # one format, inferred from the first value: a value in another format (dd/mm after
        # mm/dd...) is refused by row instead of being read with a different day order
        parsed = pd.to_datetime(s, utc=True, errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            r = int(bad[0])
            raise ValueError(
                f"Column {name!r} must hold times (datetimes or numbers), but {where} holds "
                f"{s.iloc[r]!r} at row {first_row + r}."
            )
        return time_values(parsed, name, where, first_row)
    raise TypeError(
        f"Column {name!r} must hold times (datetimes or numbers), but {where} has it as {s.dtype}."
    )
