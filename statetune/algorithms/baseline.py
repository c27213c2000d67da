"""``Baseline``: the reference every study should show next to its models.

- regression: the mean predictor (scikit-learn's ``DummyRegressor()``), from a
  :class:`~statetune.states.TargetSummary`;
- classification: the class prior (``DummyClassifier(strategy="prior")``: predicts the most
  weighted class, probabilities are the training class weights), from a ``TargetSummary`` of
  labels;
- series: the naive forecast ``y_t = y_{t - lag}`` (``lag=1``: last value; a seasonal period:
  seasonal naive), from the :class:`~statetune.states.LaggedMoments` the forecasters share, so
  it costs the pass nothing.

Every score is exact from the held-out state: ``SSE = M2_h + W_h (mean_h - c)^2`` for the mean;
the held-out class weights for the prior (scikit-learn's metrics on one weighted row per class,
which is what they compute on the rows themselves); ``v^T C v + W e^2`` with
``v = e_t - e_{t-lag}`` on the held-out lag moments (and the rows straddling the training
boundary) for the naive forecast: the rows an autoregression is scored on.

Example
-------
>>> import numpy as np
>>> from statetune.states import TargetSummary
>>> from statetune.algorithms.baseline import Baseline
>>> s = TargetSummary(4); s.update(None, np.array([1.0, 2.0, 6.0]))
>>> Baseline.from_state(s).predict(np.zeros((2, 4))).tolist()
[3.0, 3.0]
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from statetune.algorithms._checks import check_int_range
from statetune.algorithms._classifier import CLASSIFIER_MAXIMIZE, SAMPLE_METRICS
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._label_metrics import UnseenClassError, label_score
from statetune.algorithms._lag_algebra import centers, held_out_sse
from statetune.algorithms._linear_metrics import (
    REGRESSION_MAXIMIZE,
    REGRESSION_METRICS,
    check_r2_rows,
    unknown_metric,
)
from statetune.algorithms.autoregressive import DEFAULT_MAX_LAG, SEASONAL_PERIODS
from statetune.algorithms.params import CategoricalParam, Param
from statetune.algorithms.references import Reference
from statetune.data.schema import Schema
from statetune.states import LaggedMoments, TargetSummary
from statetune.states.spec import StateSpec

__all__ = ["Baseline"]

#: Classification metrics of a class prior, all exact from held-out class weights.
LABEL_METRICS = SAMPLE_METRICS


class Baseline(StateEstimator, BaseEstimator):
    """Mean predictor, class prior or naive forecast, by the data it is finalized from.

    Parameters
    ----------
    lag : int, default 1
        Series only: forecast ``y_t`` by ``y_{t - lag}`` (1: last value; a seasonal period:
        seasonal naive). Must be at most the state's ``max_lag``.
    """

    state_class: ClassVar[type[Any]] = TargetSummary
    state_kind: ClassVar[str] = "target_summary"
    needs_target: ClassVar[bool] = True
    y_numeric: ClassVar[bool] = False  # class labels are welcome (the class prior)
    metrics: ClassVar[tuple[str, ...]] = REGRESSION_METRICS + LABEL_METRICS
    maximize: ClassVar[dict[str, bool]] = {**REGRESSION_MAXIMIZE, **CLASSIFIER_MAXIMIZE}
    for_rows: ClassVar[bool] = True
    for_series: ClassVar[bool] = True

    # scikit-learn's dummies on the same rows (the naive forecast is checked against numpy in
    # its tests: statsmodels has no naive forecaster to compare with)
    reference = Reference(
        lambda params, state: (
            DummyClassifier(strategy="prior")
            if getattr(state, "labels", False)
            else DummyRegressor(strategy="mean")
        ),
        compare=("predict",),
        scaled="reads the target only: no feature enters, nothing is solved",
    )
    expected_failed_checks: ClassVar[dict[str, str]] = {
        "check_dtype_object": "X is validated for its shape only (dtype=None): object "
        "columns are accepted, since no feature value enters the prediction",
        "check_estimators_nan_inf": "predict validates X for its shape only "
        "(ensure_all_finite=False): no feature value enters a mean or prior prediction",
    }

    constant_: np.ndarray
    classes_: np.ndarray
    class_prior_: np.ndarray
    lag_: int

    def __init__(self, lag: int = 1) -> None:
        self.lag = lag

    # ------------------------------------------------------------------ state side
    @classmethod
    def make_state(cls, n_features: int = 0, has_target: bool = True, **params: Any) -> Any:
        """A numeric :class:`TargetSummary` (``labels=True`` for class labels)."""
        return TargetSummary(n_features, labels=bool(params.get("labels", False)))

    @classmethod
    def state_spec(cls, schema: Schema, **state_params: Any) -> StateSpec:
        """A ``TargetSummary`` of the target for rows; for series, the lagged moments the
        forecasters use (the same spec, so one state serves both)."""
        if schema.is_series:
            max_lag = state_params.get("max_lag")
            lags = DEFAULT_MAX_LAG if max_lag is None else int(max_lag)
            return StateSpec.for_state(LaggedMoments(lags, n_exog=schema.n_features))
        return StateSpec.for_state(TargetSummary(schema.n_features, schema.target_is_labels))

    @classmethod
    def accepts(cls, spec: StateSpec) -> bool:
        return spec.has(TargetSummary) or spec.has(LaggedMoments)

    @classmethod
    def search_space(cls, state: Any) -> dict[str, Param]:
        """Nothing to tune for rows; for series, ``lag`` among 1 and the seasonal periods the
        state's ``max_lag`` holds."""
        if not isinstance(state, LaggedMoments):
            return {}
        lags = (1, *(s for s in SEASONAL_PERIODS if s <= state.max_lag))
        return {"lag": CategoricalParam(lags)} if len(lags) > 1 else {}

    def _check_hyperparameters(self, state: Any) -> None:
        high = state.max_lag if isinstance(state, LaggedMoments) else 10**9
        check_int_range("lag", self.lag, 1, high)

    def _fit_from(self, state: Any, shared: bool) -> None:
        if not isinstance(state, TargetSummary | LaggedMoments):
            raise TypeError(
                "`state` must be a TargetSummary (rows) or LaggedMoments (series) state for "
                f"Baseline, but got {type(state).__name__}."
            )
        if isinstance(state, LaggedMoments):
            if state.n_rows == 0:
                raise ValueError("`n_rows >= 1` must hold to finalize Baseline, but it is empty.")
            self._check_hyperparameters(state)
            self._finalize(state)
            self.state_ = state
            self._state_shared = shared
            return
        super()._fit_from(state, shared)

    def _finalize(self, state: Any) -> None:
        for attr in ("constant_", "classes_", "class_prior_", "lag_"):
            self.__dict__.pop(attr, None)
        if isinstance(state, LaggedMoments):
            self.lag_ = int(self.lag)
        elif state.labels:
            self.classes_ = state.classes.copy()
            self.class_prior_ = state.class_weights / state.weight_sum
        else:
            self.constant_ = np.array([[state.mean]])  # as DummyRegressor: (1, n_outputs)

    # ------------------------------------------------------------------ scikit-learn side
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Baseline:
        """A numeric target gives the mean predictor; strings, booleans or categories give the
        class prior (as ``DummyRegressor`` / ``DummyClassifier(strategy="prior")``)."""
        X, y = validate_data(self, X, y, reset=True, dtype=None, y_numeric=False)
        y = np.asarray(y)
        state = TargetSummary(X.shape[1], labels=y.dtype.kind not in "iuf")
        state.update(X, y, sample_weight)
        self._fit_from(state, shared=False)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The mean, the most weighted class, or (series) ``X[:, lag - 1]`` of lag rows
        ``[y_{t-1}, ..., y_{t-P}, x_t]``."""
        check_is_fitted(self, "state_")
        X = validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False)
        n = X.shape[0]
        if hasattr(self, "lag_"):
            return np.asarray(X[:, self.lag_ - 1], dtype=np.float64)
        if hasattr(self, "classes_"):
            return np.repeat(self.classes_[int(np.argmax(self.class_prior_))], n)
        return np.full(n, self.constant_[0, 0])

    @available_if(lambda self: hasattr(self, "class_prior_"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """The class prior on every row (only after class labels, as ``DummyClassifier``)."""
        check_is_fitted(self, "class_prior_")
        X = validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False)
        return np.tile(self.class_prior_, (X.shape[0], 1))

    # ------------------------------------------------------------------ held-out scores
    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        """``metric`` on the held-out rows, exactly, from the held-out state."""
        if metric not in self.metrics:
            raise unknown_metric("the baseline", metric, self.metrics)
        if isinstance(held, LaggedMoments):
            return self._series_score(train, held, metric)
        if held.weight_sum <= 0:
            raise ValueError("`held-out weight > 0` must hold to score, but the fold is empty.")
        if held.labels:
            return self._label_score(held, metric)
        if metric not in REGRESSION_METRICS:
            raise ValueError(
                f"`metric={metric!r}` scores class labels, but the target is numeric; use one of "
                f"{', '.join(REGRESSION_METRICS)}."
            )
        delta = held.mean - float(self.constant_[0, 0])
        sse = held.m2 + held.weight_sum * delta * delta
        if metric == "r2":
            check_r2_rows(held.n_rows)
        return _regression(sse, held.weight_sum, held.m2, metric)

    def _label_score(self, held: TargetSummary, metric: str) -> float:
        """scikit-learn's metric on one row per held-out class, weighted by its weight: the
        same sums as on the rows, since every row gets the same prediction."""
        if metric not in LABEL_METRICS:
            raise ValueError(
                f"`metric={metric!r}` scores a numeric target, but the target holds class "
                f"labels; use one of {', '.join(LABEL_METRICS)}."
            )
        keep = held.class_weights > 0
        y, w = held.classes[keep], held.class_weights[keep]
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise UnseenClassError(
                f"Held-out classes must have been seen in training, but {unseen[:5].tolist()} "
                "were not."
            )
        guess = np.repeat(self.classes_[int(np.argmax(self.class_prior_))], y.size)
        proba = np.tile(self.class_prior_, (y.size, 1))
        return label_score(
            metric, y, w, self.classes_, lambda: guess, lambda: proba, type(self).__name__
        )

    def _series_score(self, train: Any, held: LaggedMoments, metric: str) -> float:
        if metric not in ("mse", "rmse"):
            raise ValueError(
                f"`metric` must be 'mse' or 'rmse' for a naive forecast, but got {metric!r}."
            )
        if self.lag_ > held.max_lag:
            raise ValueError(
                f"`lag <= max_lag` must hold to score, but got lag={self.lag_}, "
                f"max_lag={held.max_lag}."
            )
        v = np.zeros(held.n_features + 1)
        v[self.lag_ - 1], v[-1] = -1.0, 1.0  # y_t - y_{t-lag}
        cvec = centers(held, float(held.moments.shift[-1]) if held.n_lag_rows else 0.0)
        sse, weight = held_out_sse(train, held, v, cvec)
        if weight <= 0:
            raise ValueError(
                "The held-out window must hold values with max_lag predecessors to score, but "
                "it holds none."
            )
        return _regression(sse, weight, None, metric)


def _regression(sse: float, weight: float, ss_tot: float | None, metric: str) -> float:
    mse = sse / weight
    if metric == "mse":
        return mse
    if metric == "rmse":
        return float(np.sqrt(mse))
    assert ss_tot is not None
    if ss_tot <= 0.0:
        return 1.0 if sse == 0.0 else 0.0  # scikit-learn's convention for a constant target
    return 1.0 - sse / ss_tot
