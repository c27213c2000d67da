"""Ridge classification (one-vs-rest ridge on +-1 class indicators) from ``ClassMoments``.

The indicator targets' cross-products with ``X`` are sums of class means times class weights, so
``X^T X`` (pooled from the class moments) and the class sums give scikit-learn's
``RidgeClassifier`` exactly.

Example
-------
>>> from sklearn.datasets import load_iris
>>> from statetune.states import ClassMoments
>>> from statetune.algorithms.ridge_classifier import RidgeClassifier
>>> X, y = load_iris(return_X_y=True); s = ClassMoments(4); s.update(X, y)
>>> round(RidgeClassifier.from_state(s, alpha=1.0).score(X, y), 2)
0.85
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn import linear_model

from statetune.algorithms._checks import check_bool, check_in_range
from statetune.algorithms._classifier import (
    SAMPLE_METRICS,
    ClassMomentsEstimator,
    linear_sample_predict,
)
from statetune.algorithms.linear import alpha_range
from statetune.algorithms.space import CategoricalParam, FloatParam, Param
from statetune.states import ClassMoments

__all__ = ["RidgeClassifier"]


class RidgeClassifier(ClassMomentsEstimator, linear_model.RidgeClassifier):
    """``RidgeClassifier(alpha, fit_intercept)`` from class moments (not generative: its scores
    come from the held-out sample; no held-out log-likelihood)."""

    metrics: ClassVar[tuple[str, ...]] = SAMPLE_METRICS
    solver, positive, copy_X, tol, random_state, class_weight = (
        "auto",
        False,
        True,
        1e-4,
        None,
        None,
    )

    def __init__(self, alpha: float = 1.0, fit_intercept: bool = True) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def _check_hyperparameters(self, state: ClassMoments) -> None:
        self._check_classes(state, "RidgeClassifier")
        check_in_range("alpha", self.alpha, 0.0)
        check_bool("fit_intercept", self.fit_intercept)

    def _finalize(self, state: ClassMoments) -> None:
        classes = state.classes
        K = len(classes)
        w = state.class_weights()
        W = w.sum()
        means = state.class_means()
        total = state.total()
        d = state.n_features
        # Y[i, k] = +1 if row i is of class k else -1 (binary: one column, positive = classes[1])
        cols = [1] if K == 2 else list(range(K))
        sums_x = w[:, None] * means  # per-class sum of X
        sum_x = sums_x.sum(axis=0)
        XtY = np.stack([2 * sums_x[k] - sum_x for k in cols], axis=1)  # sum_i x_i y_ik
        sum_y = np.array([2 * w[k] - W for k in cols])
        if self.fit_intercept:
            xbar = total.mean
            A = np.asarray(total.comoment)
            b = XtY - np.outer(xbar, sum_y)
        else:
            A = np.asarray(total.comoment) + W * np.outer(total.mean, total.mean)
            b = XtY
        alpha = float(self.alpha)
        lam, V = np.linalg.eigh(A)
        lam = np.maximum(lam, 0.0)
        tol = lam.max(initial=0.0) * d * np.finfo(np.float64).eps
        if alpha == 0.0 and lam.min() <= tol:
            raise np.linalg.LinAlgError(
                "`X^T X + alpha I` must be invertible, but alpha=0 and X^T X is singular; use alpha > 0."
            )
        coef = V @ ((V.T @ b) / (lam + alpha)[:, None])
        self.coef_ = coef.T
        if self.fit_intercept:
            self.intercept_ = sum_y / W - self.coef_ @ total.mean
        else:
            self.intercept_ = np.zeros(len(cols))
        self.classes_ = classes.copy()
        self._label_binarizer = _Binarizer(classes)

    def _sample_predict(self, held_sample: Any) -> np.ndarray:
        return linear_sample_predict(self, held_sample.X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """One-vs-rest logistic of the decision values, normalized (scikit-learn's
        ``_predict_proba_lr``): an uncalibrated probability, so that ``log_loss`` and ROC AUC
        can compare ridge classification with the probabilistic classifiers."""
        return np.asarray(self._predict_proba_lr(X))

    @classmethod
    def search_space(cls, state: ClassMoments) -> dict[str, Param]:
        low, high = alpha_range(_as_moments(state))
        return {
            "alpha": FloatParam(low, high, log=True),
            "fit_intercept": CategoricalParam((True, False)),
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = False
        tags.classifier_tags.multi_label = False
        return tags


class _Binarizer:
    """The attribute scikit-learn's RidgeClassifier reads for ``classes_``."""

    def __init__(self, classes: np.ndarray) -> None:
        self.classes_ = classes
        self.y_type_ = "binary" if len(classes) == 2 else "multiclass"


def _as_moments(state: ClassMoments) -> Any:
    return state.total()
