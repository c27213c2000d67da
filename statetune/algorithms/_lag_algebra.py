"""Linear algebra of lags: the moments of a differenced lag vector from :class:`LaggedMoments`.

With ``z_t = [y_{t-1}, ..., y_{t-P}, x_t, y_t]`` summarized by the state, the vector
``[Δ^d y_{t-j} for j in lags, x_t, Δ^d y_t]`` is ``D z_t`` for a fixed matrix ``D``, so its
moments are ``D C D^T`` and ``D m``: autoregressions of any lag set (within ``max_lag``) and
difference order finalize without a second pass.

Example
-------
>>> import numpy as np
>>> from statetune.states.lagged_moments import LaggedMoments
>>> s = LaggedMoments(max_lag=3)
>>> difference_matrix(s, [1, 2], d=1)  # rows: Δy_{t-1}, Δy_{t-2}, Δy_t
array([[ 1., -1.,  0.,  0.],
       [ 0.,  1., -1.,  0.],
       [-1.,  0.,  0.,  1.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb
from typing import Any

import numpy as np

from statetune.states import Moments
from statetune.states.lagged_moments import LaggedMoments

__all__ = [
    "centers",
    "difference_matrix",
    "differenced",
    "held_out_sse",
    "level_coefficients",
]


def _diff_weights(d: int) -> np.ndarray:
    """``a_k`` with ``Δ^d y_t = sum_k a_k y_{t-k}``: ``(-1)^k C(d, k)``."""
    return np.array([(-1.0) ** k * comb(d, k) for k in range(d + 1)])


def _lag_list(lags: int | Sequence[int]) -> list[int]:
    return list(range(1, int(lags) + 1)) if isinstance(lags, int | np.integer) else list(lags)


def difference_matrix(
    state: LaggedMoments, lags: int | Sequence[int], d: int, exog: bool = False
) -> np.ndarray:
    """``D`` mapping the state's row ``[y_{t-1}, ..., y_{t-P}, x_t, y_t]`` to
    ``[Δ^d y_{t-j} for j in lags, (x_t if exog), Δ^d y_t]``; ``lags`` an int ``p`` means
    ``1..p``. Requires ``max(lags) + d <= P``."""
    P, e = state.max_lag, state.n_exog
    js = _lag_list(lags)
    n_x = e if exog else 0

    def col(k: int) -> int:  # column of y_{t-k}
        return P + e if k == 0 else k - 1

    a = _diff_weights(d)
    D = np.zeros((len(js) + n_x + 1, P + e + 1))
    for out, j in enumerate([*js, 0]):
        row = len(js) + n_x if j == 0 else out
        for k, ak in enumerate(a):
            D[row, col(j + k)] += ak
    for i in range(n_x):
        D[len(js) + i, P + i] = 1.0
    return D


def level_coefficients(coef: np.ndarray, d: int, lags: Sequence[int] | None = None) -> np.ndarray:
    """``b`` with ``y_t = c + sum_j b_j y_{t-j}`` (``j = 1..max(lags)+d``) for the integrated
    model ``Δ^d y_t = c + sum_i coef_i Δ^d y_{t-lags_i}`` (``lags`` default ``1..len(coef)``)."""
    js = list(range(1, coef.shape[0] + 1)) if lags is None else list(lags)
    a = _diff_weights(d)
    b = np.zeros(max(js, default=0) + d)
    b[:d] -= a[1:]
    for j, phi in zip(js, coef, strict=True):
        b[j - 1 : j - 1 + d + 1] += phi * a
    return b


def centers(state: LaggedMoments, center: float) -> np.ndarray:
    """``center`` on the state's ``y`` columns (lags and target), 0 on exogenous columns."""
    c = np.full(state.n_features + 1, center)
    c[state.max_lag : state.max_lag + state.n_exog] = 0.0
    return c


def differenced(
    state: LaggedMoments, lags: Sequence[int], d: int, exog: bool
) -> tuple[Moments, np.ndarray, float]:
    """(Moments of the differenced lag vector, its mean relative to ``center``, ``center``).

    ``center`` is the state's shift of ``y_t`` (a value near the data); the means relative to it
    are formed from shift differences, so series around 1e9 keep their digits. Memoized on the
    state (dropped when it changes).
    """
    key = ("autoregressive", tuple(lags), d, exog)

    def build() -> tuple[Moments, np.ndarray, float]:
        m = state.moments
        D = difference_matrix(state, lags, d, exog)
        center = float(m.shift[-1])
        cvec = centers(state, center)
        rel = D @ (np.asarray(m.shift) - cvec) + D @ m.mean_from_shift
        shift = D @ np.asarray(m.shift) if d == 0 else D @ (np.asarray(m.shift) - cvec)
        header = {
            "params": {"n_features": D.shape[0] - 1, "has_target": True},
            "n_rows": m.n_rows,
            "weight_sum": m.weight_sum,
        }
        arrays = {
            "shift": shift,
            "mean": D @ m.mean_from_shift,
            "comoment": D @ np.asarray(m.comoment) @ D.T,
        }
        return Moments.from_arrays(header, arrays), rel, center

    return state.derived(key, build)


def held_out_sse(
    train: Any, held: LaggedMoments, v: np.ndarray, cvec: np.ndarray, intercept: float = 0.0
) -> tuple[float, float]:
    """``(SSE, weight)`` of the one-step residuals ``v . z_t - intercept`` over every held-out
    target: ``held``'s lag rows plus, when ``train`` is a :class:`LaggedMoments` that ``held``
    continues, the rows straddling the boundary (``train.straddle(held)``). Per set of rows
    ``SSE = v^T C v + W e^2``, the mean residual ``e`` formed relative to ``cvec`` (centers on
    the ``y`` columns) so series far from zero keep their digits."""
    parts = [held.moments]
    if isinstance(train, LaggedMoments):
        parts.append(train.straddle(held))
    sse = weight = 0.0
    for m in parts:
        if m.n_rows == 0:
            continue
        e = float(v @ ((np.asarray(m.shift) - cvec) + m.mean_from_shift)) - intercept
        sse += max(float(v @ m.comoment @ v), 0.0) + m.weight_sum * e * e
        weight += m.weight_sum
    return sse, weight
