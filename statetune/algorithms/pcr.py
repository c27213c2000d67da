"""Principal component regression: ridge on the leading principal components, from ``Moments``.

Equals ``make_pipeline(PCA(n_components, svd_solver="full"), Ridge(alpha))`` fitted on all
rows: the component scores have Gram matrix ``diag(lambda)``, so the ridge step is a division.
Like that pipeline, PCR is scale-dependent by definition: the components are those of the RAW
covariance (a feature in larger units dominates them) and ``alpha`` is in the units of the
scores; ``standardize=True`` decomposes the correlations instead, as
``make_pipeline(StandardScaler(), PCA(...), Ridge(alpha))`` (fitted on each fold's training
rows). The decomposition keeps each component's variance and the small entries of its
loadings to full relative accuracy when the features' scales span many orders of magnitude
(:mod:`statetune.algorithms._eigen`), so the coefficients, which divide by those variances,
stay accurate too.

Example
-------
>>> import numpy as np
>>> from statetune.states import FrequentDirections, Moments
>>> from statetune.algorithms.pcr import PCR
>>> rng = np.random.default_rng(0); X = rng.normal(size=(100, 3)); y = X @ [1.0, 2.0, 3.0]
>>> s = Moments(3); s.update(X, y)
>>> PCR.from_state(s, n_components=3, alpha=0.0).coef_.round(6)
array([1., 2., 3.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import decomposition, linear_model
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import validate_data

from statetune.algorithms._checks import check_in_range
from statetune.algorithms._eigen import covariance_eigh
from statetune.algorithms._estimator import check_columns
from statetune.algorithms._sketch import (
    SketchServed,
    check_sketch_components,
    missed_variance,
    sketch_alpha_range,
    sketch_components,
)
from statetune.algorithms._standardize import Scaling
from statetune.algorithms.decomposition import check_n_components
from statetune.algorithms.linear import (
    _LinearFromMoments,
    alpha_range,
    alpha_range_either_scaling,
    standardize_space,
)
from statetune.algorithms.params import FloatParam, IntParam, Param
from statetune.algorithms.references import Reference, ScaledReference, lowest_alpha
from statetune.algorithms.references.scaled_case import regression_view
from statetune.algorithms.references.scaled_regression import pcr_reference
from statetune.algorithms.references.standardized import with_scaler
from statetune.states import FrequentDirections, Moments

__all__ = ["PCR"]


class PCR(SketchServed, _LinearFromMoments, RegressorMixin, TransformerMixin, BaseEstimator):
    """PCA to ``n_components``, then ridge with ``alpha`` on the component scores.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    coef_ : ndarray of shape (n_features,)
        Coefficients mapped back to the input features: ``predict(X) = X @ coef_ + intercept_``.
    intercept_ : float
    """

    fit_intercept = True

    reference = Reference(
        lambda params, state: with_scaler(
            params,
            make_pipeline(
                decomposition.PCA(n_components=params["n_components"], svd_solver="full"),
                linear_model.Ridge(alpha=params["alpha"]),
            ),
        ),
        compare=("predict",),
        scaled=ScaledReference(
            pcr_reference,
            regression_view,
            options=({"n_components": None, "alpha": 0.0}, {}, lowest_alpha),
        ),
    )

    def __init__(
        self,
        n_components: int | None = None,
        alpha: float = 0.0,
        add_indicator: bool = False,
        min_frequency: int | None = None,
        standardize: bool = False,
    ) -> None:
        """``n_components=None`` keeps every component of non-zero variance."""
        self.n_components = n_components
        self.alpha = alpha
        self.add_indicator = add_indicator
        self.min_frequency = min_frequency
        self.standardize = standardize

    def _check_hyperparameters(self, state: Moments) -> None:
        if isinstance(state, FrequentDirections):
            check_sketch_components(self.n_components, state, by_rows=False)
        else:
            check_n_components(self.n_components, state, limit_by_rows=False)
        check_in_range("alpha", self.alpha, 0.0)

    def _finalize(self, state: Moments) -> None:
        if isinstance(state, FrequentDirections):
            self._finalize_sketch(state)
            return
        k = check_n_components(self.n_components, state, limit_by_rows=False)
        ev, comps, rank = covariance_eigh(state)
        d = state.n_features
        if self.n_components is None:  # all informative components: the numerical rank
            k = max(rank, 1)
        P = comps[:k]
        lam = ev[:k] * max(state.weight_sum - 1.0, 0.0)  # eigenvalues of X^T X
        denom = lam + float(self.alpha)
        # a component of zero variance (past the rank) has score 0: its coefficient is 0
        gamma = np.divide(P @ state.comoment[:d, d], denom, out=np.zeros(k), where=denom > 0)
        self.components_ = P.copy()
        self.n_components_ = k
        self.mean_ = state.mean[:d].copy()
        self.scores_coef_ = gamma
        self.coef_ = P.T @ gamma
        self.intercept_ = float(state.mean[d] - self.mean_ @ self.coef_)

    def _finalize_sketch(self, state: FrequentDirections) -> None:
        """Ridge on the top sketched components, with the exact ``X^T y`` (``_sketch``)."""
        k = check_sketch_components(self.n_components, state, by_rows=False)
        if self.n_components is None:  # the sketched directions of non-zero variance
            k = max(min(k, int(np.count_nonzero(state.eig()[0] > 0))), 1)
        lam, P = sketch_components(state, k)
        denom = lam + missed_variance(state) + float(self.alpha)
        gamma = np.divide(P @ state.cross_moment, denom, out=np.zeros(k), where=denom > 0)
        d = state.n_features
        self.components_ = P
        self.n_components_ = k
        self.mean_ = state.mean[:d].copy()
        self.scores_coef_ = gamma
        self.coef_ = P.T @ gamma
        self.intercept_ = float(state.mean[d] - self.mean_ @ self.coef_)

    def _unscale(self, scaling: Scaling) -> None:
        """Also ``mean_``: the components stay those of the standardized features."""
        super()._unscale(scaling)
        self.mean_ = scaling.mean.copy()

    def _scores(self, X: np.ndarray) -> np.ndarray:
        Z = X - self.mean_
        if self.scale_ is not None:
            Z = Z / self.scale_
        return np.asarray(Z @ self.components_.T)

    def predict(self, X: Any) -> np.ndarray:
        """``X @ coef_ + intercept_``."""
        if self.preprocessing_ is not None:
            return np.asarray(self._design_matrix(X) @ self.coef_ + self.intercept_)
        self._check_fitted()
        check_columns(self, X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(X @ self.coef_ + self.intercept_)

    def transform(self, X: Any) -> np.ndarray:
        """Principal component scores ``(X - mean_) @ components_.T`` (with ``standardize``:
        ``((X - mean_) / scale_) @ components_.T``)."""
        if self.preprocessing_ is not None:
            return self._scores(self._design_matrix(X))
        self._check_fitted()
        check_columns(self, X)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._scores(X)

    @classmethod
    def search_space(cls, state: Moments) -> dict[str, Param]:
        if isinstance(state, FrequentDirections):
            low, high = sketch_alpha_range(state)
            top = max(min(state.ell - 1, state.n_features), 1)
            return {"n_components": IntParam(1, top), "alpha": FloatParam(low, high, log=True)}
        bounds = cls.bounds_state(state)
        scaling = standardize_space(state)
        low, high = alpha_range_either_scaling(bounds) if scaling else alpha_range(bounds)
        return {
            "n_components": IntParam(1, bounds.n_features),
            "alpha": FloatParam(low, high, log=True),
            **scaling,
            **cls.preprocessing_space(state),
        }
