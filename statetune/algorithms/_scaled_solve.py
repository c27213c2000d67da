"""Solves with a positive semi-definite matrix whose diagonal spans many orders of magnitude.

Why: finalizers solve with a Gram or covariance matrix ``A`` of the raw features. When the
features' scales differ (volume ~1e9 next to prices ~1e3), ``diag(A)`` spans 1e6 .. 1e18 and an
*eigendecomposition* of ``A`` loses every eigenvalue below ``eps * max(diag A)``: ordinary least
squares from ``np.linalg.eigh(X^T X)`` returned [0.50, 0.50] where least squares gives
[0.95, 0.05]. The digits are not lost in the state (centered co-moments are accurate to
``eps * sqrt(A_ii A_jj)`` per entry) but in the decomposition, which only resolves eigenvalues
relative to the largest one.

Design: write ``A = D S D`` with ``D = sqrt(diag A)`` (Jacobi scaling: the best diagonal scaling
up to a factor ``sqrt(d)``, van der Sluis) and ``S`` of unit diagonal, whose condition number
is that of the features' correlations, not of their units. Everything below is solved in ``S``
and mapped back exactly:

- ridge, ``(A + alpha I) x = b`` with ``alpha > 0`` in the caller's (raw) units:
  ``(S + alpha D^-2) x' = D^-1 b``, ``x = D^-1 x'``, by a Cholesky factorization per trial
  (LAPACK ``potrf``/``potrs`` directly: 12 us at d=50 against 22 us through
  ``scipy.linalg.cho_factor``'s checks). Cholesky's error depends on the condition of the
  *equilibrated* matrix only, so ``alpha`` may be any size relative to any feature's scale.
- least squares, ``alpha = 0``, possibly rank deficient: the minimum-norm solution in the
  ORIGINAL units (what ``lstsq`` returns). A pivoted Cholesky factorization of ``S`` (LAPACK
  ``pstrf``; memoized by callers: it does not depend on hyperparameters) gives the numerical
  rank, judged on the correlations and so independent of units, and a basic solution on the
  pivot columns; the null space of ``A`` is ``D^-1 null(S)``, orthonormalized by QR, and is
  projected out. (The null space from the Cholesky factor keeps exact zeros exact; from an
  eigendecomposition of ``S`` its entries on unrelated columns carry rounding noise ~eps that
  ``D^-1`` multiplies by the ratio of the scales, up to 1e15 here.)

Why not other designs: solving ``A`` itself by Cholesky is as accurate for ``alpha > 0`` but
gives no scale-independent rank decision; standardizing the *data* is not possible after the
pass (and would change ridge's objective); an eigendecomposition of ``S`` per trial for ridge
is impossible since ``S + alpha D^-2`` is not diagonal in ``S``'s eigenvectors.

Example
-------
>>> import numpy as np
>>> from statetune.algorithms._scaled_solve import equilibrate, min_norm_solve, pinv_factor
>>> A = np.array([[1e18, 1e9], [1e9, 2.0]]); b = A @ np.array([1e-9, 1.0])
>>> eq = equilibrate(A)
>>> np.allclose(min_norm_solve(eq, pinv_factor(eq), b) * [1e9, 1.0], [1.0, 1.0])
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack, solve_triangular

__all__ = [
    "Equilibrated",
    "PinvFactor",
    "equilibrate",
    "min_norm_solve",
    "null_basis",
    "pinv_factor",
    "pivoted_cholesky",
    "psd_solve",
    "ridge_solve",
    "scaled_inverse_logdet",
]

EPS = float(np.finfo(np.float64).eps)
#: Pivots of the unit-diagonal ``S`` below ``RANK_TOL * d`` mark dependent columns.
RANK_TOL = 10.0 * EPS


@dataclass(frozen=True)
class Equilibrated:
    """``A = D S D``: ``scale`` is ``D`` (1 where ``A_jj = 0``), ``matrix`` is ``S`` (unit
    diagonal on ``active`` columns, zero rows and columns elsewhere)."""

    scale: np.ndarray
    matrix: np.ndarray
    active: np.ndarray

    @property
    def n(self) -> int:
        return int(self.scale.shape[0])


@dataclass(frozen=True)
class PinvFactor:
    """What the minimum-norm solve needs: ``factor`` ``L_11`` (rank x rank) of the pivoted
    Cholesky factorization of ``S`` restricted to the ``basis`` columns (indices into ``A``),
    and an orthonormal basis ``null`` (original units) of the null space of ``A``."""

    rank: int
    factor: np.ndarray
    basis: np.ndarray
    null: np.ndarray


def equilibrate(A: np.ndarray) -> Equilibrated:
    """Jacobi scaling of a symmetric positive semi-definite matrix (see the module docstring)."""
    A = np.asarray(A, dtype=np.float64)
    diag = np.diagonal(A)
    active = diag > 0.0
    scale = np.where(active, np.sqrt(np.where(active, diag, 1.0)), 1.0)
    S = A / np.outer(scale, scale)
    S[~active, :] = 0.0
    S[:, ~active] = 0.0
    idx = np.flatnonzero(active)
    S[idx, idx] = 1.0
    return Equilibrated(scale, S, active)


def pivoted_cholesky(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``(L, perm, rank)`` with ``S[perm][:, perm] = L L^T`` (``L``: m x rank, lower
    trapezoidal) for a unit-diagonal positive semi-definite ``S`` (LAPACK ``pstrf``). A pivot
    below ``RANK_TOL`` marks the remaining columns as dependent: the numerical rank is judged
    on the correlations, so it does not depend on the features' units."""
    m = S.shape[0]
    if m == 0:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.intp), 0
    c, piv, rank, info = lapack.dpstrf(S, lower=1, tol=RANK_TOL * m)
    if info < 0:  # pragma: no cover - bad arguments
        raise np.linalg.LinAlgError(f"pivoted Cholesky failed with info={info}")
    return np.tril(c)[:, :rank], (piv - 1).astype(np.intp), int(rank)


def null_basis(L: np.ndarray, perm: np.ndarray, rank: int, scale: np.ndarray) -> np.ndarray:
    """Orthonormal basis (columns, original units) of ``null(D S D) = D^-1 null(S)`` from the
    pivoted Cholesky factor: in pivoted order ``null(S)`` is spanned by ``[-L11^-T L21^T; I]``.

    Entries of those vectors below the rank tolerance (relative to the vector's largest) are set
    to zero: they are rounding noise of ``S`` (a column duplicated up to a constant factor gives
    ~1e-16 on every unrelated column), which the moments do not resolve and which ``D^-1`` would
    multiply by the ratio of the scales, 1e15 here, before the minimum-norm projection.
    """
    m = perm.shape[0]
    n_null = m - rank
    Z = np.zeros((m, n_null))
    if n_null == 0:
        return Z
    Z[rank:] = np.eye(n_null)
    if rank:
        Z[:rank] = -solve_triangular(L[:rank], L[rank:].T, lower=True, trans="T")
    Z[np.abs(Z) <= RANK_TOL * m * np.abs(Z).max(axis=0)] = 0.0
    out = np.empty_like(Z)
    out[perm] = Z
    return np.asarray(np.linalg.qr(out / scale[:, None])[0])


def pinv_factor(eq: Equilibrated) -> PinvFactor:
    """The pivoted Cholesky factor of the active part of ``S`` and the null space of ``A``
    (hyperparameter-free: callers memoize it)."""
    idx = np.flatnonzero(eq.active)
    L, perm, rank = pivoted_cholesky(eq.matrix[np.ix_(idx, idx)])
    null = np.zeros((eq.n, idx.size - rank))
    null[idx] = null_basis(L, perm, rank, eq.scale[idx])
    return PinvFactor(rank, L[:rank].copy(), idx[perm[:rank]], null)


def min_norm_solve(eq: Equilibrated, pf: PinvFactor, b: np.ndarray) -> np.ndarray:
    """The minimum-norm (original units) solution of ``A x = b`` in the least-squares sense:
    ``lstsq``'s answer for a rank-deficient ``A``; ``b`` may have several columns.

    A basic solution on the ``rank`` pivot columns (``S_11 y_1 = D^-1 b_1``, two triangular
    solves), then the null space of ``A`` projected out."""
    b = np.asarray(b, dtype=np.float64)
    x = np.zeros_like(b)
    if pf.rank:
        cols = pf.basis
        D = eq.scale[cols] if b.ndim == 1 else eq.scale[cols][:, None]
        y = solve_triangular(pf.factor, b[cols] / D, lower=True)
        y = solve_triangular(pf.factor, y, lower=True, trans="T")
        x[cols] = y / D
    if pf.null.shape[1]:
        x = x - pf.null @ (pf.null.T @ x)
    return np.asarray(x)


def ridge_solve(eq: Equilibrated, b: np.ndarray, alpha: float) -> np.ndarray | None:
    """``(A + alpha I) x = b`` for ``alpha > 0`` by Cholesky of ``S + alpha D^-2``; ``None``
    when that matrix is not numerically positive definite (the caller falls back)."""
    idx = np.flatnonzero(eq.active)
    b = np.asarray(b, dtype=np.float64)
    x = np.zeros_like(b)  # a zero column's coefficient is 0 whatever alpha
    if idx.size == 0:
        return x
    D = eq.scale[idx]
    if idx.size == eq.n:
        M = eq.matrix.copy()
    else:
        M = eq.matrix[np.ix_(idx, idx)]
    M.flat[:: idx.size + 1] += alpha / (D * D)
    L, info = lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        return None
    rhs = b[idx] / (D if b.ndim == 1 else D[:, None])
    sol, info = lapack.dpotrs(L, rhs, lower=1)
    if info != 0:  # pragma: no cover - potrs fails only on bad arguments
        return None
    x[idx] = sol / (D if b.ndim == 1 else D[:, None])
    return x


def psd_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A^+ b`` for a symmetric positive semi-definite ``A`` (one-off, nothing memoized):
    Cholesky of the equilibrated matrix when it is positive definite, else the minimum-norm
    solution. ``lstsq(A, b)``'s answer, without its unit-dependent rank cut-off."""
    eq = equilibrate(A)
    if eq.active.all():
        x = ridge_solve(eq, b, 0.0)
        if x is not None:
            return x
    return min_norm_solve(eq, pinv_factor(eq), b)


def scaled_inverse_logdet(A: np.ndarray) -> tuple[np.ndarray, float] | None:
    """``(A^-1, log det A)`` for a positive definite ``A`` through its equilibrated Cholesky
    factor (``A^-1 = D^-1 S^-1 D^-1``, ``log det A = 2 sum log D + log det S``); ``None`` when
    ``A`` is not numerically positive definite."""
    eq = equilibrate(A)
    if not eq.active.all():
        return None
    L, info = lapack.dpotrf(eq.matrix, lower=1, clean=1)
    if info != 0:
        return None
    inv, info = lapack.dpotri(L, lower=1)
    if info != 0:  # pragma: no cover - singular factor after a successful potrf
        return None
    inv = np.tril(inv) + np.tril(inv, -1).T
    D = eq.scale
    logdet = 2.0 * float(np.sum(np.log(D))) + 2.0 * float(np.sum(np.log(np.diagonal(L))))
    return inv / np.outer(D, D), logdet
