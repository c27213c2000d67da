"""Accurate oracles of the classifiers finalized from ``ClassMoments`` on features of very
different scales (declared by the model classes; see
:class:`~statetune.algorithms.references.ScaledReference`).

- ``lda`` without shrinkage and ``qda`` with ``reg_param = 0`` predict the same after a column
  scaling: scikit-learn fitted on the standardized rows. With shrinkage (raw units, as ours),
  ``lda`` is scikit-learn's on ``X - offset`` (the shrunk covariance is well conditioned in raw
  units); ``qda`` with ``reg_param > 0`` is the Gaussian with covariance
  ``(1 - r) cov + r I`` formed in standardized units and inverted by an equilibrated Cholesky.
  Whether QDA must raise (scalings ``<= tol`` in raw units) is decided from the Jacobi SVD of
  the raw class rows.
- ``ridge_classifier``: ``lstsq`` on the standardized rows against the +-1 class indicators,
  the penalty as extra rows (as ridge regression's oracle).
- ``gaussian_nb``: scikit-learn's on ``X - offset`` (it works per column: nothing to solve).

Example
-------
>>> import numpy as np
>>> from statetune.algorithms.references.scaled_case import ScaledCase
>>> from statetune.algorithms.references.scaled_classifiers import gaussian_nb_reference
>>> X = np.array([[0.0], [2.0], [10.0], [14.0]]); y = np.array(["a", "a", "b", "b"])
>>> case = ScaledCase(X, y, None, np.ones(1), np.zeros(1))
>>> gaussian_nb_reference(case, np.arange(4), {})["theta"][0].ravel().tolist()
[1.0, 12.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.algorithms.references.scaled_case import (
    Expected,
    ScaledCase,
    View,
    _allow,
    _jacobi_svd,
    _ridge_lstsq,
    _spd_inverse_logdet,
    _weights,
)

__all__ = [
    "gaussian_nb_reference",
    "gaussian_nb_view",
    "lda_reference",
    "lda_view",
    "linear_classifier_view",
    "qda_reference",
    "qda_view",
    "ridge_classifier_reference",
]


# --------------------------------------------------------------------------- classification
def linear_classifier_view(
    model: Any, case: ScaledCase, rows: Any = None, params: Any = None
) -> View:
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    icpt = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    return {
        "coef": (coef * case.scale, 0.0),
        "intercept": (icpt + coef @ case.offset, _allow(icpt, np.abs(coef) @ np.abs(case.offset))),
    }


def _linear_classifier_ref(coef: np.ndarray, icpt: np.ndarray) -> Expected:
    coef, icpt = np.atleast_2d(coef), np.atleast_1d(icpt)
    return {
        "coef": (coef, max(1.0, float(np.abs(coef).max()))),
        "intercept": (icpt, max(1.0, float(np.abs(icpt).max()))),
    }


def _class_contrasts(out: dict[str, tuple[np.ndarray, Any]]) -> dict[str, tuple[np.ndarray, Any]]:
    """LDA's per-class coefficients ``Sigma^-1 mu_c`` move with the features' offsets by the
    same ``Sigma^-1 o`` for every class (and the intercepts by a common constant): only their
    differences between classes decide (scikit-learn's and ours alike). Compare those; each
    class's own row is rounded at its size, which the allowance carries over."""
    coef, icpt = out["coef"], out["intercept"]
    if coef[0].shape[0] == 1:
        return out
    out = dict(out)
    allow = coef[1] + _allow(np.abs(coef[0]).max(axis=0))
    out["coef"] = (coef[0] - coef[0].mean(axis=0), allow)
    out["intercept"] = (icpt[0] - icpt[0].mean(), icpt[1] + _allow(np.abs(icpt[0]).max()))
    return out


def lda_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    out = _class_contrasts(linear_classifier_view(model, case))
    if model.solver == "eigen":
        out["explained_variance_ratio"] = (np.asarray(model.explained_variance_ratio_), 0.0)
    return out


def lda_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    solver = params.get("solver", "eigen")
    shrinkage = params.get("shrinkage")
    sk = LinearDiscriminantAnalysis(solver=solver, shrinkage=shrinkage)
    if not shrinkage:  # equivariant under column scaling: fit the standardized rows
        Z, y = case.standardized(rows)
        sk.fit(Z, y)
        coef = sk.coef_
    else:  # shrinkage acts in raw units: raw scales, offsets removed
        sk.fit(case.X[rows] - case.offset, case.y[rows])
        coef = sk.coef_ * case.scale
    out = _class_contrasts(_linear_classifier_ref(coef, sk.intercept_))
    if solver == "eigen":
        out["explained_variance_ratio"] = (sk.explained_variance_ratio_, 1.0)
    return out


def qda_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    s, o = case.scale, case.offset
    precs, logdets = [], []
    for R, S in zip(model.rotations_, model.scalings_, strict=True):
        precs.append(((R / S) @ R.T) * np.outer(s, s))
        logdets.append(float(np.sum(np.log(S)) - 2.0 * np.sum(np.log(s))))
    means = np.asarray(model.means_)
    return {
        "means": ((means - o) / s, _allow(means) / s),
        "precision": (np.array(precs), 0.0),
        "logdet": (np.array(logdets), 0.0),
    }


def qda_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    r = float(params.get("reg_param", 0.0))
    tol = float(params.get("tol", 1.0e-4))
    Z, y = case.standardized(rows)
    Xr = case.X[rows] - case.offset
    d = Z.shape[1]
    means, precs, logdets = [], [], []
    for c in np.unique(y):
        mask = y == c
        Xc = Xr[mask] - Xr[mask].mean(axis=0)
        sigma, _ = _jacobi_svd(Xc) if mask.sum() >= d else (np.zeros(d), None)
        scaling = (1.0 - r) * sigma**2 / mask.sum() + r  # raw units, as scikit-learn decides
        if mask.sum() <= d or np.sum(scaling > tol) < d:
            raise np.linalg.LinAlgError(f"class {c!r}: covariance not of full rank at tol={tol}")
        Zc = Z[mask] - Z[mask].mean(axis=0)
        cov = (1.0 - r) * (Zc.T @ Zc) / mask.sum() + np.diag(r / case.scale**2)
        prec, logdet = _spd_inverse_logdet(cov)
        means.append(Z[mask].mean(axis=0))
        precs.append(prec)
        logdets.append(logdet)
    P = np.array(precs)
    diag = np.sqrt(np.einsum("kii->ki", P))
    return {
        "means": (np.array(means), 1.0),
        "precision": (P, np.einsum("ki,kj->kij", diag, diag)),
        "logdet": (np.array(logdets), float(d)),
    }


def ridge_classifier_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    Z, y = case.standardized(rows)
    classes = np.unique(y)
    cols = classes[1:] if len(classes) == 2 else classes
    Y = np.where(y[:, None] == cols[None, :], 1.0, -1.0)
    fi = bool(params.get("fit_intercept", True))
    penalty = np.sqrt(float(params.get("alpha", 1.0))) / case.scale
    b, c = _ridge_lstsq(Z, Y, _weights(case, rows), penalty, fi)
    return _linear_classifier_ref(np.asarray(b).T, np.atleast_1d(c))


def gaussian_nb_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    theta = np.asarray(model.theta_)
    return {
        "theta": ((theta - case.offset) / case.scale, _allow(theta) / case.scale),
        "var": (np.asarray(model.var_) / case.scale**2, 0.0),
    }


def gaussian_nb_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], state: Any = None
) -> Expected:
    from sklearn.naive_bayes import GaussianNB

    sk = GaussianNB(var_smoothing=float(params.get("var_smoothing", 1e-9)))
    sk.fit(case.X[rows] - case.offset, case.y[rows])
    var = sk.var_ / case.scale**2
    return {"theta": (sk.theta_ / case.scale, 1.0), "var": (var, var)}
