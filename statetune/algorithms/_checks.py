"""Hyperparameter checks in the error style of docs/design.md (invariant first, then what was found)."""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["check_bool", "check_in_range", "check_int_range"]


def check_in_range(
    name: str, value: Any, low: float, high: float = float("inf"), *, low_open: bool = False
) -> float:
    """``low <= value <= high`` (or ``low < value``) for a real number; returns it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, but got {value!r}.")
    v = float(value)
    ok = (v > low if low_open else v >= low) and v <= high
    if not ok:
        op = "<" if low_open else "<="
        upper = "" if high == float("inf") else f" <= {high:g}"
        raise ValueError(f"`{low:g} {op} {name}{upper}` must hold, but got {name}={value!r}.")
    return v


def check_int_range(name: str, value: Any, low: int, high: int, *, high_name: str = "") -> int:
    """``low <= value <= high`` for an integer; ``high_name`` explains where the bound comes from."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, but got {value!r}.")
    v = int(value)
    if not low <= v <= high:
        bound = f"{high_name}={high}" if high_name else str(high)
        raise ValueError(
            f"`{low} <= {name} <= {high_name or high}` must hold, but got {name}={v}"
            + (f", {bound}." if high_name else ".")
        )
    return v


def check_bool(name: str, value: Any) -> bool:
    """A plain bool (numpy bools accepted)."""
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise TypeError(f"`{name}` must be True or False, but got {value!r}.")
    return bool(value)
