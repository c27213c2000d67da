"""Metrics that need predictions row by row, computed on a held-out sample (a reservoir).

Example
-------
>>> import numpy as np

from statetune.algorithms._label_metrics import label_score
>>> from statetune.validation.sample_metrics import sample_score
>>> class M:
...     classes_ = np.array([0, 1])
...     def predict(self, X): return (X[:, 0] > 0).astype(int)
>>> sample_score(M(), np.array([[1.0], [-1.0]]), np.array([1, 1]), np.ones(2), "accuracy")
0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.algorithms._label_metrics import label_score

__all__ = ["sample_score"]


def sample_score(model: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray, metric: str) -> float:
    """``metric`` of ``model`` on sampled held-out rows (weighted by their sample weights),
    computed by :func:`statetune.algorithms._label_metrics.label_score` (numpy, equal to
    scikit-learn's metrics, without their per-call input checks). ``roc_auc`` scores
    ``predict_proba``'s second column, or ``decision_function`` for a model without it."""
    classes = np.asarray(getattr(model, "classes_", np.unique(y)))
    if hasattr(model, "predict_proba"):
        proba: Any = lambda: np.asarray(model.predict_proba(X))  # noqa: E731
    elif metric == "roc_auc" and hasattr(model, "decision_function"):
        proba = lambda: np.asarray(model.decision_function(X)).reshape(-1)  # noqa: E731
    else:
        proba = None
    return label_score(
        metric, y, w, classes, lambda: np.asarray(model.predict(X)), proba, type(model).__name__
    )
