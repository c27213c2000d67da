"""The anchor-words algorithm of Arora et al. (ICML 2013), on a word co-occurrence matrix.

No well-kept package offers it (the authors' research code and a few unmaintained ports are
all there is), so it is written here from the paper, vectorized over all words at once:

- :func:`find_anchors`: FastAnchorWords, a greedy Gram-Schmidt on the row-normalized
  co-occurrence matrix (optionally on a Gaussian random projection of its rows, as the paper
  does for large vocabularies): the first anchor is the row farthest from the origin, then
  the points are translated to it, and each next anchor is the row farthest from the span of
  the ones chosen so far.
- :func:`recover_l2`: RecoverL2, ``min_c ||Qbar_w - c^T Qbar_S||^2`` over the simplex for every
  word ``w`` at once, solved by accelerated projected gradient (FISTA, step ``1 / L``, with
  adaptive restart; stops when no coefficient moves by ``tol`` = 1e-7) instead
  of the paper's exponentiated gradient: the same convex problem, a solver whose step needs
  no tuning.
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

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["doc_topics", "find_anchors", "project_simplex", "recover_kl", "recover_l2"]


def find_anchors(
    Qbar: np.ndarray,
    candidates: np.ndarray,
    k: int,
    projection_dim: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Indices (rows of ``Qbar``) of ``k`` anchor words chosen among ``candidates``."""
    P = Qbar[candidates]
    if projection_dim is not None and projection_dim < P.shape[1]:
        rng = np.random.default_rng(seed)
        P = P @ rng.normal(size=(P.shape[1], projection_dim)) / np.sqrt(projection_dim)
    P = np.array(P, dtype=np.float64)
    norms = np.einsum("ij,ij->i", P, P)
    first = int(np.argmax(norms))
    chosen = [first]
    P -= P[first]
    for _ in range(1, k):
        norms = np.einsum("ij,ij->i", P, P)
        norms[chosen] = -1.0
        i = int(np.argmax(norms))
        chosen.append(i)
        if norms[i] <= 0:
            continue  # the rows span fewer dimensions than k: any other word will do
        b = P[i] / np.sqrt(norms[i])
        P -= np.outer(P @ b, b)
    return np.asarray(candidates)[chosen]


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


def recover_l2(
    Qbar: np.ndarray, anchors: np.ndarray, max_iter: int = 500, tol: float = 1e-7
) -> np.ndarray:
    """``C`` (words x topics): each row the simplex point whose mix of anchor rows is nearest
    (L2) to the word's row of ``Qbar``; an anchor's own row is its unit vector."""
    X = Qbar[anchors]
    H = X @ X.T
    b = Qbar @ X.T
    L = 2.0 * float(np.linalg.eigvalsh(H)[-1])
    if L <= 0:
        return np.full((Qbar.shape[0], len(anchors)), 1.0 / len(anchors))
    C = np.full((Qbar.shape[0], len(anchors)), 1.0 / len(anchors))
    Y, t = C.copy(), 1.0
    for _ in range(max_iter):
        C_new = project_simplex(Y - (2.0 / L) * (Y @ H - b))
        step = C_new - C
        if float(np.vdot(Y - C_new, step)) > 0:  # adaptive restart (O'Donoghue, Candes 2015)
            t = 1.0
        t_new = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        Y = C_new + ((t - 1.0) / t_new) * step
        delta = float(np.abs(step).max())
        C, t = C_new, t_new
        if delta < tol:
            break
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
