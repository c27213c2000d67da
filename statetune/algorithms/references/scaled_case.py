"""The scaled-features case and the numerics the accurate oracles share.

A :class:`ScaledCase` holds rows ``X = Z * scale + offset`` (column by column; for regression
also ``y = t * y_scale + y_offset``), with ``Z`` and ``t`` on unit scales. Quantities are
compared in those *standardized units* (a coefficient times its feature's scale over the
target's scale, a precision matrix times the scales on both sides, ...), where an error of
``rtol`` means the same for every feature whatever its units. An oracle returns
:data:`Expected` quantities; a model's view returns :data:`View` quantities (see
:class:`~statetune.algorithms.references.ScaledReference`).

Example
-------
>>> import numpy as np
>>> from statetune.algorithms.references.scaled_case import ScaledCase
>>> case = ScaledCase(np.array([[1e9 + 2.0], [1e9 - 2.0]]), np.array([0.0, 1.0]), None,
...                   np.array([2.0]), np.array([1e9]))
>>> case.standardized()[0].ravel().tolist()
[1.0, -1.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import lapack

__all__ = [
    "EPS",
    "Expected",
    "ScaledCase",
    "View",
    "regression_view",
]

EPS = float(np.finfo(np.float64).eps)

#: Quantity name -> (value, norm): the reference's value in standardized units and what an
#: error is measured against (the error is ``|ours - ref| / norm``, less the allowance).
Expected = dict[str, tuple[np.ndarray, Any]]
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
def regression_view(model: Any, case: ScaledCase, rows: Any = None, params: Any = None) -> View:
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


def _coef_ref(b: np.ndarray, c: float) -> Expected:
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
