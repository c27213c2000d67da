"""Autoregression ``AR(p)`` of the ``d``-times differenced series, finalized from ``LaggedMoments``.

The model is ``Δ^d y_t = c + φ_1 Δ^d y_{t-1} + ... + φ_p Δ^d y_{t-p} + e_t`` fitted by least
squares (ridge with ``alpha``; the constant ``c`` is never penalized; ``trend="n"`` drops it).
No second pass over the data: with ``z_t = [y_{t-1}, ..., y_{t-P}, y_t]`` summarized by the
state, the differenced vector ``[Δ^d y_{t-1}, ..., Δ^d y_{t-p}, Δ^d y_t]`` is ``D z_t`` for a
fixed difference-operator matrix ``D``, so its moments are ``D C D^T`` and ``D m``.

Rows used: exactly the state's lag rows, i.e. the times ``t`` with at least ``P = max_lag``
predecessors in their series (requires ``p + d <= P``). For one series this is the sample of
``statsmodels.tsa.ar_model.AutoReg(np.diff(y, d), lags=p, trend=trend, hold_back=P - d)``
(for ``d = 0``: ``AutoReg(y, lags=p, trend=trend, hold_back=P)``); many series are pooled.

Example
-------
>>> import numpy as np
>>> from statetune.states.lagged_moments import LaggedMoments
>>> from statetune.algorithms.autoregressive import AutoRegressive
>>> rng = np.random.default_rng(0); y = np.zeros(2000)
>>> for t in range(1, 2000): y[t] = 1.0 + 0.5 * y[t - 1] + rng.normal()
>>> s = LaggedMoments(max_lag=3); s.update(y)
>>> m = AutoRegressive.from_state(s, p=1)
>>> round(float(m.coef_[0]), 1), round(float(m.intercept_), 1)
(0.5, 1.0)
"""

from __future__ import annotations

from math import comb
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from statetune.algorithms._checks import check_in_range, check_int_range
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._linear_metrics import unknown_metric
from statetune.algorithms.linear import solve_ridge
from statetune.algorithms.space import CategoricalParam, FloatParam, IntParam, Param, round_bounds
from statetune.states import Moments
from statetune.states.lagged_moments import LaggedMoments

__all__ = ["AutoRegressive", "difference_matrix", "level_coefficients"]

#: Metrics computed exactly from the held-out state (one-step-ahead errors).
AR_METRICS = ("mse", "rmse")
#: Metrics computed on held-out reservoir samples of lag rows (one-step-ahead errors).
AR_SAMPLE_METRICS = ("mae", "mase")


def _diff_weights(d: int) -> np.ndarray:
    """``a_k`` with ``Δ^d y_t = sum_k a_k y_{t-k}``: ``(-1)^k C(d, k)``."""
    return np.array([(-1.0) ** k * comb(d, k) for k in range(d + 1)])


def difference_matrix(state: LaggedMoments, p: int, d: int) -> np.ndarray:
    """``D`` of shape ``(p + 1, P + n_exog + 1)``: maps the state's row
    ``[y_{t-1}, ..., y_{t-P}, x_t, y_t]`` to ``[Δ^d y_{t-1}, ..., Δ^d y_{t-p}, Δ^d y_t]``."""
    P, e = state.max_lag, state.n_exog

    def col(k: int) -> int:  # column of y_{t-k}
        return P + e if k == 0 else k - 1

    a = _diff_weights(d)
    D = np.zeros((p + 1, P + e + 1))
    for i in range(p + 1):
        out = p if i == 0 else i - 1
        for k, ak in enumerate(a):
            D[out, col(i + k)] += ak
    return D


def level_coefficients(coef: np.ndarray, d: int) -> np.ndarray:
    """``b`` with ``y_t = c + sum_j b_j y_{t-j}`` (``j = 1..p+d``) for the integrated model."""
    a = _diff_weights(d)
    b = np.zeros(coef.shape[0] + d)
    b[:d] -= a[1:]
    for i, phi in enumerate(coef, start=1):
        b[i - 1 : i - 1 + d + 1] += phi * a
    return b


def _differenced(state: LaggedMoments, p: int, d: int) -> tuple[Moments, np.ndarray, float]:
    """(Moments of the differenced lag vector, its mean relative to ``center``, ``center``).

    ``center`` is the state's shift of ``y_t`` (a value near the data); the means relative to it
    are formed from shift differences, so series around 1e9 keep their digits.
    """

    def build() -> tuple[Moments, np.ndarray, float]:
        m = state.moments
        D = difference_matrix(state, p, d)
        center = float(m.shift[-1])
        rel = D @ (np.asarray(m.shift) - center) + D @ m.mean_from_shift
        shift = D @ np.asarray(m.shift) if d == 0 else D @ (np.asarray(m.shift) - center)
        header = {
            "params": {"n_features": p, "has_target": True},
            "n_rows": m.n_rows,
            "weight_sum": m.weight_sum,
        }
        arrays = {
            "shift": shift,
            "mean": D @ m.mean_from_shift,
            "comoment": D @ np.asarray(m.comoment) @ D.T,
        }
        return Moments.from_arrays(header, arrays), rel, center

    return state.derived(("autoregressive", p, d), build)


class AutoRegressive(StateEstimator, RegressorMixin, BaseEstimator):
    """AR(p) of the ``d``-times differenced series from :class:`LaggedMoments`.

    Parameters
    ----------
    p : int, default 1
        Autoregressive order; ``p + d <= max_lag`` of the state.
    trend : {"c", "n"}, default "c"
        ``"c"`` fits a constant (a drift when ``d > 0``), ``"n"`` none.
    alpha : float, default 0.0
        Ridge penalty on the lag coefficients (never on the constant).
    d : {0, 1, 2}, default 0
        Times the series is differenced before the AR fit.

    Attributes
    ----------
    coef_ : ndarray of shape (p,)
        ``φ_1..φ_p`` of the differenced series.
    intercept_ : float
        ``c`` (0 when ``trend="n"``).
    level_coef_ : ndarray of shape (p + d,)
        ``b`` of the level recurrence ``y_t = c + sum_j b_j y_{t-j}`` (``= coef_`` when d=0).
    sigma2_ : float
        Residual variance ``SSE / n_obs_`` (as statsmodels' ``AutoRegResults.sigma2``).
    n_obs_ : int
        Rows used: values with at least ``max_lag`` predecessors in their series.
    n_features_in_ : int
        ``p + d``: :meth:`predict` takes rows ``[y_{t-1}, ..., y_{t-p-d}]``.
    """

    state_class: ClassVar[type[Any]] = LaggedMoments
    state_kind: ClassVar[str] = "lagged_moments"
    needs_target: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = AR_METRICS + AR_SAMPLE_METRICS
    sample_metrics: ClassVar[tuple[str, ...]] = AR_SAMPLE_METRICS
    maximize: ClassVar[dict[str, bool]] = {m: False for m in AR_METRICS + AR_SAMPLE_METRICS}

    coef_: np.ndarray
    intercept_: float
    level_coef_: np.ndarray
    sigma2_: float
    n_obs_: int
    _center: float
    _centered_intercept: float

    def __init__(self, p: int = 1, trend: str = "c", alpha: float = 0.0, d: int = 0) -> None:
        self.p = p
        self.trend = trend
        self.alpha = alpha
        self.d = d

    # ------------------------------------------------------------------ state side
    @classmethod
    def make_state(
        cls, n_features: int = 0, has_target: bool = True, *, max_lag: int = 8
    ) -> LaggedMoments:
        """An empty :class:`LaggedMoments` (``n_features`` exogenous columns)."""
        return LaggedMoments(max_lag, n_exog=n_features)

    @classmethod
    def from_state(cls, state: Any, feature_names: Any = None, **params: Any) -> AutoRegressive:
        """Finalize from a :class:`LaggedMoments` without touching data (state unchanged)."""
        model = cls(**params)
        model._fit_from(state, shared=True)
        return model

    def _check_hyperparameters(self, state: LaggedMoments) -> None:
        if self.trend not in ("n", "c"):
            raise ValueError(f"`trend` must be one of 'n', 'c', but got {self.trend!r}.")
        check_in_range("alpha", self.alpha, 0.0)
        d = check_int_range("d", self.d, 0, 2)
        p = check_int_range("p", self.p, 1, 10**9)
        if p + d > state.max_lag:
            raise ValueError(
                f"`p + d <= max_lag` must hold, but got p={p}, d={d}, max_lag={state.max_lag}."
            )
        for key, count in state.counts().items():
            if count < p + d + 1:
                raise ValueError(
                    f"`n_values >= p + d + 1` must hold for every series, but series {key!r} "
                    f"has {count} values (p={p}, d={d})."
                )
        if state.n_lag_rows == 0:
            raise ValueError(
                f"`n_values > max_lag` must hold for some series to fit, but no series has more "
                f"than max_lag={state.max_lag} values ({state.counts()})."
            )

    def _finalize(self, state: LaggedMoments) -> None:
        p, d, fi = int(self.p), int(self.d), self.trend == "c"
        moments, rel, center = _differenced(state, p, d)
        coef = solve_ridge(moments, float(self.alpha), fi)
        v = np.append(-coef, 1.0)
        # centered frame: y_t - center = c' + sum_j b_j (y_{t-j} - center)
        c_rel = float(rel @ v) if fi else 0.0
        b = level_coefficients(coef, d)
        if d == 0:
            centered = c_rel if fi else -center * (1.0 - float(b.sum()))
            intercept = float(moments.mean[-1] - moments.mean[:-1] @ coef) if fi else 0.0
        else:
            centered = intercept = c_rel
        e = float(rel @ v) - centered  # mean residual (0 with a fitted constant)
        sse = max(float(v @ moments.comoment @ v), 0.0) + moments.weight_sum * e * e
        self.coef_, self.intercept_, self.level_coef_ = coef, intercept, b
        self._center, self._centered_intercept = center, centered
        self.n_obs_ = moments.n_rows
        self.sigma2_ = sse / moments.weight_sum
        self.n_features_in_ = p + d

    @classmethod
    def search_space(cls, state: LaggedMoments) -> dict[str, Param]:
        """``p`` (and ``d`` in {0, 1} when ``max_lag >= 2``, then ``p <= max_lag - 1`` so every
        point finalizes), ``trend`` and a log-uniform ``alpha`` scaled to the series' spread."""
        P = state.max_lag
        v = float(state.moments.comoment[-1, -1]) if state.n_lag_rows else 0.0
        low, high = round_bounds(1e-6 * v, 1e-1 * v) if v > 0 else (1e-6, 1e-1)
        space: dict[str, Param] = {
            "p": IntParam(1, P - 1 if P >= 2 else 1),
            "trend": CategoricalParam(("n", "c")),
            "alpha": FloatParam(low, high, log=True),
        }
        if P >= 2:
            space["d"] = CategoricalParam((0, 1))
        return space

    def held_out_score(self, train: Any, held: LaggedMoments, metric: str) -> float:
        """One-step-ahead MSE (or RMSE) over every held-out target, exactly.

        The targets are the held-out state's lag rows (values with ``max_lag`` predecessors
        inside the held-out segment) plus, when ``train`` is a :class:`LaggedMoments` that
        ``held`` continues (rolling origin: ``train`` = the blocks before ``held``), the rows
        straddling the boundary (``train.straddle(held)``: held-out values whose lags reach
        into the training data). Per set of rows ``SSE = v^T C v + W e^2`` with
        ``v = [-b, 1]`` on the level lags. Any other ``train`` (e.g. ``None``) scores
        ``held``'s own rows only.

        Raises
        ------
        SeriesOrderError
            ``held`` has times that do not continue ``train``'s.
        """
        if metric not in AR_METRICS:
            raise unknown_metric("an autoregression", metric, AR_METRICS)
        check_is_fitted(self, "coef_")
        k = self.level_coef_.shape[0]
        if k > held.max_lag:
            raise ValueError(
                f"`p + d <= max_lag` must hold, but got p={self.p}, d={self.d}, "
                f"max_lag={held.max_lag}."
            )
        parts = [held.moments]
        if isinstance(train, LaggedMoments):
            parts.append(train.straddle(held))
        sse = weight = 0.0
        for m in parts:
            if m.n_rows == 0:
                continue
            v = np.zeros(m.comoment.shape[0])
            v[:k] = -self.level_coef_
            v[-1] = 1.0
            rel = (np.asarray(m.shift) - self._center) + m.mean_from_shift
            e = float(v @ rel) - self._centered_intercept
            sse += max(float(v @ m.comoment @ v), 0.0) + m.weight_sum * e * e
            weight += m.weight_sum
        if weight <= 0.0:
            raise ValueError(
                "`held-out lag rows > 0` must hold to score, but no held-out value has "
                f"max_lag={held.max_lag} predecessors."
            )
        mse = sse / weight
        return mse if metric == "mse" else float(np.sqrt(mse))

    def sample_score(self, train_sample: Any, held_sample: Any, metric: str) -> float:
        """One-step-ahead MAE or MASE on a held-out :class:`~statetune.states.Reservoir` of lag
        rows (``X = [y_{t-1}, ..., y_{t-P}, x_t]``, ``y = y_t``), weighted by its ``w``.

        ``"mase"`` divides the MAE by the in-sample one-step naive MAE of the training sample,
        the weighted mean of ``|y_t - y_{t-1}|`` over ``train_sample`` (``X[:, 0]`` is
        ``y_{t-1}``); ``"mae"`` ignores ``train_sample``.

        Example
        -------
        >>> import numpy as np
        >>> from statetune.states import Reservoir
        >>> y = np.sin(np.arange(200.0) / 5); s = LaggedMoments(max_lag=2); s.update(y)
        >>> r = Reservoir(2, size=50); r.update(np.c_[y[1:-1], y[:-2]], y[2:])
        >>> m = AutoRegressive.from_state(s, p=2)
        >>> bool(m.sample_score(r, r, "mase") < 1e-6)
        True
        """
        if metric not in AR_SAMPLE_METRICS:
            raise ValueError(
                f"`metric` must be one an autoregression computes on a sample "
                f"({', '.join(AR_SAMPLE_METRICS)}), but got {metric!r}."
            )
        check_is_fitted(self, "coef_")
        X, y, w = self._sample_arrays(held_sample, "held-out")
        mae = float(np.sum(w * np.abs(y - self._predict_lag_rows(X))) / np.sum(w))
        if metric == "mae":
            return mae
        Xt, yt, wt = self._sample_arrays(train_sample, "training")
        scale = float(np.sum(wt * np.abs(yt - Xt[:, 0])) / np.sum(wt))
        if not scale > 0.0:
            raise ValueError(
                "`mean |y_t - y_{t-1}| > 0` must hold over the training sample for MASE, but "
                f"it is {scale} ({len(yt)} sampled rows): the naive forecast is exact."
            )
        return mae / scale

    def _sample_arrays(self, sample: Any, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = np.asarray(sample.X, dtype=np.float64)
        y = None if sample.y is None else np.asarray(sample.y, dtype=np.float64)
        w = np.asarray(sample.w, dtype=np.float64)
        if y is None or len(w) == 0 or not np.sum(w) > 0.0:
            raise ValueError(
                f"The {what} sample must hold lag rows with a target and positive weight to "
                f"score, but it holds {len(w)} rows."
            )
        k = self.level_coef_.shape[0]
        if X.ndim != 2 or X.shape[1] < k:
            raise ValueError(
                f"The {what} sample's rows must hold the lags y_(t-1)..y_(t-{k}) (p + d = {k}), "
                f"but got shape {X.shape}."
            )
        return X, y, w

    def _predict_lag_rows(self, X: np.ndarray) -> np.ndarray:
        """Predictions from state-layout rows ``[y_{t-1}, ..., y_{t-P}, x_t]``."""
        return self._predict_centered(X[:, : self.level_coef_.shape[0]])

    # ------------------------------------------------------------------ estimator side
    def fit(self, y: Any, series: Any = None) -> AutoRegressive:  # type: ignore[override]
        """Fit on one series (or several, by id) with ``max_lag = p + d``.

        Unlike scikit-learn's ``fit(X, y)``, this takes the series itself.
        """
        state = LaggedMoments(int(self.p) + int(self.d))
        state.update(y, series=series)
        self._fit_from(state, shared=False)
        return self

    def partial_fit(self, y: Any, series: Any = None) -> AutoRegressive:  # type: ignore[override]
        """Append the next values of the series, then finalize again."""
        if not hasattr(self, "state_"):
            return self.fit(y, series)
        state = self.state_.copy() if self._state_shared else self.state_
        state.update(y, series=series)
        self._fit_from(state, shared=False)
        return self

    def _predict_centered(self, lags: np.ndarray) -> np.ndarray:
        """``y_t`` from rows ``[y_{t-1}, ..., y_{t-p-d}]``, in the centered frame."""
        c = self._center
        return c + (self._centered_intercept + (lags - c) @ self.level_coef_)

    def predict(self, X: Any) -> np.ndarray:
        """One-step predictions from rows ``[y_{t-1}, ..., y_{t-p-d}]`` (most recent first)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._predict_centered(X)

    def forecast(self, history: Any = None, steps: int = 1, series: Any = None) -> np.ndarray:
        """Forecast ``steps`` values after ``history`` recursively (integrated back if d > 0).

        ``history`` holds the series' values in time order (at least ``p + d``); when omitted,
        the tail of ``series`` in the fitted state is used.
        """
        check_is_fitted(self, "coef_")
        k = self.level_coef_.shape[0]
        if history is None:
            if series is None:
                ids = self.state_.series_ids
                if len(ids) != 1:
                    raise ValueError(
                        f"`series` must be given when the state holds several series ({len(ids)})."
                    )
                series = ids[0]
            history = self.state_.tail(series)
        h = np.asarray(history, dtype=np.float64).ravel()
        if h.shape[0] < k:
            raise ValueError(
                f"`len(history) >= p + d` must hold, but got {h.shape[0]} values, p + d = {k}."
            )
        if not np.isfinite(h[-k:]).all():
            raise ValueError("`history` must be finite in its last p + d values.")
        check_int_range("steps", steps, 0, 10**9)
        out = np.empty(steps)
        window = h[-k:][::-1].copy()  # most recent first
        for i in range(steps):  # recursive: each forecast becomes the next lag
            out[i] = self._predict_centered(window)
            window = np.concatenate([[out[i]], window[:-1]])
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        tags.input_tags.sparse = False
        return tags
