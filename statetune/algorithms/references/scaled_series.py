"""Accurate oracle of the autoregression finalized from ``LaggedMoments`` on a series and
exogenous columns of very different scales (declared by the model class; see
:class:`~statetune.algorithms.references.ScaledReference`): statsmodels' ``AutoReg`` on the
standardized series and exogenous columns (``alpha = 0``), else ``lstsq`` on the same lag rows
with the ridge penalty as extra rows. The rows used depend on the state's ``max_lag``.

Example
-------
>>> import numpy as np
>>> from statetune.algorithms.references.scaled_case import ScaledCase
>>> from statetune.algorithms.references.scaled_series import ar_reference
>>> from statetune.states.lagged_moments import LaggedMoments
>>> y = np.sin(np.arange(60.0)) + 0.1 * np.cos(np.arange(60.0) ** 2)
>>> case = ScaledCase(np.empty((60, 0)), y, None, np.ones(0), np.zeros(0))
>>> ar_reference(case, np.arange(60), {"p": 2, "alpha": 0.1}, LaggedMoments(4))["coef"][0].shape
(2,)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.algorithms.references.scaled_case import (
    Expected,
    ScaledCase,
    View,
    _allow,
    _ridge_lstsq,
)

__all__ = ["ar_reference", "ar_view"]


def ar_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    phi = np.asarray(model.coef_)
    beta = np.asarray(model.exog_coef_)
    c = float(model.intercept_)
    sy, oy, sx, ox = case.y_scale, case.y_offset, case.scale, case.offset
    if int(model.d) == 0:
        level = c + oy * (phi.sum() - 1.0) + beta @ ox
        allow = _allow(c, oy * (1.0 + np.abs(phi).sum()), np.abs(beta) @ np.abs(ox))
    else:
        level = c + beta @ ox
        allow = _allow(c, np.abs(beta) @ np.abs(ox))
    return {
        "coef": (phi, 0.0),
        "exog_coef": (beta * sx / sy, 0.0),
        "intercept": (np.array([level / sy]), allow / sy),
    }


def ar_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any
) -> Expected:
    """The lag rows of one series in standardized units: statsmodels at ``alpha = 0``. The
    rows are those with ``state.max_lag`` predecessors."""
    max_lag = int(state.max_lag)
    p, d = int(params.get("p", 1)), int(params.get("d", 0))
    s_lag = int(params.get("seasonal_lag", 0))
    lags = list(range(1, p + 1)) + ([s_lag] if s_lag > p else [])
    trend = params.get("trend", "c")
    alpha = float(params.get("alpha", 0.0))
    Z, t = case.standardized(rows)
    u = np.diff(t, d) if d else t
    x = Z[d:]
    hold = max_lag - d
    if alpha == 0.0:
        from statsmodels.tsa.ar_model import AutoReg

        res = AutoReg(u, lags=lags, trend=trend, exog=x if x.shape[1] else None, hold_back=hold)
        params_sm = np.asarray(res.fit().params)
        c = params_sm[0] if trend == "c" else 0.0
        rest = params_sm[1:] if trend == "c" else params_sm
        phi, beta = rest[: len(lags)], rest[len(lags) :]
    else:
        T = np.arange(hold, u.shape[0])
        design = np.column_stack([u[T - j] for j in lags] + [x[T]])
        penalty = np.sqrt(alpha) / np.concatenate([np.full(len(lags), case.y_scale), case.scale])
        b, c = _ridge_lstsq(design, u[T], np.ones(T.size), penalty, trend == "c")
        phi, beta = b[: len(lags)], b[len(lags) :]
    return {
        "coef": (phi, max(1.0, float(np.abs(phi).max()))),
        "exog_coef": (beta, max(1.0, float(np.abs(beta).max(initial=0.0)))),
        "intercept": (np.array([c]), max(1.0, abs(float(c)))),
    }
