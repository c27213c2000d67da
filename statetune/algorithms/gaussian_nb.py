"""Gaussian naive Bayes finalized from ``ClassMoments`` (equal to ``sklearn.naive_bayes.GaussianNB``).

Example
-------
>>> from sklearn.datasets import load_iris
>>> from statetune.states import ClassMoments
>>> from statetune.algorithms.gaussian_nb import GaussianNB
>>> X, y = load_iris(return_X_y=True); s = ClassMoments(4); s.update(X, y)
>>> round(GaussianNB.from_state(s).score(X, y), 2)
0.96
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import naive_bayes

from statetune.algorithms._checks import check_in_range
from statetune.algorithms._classifier import ClassMomentsEstimator, check_priors, sample_memo
from statetune.algorithms.params import FloatParam, Param
from statetune.algorithms.references import Reference, ScaledReference
from statetune.algorithms.references.scaled_classifiers import (
    gaussian_nb_reference,
    gaussian_nb_view,
)
from statetune.states import ClassMoments

__all__ = ["GaussianNB"]


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=1))`` by scikit-learn's own ``_logsumexp`` (what
    ``GaussianNB.predict_log_proba`` normalizes with), without its array-API dispatch, which
    cost more than the sum itself: the maxima are taken out and counted, the rest summed."""
    amax = a.max(axis=1, keepdims=True)
    index_max = a == amax
    rest = a.copy()
    rest[index_max] = -np.inf
    m = index_max.sum(axis=1, keepdims=True, dtype=a.dtype)
    shift = np.where(np.isfinite(amax), amax, 0)
    s = np.exp(rest - shift).sum(axis=1, keepdims=True)
    s = np.where(s == 0, s, s / m)
    return np.asarray((np.log1p(s) + np.log(m) + amax)[:, 0])


class GaussianNB(ClassMomentsEstimator, naive_bayes.GaussianNB):
    """Per-class means and variances (``/W``), plus ``var_smoothing`` x the largest variance.

    Sample weights are frequency weights: scikit-learn's ``GaussianNB`` takes the scale of
    ``var_smoothing`` from the unweighted variance, so the reference for weighted rows is
    scikit-learn on the rows repeated (what the contract suite fits it on).
    """

    reference = Reference(
        lambda params, state: naive_bayes.GaussianNB(**params),
        compare=("theta_", "var_", "class_prior_", "predict_proba"),
        scaled=ScaledReference(gaussian_nb_reference, gaussian_nb_view),
    )

    def __init__(self, priors: Any = None, var_smoothing: float = 1e-9) -> None:
        self.priors = priors
        self.var_smoothing = var_smoothing

    def _check_hyperparameters(self, state: ClassMoments) -> None:
        self._check_classes(state, "GaussianNB")
        check_in_range("var_smoothing", self.var_smoothing, 0.0)
        check_priors(self.priors, len(state.classes))

    def _finalize(self, state: ClassMoments) -> None:
        total = state.total()
        d = state.n_features
        self.epsilon_ = float(self.var_smoothing) * float(
            np.max(np.diagonal(total.comoment)[:d] / total.weight_sum)
        )
        self.classes_ = state.classes.copy()
        self.class_count_ = state.class_weights()
        self.theta_ = state.class_means()
        self.var_ = (
            np.array([np.diagonal(m.comoment) / m.weight_sum for m in state.per_class])
            + self.epsilon_
        )
        priors = check_priors(self.priors, len(state.classes))
        self.class_prior_ = (
            self.class_count_ / self.class_count_.sum() if priors is None else priors
        )

    def _sample_jll(self, held_sample: Any) -> np.ndarray:
        """scikit-learn's ``_joint_log_likelihood`` on the sample's rows, with the squared
        deviations ``(x - theta_c)^2`` memoized in the sample (they depend on the training
        state only; ``var_smoothing`` only changes the variances dividing them)."""
        X = held_sample.X
        squares = sample_memo(
            held_sample,
            "gaussian_nb_squares",
            self.state_,
            X.nbytes * len(self.theta_),
            lambda: [np.square(X - theta) for theta in self.theta_],
        )
        return np.column_stack(
            [
                np.log(prior) - 0.5 * np.sum(np.log(2.0 * np.pi * var)) - 0.5 * (sq @ (1.0 / var))
                for sq, var, prior in zip(squares, self.var_, self.class_prior_, strict=True)
            ]
        )

    def _sample_predict(self, held_sample: Any) -> np.ndarray:
        return np.asarray(self.classes_.take(self._sample_jll(held_sample).argmax(axis=1)))

    def _sample_proba(self, held_sample: Any) -> np.ndarray:
        """scikit-learn's ``predict_proba`` on the sample's rows: ``exp(jll - logsumexp)``."""
        jll = self._sample_jll(held_sample)
        return np.asarray(np.exp(jll - _logsumexp_rows(jll)[:, np.newaxis]))

    def _class_gaussians(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        return [
            (mu, np.diag(1.0 / v), float(np.sum(np.log(v))))
            for mu, v in zip(self.theta_, self.var_, strict=True)
        ]

    def _log_priors(self) -> np.ndarray:
        return np.log(self.class_prior_)

    @classmethod
    def search_space(cls, state: ClassMoments) -> dict[str, Param]:
        return {"var_smoothing": FloatParam(1e-12, 1e-1, log=True)}
