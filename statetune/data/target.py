"""The target column: numbers (regression) or class labels (strings, categories, booleans).

Example
-------
>>> import numpy as np
>>> from statetune.data.target import target_values
>>> target_values(np.array(["a", "b"], dtype=object), "species", "the DataFrame")
(array(['a', 'b'], dtype='<U1'), 'labels')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["target_values"]


#: Integers beyond this are not all exact in float64: two labels could become one.
_EXACT = 2**53


def _exact_integers(big: np.ndarray, values: Any, name: str, where: str, first_row: int) -> None:
    """Integer targets become float64; refuse values float64 cannot hold exactly (``big``:
    where they are), since distinct ids such as 90071992547409931 and ...32 would become one
    class, or one value."""
    if big.any():
        r = int(np.flatnonzero(big)[0])
        value = values.iloc[r] if isinstance(values, pd.Series) else values[r]
        raise ValueError(
            f"Column {name!r} must hold integers within +-2**53 (the target is held as float64, "
            f"where larger ones are not all distinct), but {where} has {value} at row "
            f"{first_row + r}; give large ids as strings (class labels) or scale the numbers."
        )


def target_values(values: Any, name: str, where: str, first_row: int = 0) -> tuple[np.ndarray, str]:
    """``(array, kind)``: float64 numbers (NaN kept for the pass to report) or unicode/bool
    labels; a missing label is refused with its column and row."""
    if isinstance(values, pd.Series | pd.Categorical):
        series = pd.Series(values)
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            if pd.api.types.is_integer_dtype(series):
                big = ((series > _EXACT) | (series < -_EXACT)).fillna(False)
                _exact_integers(big.to_numpy(dtype=bool), series, name, where, first_row)
            return series.to_numpy(dtype=np.float64, na_value=np.nan), "numeric"
        missing = np.flatnonzero(series.isna().to_numpy())
        if missing.size:
            raise ValueError(
                f"Column {name!r} must hold a class label in every row, but {where} has none "
                f"at row {first_row + int(missing[0])}."
            )
        arr = series.to_numpy()
    else:
        arr = np.asarray(values)
    if arr.dtype.kind in "iuf":
        if arr.dtype.kind in "iu":
            _exact_integers((arr > _EXACT) | (arr < -_EXACT), arr, name, where, first_row)
        return arr.astype(np.float64, copy=False), "numeric"
    if arr.dtype.kind == "b":
        return arr, "labels"
    if arr.dtype.kind in "OUS":
        if arr.dtype.kind == "O":
            absent = [
                i for i, v in enumerate(arr) if v is None or (isinstance(v, float) and v != v)
            ]
            if absent:
                raise ValueError(
                    f"Column {name!r} must hold a class label in every row, but {where} has none "
                    f"at row {first_row + absent[0]}."
                )
            if all(
                isinstance(v, int | float | np.number) and not isinstance(v, bool)
                for v in arr[:1000]
            ):
                return arr.astype(np.float64), "numeric"
            is_str = np.fromiter((isinstance(v, str) for v in arr), bool, len(arr))
            if is_str.any() and not is_str.all():
                r = int(np.flatnonzero(is_str != is_str[0])[0])
                raise TypeError(
                    f"Column {name!r} must hold class labels of one kind (all strings or all "
                    f"numbers), but {where} holds {arr[0]!r} at row {first_row} and {arr[r]!r} "
                    f"at row {first_row + r}."
                )
        return arr.astype(str), "labels"
    raise TypeError(
        f"Column {name!r} must hold numbers or class labels, but {where} has it as {arr.dtype}."
    )
