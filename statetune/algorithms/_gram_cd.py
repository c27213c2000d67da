"""Elastic-net coordinate descent on a Gram matrix, using scikit-learn's own Cython solver.

Why not hand-written: scikit-learn's ``enet_coordinate_descent_gram`` *is* the reference
(same update order, same duality-gap stopping rule), so our lasso/elastic net agree with
``ElasticNet`` to its tolerance, at Cython speed (~0.1 ms for d=50). It is a private symbol:
this adapter is the only place that calls it, it accepts both known signatures, and the
exactness tests fail loudly if a scikit-learn release changes it.

We minimize ``(1/2) b^T Q b - q^T b + (1/2) yy + l1 |b|_1 + (l2/2) |b|^2``.

Example
-------
>>> import numpy as np
>>> from statetune.algorithms._gram_cd import enet_gram
>>> coef, gap, n_iter = enet_gram(np.eye(2), np.array([3.0, 0.5]), 2.0, 1.0, 0.0)
>>> coef
array([2., 0.])
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import _cd_fast

# scikit-learn's kernel warns when it stops at max_iter, attributed to this module; the
# finalizers warn then too, naming max_iter and the gap against tol, at the caller's line: one
# warning, not two (a filter of this module only, set once: catch_warnings around each call
# would race with trials finalized in parallel threads)
warnings.filterwarnings(
    "ignore",
    message="Objective did not converge",
    category=ConvergenceWarning,
    module=r"statetune\.algorithms\._gram_cd$",
)

__all__ = ["enet_gram"]

_RNG = np.random.RandomState(0)  # unused by the cyclic rule, but part of the signature


def enet_gram(
    Q: np.ndarray,
    q: np.ndarray,
    yy: float,
    l1: float,
    l2: float,
    *,
    max_iter: int = 1000,
    tol: float = 1e-4,
    positive: bool = False,
    coef_init: np.ndarray | None = None,
) -> tuple[np.ndarray, float, int]:
    """Return ``(coef, dual_gap, n_iter)``; ``tol`` is relative to ``yy`` as in scikit-learn."""
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    q = np.ascontiguousarray(q, dtype=np.float64)
    w = np.zeros(q.shape[0]) if coef_init is None else np.array(coef_init, dtype=np.float64)
    y_proxy = np.array([np.sqrt(max(yy, 0.0))])  # only ||y||^2 is read by the Gram solver
    args = (
        w,
        float(l1),
        float(l2),
        Q,
        q,
        y_proxy,
        int(max_iter),
        float(tol),
        _RNG,
        0,
        int(positive),
    )
    try:
        out = _cd_fast.enet_coordinate_descent_gram(*args, 1)  # scikit-learn >= 1.8: screening
    except TypeError:
        out = _cd_fast.enet_coordinate_descent_gram(*args)
    coef, gap, _tol, n_iter = out
    return np.asarray(coef), float(gap), int(n_iter)
