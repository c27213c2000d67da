"""Held-out scores of a linear predictor computed from the held-out fold's ``Moments``.

For held-out rows with weights ``w``, ``SSE = sum w (y - X b - c)^2 = v^T C_h v + W_h e^2`` with
``v = [-b, 1]``, ``C_h`` the held-out centered co-moments and ``e`` the mean residual. When the
intercept was fitted on the training state, ``e = (mu_h,y - mu_t,y) - (mu_h,x - mu_t,x) b`` is
formed from mean *offsets*, so large column offsets cost no precision.

Example
-------
>>> import numpy as np
>>> from statetune.states import Moments
>>> from statetune.algorithms._linear_metrics import linear_held_out_score
>>> X = np.arange(10.0)[:, None]; y = 2 * X[:, 0] + 1
>>> t, h = Moments(1), Moments(1); t.update(X[:5], y[:5]); h.update(X[5:], y[5:])
>>> float(linear_held_out_score(np.array([2.0]), 1.0, True, t, h, "mse"))
0.0
"""

from __future__ import annotations

import numpy as np

from statetune.states import Moments

__all__ = [
    "REGRESSION_METRICS",
    "REGRESSION_MAXIMIZE",
    "check_r2_rows",
    "linear_held_out_score",
    "unknown_metric",
]

REGRESSION_METRICS = ("mse", "rmse", "r2")
REGRESSION_MAXIMIZE = {"mse": False, "rmse": False, "r2": True}


def unknown_metric(model: str, metric: str, available: tuple[str, ...]) -> ValueError:
    return ValueError(
        f"`metric` must be one {model} can compute from held-out moments ({', '.join(available)}), "
        f"but got {metric!r}."
    )


def check_r2_rows(n_rows: int) -> None:
    """``r2`` of fewer than two held-out rows is refused: R^2 is not defined there
    (scikit-learn's ``r2_score`` warns and gives nan), and scoring it 0.0 or 1.0 by the
    constant-target rule would let a study with such folds rank trials on nothing.

    >>> check_r2_rows(1)
    Traceback (most recent call last):
    ...
    ValueError: `r2` needs 2 or more held-out rows (R^2 is not defined for one; scikit-learn's r2_score gives nan), but the held-out fold has 1; use fewer folds, or `mse`.
    """
    if n_rows < 2:
        raise ValueError(
            "`r2` needs 2 or more held-out rows (R^2 is not defined for one; scikit-learn's "
            f"r2_score gives nan), but the held-out fold has {n_rows}; use fewer folds, or `mse`."
        )


def linear_held_out_score(
    coef: np.ndarray,
    intercept: float,
    fit_intercept: bool,
    train: Moments,
    held: Moments,
    metric: str,
) -> float:
    """MSE, RMSE or R^2 on the held-out rows summarized by ``held`` (weighted if weights were)."""
    if metric not in REGRESSION_METRICS:
        raise unknown_metric("a linear regressor", metric, REGRESSION_METRICS)
    if held.weight_sum <= 0:
        raise ValueError(
            "`held-out weight > 0` must hold to score, but the held-out fold is empty."
        )
    v = np.append(-np.asarray(coef, dtype=np.float64), 1.0)
    if fit_intercept:
        e = float(train.mean_offset(held) @ v)
    else:
        e = float(held.mean @ v) - intercept
    sse = max(float(v @ held.comoment @ v), 0.0) + held.weight_sum * e * e
    mse = sse / held.weight_sum
    if metric == "mse":
        return mse
    if metric == "rmse":
        return float(np.sqrt(mse))
    check_r2_rows(held.n_rows)
    ss_tot = float(held.comoment[-1, -1])
    if ss_tot <= 0.0:
        return 1.0 if sse == 0.0 else 0.0  # scikit-learn's convention for a constant target
    return 1.0 - sse / ss_tot
