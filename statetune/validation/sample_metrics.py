"""Metrics that need predictions row by row, computed on a held-out sample (a reservoir).

Example
-------
>>> import numpy as np
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

__all__ = ["sample_score"]


def sample_score(model: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray, metric: str) -> float:
    """``metric`` of ``model`` on sampled held-out rows (weighted by their sample weights)."""
    from sklearn import metrics as skm

    if len(y) == 0:
        raise ValueError("The held-out sample must hold rows to score, but it is empty.")
    if metric == "accuracy":
        return float(skm.accuracy_score(y, model.predict(X), sample_weight=w))
    if metric == "balanced_accuracy":
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # classes absent from a small sample
                return float(skm.balanced_accuracy_score(y, model.predict(X), sample_weight=w))
    classes = model.classes_
    unseen = np.setdiff1d(np.unique(y), classes)
    if unseen.size:
        raise ValueError(
            f"Held-out classes must have been seen in training, but {unseen[:5].tolist()} were not."
        )
    if metric == "log_loss":
        if not hasattr(model, "predict_proba"):
            raise ValueError(f"`log_loss` needs predict_proba, which {type(model).__name__} lacks.")
        return float(skm.log_loss(y, model.predict_proba(X), sample_weight=w, labels=classes))
    if metric == "roc_auc":
        if len(classes) != 2:
            raise ValueError(
                f"`roc_auc` needs a binary target, but there are {len(classes)} classes."
            )
        if hasattr(model, "predict_proba"):
            score = model.predict_proba(X)[:, 1]
        else:
            score = model.decision_function(X)
        if len(np.unique(y)) < 2:
            raise ValueError("`roc_auc` needs both classes in the held-out sample, but it has one.")
        return float(skm.roc_auc_score(y == classes[1], score, sample_weight=w))
    raise ValueError(f"`metric` must be a sample metric, but got {metric!r}.")
