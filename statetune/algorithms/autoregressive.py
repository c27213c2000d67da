"""Autoregression of the ``d``-times differenced series, finalized from ``LaggedMoments``.

The model is ``Δ^d y_t = c + sum_{j in lags} φ_j Δ^d y_{t-j} + β·x_t + e_t`` with
``lags = 1..p`` plus an optional seasonal lag ``s > p``, and ``x_t`` the state's exogenous
columns (ARX; not differenced) when it has any. Fitted by least squares (ridge with ``alpha``
on ``φ`` and ``β``; the constant ``c`` is never penalized; ``trend="n"`` drops it). No second
pass over the data: the differenced lag vector is a fixed linear map of the state's rows
(:mod:`statetune.algorithms._lag_algebra`).

Rows used: exactly the state's lag rows, i.e. the times ``t`` with at least ``P = max_lag``
predecessors in their series (requires ``max(lags) + d <= P``). For one series this is the
sample of ``statsmodels.tsa.ar_model.AutoReg(np.diff(y, d), lags=[1..p, s], trend=trend,
exog=exog[d:], hold_back=P - d)``; many series are pooled.

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

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from statetune.algorithms._checks import check_in_range, check_int_range
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._lag_algebra import (
    centers,
    difference_matrix,
    differenced,
    held_out_sse,
    level_coefficients,
)
from statetune.algorithms._linear_metrics import unknown_metric
from statetune.algorithms.linear import solve_ridge
from statetune.algorithms.params import CategoricalParam, FloatParam, IntParam, Param, round_bounds
from statetune.algorithms.references import Reference, ScaledReference
from statetune.algorithms.references.autoreg import AutoRegReference
from statetune.algorithms.references.scaled_series import ar_reference, ar_view
from statetune.states.lagged_moments import LaggedMoments

__all__ = [
    "DEFAULT_MAX_LAG",
    "SEASONAL_PERIODS",
    "AutoRegressive",
    "difference_matrix",
    "level_coefficients",
]

#: Lags kept by the lagged moments of series data unless ``max_lag`` says otherwise (a state
#: parameter: forecasters finalize with any ``p + d`` up to it).
DEFAULT_MAX_LAG = 8

#: Metrics computed exactly from the held-out state (one-step-ahead errors).
AR_METRICS = ("mse", "rmse")
#: Metrics computed on held-out reservoir samples of lag rows (one-step-ahead errors).
AR_SAMPLE_METRICS = ("mae", "mase")
#: Seasonal lags the search space offers (those with ``s + 1 <= max_lag``), besides 0 = none.
SEASONAL_PERIODS = (4, 7, 12, 24, 52)


class AutoRegressive(StateEstimator, RegressorMixin, BaseEstimator):
    """AR(p) (plus a seasonal lag, plus exogenous regressors) of the ``d``-times differenced
    series, from :class:`LaggedMoments`.

    Parameters
    ----------
    p : int, default 1
        Autoregressive order: lags ``1..p``; ``p + d <= max_lag`` of the state.
    trend : {"c", "n"}, default "c"
        ``"c"`` fits a constant (a drift when ``d > 0``), ``"n"`` none.
    alpha : float, default 0.0
        Ridge penalty on the lag (and exogenous) coefficients, never on the constant.
    d : {0, 1, 2}, default 0
        Times the series is differenced before the fit.
    seasonal_lag : int, default 0
        ``s``: one more lag ``Δ^d y_{t-s}``; 0 means none. Requires ``s + d <= max_lag``
        when ``s > p``. A seasonal lag ``s <= p`` is already among ``1..p`` and is ignored
        (so that independently sampled ``p`` and ``s`` always finalize).

    Attributes
    ----------
    lags_ : ndarray of int
        The lags used: ``1..p``, then ``s`` when ``s > p``.
    coef_ : ndarray of shape (len(lags_),)
        ``φ`` of the differenced series, in the order of ``lags_``.
    exog_coef_ : ndarray of shape (n_exog,)
        ``β`` of the exogenous columns (empty without them).
    intercept_ : float
        ``c`` (0 when ``trend="n"``).
    level_coef_ : ndarray of shape (max(lags_) + d,)
        ``b`` of the level recurrence ``y_t = c + sum_j b_j y_{t-j} + β·x_t``.
    sigma2_ : float
        Residual variance ``SSE / n_obs_`` (as statsmodels' ``AutoRegResults.sigma2``).
    n_obs_ : int
        Rows used: values with at least ``max_lag`` predecessors in their series.
    n_exog_ : int
        Exogenous columns of the state.
    n_features_in_ : int
        ``max(lags_) + d + n_exog_``: :meth:`predict` takes rows
        ``[y_{t-1}, ..., y_{t-max(lags_)-d}, x_t]``.

    Notes
    -----
    The state holds moments of the levels, so differencing cancels digits in proportion to
    the ratio of the levels' spread to the differences' spread: for ``d <= 1`` on the tested
    series (co2, sunspots, synthetic, 1e9 offsets) the fit matches statsmodels to < 1e-8
    relative; for ``d = 2`` on an integrated-twice random walk of 700 values, to ~2e-8.
    Exogenous columns on scales far from the series' (volume ~1e9 next to prices ~1e3) cost
    no accuracy: the least-squares solve is Jacobi-scaled
    (:func:`~statetune.algorithms.linear.solve_ridge`), and ``alpha`` stays in raw units.
    """

    state_class: ClassVar[type[Any]] = LaggedMoments
    state_kind: ClassVar[str] = "lagged_moments"
    needs_target: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = AR_METRICS + AR_SAMPLE_METRICS
    sample_metrics: ClassVar[tuple[str, ...]] = AR_SAMPLE_METRICS
    for_rows: ClassVar[bool] = False
    for_series: ClassVar[bool] = True
    maximize: ClassVar[dict[str, bool]] = {m: False for m in AR_METRICS + AR_SAMPLE_METRICS}

    # statsmodels' AutoReg on the same rows (the state's max_lag decides them); it has no
    # penalty, so the exactness check runs at alpha = 0 (the scaled check covers alpha > 0)
    reference = Reference(
        lambda params, state: AutoRegReference(**params, max_lag=state.max_lag),
        compare=("coef_", "exog_coef_", "intercept_", "sigma2_", "n_obs_"),
        scaled=ScaledReference(ar_reference, ar_view, options=({"alpha": 0.0}, {})),
        params=({"alpha": 0.0},),
    )
    estimator_checks_exempt: ClassVar[str | None] = (
        "AutoRegressive.fit takes a series (values, series ids, exogenous columns), not a "
        "feature matrix X and a target y, which scikit-learn's estimator checks pass to fit"
    )

    lags_: np.ndarray
    coef_: np.ndarray
    exog_coef_: np.ndarray
    intercept_: float
    level_coef_: np.ndarray
    sigma2_: float
    n_obs_: int
    n_exog_: int
    _max_lag: int
    _center: float
    _centered_intercept: float

    def __init__(
        self, p: int = 1, trend: str = "c", alpha: float = 0.0, d: int = 0, seasonal_lag: int = 0
    ) -> None:
        self.p = p
        self.trend = trend
        self.alpha = alpha
        self.d = d
        self.seasonal_lag = seasonal_lag

    # ------------------------------------------------------------------ state side
    @classmethod
    def make_state(
        cls, n_features: int = 0, has_target: bool = True, *, max_lag: int | None = None
    ) -> LaggedMoments:
        """An empty :class:`LaggedMoments` (``n_features`` exogenous columns, ``max_lag`` lags:
        default :data:`DEFAULT_MAX_LAG`)."""
        if max_lag is None:
            max_lag = DEFAULT_MAX_LAG
        if isinstance(max_lag, bool) or not isinstance(max_lag, int | np.integer):
            raise TypeError(f"`max_lag` must be an integer, but got {max_lag!r}.")
        if max_lag < 1:
            raise ValueError(f"`max_lag >= 1` must hold, but got max_lag={max_lag}.")
        return LaggedMoments(int(max_lag), n_exog=n_features)

    @classmethod
    def from_state(cls, state: Any, feature_names: Any = None, **params: Any) -> AutoRegressive:
        """Finalize from a :class:`LaggedMoments` without touching data (state unchanged)."""
        model = cls(**params)
        model._fit_from(state, shared=True)
        return model

    def _lags(self) -> list[int]:
        p, s = int(self.p), int(self.seasonal_lag)
        return list(range(1, p + 1)) + ([s] if s > p else [])

    def _check_hyperparameters(self, state: LaggedMoments) -> None:
        if self.trend not in ("n", "c"):
            raise ValueError(f"`trend` must be one of 'n', 'c', but got {self.trend!r}.")
        check_in_range("alpha", self.alpha, 0.0)
        d = check_int_range("d", self.d, 0, 2)
        p = check_int_range("p", self.p, 1, 10**9)
        s = check_int_range("seasonal_lag", self.seasonal_lag, 0, 10**9)
        if p + d > state.max_lag:
            raise ValueError(
                f"`p + d <= max_lag` must hold, but got p={p}, d={d}, max_lag={state.max_lag}."
            )
        if s > p and s + d > state.max_lag:
            raise ValueError(
                f"`seasonal_lag + d <= max_lag` must hold (the state keeps max_lag lags), but "
                f"got seasonal_lag={s}, d={d}, max_lag={state.max_lag}."
            )
        if state.n_lag_rows == 0:
            raise ValueError(
                f"`n_values > max_lag` must hold for some series of the state to fit, but no "
                f"series has more than max_lag={state.max_lag} values here (values per series: "
                f"{state.counts()}; a training state holds only the blocks before its fold)."
            )

    def _finalize(self, state: LaggedMoments) -> None:
        lags, d, fi = self._lags(), int(self.d), self.trend == "c"
        moments, rel, center = differenced(state, lags, d, state.n_exog > 0)
        beta = solve_ridge(moments, float(self.alpha), fi)
        coef = beta[: len(lags)]
        v = np.append(-beta, 1.0)
        # centered frame: y_t - center = c' + sum_j b_j (y_{t-j} - center) + β·x_t
        c_rel = float(rel @ v) if fi else 0.0
        b = level_coefficients(coef, d, lags)
        if d == 0:
            centered = c_rel if fi else -center * (1.0 - float(b.sum()))
            intercept = float(moments.mean[-1] - moments.mean[:-1] @ beta) if fi else 0.0
        else:
            centered = intercept = c_rel
        e = float(rel @ v) - centered  # mean residual (0 with a fitted constant)
        sse = max(float(v @ moments.comoment @ v), 0.0) + moments.weight_sum * e * e
        self.lags_ = np.array(lags, dtype=np.int64)
        self.coef_, self.exog_coef_ = coef, beta[len(lags) :]
        self.intercept_, self.level_coef_ = intercept, b
        self._center, self._centered_intercept = center, centered
        self._max_lag = state.max_lag
        self.n_exog_ = state.n_exog
        self.n_obs_ = moments.n_rows
        self.sigma2_ = sse / moments.weight_sum
        self.n_features_in_ = b.shape[0] + state.n_exog

    @classmethod
    def search_space(cls, state: LaggedMoments) -> dict[str, Param]:
        """``p`` (and ``d`` in {0, 1} when ``max_lag >= 2``, then ``p <= max_lag - 1``), the
        ``seasonal_lag`` among 0 and the :data:`SEASONAL_PERIODS` with ``s + 1 <= max_lag``
        (when any fits), ``trend`` and a log-uniform ``alpha`` scaled to the series' spread.
        Every point finalizes: ``p + d <= max_lag``, ``s + d <= max_lag``, and ``s <= p`` is
        ignored."""
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
        seasonal = tuple(s for s in SEASONAL_PERIODS if s + 1 <= P)
        if seasonal:
            space["seasonal_lag"] = CategoricalParam((0, *seasonal))
        return space

    def _residual_vector(self, state: LaggedMoments) -> np.ndarray:
        """``v`` on the state's columns with ``v·z_t = y_t - (level and exogenous part)``."""
        k = self.level_coef_.shape[0]
        if k > state.max_lag or state.n_exog != self.n_exog_:
            raise ValueError(
                f"`max(lags) + d <= max_lag` and equal n_exog must hold to score, but the model "
                f"needs {k} lags and {self.n_exog_} exogenous columns, the state has "
                f"max_lag={state.max_lag}, n_exog={state.n_exog}."
            )
        v = np.zeros(state.n_features + 1)
        v[:k] = -self.level_coef_
        v[state.max_lag : state.max_lag + state.n_exog] = -self.exog_coef_
        v[-1] = 1.0
        return v

    def held_out_score(self, train: Any, held: LaggedMoments, metric: str) -> float:
        """One-step-ahead MSE (or RMSE) over every held-out target, exactly.

        The targets are the held-out state's lag rows (values with ``max_lag`` predecessors
        inside the held-out segment) plus, when ``train`` is a :class:`LaggedMoments` that
        ``held`` continues (rolling origin: ``train`` = the blocks before ``held``), the rows
        straddling the boundary (``train.straddle(held)``: held-out values whose lags reach
        into the training data). Per set of rows ``SSE = v^T C v + W e^2`` with
        ``v = [-b, -β, 1]``. Any other ``train`` (e.g. ``None``) scores ``held``'s own rows.

        Raises
        ------
        SeriesOrderError
            ``held`` has times that do not continue ``train``'s.
        """
        if metric not in AR_METRICS:
            raise unknown_metric("an autoregression", metric, AR_METRICS)
        check_is_fitted(self, "coef_")
        v = self._residual_vector(held)
        cvec = centers(held, self._center)
        sse, weight = held_out_sse(train, held, v, cvec, self._centered_intercept)
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
        k, e = self.level_coef_.shape[0], self.n_exog_
        width = self._max_lag + e if e else k
        if X.ndim != 2 or X.shape[1] < width:
            raise ValueError(
                f"The {what} sample's rows must hold the lags y_(t-1)..y_(t-{k}) (max lag + d = "
                f"{k}) and {e} exogenous columns after max_lag={self._max_lag} lags, but got "
                f"shape {X.shape}."
            )
        return X, y, w

    def _predict_lag_rows(self, X: np.ndarray) -> np.ndarray:
        """Predictions from state-layout rows ``[y_{t-1}, ..., y_{t-P}, x_t]``."""
        P, e = self._max_lag, self.n_exog_
        return self._predict_centered(X[:, : self.level_coef_.shape[0]], X[:, P : P + e])

    # ------------------------------------------------------------------ estimator side
    def fit(self, y: Any, series: Any = None, exog: Any = None) -> AutoRegressive:  # type: ignore[override]
        """Fit on one series (or several, by id) with ``max_lag = max(lags) + d``.

        Unlike scikit-learn's ``fit(X, y)``, this takes the series itself (and optionally its
        exogenous columns, shape ``(n, n_exog)``, aligned with ``y``).
        """
        n_exog = 0 if exog is None else int(np.asarray(exog).reshape(len(y), -1).shape[1])
        state = LaggedMoments(max(self._lags()) + int(self.d), n_exog)
        state.update(y, exog, series=series)
        self._fit_from(state, shared=False)
        return self

    def partial_fit(self, y: Any, series: Any = None, exog: Any = None) -> AutoRegressive:  # type: ignore[override]
        """Append the next values of the series, then finalize again."""
        if not hasattr(self, "state_"):
            return self.fit(y, series, exog)
        state = self.state_.copy() if self._state_shared else self.state_
        state.update(y, exog, series=series)
        self._fit_from(state, shared=False)
        return self

    def _predict_centered(self, lags: np.ndarray, exog: np.ndarray | None = None) -> np.ndarray:
        """``y_t`` from rows ``[y_{t-1}, ..., y_{t-K}]`` (and ``x_t``), in the centered frame."""
        c = self._center
        out = c + (self._centered_intercept + (lags - c) @ self.level_coef_)
        if self.n_exog_:
            out = out + np.asarray(exog) @ self.exog_coef_
        return out

    def predict(self, X: Any) -> np.ndarray:
        """One-step predictions from rows ``[y_{t-1}, ..., y_{t-K}, x_t]`` (most recent lag
        first; ``K = max(lags_) + d``; the ``n_exog_`` exogenous values of time ``t`` last)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        k = self.level_coef_.shape[0]
        return self._predict_centered(X[:, :k], X[:, k:])

    def forecast(
        self, history: Any = None, steps: int = 1, series: Any = None, exog: Any = None
    ) -> np.ndarray:
        """Forecast ``steps`` values after ``history`` recursively (integrated back if d > 0).

        ``history`` holds the series' values in time order (at least ``max(lags_) + d``); when
        omitted, the tail of ``series`` in the fitted state is used (the state keeps
        ``max_lag`` values). ``exog`` holds the future exogenous rows, shape
        ``(steps, n_exog_)``, required when the model has exogenous columns.
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
            where = f"series {series.item() if isinstance(series, np.generic) else series!r} has"
        else:
            where = "got"
        h = np.asarray(history, dtype=np.float64).ravel()
        if h.shape[0] < k:
            raise ValueError(
                f"`len(history) >= max(lags) + d` must hold, but {where} {h.shape[0]} values, "
                f"max(lags) + d = {k}."
            )
        if not np.isfinite(h[-k:]).all():
            raise ValueError("`history` must be finite in its last max(lags) + d values.")
        check_int_range("steps", steps, 0, 10**9)
        if self.n_exog_:
            if exog is None:
                raise ValueError(
                    f"`exog` must hold the future exogenous rows ({steps}, {self.n_exog_}), "
                    "but got None."
                )
            F = np.asarray(exog, dtype=np.float64).reshape(steps, -1)
            if F.shape[1] != self.n_exog_ or not np.isfinite(F).all():
                raise ValueError(
                    f"`exog` must be finite with shape ({steps}, {self.n_exog_}), but got "
                    f"{np.asarray(exog).shape}."
                )
        else:
            F = np.zeros((steps, 0))
        out = np.empty(steps)
        window = h[-k:][::-1].copy()  # most recent first
        for i in range(steps):  # recursive: each forecast becomes the next lag
            out[i] = self._predict_centered(window, F[i])
            window = np.concatenate([[out[i]], window[:-1]])
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        tags.input_tags.sparse = False
        return tags
