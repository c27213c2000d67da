"""``standardize``: the moments of the standardized features, from the moments of the raw ones.

scikit-learn's ``StandardScaler`` maps each feature to ``(x_j - mean_j) / scale_j`` with the
*training* rows' (weighted) mean and population standard deviation, ``scale_j = 1`` for a
column it judges constant. That is an affine map of the features, so the moments of the
standardized training rows follow from the training state alone, no second pass:

- means: 0 for every feature (the target's mean is unchanged);
- centered co-moments: ``P^T C P`` with ``P = diag(1 / scale, 1)`` (centering is unchanged by
  the shift), each entry to the relative accuracy of ``C``'s own.

A finalizer run on that state fits ``Pipeline([StandardScaler(), estimator])``; its
coefficients ``b'`` map back to the raw features as ``b = b' / scale`` and its intercept
``c'`` as ``c = c' - mean @ b``, so the model predicts raw rows (and is scored on raw held-out
states) with no scaler step. With ``fit_intercept=False`` the scaler still centers the
features, as in the pipeline, so ``c = -mean @ b``.

A column is constant exactly when scikit-learn's test (Chan, Golub, LeVeque's bound on a
two-pass variance: ``var <= W eps var + (W mean eps)^2``) says so; its scale is 1.

Example
-------
>>> import numpy as np
>>> from statetune.states import Moments
>>> from statetune.algorithms._standardize import standardized
>>> s = Moments(2); s.update(np.array([[1.0, 5.0], [3.0, 5.0]]), np.array([0.0, 1.0]))
>>> z, sc = standardized(s)
>>> sc.scale.tolist(), np.diagonal(z.comoment).tolist()
([1.0, 1.0], [2.0, 0.0, 0.5])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from statetune.states import Moments

__all__ = ["Scaling", "constant_columns", "standardized"]

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Scaling:
    """The training rows' ``mean`` and ``scale`` of each feature (``StandardScaler``'s
    ``mean_`` and ``scale_``)."""

    mean: np.ndarray
    scale: np.ndarray


def constant_columns(var: np.ndarray, mean: np.ndarray, weight: float) -> np.ndarray:
    """scikit-learn's ``_is_constant_feature``: a variance within the rounding bound of a
    two-pass computation over ``weight`` rows."""
    return np.asarray(var <= weight * EPS * var + (weight * mean * EPS) ** 2)


def _standardize(state: Moments) -> tuple[Moments, Scaling]:
    d = state.n_features
    W = state.weight_sum
    mean = state.mean[:d].copy()
    var = np.maximum(np.diagonal(state.comoment)[:d], 0.0) / W
    scale = np.sqrt(var)
    scale[constant_columns(var, mean, W)] = 1.0
    p = d + int(state.has_target)
    inv = np.ones(p)
    inv[:d] = 1.0 / scale
    out = Moments(d, state.has_target)
    out._n_rows, out._weight = state._n_rows, state._weight
    out._shift = np.zeros(p)
    out._mean = np.zeros(p)
    if state.has_target:
        out._shift[d], out._mean[d] = state._shift[d], state._mean[d]
    out._com = state.comoment * np.outer(inv, inv)
    return out, Scaling(mean, scale)


def standardized(state: Moments) -> tuple[Moments, Scaling]:
    """The moments of ``state``'s rows with standardized features, and the scaling used
    (memoized on ``state``: it does not depend on hyperparameters)."""
    return state.derived("standardized", lambda: _standardize(state))
