"""Lasso and elastic net finalized from ``Moments`` (coordinate descent on the Gram matrix).

Objective exactly as scikit-learn's ``ElasticNet``::

    1 / (2 W) ||y - X b - c||^2 + alpha * l1_ratio ||b||_1 + 0.5 alpha (1 - l1_ratio) ||b||^2

with ``W`` the weight sum (the row count when unweighted).

Features on very different scales need no special treatment here (checked against the exact
solution of the optimality conditions with scales 1e-3 .. 1e12 and offsets to 1e9): an exact
minimization along one coordinate commutes with rescaling that coordinate, so coordinate
descent on the raw Gram matrix takes the same steps as on standardized features with the
penalties rescaled, and its stopping rule, the duality gap, is in the objective's units. The
objective itself is scale-dependent (one ``alpha`` for all raw coefficients), as in
scikit-learn. One limit: the Gram form of the gap has a rounding floor near ``1e-12 ||y||^2``,
so a ``tol`` below about 1e-11 may stop at ``max_iter`` with a ``ConvergenceWarning``.

Example
-------
>>> import numpy as np
>>> from statetune.states import Moments
>>> from statetune.algorithms.sparse_linear import Lasso
>>> rng = np.random.default_rng(0); X = rng.normal(size=(200, 4)); y = X @ [3.0, 0, 0, 1.0]
>>> s = Moments(4); s.update(X, y)
>>> (Lasso.from_state(s, alpha=0.1).coef_ != 0).tolist()
[True, False, False, True]
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import linear_model
from sklearn.exceptions import ConvergenceWarning

from statetune.algorithms._checks import check_bool, check_in_range, check_int_range
from statetune.algorithms._estimator import model_params
from statetune.algorithms._gram_cd import enet_gram
from statetune.algorithms._standardize import standardized
from statetune.algorithms.linear import (
    _gram,
    _intercept,
    _LinearFromMoments,
    standardize_space,
)
from statetune.algorithms.params import FloatParam, Param, round_bounds
from statetune.algorithms.references import Reference, ScaledReference
from statetune.algorithms.references.scaled_regression import enet_reference, enet_view
from statetune.algorithms.references.standardized import with_scaler
from statetune.states import Moments

__all__ = ["ElasticNet", "Lasso", "alpha_bounds", "alpha_bounds_either_scaling", "alpha_max"]


def alpha_max(state: Moments, l1_ratio: float = 1.0) -> float:
    """Smallest ``alpha`` whose solution is all zeros (as scikit-learn's alpha grid)."""
    d = state.n_features
    if not state.weight_sum > 0:  # no rows: nothing to scale by (a default range, as ridge's)
        return 1.0
    top = float(np.max(np.abs(state.comoment[:d, d]))) / (state.weight_sum * l1_ratio)
    return top if top > 0 else 1.0


def alpha_bounds(state: Moments) -> tuple[float, float]:
    """``(low, alpha_max)``: ``low`` is ``1e-4`` x the correlation scale of the *smallest-scale*
    feature, ``sqrt(C_jj C_yy) / W``, so features on very different scales (no standardizing)
    can all escape the penalty; ``alpha_max`` zeroes every coefficient."""
    d = state.n_features
    top = alpha_max(state, 1.0)
    diag = np.diagonal(state.comoment)[:d]
    pos = diag[diag > 0]
    yy = float(state.comoment[d, d])
    if pos.size == 0 or yy <= 0:
        return 1e-4 * top, top
    low = 1e-4 * float(np.sqrt(pos.min() * yy)) / state.weight_sum
    return min(low, 1e-4 * top), top


def alpha_bounds_either_scaling(state: Moments) -> tuple[float, float]:
    """:func:`alpha_bounds` wide enough for the raw and the standardized features both."""
    low, high = alpha_bounds(state)
    if not state.weight_sum > 0:
        return low, high
    s_low, s_high = alpha_bounds(standardized(state)[0])
    return min(low, s_low), max(high, s_high)


class ElasticNet(_LinearFromMoments, linear_model.ElasticNet):
    """Elastic net from moments; equals ``sklearn.linear_model.ElasticNet`` at its tolerance
    (with ``standardize=True``: ``Pipeline([StandardScaler(), ElasticNet()])``; ``coef_`` and
    ``intercept_`` then apply to the raw features)."""

    # scikit-learn's base methods read these; they are not hyperparameters here.
    precompute, copy_X, warm_start, random_state, selection = True, True, False, None, "cyclic"

    # coordinate descent stops at a tolerance: the solve, not the tolerance, is compared
    reference = Reference(
        lambda params, state: with_scaler(params, linear_model.ElasticNet(**model_params(params))),
        compare=("coef_", "intercept_", "predict"),
        scaled=ScaledReference(
            enet_reference, enet_view, options=({"tol": 1e-10, "max_iter": 10**6},)
        ),
        params=({"tol": 1e-12, "max_iter": 100_000},),
    )

    def __init__(
        self,
        alpha: float = 1.0,
        l1_ratio: float = 0.5,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-4,
        positive: bool = False,
        add_indicator: bool = False,
        min_frequency: int | None = None,
        standardize: bool = False,
    ) -> None:
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.positive = positive
        self.add_indicator = add_indicator
        self.min_frequency = min_frequency
        self.standardize = standardize

    def _check_hyperparameters(self, state: Moments) -> None:
        check_in_range("alpha", self.alpha, 0.0)
        check_in_range("l1_ratio", self.l1_ratio, 0.0, 1.0)
        check_bool("fit_intercept", self.fit_intercept)
        check_int_range("max_iter", self.max_iter, 1, 10**9)
        check_in_range("tol", self.tol, 0.0)
        check_bool("positive", self.positive)

    def _finalize(self, state: Moments) -> None:
        fi = bool(self.fit_intercept)
        Q, q = _gram(state, fi)
        d = state.n_features
        yy = (
            float(state.comoment[d, d])
            if fi
            else float(state.comoment[d, d] + state.weight_sum * state.mean[d] ** 2)
        )
        W = state.weight_sum
        alpha, l1_ratio = float(self.alpha), float(self.l1_ratio)
        coef, gap, n_iter = enet_gram(
            Q,
            q,
            yy,
            alpha * l1_ratio * W,
            alpha * (1.0 - l1_ratio) * W,
            max_iter=self.max_iter,
            tol=self.tol,
            positive=bool(self.positive),
        )
        if n_iter >= self.max_iter and gap > self.tol * yy:
            warnings.warn(
                f"Coordinate descent stopped at max_iter={self.max_iter} with duality gap "
                f"{gap:.3g} > tol * ||y||^2 = {self.tol * yy:.3g}; raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.coef_ = coef
        self.intercept_ = _intercept(state, coef, fi)
        self.dual_gap_ = gap / W
        self.n_iter_ = n_iter

    def objective(self, state: Moments) -> float:
        """This objective evaluated on the rows summarized by ``state`` (for comparisons)."""
        fi = bool(self.fit_intercept)
        Q, q = _gram(state, fi)
        d = state.n_features
        yy = (
            float(state.comoment[d, d])
            if fi
            else float(state.comoment[d, d] + state.weight_sum * state.mean[d] ** 2)
        )
        b = self.coef_
        rss = float(b @ Q @ b - 2 * q @ b + yy)
        a, r = float(self.alpha), float(self.l1_ratio)
        return rss / (2 * state.weight_sum) + a * r * np.abs(b).sum() + 0.5 * a * (1 - r) * b @ b

    @classmethod
    def search_space(cls, state: Moments) -> dict[str, Param]:
        scaling = standardize_space(state)
        bounds = cls.bounds_state(state)
        low, high = round_bounds(
            *(alpha_bounds_either_scaling(bounds) if scaling else alpha_bounds(bounds))
        )
        return {
            "alpha": FloatParam(low, round_bounds(low, 20.0 * high)[1], log=True),
            "l1_ratio": FloatParam(0.05, 1.0),
            **scaling,
            **cls.preprocessing_space(state),
        }


class Lasso(ElasticNet, linear_model.Lasso):
    """Lasso from moments (elastic net with ``l1_ratio = 1``); equals ``sklearn.linear_model.Lasso``."""

    reference = Reference(
        lambda params, state: with_scaler(params, linear_model.Lasso(**model_params(params))),
        compare=("coef_", "intercept_", "predict"),
        scaled=ScaledReference(
            enet_reference, enet_view, options=({"tol": 1e-10, "max_iter": 10**6},)
        ),
        params=({"tol": 1e-12, "max_iter": 100_000},),
    )

    def __init__(
        self,
        alpha: float = 1.0,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-4,
        positive: bool = False,
        add_indicator: bool = False,
        min_frequency: int | None = None,
        standardize: bool = False,
    ) -> None:
        super().__init__(
            alpha=alpha,
            l1_ratio=1.0,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            positive=positive,
            add_indicator=add_indicator,
            min_frequency=min_frequency,
            standardize=standardize,
        )

    @classmethod
    def search_space(cls, state: Moments) -> dict[str, Param]:
        scaling = standardize_space(state)
        bounds = cls.bounds_state(state)
        low, top = round_bounds(
            *(alpha_bounds_either_scaling(bounds) if scaling else alpha_bounds(bounds))
        )
        return {
            "alpha": FloatParam(low, top, log=True),
            **scaling,
            **cls.preprocessing_space(state),
        }
