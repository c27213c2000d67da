"""Accuracy on features whose scales span many orders of magnitude: a reusable check and its
independent references (re-exported by :mod:`statetune.testing`).

A :class:`ScaledCase` holds rows ``X = Z * scale + offset`` (column by column; for regression
also ``y = t * y_scale + y_offset``), with ``Z`` and ``t`` on unit scales. Quantities are compared
in those *standardized units* (a coefficient times its feature's scale over the target's scale,
a precision matrix times the scales on both sides, ...), where an error of ``rtol`` means the
same for every feature whatever its units. :func:`assert_accurate_on_scaled_features`
finalizes an algorithm from the states of all rows and of every training fold
(``compute_states``), fits the algorithm's reference on the same rows, and compares.

References are independent of the code under test and accurate on such data themselves:

- ``ols``, ``ridge``, ``ridge_classifier``, ``autoregressive`` with ``alpha > 0``: ``lstsq`` on
  the standardized rows, the ridge penalty written as extra rows ``sqrt(alpha) / scale_j``
  (least squares is equivariant under column scaling, and ``lstsq`` on columns of equal norm
  loses nothing to units); the intercept is not penalized.
- ``lasso``, ``elastic_net``: scikit-learn's ``ElasticNet`` on ``X - offset`` at ``tol=1e-12``
  gives the active set and signs; the optimality (KKT) conditions on that set are then solved
  exactly in standardized units and checked. Compared: the objective reached (relative), and
  the coefficients to 100 times the tolerance (coordinate descent stops on the duality gap,
  which bounds the objective; coefficients follow its square root on ill-conditioned data).
- ``pca``, ``pcr``: scale-dependent by definition (the RAW covariance is decomposed), so their
  reference decomposes the raw centered rows with LAPACK's Jacobi SVD (``gejsv``, ``JOBA='C'``:
  high relative accuracy under column scaling); scikit-learn's ``PCA`` uses ``gesdd``, whose
  small singular values have absolute errors ``eps * sigma_max``.
- ``lda`` without shrinkage and ``qda`` with ``reg_param = 0`` predict the same after a column
  scaling: scikit-learn fitted on the standardized rows. With shrinkage (raw units, as ours),
  ``lda`` is scikit-learn's on ``X - offset`` (the shrunk covariance is well conditioned in raw
  units); ``qda`` with ``reg_param > 0`` is the Gaussian with covariance
  ``(1 - r) cov + r I`` formed in standardized units and inverted by an equilibrated Cholesky.
  Whether QDA must raise (scalings ``<= tol`` in raw units) is decided from the Jacobi SVD of
  the raw class rows.
- ``gaussian_nb``: scikit-learn's on ``X - offset`` (it works per column: nothing to solve).
- ``autoregressive``: statsmodels' ``AutoReg`` on the standardized series and exogenous columns
  (``alpha = 0``), else the ridge reference above on the same lag rows. All rows only: the
  series folds are time blocks, checked elsewhere.

Example
-------
>>> from statetune.testing import assert_accurate_on_scaled_features, make_scaled_case
>>> case = make_scaled_case("ols", 200, 3, log10_scales=[-3.0, 4.0, 12.0], seed=0)
>>> errors = assert_accurate_on_scaled_features("ols", case, {})
>>> bool(max(errors.values()) < 1e-7)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import lapack

from statetune.algorithms import get_algorithm
from statetune.states.capabilities import Ordered

__all__ = [
    "SCALED_FEATURE_EXEMPT",
    "SCALED_FEATURE_REFERENCES",
    "ScaledCase",
    "assert_accurate_on_scaled_features",
    "make_scaled_case",
    "scaled_feature_errors",
]

EPS = float(np.finfo(np.float64).eps)

#: Quantity name -> (value, norm): the reference's value in standardized units and what an
#: error is measured against (the error is ``|ours - ref| / norm``, less the allowance).
Reference = dict[str, tuple[np.ndarray, Any]]
#: Quantity name -> (value, allowance): our value in standardized units and the rounding that
#: the model's own representation forces (e.g. an intercept next to offsets of 1e9).
View = dict[str, tuple[np.ndarray, Any]]


@dataclass(frozen=True)
class ScaledCase:
    """Rows ``X = Z * scale + offset`` (and a regression target ``y = t * y_scale + y_offset``;
    for series ``y`` is the series and ``X`` its exogenous columns). ``w``: sample weights."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray | None
    scale: np.ndarray
    offset: np.ndarray
    y_scale: float = 1.0
    y_offset: float = 0.0

    def standardized(self, rows: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, Any]:
        """``((X - offset) / scale, (y - y_offset) / y_scale)`` of ``rows`` (labels unchanged).
        ``X - offset`` is exact where the offset dominates (Sterbenz)."""
        Z = (self.X[rows] - self.offset) / self.scale
        y = self.y[rows]
        if np.issubdtype(np.asarray(y).dtype, np.floating):
            y = (y - self.y_offset) / self.y_scale
        return Z, y

    @property
    def has_offsets(self) -> bool:
        return bool(np.any(self.offset != 0.0) or self.y_offset != 0.0)


def make_scaled_case(
    algorithm: str,
    n: int,
    d: int,
    *,
    log10_scales: Sequence[float],
    offsets: Sequence[float] | None = None,
    y_log10_scale: float = 0.0,
    y_offset: float = 0.0,
    seed: int = 0,
    weighted: bool = False,
) -> ScaledCase:
    """``statetune.testing.data_for(algorithm, ...)`` with its feature columns put on the scales
    ``10 ** log10_scales`` and shifted by ``offsets`` (the target too, for regressions and
    series). Classifiers get no weights (scikit-learn's discriminant analyses take none)."""
    from statetune.testing import data_for, make_series_data

    alg = get_algorithm(algorithm)
    scale = 10.0 ** np.asarray(log10_scales, dtype=np.float64)
    offset = np.zeros(d) if offsets is None else np.asarray(offsets, dtype=np.float64)
    if issubclass(alg.model.state_class, Ordered):
        Z, t, _ = make_series_data(n, d, seed=seed, n_series=1)
        w = None
    else:
        Z, t, w = data_for(algorithm, n, d, seed=seed, weighted=weighted)
        if alg.task == "classification":
            w, y_log10_scale, y_offset = None, 0.0, 0.0
    y_scale = 10.0**y_log10_scale
    y = t * y_scale + y_offset if np.issubdtype(np.asarray(t).dtype, np.floating) else t
    return ScaledCase(Z * scale + offset, np.asarray(y), w, scale, offset, y_scale, y_offset)


# --------------------------------------------------------------------------- numerics helpers
def _lstsq(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``lstsq`` after scaling ``A``'s columns to unit norm (then unscaled)."""
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0
    return np.asarray(
        np.linalg.lstsq(A / norms, b, rcond=None)[0] / (norms[:, None] if b.ndim > 1 else norms)
    )


def _spd_inverse_logdet(M: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverse and log-determinant of a positive definite ``M`` by Cholesky of ``M`` scaled to a
    unit diagonal."""
    e = np.sqrt(np.diagonal(M))
    L = np.linalg.cholesky(M / np.outer(e, e))
    Li = np.linalg.inv(L)
    return (Li.T @ Li) / np.outer(e, e), 2.0 * float(np.sum(np.log(np.diagonal(L)) + np.log(e)))


def _jacobi_svd(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Singular values (descending) and right singular vectors of ``A`` (rows >= columns) to
    high relative accuracy under column scaling (LAPACK ``gejsv``, ``JOBA='C'``)."""
    sva, _, V, work, _, info = lapack.dgejsv(
        np.asarray(A, dtype=np.float64), joba=0, jobu=3, jobv=0
    )
    assert info == 0, f"reference Jacobi SVD failed (info={info})"
    sigma = sva * (work[0] / work[1])
    order = np.argsort(sigma)[::-1]
    return sigma[order], V[:, order]


def _weights(case: ScaledCase, rows: np.ndarray) -> np.ndarray:
    return np.ones(rows.size) if case.w is None else np.asarray(case.w)[rows]


def _allow(*terms: Any) -> Any:
    """Rounding allowance of a quantity formed from terms of these magnitudes."""
    return 8.0 * EPS * sum(np.abs(t) for t in terms)


# --------------------------------------------------------------------------- regression
def _regression_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    coef = np.asarray(model.coef_, dtype=np.float64)
    icpt = float(model.intercept_)
    s, o = case.scale, case.offset
    b = coef * s / case.y_scale
    c = (icpt + o @ coef - case.y_offset) / case.y_scale
    return {
        "coef": (b, 0.0),
        "intercept": (
            np.array([c]),
            _allow(icpt, np.abs(o) @ np.abs(coef), case.y_offset) / case.y_scale,
        ),
    }


def _coef_ref(b: np.ndarray, c: float) -> Reference:
    return {
        "coef": (b, max(1.0, float(np.abs(b).max(initial=0.0)))),
        "intercept": (np.array([c]), max(1.0, abs(c))),
    }


def _ridge_lstsq(
    Z: np.ndarray, y: np.ndarray, w: np.ndarray, penalty: np.ndarray, fit_intercept: bool
) -> tuple[np.ndarray, Any]:
    """``argmin sum w (y - Z b - c)^2 + sum (penalty_j b_j)^2`` by ``lstsq`` on the rows
    stacked over the penalty rows; ``y`` may have several columns. Returns ``(b, c)``."""
    sw = np.sqrt(w)
    d = Z.shape[1]
    A = sw[:, None] * Z
    if fit_intercept:
        A = np.column_stack([A, sw])
    pen = np.zeros((d, A.shape[1]))
    pen[np.arange(d), np.arange(d)] = penalty
    keep = penalty > 0
    A = np.vstack([A, pen[keep]])
    Y = sw[:, None] * y if y.ndim > 1 else sw * y
    Y = np.concatenate([Y, np.zeros((int(keep.sum()), *y.shape[1:]))])
    sol = _lstsq(A, Y)
    return (sol[:d], sol[d] if fit_intercept else 0.0 * sol[0])


def _ols_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
    Z, t = case.standardized(rows)
    fi = bool(params.get("fit_intercept", True))
    b, c = _ridge_lstsq(Z, t, _weights(case, rows), np.zeros(Z.shape[1]), fi)
    return _coef_ref(b, float(c))


def _ridge_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
    Z, t = case.standardized(rows)
    fi = bool(params.get("fit_intercept", True))
    penalty = np.sqrt(float(params.get("alpha", 1.0))) / case.scale
    b, c = _ridge_lstsq(Z, t, _weights(case, rows), penalty, fi)
    return _coef_ref(b, float(c))


def _enet_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
    """scikit-learn's active set and signs, then the KKT system on it solved exactly."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet

    alpha = float(params.get("alpha", 1.0))
    l1 = float(params.get("l1_ratio", 1.0))
    fi = bool(params.get("fit_intercept", True))
    w = _weights(case, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = ElasticNet(alpha=alpha, l1_ratio=l1, fit_intercept=fi, tol=1e-12, max_iter=10**6)
        sk.fit(
            case.X[rows] - case.offset,
            case.y[rows] - case.y_offset,
            sample_weight=None if case.w is None else w,
        )
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
        H = (Zc[:, A].T * w) @ Zc[:, A] / W + np.diag(alpha * (1 - l1) / s[A] ** 2)
        g = (Zc[:, A].T * w) @ tc / W - alpha * l1 * sign / (sy * s[A])
        e = np.sqrt(np.diagonal(H))
        b[A] = np.linalg.solve(H / np.outer(e, e), g / e) / e
        grad = (Zc.T * w) @ (tc - Zc @ b) / W - alpha * (1 - l1) * b / s**2
        bound = alpha * l1 / (sy * s)
        kkt = np.all(np.sign(b[A]) == sign) and np.all(
            np.abs(np.delete(grad, A)) <= np.delete(bound, A) * (1 + 1e-6) + 1e-12
        )
        if not kkt:  # the active set was not certified: fall back to scikit-learn's solution
            b = b_sk
    c = float((w @ t) / W - ((w @ Z) / W) @ b) if fi else 0.0
    out = _coef_ref(b, c)
    # a stopping rule on the duality gap bounds the objective; on an ill-conditioned problem
    # the coefficients converge only like its square root: they get 100x the tolerance
    out["coef"] = (b, 100.0 * out["coef"][1])
    obj = _enet_objective(case, rows, params, b, c)
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
    s, sy = case.scale, case.y_scale
    penalty = alpha * l1 * np.sum(np.abs(b) / s) / sy + 0.5 * alpha * (1 - l1) * np.sum(
        (b / s) ** 2
    )
    return float(w @ r**2 / (2.0 * w.sum()) + penalty)


def _enet_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    """Coefficients, intercept and the objective the coefficients reach on ``rows`` (with the
    best intercept for them: the intercept's own rounding next to offsets is checked apart)."""
    out = _regression_view(model, case)
    b, c = out["coef"][0], 0.0
    if params.get("fit_intercept", True):
        Z, t = case.standardized(rows)
        w = _weights(case, rows)
        c = float((w @ t) / w.sum() - ((w @ Z) / w.sum()) @ b)
    out["objective"] = (np.array([_enet_objective(case, rows, params, b, c)]), 0.0)
    return out


def _pcr_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
    """PCA of the raw rows (Jacobi SVD), then ridge on the scores (a division)."""
    w = _weights(case, rows)
    W = float(w.sum())
    Xr, tr = case.X[rows] - case.offset, case.y[rows] - case.y_offset
    sw = np.sqrt(w)
    Xw = sw[:, None] * (Xr - (w @ Xr) / W)
    yw = sw * (tr - (w @ tr) / W)
    sigma, V = _jacobi_svd(Xw)
    k = params.get("n_components")
    k = V.shape[1] if k is None else int(k)
    P = V[:, :k]
    gamma = (P.T @ (Xw.T @ yw)) / (sigma[:k] ** 2 + float(params.get("alpha", 0.0)))
    coef = P @ gamma
    b = coef * case.scale / case.y_scale
    Z, t = case.standardized(rows)
    return _coef_ref(b, float((w @ t) / W - ((w @ Z) / W) @ b))


def _pca_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    return {
        "explained_variance": (np.asarray(model.explained_variance_), 0.0),
        "components": (np.asarray(model.components_), 0.0),
    }


def _pca_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
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


# --------------------------------------------------------------------------- classification
def _linear_classifier_view(
    model: Any, case: ScaledCase, rows: Any = None, params: Any = None
) -> View:
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    icpt = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    return {
        "coef": (coef * case.scale, 0.0),
        "intercept": (icpt + coef @ case.offset, _allow(icpt, np.abs(coef) @ np.abs(case.offset))),
    }


def _linear_classifier_ref(coef: np.ndarray, icpt: np.ndarray) -> Reference:
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


def _lda_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    out = _class_contrasts(_linear_classifier_view(model, case))
    if model.solver == "eigen":
        out["explained_variance_ratio"] = (np.asarray(model.explained_variance_ratio_), 0.0)
    return out


def _lda_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
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


def _qda_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
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


def _qda_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
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


def _ridge_classifier_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any]
) -> Reference:
    Z, y = case.standardized(rows)
    classes = np.unique(y)
    cols = classes[1:] if len(classes) == 2 else classes
    Y = np.where(y[:, None] == cols[None, :], 1.0, -1.0)
    fi = bool(params.get("fit_intercept", True))
    penalty = np.sqrt(float(params.get("alpha", 1.0))) / case.scale
    b, c = _ridge_lstsq(Z, Y, _weights(case, rows), penalty, fi)
    return _linear_classifier_ref(np.asarray(b).T, np.atleast_1d(c))


def _gaussian_nb_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
    theta = np.asarray(model.theta_)
    return {
        "theta": ((theta - case.offset) / case.scale, _allow(theta) / case.scale),
        "var": (np.asarray(model.var_) / case.scale**2, 0.0),
    }


def _gaussian_nb_reference(case: ScaledCase, rows: np.ndarray, params: dict[str, Any]) -> Reference:
    from sklearn.naive_bayes import GaussianNB

    sk = GaussianNB(var_smoothing=float(params.get("var_smoothing", 1e-9)))
    sk.fit(case.X[rows] - case.offset, case.y[rows])
    var = sk.var_ / case.scale**2
    return {"theta": (sk.theta_ / case.scale, 1.0), "var": (var, var)}


# --------------------------------------------------------------------------- series
def _ar_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
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


def _ar_reference(
    case: ScaledCase, rows: np.ndarray, params: dict[str, Any], max_lag: int
) -> Reference:
    """The lag rows of one series in standardized units: statsmodels at ``alpha = 0``."""
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


# --------------------------------------------------------------------------- registry + check
def _bind_lag(max_lag: int) -> Callable[[ScaledCase, np.ndarray, dict[str, Any]], Reference]:
    return lambda case, rows, params: _ar_reference(case, rows, params, max_lag)


#: Registry name -> (reference on the case's rows, view of our model): see the module docstring.
SCALED_FEATURE_REFERENCES: dict[
    str,
    tuple[
        Callable[[ScaledCase, np.ndarray, dict[str, Any]], Reference],
        Callable[[Any, ScaledCase, np.ndarray, dict[str, Any]], View],
    ],
] = {
    "ols": (_ols_reference, _regression_view),
    "ridge": (_ridge_reference, _regression_view),
    "lasso": (_enet_reference, _enet_view),
    "elastic_net": (_enet_reference, _enet_view),
    "pca": (_pca_reference, _pca_view),
    "pcr": (_pcr_reference, _regression_view),
    "lda": (_lda_reference, _lda_view),
    "qda": (_qda_reference, _qda_view),
    "gaussian_nb": (_gaussian_nb_reference, _gaussian_nb_view),
    "ridge_classifier": (_ridge_classifier_reference, _linear_classifier_view),
    "autoregressive": (_bind_lag(8), _ar_view),  # rebound to the state's max_lag when run
}

#: Registered algorithms the check does not apply to, and why.
SCALED_FEATURE_EXEMPT: dict[str, str] = {
    name: "counts: its features are event counts (no scale to choose) and nothing is solved"
    for name in ("multinomial_nb", "complement_nb", "bernoulli_nb")
}
SCALED_FEATURE_EXEMPT["baseline"] = "reads the target only: no feature enters, nothing is solved"


def _compare(ref: Reference, ours: View) -> dict[str, float]:
    out = {}
    for key, (value, norm) in ref.items():
        mine, allow = ours[key]
        mine, value = np.asarray(mine, dtype=np.float64), np.asarray(value, dtype=np.float64)
        assert mine.shape == value.shape, f"{key}: shape {mine.shape} != reference {value.shape}"
        excess = np.maximum(np.abs(mine - value) - allow, 0.0) / norm
        out[key] = float(np.max(excess, initial=0.0))
    return out


def _fold_rows(states: Any, kind: Any, X: np.ndarray, w: np.ndarray | None) -> list[np.ndarray]:
    """Each fold's rows, found from the fold rule (every K-th row of a group: one residue
    modulo K per fold for fewer than 65,536 K rows) by matching each held-out state's row
    count and feature means (relative to the state's shift, which keeps them exact next to large
    offsets; to 1e-6 of each column's spread) with numpy's on the candidate rows; exactly one
    residue must match."""
    K, n = states.n_folds, X.shape[0]
    spread = X.std(axis=0) + 1e-300
    found = []
    for k in range(K):
        held = states.held_out(kind, k)
        total = held.total() if hasattr(held, "total") else held
        matches = []
        for r in range(K):
            rows = np.arange(r, n, K)
            ww = np.ones(rows.size) if w is None else w[rows]
            d = total.n_features
            shifted = (ww @ (X[rows] - total.shift[:d])) / ww.sum()
            gap = np.abs(total.mean_from_shift[:d] - shifted)
            if rows.size == held.n_rows and np.all(gap <= 1e-6 * spread):
                matches.append(rows)
        assert len(matches) == 1, f"{len(matches)} residue classes match the rows of fold {k}"
        found.append(matches[0])
    return found


def scaled_feature_errors(
    algorithm: str, case: ScaledCase, params: dict[str, Any], *, folds: int = 3, max_lag: int = 8
) -> dict[str, float]:
    """Largest error (standardized units, see the module docstring) of each compared quantity
    over all rows and each training fold (series: all rows, in a state with ``max_lag``).
    Raises ``AssertionError`` if exactly one of ours and the reference refuses the data
    (``LinAlgError``), or if the algorithm has no reference."""
    import statetune as st
    from statetune.states.lagged_moments import LaggedMoments

    if algorithm not in SCALED_FEATURE_REFERENCES:
        raise AssertionError(
            f"{algorithm!r} has no scaled-features reference: add one to "
            "SCALED_FEATURE_REFERENCES (or a reason to SCALED_FEATURE_EXEMPT)."
        )
    reference, view = SCALED_FEATURE_REFERENCES[algorithm]
    alg = get_algorithm(algorithm)
    n = case.X.shape[0]
    if issubclass(alg.model.state_class, Ordered):
        state = LaggedMoments(max_lag, n_exog=case.X.shape[1])
        state.update(case.y, case.X if case.X.shape[1] else None)
        pairs = [(state, np.arange(n))]
        reference = _bind_lag(max_lag)  # the rows used depend on the state's max_lag
    else:
        y = case.y if alg.needs_target else None
        states = st.compute_states(st.from_arrays(case.X, y, case.w), [algorithm], folds=folds)
        kind = states.model_slot(algorithm)
        pairs = [(states.total(kind), np.arange(n))]
        for k, held_rows in enumerate(_fold_rows(states, kind, case.X, case.w)):
            pairs.append((states.train(kind, k), np.setdiff1d(np.arange(n), held_rows)))
    # the references read every hyperparameter: the model's defaults fill the unset ones
    full = {**alg.model().get_params(), **alg.fixed_params, **params}
    worst: dict[str, float] = {}
    for state, rows in pairs:
        try:
            ref = reference(case, rows, full)
        except np.linalg.LinAlgError:
            try:
                alg.finalize(state, params)
            except np.linalg.LinAlgError:
                continue
            raise AssertionError(
                f"{algorithm} finalized where the reference refuses: {params}"
            ) from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = alg.finalize(state, params)
        for key, err in _compare(ref, view(model, case, rows, full)).items():
            worst[key] = max(worst.get(key, 0.0), err)
    return worst


def assert_accurate_on_scaled_features(
    algorithm: str,
    case: ScaledCase,
    params: dict[str, Any],
    *,
    rtol: float = 1e-7,
    folds: int = 3,
    max_lag: int = 8,
) -> dict[str, float]:
    """:func:`scaled_feature_errors` below ``rtol`` for every quantity; returns the errors."""
    errors = scaled_feature_errors(algorithm, case, params, folds=folds, max_lag=max_lag)
    bad = {k: v for k, v in errors.items() if not v <= rtol}
    assert not bad, (
        f"{algorithm} with {params} on scales {case.scale.tolist()} and offsets "
        f"{case.offset.tolist()}: errors {bad} exceed rtol={rtol} (standardized units)"
    )
    return errors
