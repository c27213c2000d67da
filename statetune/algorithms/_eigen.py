"""The covariance eigendecomposition shared by PCA and PCR (memoized on the state).

It decomposes the RAW covariance (PCA is scale-dependent by definition), with
:func:`~statetune.algorithms._graded_eigh.graded_eigh`: each eigenvalue and the small entries of
the eigenvectors keep their relative accuracy when the features' scales span many orders of
magnitude, where ``np.linalg.eigh`` resolves eigenvalues only down to ``eps * lambda_max``.

Example
-------
>>> import numpy as np
>>> from statetune.states import Moments
>>> from statetune.algorithms._eigen import covariance_eigh
>>> s = Moments(2, has_target=False); s.update(np.array([[0.0, 0], [2, 0], [0, 1], [2, 1]]))
>>> covariance_eigh(s)[0].round(6)
array([1.333333, 0.333333])
"""

from __future__ import annotations

import numpy as np

from statetune.algorithms._graded_eigh import graded_eigh
from statetune.states import Moments

__all__ = ["covariance_eigh", "svd_flip_rows"]


def svd_flip_rows(components: np.ndarray) -> np.ndarray:
    """scikit-learn's sign rule: the largest-magnitude entry of each component is positive."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), idx])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def covariance_eigh(state: Moments) -> tuple[np.ndarray, np.ndarray, int]:
    """``(explained_variance, components, rank)`` of the feature covariance, largest first.

    Variance uses the ``W - 1`` denominator, like ``PCA.explained_variance_``. Variances past
    ``rank`` (judged on the correlations, so unit-free) are exactly 0; their components span the
    null space.
    """

    def compute() -> tuple[np.ndarray, np.ndarray, int]:
        d = state.n_features
        denom = max(state.weight_sum - 1.0, 1e-300)
        lam, V, rank = graded_eigh(state.comoment[:d, :d])
        return lam / denom, svd_flip_rows(V.T), rank

    return state.derived("covariance_eigh", compute)
