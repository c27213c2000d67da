"""The reference of a model with ``standardize=True``: scikit-learn's ``StandardScaler``
fitted on the same rows (with the same sample weights), then the bare estimator on the
scaled rows, as ``Pipeline([StandardScaler(), estimator])``; its coefficients are reported
for the raw features (``coef_ / scale_``, ``intercept_ - mean_ @ coef``), as the models do.

Example
-------
>>> import numpy as np
>>> from sklearn.linear_model import Ridge
>>> from statetune.algorithms.references.standardized import with_scaler
>>> X = np.c_[np.arange(6.0), np.arange(6.0) ** 2 * 1e3]; y = X @ [1.0, 1e-3]
>>> ref = with_scaler({"standardize": True}, Ridge(alpha=1e-9)).fit(X, y)
>>> ref.coef_.round(6).tolist()
[1.0, 0.001]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ScaledEstimator", "with_scaler"]


class ScaledEstimator:
    """``StandardScaler`` then ``estimator`` (see the module docstring)."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> ScaledEstimator:
        from sklearn.preprocessing import StandardScaler

        X = np.asarray(X, dtype=np.float64)
        self.scaler_ = StandardScaler().fit(X, sample_weight=sample_weight)
        Z = self.scaler_.transform(X)
        if sample_weight is None:
            self.estimator.fit(Z, y)
        else:
            self.estimator.fit(Z, y, sample_weight=sample_weight)
        inner = self.estimator[-1] if hasattr(self.estimator, "steps") else self.estimator
        if hasattr(inner, "coef_") and not hasattr(self.estimator, "steps"):
            self.coef_ = np.asarray(inner.coef_) / self.scaler_.scale_
            self.intercept_ = float(inner.intercept_ - self.scaler_.mean_ @ self.coef_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator.predict(self.scaler_.transform(np.asarray(X, float))))


def with_scaler(params: dict[str, Any], estimator: Any) -> Any:
    """``estimator`` itself, or behind a ``StandardScaler`` when ``params["standardize"]``."""
    return ScaledEstimator(estimator) if params.get("standardize", False) else estimator
