"""Ridge classification (one-vs-rest ridge on +-1 class indicators) from ``ClassMoments``.

The indicator targets' cross-products with ``X`` are sums of class means times class weights, so
``X^T X`` (pooled from the class moments) and the class sums give scikit-learn's
``RidgeClassifier`` exactly. The solve is Jacobi-scaled, one Cholesky factorization per trial
(:mod:`statetune.algorithms._scaled_solve`), so ``alpha`` (raw units, as scikit-learn's) and
features on very different scales lose no accuracy.

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
from scipy.special import expit
from sklearn import linear_model

from statetune.algorithms._checks import check_bool, check_in_range
from statetune.algorithms._classifier import (
    SAMPLE_METRICS,
    ClassMomentsEstimator,
    linear_sample_decision,
    linear_sample_predict,
)
from statetune.algorithms._scaled_solve import (
    equilibrate,
    min_norm_solve,
    pinv_factor,
    psd_solve,
    ridge_solve,
)
from statetune.algorithms.linear import alpha_range
from statetune.algorithms.params import CategoricalParam, FloatParam, Param
from statetune.algorithms.references import Reference, ScaledReference, lowest_alpha
from statetune.algorithms.references.scaled_classifiers import (
    linear_classifier_view,
    ridge_classifier_reference,
)
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

    reference = Reference(
        lambda params, state: linear_model.RidgeClassifier(**params),
        compare=("coef_", "intercept_", "decision_function"),
        scaled=ScaledReference(
            ridge_classifier_reference, linear_classifier_view, options=({}, lowest_alpha)
        ),
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
        sum_y = np.array([2 * w[k] - W for k in cols])
        signs = np.where(np.arange(K)[:, None] == np.array(cols)[None, :], 1.0, -1.0)
        fi = bool(self.fit_intercept)
        if fi:  # sum_i (x_i - mean) y_ik from the class mean offsets (no cancellation)
            offsets = np.array(
                [total.mean_offset(m) if m.weight_sum > 0 else np.zeros(d) for m in state.per_class]
            )
            b = (w[:, None] * offsets).T @ signs
        else:  # sum_i x_i y_ik
            b = (w[:, None] * means).T @ signs
        eq = state.derived(("ridge_classifier_gram", fi), lambda: equilibrate(_gram(total, fi)))
        alpha = float(self.alpha)
        if alpha == 0.0:
            pf = state.derived(("ridge_classifier_pinv", fi), lambda: pinv_factor(eq))
            if pf.rank < d:
                raise np.linalg.LinAlgError(
                    "`X^T X + alpha I` must be invertible, but alpha=0 and X^T X is singular; "
                    "use alpha > 0."
                )
            coef = min_norm_solve(eq, pf, b)
        else:
            solved = ridge_solve(eq, b, alpha)
            if solved is None:  # X^T X + alpha I singular to working precision
                A = _gram(total, fi)
                A.flat[:: d + 1] += alpha
                solved = psd_solve(A, b)
            coef = solved
        self.coef_ = coef.T
        if self.fit_intercept:
            self.intercept_ = sum_y / W - self.coef_ @ total.mean
        else:
            self.intercept_ = 0.0  # as scikit-learn's (a scalar without an intercept)
        self.classes_ = classes.copy()
        self._label_binarizer = _Binarizer(classes)

    def _sample_predict(self, held_sample: Any) -> np.ndarray:
        return linear_sample_predict(self, held_sample.X)

    def _sample_proba(self, held_sample: Any) -> np.ndarray:
        """:meth:`predict_proba` on the sample's rows (no validation)."""
        prob = expit(linear_sample_decision(self, held_sample.X))
        if prob.shape[1] == 1:
            return np.column_stack([1 - prob[:, 0], prob[:, 0]])
        prob_sum = prob.sum(axis=1)
        all_zero = prob_sum == 0
        if np.any(all_zero):  # as scikit-learn: uniform where every class got zero
            prob[all_zero, :] = 1
            prob_sum[all_zero] = prob.shape[1]
        prob /= prob_sum[:, np.newaxis]
        return np.asarray(prob)

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


def _gram(total: Any, fit_intercept: bool) -> np.ndarray:
    """``X^T X`` from the pooled moments: centered when fitting an intercept, raw otherwise."""
    A = np.array(total.comoment)
    if not fit_intercept:
        A += total.weight_sum * np.outer(total.mean, total.mean)
    return A
