"""Accurate oracles of the regressions and decompositions finalized from ``Moments`` on
features of very different scales (declared by the model classes; see
:class:`~statetune.algorithms.references.ScaledReference`).

- ``ols``, ``ridge``: ``lstsq`` on the standardized rows, the ridge penalty written as extra
  rows ``sqrt(alpha) / scale_j`` (least squares is equivariant under column scaling, and
  ``lstsq`` on columns of equal norm loses nothing to units); the intercept is not penalized.
- ``lasso``, ``elastic_net``: scikit-learn's ``ElasticNet`` on ``X - offset`` at ``tol=1e-12``
  gives the active set and signs; the optimality (KKT) conditions on that set are then solved
  exactly in standardized units and checked. Compared: the objective reached (relative), and
  the coefficients to 100 times the tolerance (coordinate descent stops on the duality gap,
  which bounds the objective; coefficients follow its square root on ill-conditioned data).
- ``standardize=True`` (ridge, lasso, elastic net, pcr): the penalty of each raw coefficient
  is weighted by its feature's standard deviation over the rows (computed from ``Z``), and
  PCR decomposes the rows divided by those deviations (``StandardScaler``'s fit).
- ``pca``, ``pcr``: scale-dependent by definition (the RAW covariance is decomposed), so their
  oracle decomposes the raw centered rows with LAPACK's Jacobi SVD (``gejsv``, ``JOBA='C'``:
  high relative accuracy under column scaling); scikit-learn's ``PCA`` uses ``gesdd``, whose
  small singular values have absolute errors ``eps * sigma_max``.

Example
-------
>>> import numpy as np
>>> from statetune.algorithms.references.scaled_case import ScaledCase
>>> from statetune.algorithms.references.scaled_regression import ols_reference
>>> X = np.c_[np.arange(5.0), np.arange(5.0) ** 2]; y = X @ [2.0, 1.0]
>>> case = ScaledCase(X, y, None, np.ones(2), np.zeros(2))
>>> ols_reference(case, np.arange(5), {})["coef"][0].round(6).tolist()
[2.0, 1.0]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from statetune.algorithms.references.scaled_case import (
    Expected,
    ScaledCase,
    View,
    _coef_ref,
    _jacobi_svd,
    _ridge_lstsq,
    _weights,
    regression_view,
)

__all__ = [
    "enet_reference",
    "enet_view",
    "ols_reference",
    "pca_reference",
    "pca_view",
    "pcr_reference",
    "ridge_reference",
]


def _penalty_units(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """What a raw coefficient's penalty divides by, in standardized units: ``scale_j``, or
    with ``standardize`` (the penalty on the raw coefficient times the training rows' standard
    deviation of feature ``j``) ``1 / sd(Z_j)``, ``Z`` the standardized rows."""
    if not params.get("standardize", False):
        return np.asarray(case.scale, dtype=np.float64)
    Z, _ = case.standardized(rows)
    w = _weights(case, rows)
    W = float(w.sum())
    sd = np.sqrt(w @ (Z - (w @ Z) / W) ** 2 / W)
    return np.where(sd > 0, 1.0 / np.where(sd > 0, sd, 1.0), case.scale)


def _centered_intercept(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], b: np.ndarray, c: Any
) -> float:
    """With ``standardize`` and no intercept the features are still centered (as by
    ``StandardScaler``): the intercept is ``-mean(Z) @ b``."""
    if params.get("standardize", False) and not params.get("fit_intercept", True):
        w = _weights(case, rows)
        return float(-((w @ case.standardized(rows)[0]) / w.sum()) @ b)
    return float(c)


def _fits_intercept(params: dict[str, Any]) -> bool:
    return bool(params.get("fit_intercept", True)) or bool(params.get("standardize", False))


def ols_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    Z, t = case.standardized(rows)
    fi = bool(params.get("fit_intercept", True))
    b, c = _ridge_lstsq(Z, t, _weights(case, rows), np.zeros(Z.shape[1]), fi)
    return _coef_ref(b, float(c))


def ridge_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    Z, t = case.standardized(rows)
    penalty = np.sqrt(float(params.get("alpha", 1.0))) / _penalty_units(case, rows, params)
    b, c = _ridge_lstsq(Z, t, _weights(case, rows), penalty, _fits_intercept(params))
    return _coef_ref(b, _centered_intercept(case, rows, params, b, c))


def enet_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    """scikit-learn's active set and signs, then the KKT system on it solved exactly."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet

    alpha = float(params.get("alpha", 1.0))
    l1 = float(params.get("l1_ratio", 1.0))
    fi = _fits_intercept(params)
    w = _weights(case, rows)
    u = _penalty_units(case, rows, params)
    raw_sd = case.scale / u  # 1 without standardize: the rows as given
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = ElasticNet(alpha=alpha, l1_ratio=l1, fit_intercept=fi, tol=1e-12, max_iter=10**6)
        sk.fit(
            (case.X[rows] - case.offset) / raw_sd,
            case.y[rows] - case.y_offset,
            sample_weight=None if case.w is None else w,
        )
        sk.coef_ = sk.coef_ / raw_sd
    s, sy = case.scale, case.y_scale
    Z, t = case.standardized(rows)
    W = float(w.sum())
    if fi:
        Zc, tc = Z - (w @ Z) / W, t - (w @ t) / W
    else:
        Zc, tc = Z, t
    b_sk = sk.coef_ * s / sy
    A = np.flatnonzero(sk.coef_ != 0)
    b = np.zeros(Z.shape[1])
    if A.size:
        sign = np.sign(sk.coef_[A])
        H = (Zc[:, A].T * w) @ Zc[:, A] / W + np.diag(alpha * (1 - l1) / u[A] ** 2)
        g = (Zc[:, A].T * w) @ tc / W - alpha * l1 * sign / (sy * u[A])
        e = np.sqrt(np.diagonal(H))
        b[A] = np.linalg.solve(H / np.outer(e, e), g / e) / e
        grad = (Zc.T * w) @ (tc - Zc @ b) / W - alpha * (1 - l1) * b / u**2
        bound = alpha * l1 / (sy * u)
        kkt = np.all(np.sign(b[A]) == sign) and np.all(
            np.abs(np.delete(grad, A)) <= np.delete(bound, A) * (1 + 1e-6) + 1e-12
        )
        if not kkt:  # the active set was not certified: fall back to scikit-learn's solution
            b = b_sk
    c_best = float((w @ t) / W - ((w @ Z) / W) @ b) if fi else 0.0
    out = _coef_ref(b, _centered_intercept(case, rows, params, b, c_best))
    # a stopping rule on the duality gap bounds the objective; on an ill-conditioned problem
    # the coefficients converge only like its square root: they get 100x the tolerance
    out["coef"] = (b, 100.0 * out["coef"][1])
    obj = _enet_objective(case, rows, params, b, c_best)
    out["objective"] = (np.array([obj]), max(obj, 1e-300))
    return out


def _enet_objective(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], b: np.ndarray, c: float
) -> float:
    """The elastic-net objective over ``y_scale**2`` at standardized ``(b, c)``."""
    alpha = float(params.get("alpha", 1.0))
    l1 = float(params.get("l1_ratio", 1.0))
    Z, t = case.standardized(rows)
    w = _weights(case, rows)
    r = t - Z @ b - c
    s, sy = _penalty_units(case, rows, params), case.y_scale
    penalty = alpha * l1 * np.sum(np.abs(b) / s) / sy + 0.5 * alpha * (1 - l1) * np.sum(
        (b / s) ** 2
    )
    return float(w @ r**2 / (2.0 * w.sum()) + penalty)


def enet_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    """Coefficients, intercept and the objective the coefficients reach on ``rows`` (with the
    best intercept for them: the intercept's own rounding next to offsets is checked apart)."""
    out = regression_view(model, case)
    b, c = out["coef"][0], 0.0
    if _fits_intercept(params):
        Z, t = case.standardized(rows)
        w = _weights(case, rows)
        c = float((w @ t) / w.sum() - ((w @ Z) / w.sum()) @ b)
    out["objective"] = (np.array([_enet_objective(case, rows, params, b, c)]), 0.0)
    return out


def pcr_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    """PCA of the raw rows (Jacobi SVD), then ridge on the scores (a division)."""
    w = _weights(case, rows)
    W = float(w.sum())
    raw_sd = case.scale / _penalty_units(case, rows, params)  # 1 without standardize
    Xr, tr = (case.X[rows] - case.offset) / raw_sd, case.y[rows] - case.y_offset
    sw = np.sqrt(w)
    Xw = sw[:, None] * (Xr - (w @ Xr) / W)
    yw = sw * (tr - (w @ tr) / W)
    sigma, V = _jacobi_svd(Xw)
    k = params.get("n_components")
    k = V.shape[1] if k is None else int(k)
    P = V[:, :k]
    gamma = (P.T @ (Xw.T @ yw)) / (sigma[:k] ** 2 + float(params.get("alpha", 0.0)))
    coef = P @ gamma / raw_sd
    b = coef * case.scale / case.y_scale
    Z, t = case.standardized(rows)
    return _coef_ref(b, float((w @ t) / W - ((w @ Z) / W) @ b))


def pca_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    return {
        "explained_variance": (np.asarray(model.explained_variance_), 0.0),
        "components": (np.asarray(model.components_), 0.0),
    }


def pca_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    w = _weights(case, rows)
    W = float(w.sum())
    Xr = case.X[rows] - case.offset
    sigma, V = _jacobi_svd(np.sqrt(w)[:, None] * (Xr - (w @ Xr) / W))
    k = params.get("n_components")
    k = V.shape[1] if k is None else int(k)
    ev = sigma**2 / (W - 1.0)
    comps = V.T.copy()
    idx = np.argmax(np.abs(comps), axis=1)
    comps *= np.sign(comps[np.arange(comps.shape[0]), idx])[:, None]
    gaps = np.array(
        [
            min([abs(ev[i] - ev[j]) / ev[i] for j in range(len(ev)) if j != i] or [1.0])
            for i in range(k)
        ]
    )
    return {
        "explained_variance": (ev[:k], ev[:k]),
        "components": (comps[:k], np.maximum(1.0, 1.0 / np.maximum(gaps, 1e-300))[:, None]),
    }
