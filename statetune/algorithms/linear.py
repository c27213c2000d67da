"""Ordinary least squares and ridge regression finalized from ``Moments``.

Both minimize ``||y - X b - c||^2 + alpha ||b||^2`` (scikit-learn's ``Ridge`` objective, weighted
when sample weights were given; ``alpha`` in the raw features' units, as scikit-learn's). The
solves are Jacobi-scaled (:mod:`statetune.algorithms._scaled_solve`), so features on very
different scales (volume ~1e9 next to prices ~1e3, or 1e-3 .. 1e12) lose no accuracy: the
scaled Gram matrix and, for least squares, its pivoted Cholesky factor are memoized on the
state; each ridge trial is one Cholesky factorization (~15 us at d=50).

Example
-------
>>> import numpy as np
>>> from statetune.states import FrequentDirections, Moments, TableMoments
>>> from statetune.algorithms.linear import Ridge
>>> rng = np.random.default_rng(0); X = rng.normal(size=(50, 3)); y = X @ [1.0, 2.0, 3.0]
>>> s = Moments(3); s.update(X, y)
>>> Ridge.from_state(s, alpha=1e-8).coef_.round(4)
array([1., 2., 3.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import linear_model

from statetune.algorithms._checks import check_bool, check_in_range
from statetune.algorithms._estimator import StateEstimator, check_columns, model_params
from statetune.algorithms._graded_eigh import graded_eigh
from statetune.algorithms._linear_metrics import (
    REGRESSION_MAXIMIZE,
    REGRESSION_METRICS,
    linear_held_out_score,
)
from statetune.algorithms._scaled_solve import (
    Equilibrated,
    PinvFactor,
    equilibrate,
    min_norm_solve,
    pinv_factor,
    psd_solve,
    ridge_solve,
)
from statetune.algorithms._sketch import (
    SketchServed,
    sketch_alpha_range,
    sketch_linear_held_out_score,
    sketch_ridge,
)
from statetune.algorithms._standardize import Scaling, standardized
from statetune.algorithms.params import CategoricalParam, FloatParam, Param
from statetune.algorithms.references import Reference, ScaledReference, lowest_alpha
from statetune.algorithms.references.scaled_case import regression_view
from statetune.algorithms.references.scaled_regression import ols_reference, ridge_reference
from statetune.algorithms.references.standardized import with_scaler
from statetune.states import FrequentDirections, Moments, TableMoments

__all__ = [
    "LinearRegression",
    "Ridge",
    "alpha_range",
    "alpha_range_either_scaling",
    "standardize_space",
    "gram_pinv",
    "scaled_gram",
    "solve_ridge",
]


def _gram(state: Moments, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(X^T X, X^T y)``: centered when fitting an intercept, raw otherwise."""
    d = state.n_features
    C = state.comoment
    if fit_intercept:
        return C[:d, :d], C[:d, d]
    mu = state.mean
    W = state.weight_sum
    return C[:d, :d] + W * np.outer(mu[:d], mu[:d]), C[:d, d] + W * mu[:d] * mu[d]


def scaled_gram(state: Moments, fit_intercept: bool) -> tuple[Equilibrated, np.ndarray]:
    """Memoized Jacobi-scaled ``X^T X`` and the raw ``X^T y``."""

    def compute() -> tuple[Equilibrated, np.ndarray]:
        A, b = _gram(state, fit_intercept)
        return equilibrate(A), np.array(b)

    return state.derived(("scaled_gram", fit_intercept), compute)


def gram_pinv(state: Moments, fit_intercept: bool) -> PinvFactor:
    """Memoized pivoted Cholesky factor and null space of ``X^T X`` (for least squares)."""
    return state.derived(
        ("gram_pinv", fit_intercept), lambda: pinv_factor(scaled_gram(state, fit_intercept)[0])
    )


def alpha_range(state: Moments) -> tuple[float, float]:
    """Where ridge shrinkage goes from negligible to total, in the data's own units.

    ``alpha`` competes with the diagonal of ``X^T X`` (``W`` times each feature's variance), so
    the range runs from ``1e-6`` x the smallest non-zero diagonal entry to ``1e2`` x the largest,
    rounded out to powers of ten: wide enough for features on very different scales.
    """
    d = state.n_features
    diag = np.diagonal(state.comoment)[:d]
    pos = diag[diag > 0]
    if pos.size == 0:
        return 1e-6, 1e2
    low = 10.0 ** np.floor(np.log10(1e-6 * pos.min()))
    high = 10.0 ** np.ceil(np.log10(1e2 * pos.max()))
    return float(low), float(high)


def standardize_space(state: Moments) -> dict[str, Param]:
    """``standardize`` in the default search space: offered for a table's state (its
    preprocessing is tuned anyway); a numeric source's default space stays as it was (studies
    keep their identity), and ``standardize`` is tuned there when a ``search_space`` names it."""
    if isinstance(state, TableMoments):
        return {"standardize": CategoricalParam((False, True))}
    return {}


def alpha_range_either_scaling(state: Moments) -> tuple[float, float]:
    """:func:`alpha_range` wide enough for the raw and the standardized features both (the
    ``standardize`` hyperparameter picks one per trial; ``alpha`` keeps its meaning in each)."""
    low, high = alpha_range(state)
    if not state.weight_sum > 0:
        return low, high
    s_low, s_high = alpha_range(standardized(state)[0])
    return min(low, s_low), max(high, s_high)


def _intercept(state: Moments, coef: np.ndarray, fit_intercept: bool) -> float:
    if not fit_intercept:
        return 0.0
    mu = state.mean
    return float(mu[-1] - mu[:-1] @ coef)


def solve_ridge(state: Moments, alpha: float, fit_intercept: bool) -> np.ndarray:
    """Ridge coefficients; ``alpha == 0`` gives the minimum-norm least-squares solution."""
    eq, b = scaled_gram(state, fit_intercept)
    if alpha > 0.0:
        x = ridge_solve(eq, b, alpha)
        if x is not None:
            return x
        # X^T X + alpha I is singular to working precision (alpha below its rounding): the
        # minimum-norm solution of that system, as scikit-learn's fallback to lstsq.
        A = _gram(state, fit_intercept)[0].copy()
        A.flat[:: A.shape[0] + 1] += alpha
        return psd_solve(A, b)
    return min_norm_solve(eq, gram_pinv(state, fit_intercept), b)


class _LinearFromMoments(StateEstimator):
    metrics = REGRESSION_METRICS
    maximize = REGRESSION_MAXIMIZE
    takes_encoding = True
    fit_intercept: bool
    coef_: np.ndarray
    intercept_: float

    def _finalize_from(self, state: Moments) -> None:
        """With ``standardize``, finalize on the standardized features' moments (the training
        rows' means and scales, as ``StandardScaler``) and map the fit back to raw features
        (:mod:`statetune.algorithms._standardize`); ``scale_`` is the scaling (None without)."""
        standardize = getattr(self, "standardize", False)
        check_bool("standardize", standardize)
        if not standardize:
            self.scale_ = None
            self._finalize(state)
            return
        scaled, scaling = standardized(state)
        self._finalize(scaled)
        self._unscale(scaling)
        self.scale_ = scaling.scale

    def _unscale(self, scaling: Scaling) -> None:
        """Coefficients of the standardized features -> of the raw features."""
        self.coef_ = self.coef_ / scaling.scale
        self.intercept_ = float(self.intercept_ - scaling.mean @ self.coef_)

    def held_out_score(self, train: Moments, held: Moments, metric: str) -> float:
        if isinstance(held, FrequentDirections):
            return sketch_linear_held_out_score(
                self.coef_,
                self.intercept_,
                getattr(self, "fit_intercept", True),
                train,
                held,
                metric,
            )
        train, held = self._design_states(train, held)
        return linear_held_out_score(
            self.coef_, self.intercept_, getattr(self, "fit_intercept", True), train, held, metric
        )

    def predict(self, X: Any) -> np.ndarray:
        """``X @ coef_ + intercept_``; a model of a table first imputes and encodes ``X`` (a
        DataFrame of the table's columns) as its training rows were."""
        if self.preprocessing_ is not None:
            return np.asarray(self._design_matrix(X) @ self.coef_ + self.intercept_)
        check_columns(self, X)
        return np.asarray(super().predict(X))  # type: ignore[misc]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        tags.input_tags.sparse = False
        return tags


class LinearRegression(_LinearFromMoments, linear_model.LinearRegression):
    """Least squares from moments; equals ``sklearn.linear_model.LinearRegression``.

    A rank-deficient ``X^T X`` gives the minimum-norm solution, as ``lstsq`` does; the rank
    (``rank_``) is judged on the features' correlations, so it does not depend on their units.
    ``singular_`` are the singular values of the (centered) feature matrix, each to high
    relative accuracy (:func:`~statetune.algorithms._graded_eigh.graded_eigh`).
    """

    # scikit-learn's base methods read these; they are not hyperparameters here.
    copy_X, n_jobs, positive, tol = True, None, False, 1e-6

    reference = Reference(
        lambda params, state: linear_model.LinearRegression(**model_params(params)),
        compare=("coef_", "intercept_", "predict"),
        scaled=ScaledReference(ols_reference, regression_view),
    )

    def __init__(
        self,
        fit_intercept: bool = True,
        add_indicator: bool = False,
        min_frequency: int | None = None,
    ) -> None:
        self.fit_intercept = fit_intercept
        self.add_indicator = add_indicator
        self.min_frequency = min_frequency

    def _check_hyperparameters(self, state: Moments) -> None:
        check_bool("fit_intercept", self.fit_intercept)

    def _finalize(self, state: Moments) -> None:
        fi = bool(self.fit_intercept)
        self.coef_ = solve_ridge(state, 0.0, fi)
        self.intercept_ = _intercept(state, self.coef_, fi)
        self.rank_ = gram_pinv(state, fi).rank
        lam = state.derived(("gram_graded_eigh", fi), lambda: graded_eigh(_gram(state, fi)[0]))[0]
        self.singular_ = np.sqrt(lam)

    @classmethod
    def search_space(cls, state: Moments) -> dict[str, Param]:
        return {"fit_intercept": CategoricalParam((True, False)), **cls.preprocessing_space(state)}


class Ridge(SketchServed, _LinearFromMoments, linear_model.Ridge):
    """Ridge regression from moments; equals ``sklearn.linear_model.Ridge`` (with
    ``standardize=True``: ``Pipeline([StandardScaler(), Ridge()])``, fitted on each fold's
    training rows; ``coef_`` and ``intercept_`` then apply to the raw features).

    Wide data: from a Frequent Directions sketch (state parameters ``sketch``/``ell``,
    :mod:`statetune.algorithms._sketch`), every ``alpha > 0`` from one SVD of the sketch.

    ``alpha == 0`` is allowed but raises when ``X^T X`` is singular (use ``ols`` for the
    minimum-norm solution).
    """

    # scikit-learn's base methods read these; they are not hyperparameters here.
    solver, positive, copy_X, tol, random_state = "auto", False, True, 1e-4, None

    reference = Reference(
        lambda params, state: with_scaler(
            params, linear_model.Ridge(solver="svd", **model_params(params))
        ),
        compare=("coef_", "intercept_", "predict"),
        scaled=ScaledReference(ridge_reference, regression_view, options=({}, lowest_alpha)),
    )

    def __init__(
        self,
        alpha: float = 1.0,
        fit_intercept: bool = True,
        add_indicator: bool = False,
        min_frequency: int | None = None,
        standardize: bool = False,
    ) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.add_indicator = add_indicator
        self.min_frequency = min_frequency
        self.standardize = standardize

    def _check_hyperparameters(self, state: Moments) -> None:
        check_in_range("alpha", self.alpha, 0.0)
        check_bool("fit_intercept", self.fit_intercept)

    def _finalize(self, state: Moments) -> None:
        fi = bool(self.fit_intercept)
        alpha = float(self.alpha)
        if isinstance(state, FrequentDirections):
            self.coef_ = sketch_ridge(state, alpha, fi)
            self.intercept_ = float(state.mean[-1] - state.mean[:-1] @ self.coef_) if fi else 0.0
            self.__dict__["solver_"] = "frequent_directions"
            return
        if alpha == 0.0 and gram_pinv(state, fi).rank < state.n_features:
            raise np.linalg.LinAlgError(
                "`X^T X + alpha I` must be invertible, but alpha=0 and X^T X is singular; "
                "use alpha > 0 or the 'ols' algorithm."
            )
        self.coef_ = solve_ridge(state, alpha, fi)
        self.intercept_ = _intercept(state, self.coef_, fi)
        self.solver_ = "cholesky"

    @classmethod
    def search_space(cls, state: Moments) -> dict[str, Param]:
        scaling = standardize_space(state)
        if isinstance(state, FrequentDirections):
            low, high = sketch_alpha_range(state)
        else:
            bounds = cls.bounds_state(state)
            low, high = alpha_range_either_scaling(bounds) if scaling else alpha_range(bounds)
        return {
            "alpha": FloatParam(low, high, log=True),
            "fit_intercept": CategoricalParam((True, False)),
            **scaling,
            **cls.preprocessing_space(state),
        }
