"""The covariance eigendecomposition shared by PCA and PCR (memoized on the state).

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

from statetune.states import Moments

__all__ = ["covariance_eigh", "svd_flip_rows"]


def svd_flip_rows(components: np.ndarray) -> np.ndarray:
    """scikit-learn's sign rule: the largest-magnitude entry of each component is positive."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), idx])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def covariance_eigh(state: Moments) -> tuple[np.ndarray, np.ndarray]:
    """``(explained_variance, components)`` of the feature covariance, largest first.

    Variance uses the ``W - 1`` denominator, like ``PCA.explained_variance_``.
    """

    def compute() -> tuple[np.ndarray, np.ndarray]:
        d = state.n_features
        denom = max(state.weight_sum - 1.0, 1e-300)
        lam, V = np.linalg.eigh(state.comoment[:d, :d])
        order = np.argsort(lam)[::-1]
        ev = np.maximum(lam[order], 0.0) / denom
        return ev, svd_flip_rows(V[:, order].T)

    return state.derived("covariance_eigh", compute)
