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
from statetune.algorithms._classifier import ClassMomentsEstimator, check_priors
from statetune.algorithms.space import FloatParam, Param
from statetune.states import ClassMoments

__all__ = ["GaussianNB"]


class GaussianNB(ClassMomentsEstimator, naive_bayes.GaussianNB):
    """Per-class means and variances (``/W``), plus ``var_smoothing`` x the largest variance."""

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
