"""The linear bank's grid: its losses (of classification and of regression) and members
(every ``loss x alpha x l1 x eta0``), and the checks of each grid list (non-empty, numbers in
range, no repeats).

Example
-------
>>> from statetune.states._linear_grid import member_grid
>>> [m["loss"] for m in member_grid(["logistic", "hinge"], [1e-4], [0.0], [0.5])]
['logistic', 'hinge']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["EPS", "HUBER_DELTA", "LOSSES", "REGRESSION_LOSSES", "check_grid", "member_grid"]

LOSSES = ("logistic", "hinge", "squared")
#: The losses of a regression bank (of the residual in standardized target units).
REGRESSION_LOSSES = ("squared", "absolute", "huber")
#: Huber's threshold, in standard deviations of the target: quadratic within, linear beyond.
HUBER_DELTA = 1.0
EPS = 1e-8


def member_grid(
    loss: Sequence[str], alpha: Sequence[float], l1: Sequence[float], eta0: Sequence[float]
) -> list[dict[str, Any]]:
    """The bank's members in order: every ``(loss, alpha, l1, eta0)`` of the grid."""
    return [
        {"loss": lo, "alpha": float(a), "l1": float(r), "eta0": float(e)}
        for lo, a, r, e in itertools.product(loss, alpha, l1, eta0)
    ]


def check_grid(name: str, values: Any, low: float, strict: bool) -> list[float]:
    vals = list(values) if isinstance(values, list | tuple) else [values]
    if not vals:
        raise ValueError(f"The bank grid must not be empty, but `{name}` holds no value.")
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise TypeError(f"`{name}` must hold numbers, but got {v!r}.")
        f = float(v)
        if not np.isfinite(f) or f < low or (strict and f <= low):
            op = ">" if strict else ">="
            raise ValueError(f"`{name}` values must be finite and {op} {low}, but got {v!r}.")
        out.append(f)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` must not repeat a value, but got {vals}.")
    return out
