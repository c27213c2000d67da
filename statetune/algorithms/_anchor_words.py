"""The anchor-words algorithm of Arora et al. (ICML 2013), on a word co-occurrence matrix.

No well-kept package offers it (the authors' research code and a few unmaintained ports are
all there is), so it is written here from the paper, vectorized over all words at once:

- :class:`AnchorPath`: FastAnchorWords, a greedy Gram-Schmidt on the row-normalized
  co-occurrence matrix (optionally on a Gaussian random projection of its rows, as the paper
  does for large vocabularies): the first anchor is the row farthest from the origin, then
  the points are translated to it, and each next anchor is the row farthest from the span of
  the ones chosen so far. Step ``j`` depends only on steps ``< j`` (there is no clean-up pass),
  so the first ``k`` anchors of a longer run ARE the anchors for ``k``: a path is grown on
  demand and trials of any ``k`` read its prefix. Each step costs one product of ``Qbar``, with
  the new anchor's row: the path keeps ``Qbar @ Qbar[anchors].T``, the cross products
  RecoverL2 needs, column by column, and each new basis vector as a combination of the anchor
  rows, so the rows' products with it are that combination of the cross columns (the residual
  norms are updated, ``||r||^2 -= (r . b)^2``, instead of deflating every row).
  :func:`find_anchors` is one run.
- :func:`solve_simplex_ls` / :func:`recover_l2`: RecoverL2, ``min_c ||Qbar_w - c^T Qbar_S||^2``
  over the simplex for every word ``w`` at once, from the anchors' ``k x k`` Gram matrix
  ``H`` and the cross products ``b`` only (``c^T H c - 2 b_w^T c``), solved by accelerated
  projected gradient (FISTA, step ``1 / L``, adaptive restart) with a vectorized sort-based
  simplex projection, each word's problem on its own (its own momentum and restart, from the
  projection of its minimizer on the hyperplane ``sum(c) = 1``; only the words still moving
  are iterated) instead of the paper's exponentiated gradient: the same convex problem, a
  solver whose step needs no tuning. Once a word's support holds, the problem on it is solved
  exactly and kept when it meets the optimality conditions (then it is the minimizer to
  rounding, not to FISTA's step tolerance); a word stops by the tolerance (``tol`` = 1e-7)
  only when that fails.
- :func:`recover_kl`: RecoverKL, ``min_c KL(Qbar_w || c^T Qbar_S)`` over the simplex, by the
  multiplicative EM update of mixture weights (each anchor row is a distribution; the update
  never increases the divergence).
- :func:`doc_topics`: topic proportions of documents by the same EM (the maximum-likelihood
  mixture of the topics' word distributions for each document's words).

Example
-------
>>> import numpy as np
>>> from statetune.algorithms._anchor_words import find_anchors
>>> Qbar = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
>>> sorted(find_anchors(Qbar, np.arange(3), 2).tolist())
[0, 1]
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "AnchorPath",
    "doc_topics",
    "find_anchors",
    "project_simplex",
    "recover_kl",
    "recover_l2",
    "solve_simplex_ls",
]

#: Rows per block when a pass over the candidate rows needs a temporary copy of them.
_BLOCK = 512
#: An exact solve on a support is trusted when ``|H c - b + nu|`` on the support is below this
#: share of the row's scale (a near-singular block fails it and is left to FISTA).
_STATIONARY = 1e-9


class AnchorPath:
    """FastAnchorWords' greedy sequence of anchors among ``candidates`` (rows of ``Qbar``),
    grown on demand; thread-safe (trials sharing a state share its paths).

    Parameters
    ----------
    Qbar : ndarray (V x V)
        Row-normalized co-occurrence matrix (read, never written; kept by reference).
    candidates : ndarray of int
        Rows that may be anchors.
    projection_dim : int, optional
        Choose on a Gaussian random projection of the rows to this many dimensions.
    seed : int
        Seed of the projection.

    Examples
    --------
    >>> import numpy as np
    >>> Qbar = np.eye(4)[[0, 1, 2, 3, 0]] * 0.9 + 0.025
    >>> path = AnchorPath(Qbar, np.arange(5))
    >>> path.anchors(2).tolist() == path.anchors(4)[:2].tolist()
    True
    """

    def __init__(
        self,
        Qbar: np.ndarray,
        candidates: np.ndarray,
        projection_dim: int | None = None,
        seed: int = 0,
    ) -> None:
        self._Qbar = Qbar
        self._cand = np.asarray(candidates, dtype=np.intp)
        self._all = len(self._cand) == Qbar.shape[0] and bool(
            np.array_equal(self._cand, np.arange(Qbar.shape[0]))
        )
        self._P: np.ndarray | None = None
        if projection_dim is not None and projection_dim < Qbar.shape[1]:
            rng = np.random.default_rng(seed)
            G = rng.normal(size=(Qbar.shape[1], projection_dim)) / np.sqrt(projection_dim)
            self._P = np.ascontiguousarray(Qbar[self._cand] @ G)
        self._dim = Qbar.shape[1] if self._P is None else self._P.shape[1]
        self._lock = threading.Lock()
        self._chosen: list[int] = []  # positions in candidates
        self._basis = np.empty((0, self._dim))
        #: Row ``j``: the basis vector ``j`` as a combination of ``row(anchor m) - origin``
        #: over the anchors ``m`` chosen so far (column ``m``: the ``m``-th anchor).
        self._coef = np.zeros((0, 0))
        self._n_basis = 0
        self._res = np.empty(0)
        self._origin = np.empty(0)
        self._cross = np.empty((Qbar.shape[0], 0))
        self._n_cross = 0

    # -- rows of the candidates ----------------------------------------------------------
    def _blocks(self) -> Any:
        """``(start, stop, rows)`` over the candidate rows (a view when it can be one)."""
        if self._P is not None:
            yield 0, len(self._cand), self._P
        elif self._all:
            yield 0, len(self._cand), self._Qbar
        else:
            for a in range(0, len(self._cand), _BLOCK):
                b = min(a + _BLOCK, len(self._cand))
                yield a, b, self._Qbar[self._cand[a:b]]

    def _row(self, i: int) -> np.ndarray:
        if self._P is not None:
            return self._P[i]
        return self._Qbar[self._cand[i]]

    def _times(self, b: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """The candidate rows times the new basis vector ``b``. Without a projection, no
        product of ``Qbar``: ``b = sum_m coef[m] (row(anchor m) - origin)``, so ``Qbar @ b``
        is the same combination of the cross columns ``Qbar @ row(anchor m)`` (one product
        of ``Qbar`` per anchor in all, the one :meth:`cross` keeps)."""
        if self._P is not None:
            out: np.ndarray = self._P @ b
            return out
        m = len(coef)
        full = self._cross[:, :m] @ coef - self._cross[:, 0] * coef.sum()
        return full if self._all else full[self._cand]

    def _keep_cross(self, column: np.ndarray) -> None:
        if self._n_cross == self._cross.shape[1]:
            grown = np.empty((self._Qbar.shape[0], max(8, 2 * self._n_cross)))
            grown[:, : self._n_cross] = self._cross[:, : self._n_cross]
            self._cross = grown
        self._cross[:, self._n_cross] = column
        self._n_cross += 1

    # -- the greedy steps ----------------------------------------------------------------
    def _start(self) -> None:
        sq = np.empty(len(self._cand))
        for a, b, rows in self._blocks():
            sq[a:b] = np.einsum("ij,ij->i", rows, rows)
        first = int(np.argmax(sq))
        self._origin = np.array(self._row(first), dtype=np.float64)
        if self._P is None:
            self._keep_cross(self._Qbar @ self._origin)
        res = np.empty(len(self._cand))
        for a, b, rows in self._blocks():  # squared distances to the first anchor, exactly
            for s in range(a, b, _BLOCK):
                e = min(s + _BLOCK, b)
                d = rows[s - a : e - a] - self._origin
                res[s:e] = np.einsum("ij,ij->i", d, d)
        res[first] = -1.0
        self._res = res
        self._chosen = [first]
        self._basis = np.empty((8, self._dim))
        self._coef = np.zeros((8, 8))

    def _step(self) -> None:
        res = self._res
        i = int(np.argmax(res))
        self._chosen.append(i)
        m = len(self._chosen)
        if self._P is None:  # the anchor's column of cross: the step's one product of Qbar
            self._keep_cross(self._Qbar @ self._Qbar[self._cand[i]])
        if res[i] <= 0:  # the rows span fewer dimensions than k: any other word will do
            res[i] = -1.0
            return
        n = self._n_basis
        if n == len(self._basis):
            self._basis = np.concatenate([self._basis, np.empty_like(self._basis)])
        if len(self._coef) < len(self._basis) or self._coef.shape[1] < m:
            grown = np.zeros((len(self._basis), max(m, 2 * self._coef.shape[1])))
            grown[: len(self._coef), : self._coef.shape[1]] = self._coef
            self._coef = grown
        r = self._row(i) - self._origin
        coef = np.zeros(m)
        coef[-1] = 1.0
        B, T = self._basis[:n], self._coef[:n, :m]
        for _ in range(2):  # classical Gram-Schmidt twice: orthogonal to rounding
            g = B @ r
            r -= B.T @ g
            coef -= g @ T
        norm = float(np.sqrt(r @ r))
        if norm <= 0:
            res[i] = -1.0
            return
        b = r / norm
        coef /= norm
        proj = self._times(b, coef) - float(self._origin @ b)
        res -= proj * proj
        res[self._chosen] = -1.0
        self._basis[n] = b
        self._coef[n, :m] = coef
        self._n_basis += 1

    def anchors(self, k: int) -> np.ndarray:
        """The first ``k`` anchors (indices of rows of ``Qbar``)."""
        with self._lock:
            if not self._chosen and k > 0:
                self._start()
            while len(self._chosen) < k:
                self._step()
            return self._cand[np.asarray(self._chosen[:k], dtype=np.intp)]

    def cross(self, k: int) -> np.ndarray:
        """``Qbar @ Qbar[anchors(k)].T`` (V x k): RecoverL2's ``b``; its rows at the anchors
        are their Gram matrix ``H``. Columns are computed once, as anchors are added (with
        the Gram-Schmidt products when there is no projection)."""
        anchors = self.anchors(k)
        with self._lock:
            while self._n_cross < k:  # anchors whose step took no product of Qbar
                self._keep_cross(self._Qbar @ self._Qbar[anchors[self._n_cross]])
            return self._cross[:, :k]


def find_anchors(
    Qbar: np.ndarray,
    candidates: np.ndarray,
    k: int,
    projection_dim: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Indices (rows of ``Qbar``) of ``k`` anchor words chosen among ``candidates``."""
    return AnchorPath(Qbar, candidates, projection_dim, seed).anchors(k)


def project_simplex(V: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``V`` onto the probability simplex (sort-based)."""
    n, k = V.shape
    U = -np.sort(-V, axis=1)
    css = np.cumsum(U, axis=1) - 1.0
    idx = np.arange(1, k + 1)
    cond = U - css / idx > 0
    rho = k - 1 - np.argmax(cond[:, ::-1], axis=1)
    theta = css[np.arange(n), rho] / (rho + 1)
    return np.maximum(V - theta[:, None], 0.0)


def _on_support(H: np.ndarray, B: np.ndarray, support: np.ndarray, size: int) -> Any:
    """Rows of ``size`` coefficients on their support: the minimizers of ``c^T H c - 2 b^T c``
    with ``sum(c) = 1`` and ``c = 0`` off the support, by the ``size x size`` system on the
    support. Returns ``(c, nu)`` (``H c - b + nu = 0`` on the support)."""
    n, k = B.shape
    idx = np.nonzero(support)[1].reshape(n, size)  # sorted per row
    H_SS = H[idx[:, :, None], idx[:, None, :]]
    rhs = np.stack([np.take_along_axis(B, idx, axis=1), np.ones((n, size))], 2)
    sol = np.linalg.solve(H_SS, rhs)
    nu = (sol[:, :, 0].sum(axis=1) - 1.0) / sol[:, :, 1].sum(axis=1)
    full = np.zeros((n, k))
    np.put_along_axis(full, idx, sol[:, :, 0] - nu[:, None] * sol[:, :, 1], axis=1)
    return full, nu


def _off_support(Hinv: np.ndarray, B: np.ndarray, support: np.ndarray, t: int) -> Any:
    """The same minimizers from ``H^-1`` by a ``(t + 1) x (t + 1)`` system in the ``t``
    coefficients off the support (their multipliers ``mu``) and ``nu``: ``c = H^-1 (b - nu 1 +
    mu)``, ``sum(c) = 1``, ``c = 0`` off the support (cheaper when supports are large)."""
    n, k = B.shape
    x = B @ Hinv
    y = Hinv.sum(axis=1)
    if t == 0:
        nu = (x.sum(axis=1) - 1.0) / y.sum()
        return x - nu[:, None] * y, nu
    off = np.nonzero(~support)[1].reshape(n, t)
    M = np.empty((n, t + 1, t + 1))
    M[:, 0, 0] = -y.sum()
    M[:, 0, 1:] = y[off]
    M[:, 1:, 0] = -y[off]
    M[:, 1:, 1:] = Hinv[off[:, :, None], off[:, None, :]]
    rhs = np.column_stack([1.0 - x.sum(axis=1), -np.take_along_axis(x, off, axis=1)])
    z = np.linalg.solve(M, rhs[:, :, None])[:, :, 0]
    mu = np.zeros((n, k))
    np.put_along_axis(mu, off, z[:, 1:], axis=1)
    c = x - z[:, :1] * y + mu @ Hinv
    np.put_along_axis(c, off, 0.0, axis=1)
    return c, z[:, 0]


def _exact_on_support(
    H: np.ndarray, B: np.ndarray, C: np.ndarray, Hinv: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the minimizer over the simplex restricted to the support of its row of
    ``C`` (the equality-constrained QP, solved exactly: on the support, or, given ``Hinv``
    and supports larger than half, in the coefficients off it), and whether it is the
    minimizer over the whole simplex (KKT: positive and stationary on the support, no
    descent off it; a near-singular system fails the stationarity check, and a row that
    fails it by ``Hinv`` is solved again on its support). Returns ``(ok, solutions)``."""
    n, k = C.shape
    ok = np.zeros(n, dtype=bool)
    out = np.zeros((n, k))
    support = C > 0
    sizes = support.sum(axis=1)
    scale = np.abs(B).max(axis=1) + np.abs(H).max()
    again = []
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        by_inverse = Hinv is not None and k - size + 1 < size
        try:
            if by_inverse:
                full, nu = _off_support(Hinv, B[rows], support[rows], k - size)  # type: ignore[arg-type]
            else:
                full, nu = _on_support(H, B[rows], support[rows], int(size))
        except np.linalg.LinAlgError:
            if by_inverse:
                again.append(rows)
            continue  # a singular system: these rows go on by projected gradient
        on = support[rows]
        slack = full @ H - B[rows] + nu[:, None]  # >= 0 off the support, 0 on it
        stationary = np.where(on, np.abs(slack), 0.0).max(axis=1) <= _STATIONARY * scale[rows]
        good = (
            np.where(on, full > 0, True).all(axis=1)
            & (slack >= -1e-12 * scale[rows, None]).all(axis=1)
            & stationary
        )
        ok[rows[good]] = True
        out[rows[good]] = full[good]
        if by_inverse:
            again.append(rows[~stationary])
    if again:
        rows = np.concatenate(again)
        if rows.size:
            ok[rows], out[rows] = _exact_on_support(H, B[rows], C[rows])
    return ok, out


def _inverse(H: np.ndarray) -> np.ndarray | None:
    """``H^-1`` when ``H`` is well conditioned (else None: systems on the supports only)."""
    if np.linalg.cond(H) > 1e8:
        return None
    out: np.ndarray = np.linalg.inv(H)
    return (out + out.T) / 2.0


def _hyperplane_start(H: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's minimizer on the hyperplane ``sum(c) = 1`` (no sign constraint: one ``k x k``
    solve for every row at once), projected on the simplex, and whether it was inside the
    simplex already (all positive: then it is the row's minimizer on the simplex, exactly);
    the centre of the simplex for every row when ``H`` is singular. Near the solution, FISTA
    finds the support sooner."""
    n, k = B.shape
    with np.errstate(all="ignore"):
        try:
            sol = np.linalg.solve(H, np.column_stack([B.T, np.ones(k)]))
        except np.linalg.LinAlgError:
            sol = np.full((k, n + 1), np.nan)
        x, y = sol[:, :n], sol[:, n]
        nu = (x.sum(axis=0) - 1.0) / y.sum()
        start = (x - np.outer(y, nu)).T
    if not np.isfinite(start).all():
        return np.full((n, k), 1.0 / k), np.zeros(n, dtype=bool)
    # inside, and stationary (H c - b + nu = 0) to rounding: a near-singular H fails this
    scale = np.abs(B).max(axis=1) + np.abs(H).max()
    residual = np.abs(start @ H - B + nu[:, None]).max(axis=1)
    inside = (start > 0).all(axis=1) & (residual <= _STATIONARY * scale)
    return project_simplex(start), inside


def solve_simplex_ls(
    H: np.ndarray, B: np.ndarray, max_iter: int = 500, tol: float = 1e-7, check: int = 5
) -> np.ndarray:
    """Each row ``c`` (n x k) minimizing ``c^T H c - 2 b^T c`` over the simplex, for each row
    ``b`` of ``B``: FISTA with adaptive restart, per row, from the projection of the row's
    minimizer on the hyperplane ``sum(c) = 1`` (a row whose minimizer there is inside the
    simplex is done at the start: it is the minimizer); a row stops when no coefficient moves by
    ``tol``, or, checked every ``check`` iterations, when the exact minimizer on the support
    of its iterate satisfies the optimality conditions on the whole simplex (it is then the
    minimizer, exactly: the projected gradient finds the support long before it converges).
    A row stopped by ``tol`` gets that exact check once more at the end."""
    n, k = B.shape
    lam = float(np.linalg.eigvalsh(H)[-1])
    if lam <= 0 or n == 0:
        return np.full((n, k), 1.0 / k)
    C, exact_rows = _hyperplane_start(H, B)
    Hinv = _inverse(H)
    Y, t = C.copy(), np.ones(n)
    active = np.flatnonzero(~exact_rows)
    last = C > 0  # support at the last check
    for it in range(1, max_iter + 1):
        if not active.size:
            break
        Ya = Y[active]
        C_new = project_simplex(Ya - (Ya @ H - B[active]) / lam)
        step = C_new - C[active]
        ta = t[active]
        ta[np.einsum("ij,ij->i", Ya - C_new, step) > 0] = 1.0  # adaptive restart (O'Donoghue,
        t_new = (1.0 + np.sqrt(1.0 + 4.0 * ta * ta)) / 2.0  # Candes 2015), per row
        Y[active] = C_new + ((ta - 1.0) / t_new)[:, None] * step
        C[active] = C_new
        t[active] = t_new
        moving = np.abs(step).max(axis=1) >= tol
        if check and it % check == 0:  # rows whose support held since the last check
            support = C_new > 0
            same = np.flatnonzero((support == last[active]).all(axis=1))
            last[active] = support
            ok, exact = _exact_on_support(H, B[active[same]], C_new[same], Hinv)
            C[active[same[ok]]] = exact[ok]
            exact_rows[active[same[ok]]] = True
            moving[same[ok]] = False
        active = active[moving]
    rest = np.flatnonzero(~exact_rows)  # stopped by tol (or max_iter): exact when it can be
    if rest.size:
        ok, exact = _exact_on_support(H, B[rest], C[rest], Hinv)
        C[rest[ok]] = exact[ok]
    return C


def recover_l2(
    Qbar: np.ndarray,
    anchors: np.ndarray,
    max_iter: int = 500,
    tol: float = 1e-7,
    cross: np.ndarray | None = None,
) -> np.ndarray:
    """``C`` (words x topics): each row the simplex point whose mix of anchor rows is nearest
    (L2) to the word's row of ``Qbar``; an anchor's own row is its unit vector. ``cross``:
    ``Qbar @ Qbar[anchors].T`` when already known (:meth:`AnchorPath.cross`)."""
    if cross is None:
        cross = Qbar @ Qbar[anchors].T
    H = cross[anchors]
    C = solve_simplex_ls((H + H.T) / 2.0, cross, max_iter, tol)
    C[anchors] = np.eye(len(anchors))
    return C


def recover_kl(
    Qbar: np.ndarray, anchors: np.ndarray, max_iter: int = 200, tol: float = 1e-8
) -> np.ndarray:
    """``C`` (words x topics) minimizing ``KL(Qbar_w || c^T Qbar_anchors)`` per word (EM)."""
    X = Qbar[anchors]
    k = len(anchors)
    C = np.full((Qbar.shape[0], k), 1.0 / k)
    tiny = np.finfo(np.float64).tiny
    for _ in range(max_iter):
        P = np.maximum(C @ X, tiny)
        C_new = C * ((Qbar / P) @ X.T)
        C_new /= np.maximum(C_new.sum(axis=1, keepdims=True), tiny)
        delta = float(np.abs(C_new - C).max())
        C = C_new
        if delta < tol:
            break
    C[anchors] = np.eye(k)
    return C


def doc_topics(X: Any, A: np.ndarray, max_iter: int = 100, tol: float = 1e-6) -> np.ndarray:
    """Topic proportions (n x k) of the documents ``X`` (n x V term counts) under the topics
    ``A`` (V x k, columns: word distributions): per document, the maximum-likelihood mixture
    (EM on the nonzero counts only); a document without any word of the vocabulary gets
    uniform proportions."""
    X = sp.csr_array(X, dtype=np.float64)
    n, k = X.shape[0], A.shape[1]
    rows = np.repeat(np.arange(n), np.diff(X.indptr))
    Anz = A[X.indices]  # (nnz, k)
    theta = np.full((n, k), 1.0 / k)
    mass = np.bincount(rows, weights=X.data * Anz.sum(axis=1), minlength=n)
    live = mass > 0
    tiny = np.finfo(np.float64).tiny
    for _ in range(max_iter):
        p = np.maximum(np.einsum("ij,ij->i", Anz, theta[rows]), tiny)
        R = sp.csr_array((X.data / p, X.indices, X.indptr), shape=X.shape) @ A
        new = theta * R
        s = new.sum(axis=1, keepdims=True)
        new = np.where(live[:, None] & (s > 0), new / np.where(s > 0, s, 1.0), 1.0 / k)
        delta = float(np.abs(new - theta).max()) if n else 0.0
        theta = new
        if delta < tol:
            break
    return theta
