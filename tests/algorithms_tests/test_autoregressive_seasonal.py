"""Seasonal lags and exogenous regressors (ARX) of AutoRegressive against statsmodels' AutoReg
(the reference the model class declares, read through the registry) on the same sample (``hold_back = max_lag - d``): coefficients, sigma2, one-step predictions
on every row and recursive forecasts; the search space always finalizes."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.datasets import co2, sunspots

from statetune.algorithms.autoregressive import SEASONAL_PERIODS, AutoRegressive
from statetune.states.lagged_moments import LaggedMoments
from statetune.testing import reference_estimator, state_digest

RTOL = 1e-8
P = 14


def co2_monthly() -> np.ndarray:
    """Mauna Loa CO2 (bundled with statsmodels), weekly -> monthly means, gaps interpolated."""
    data = co2.load_pandas().data["co2"]
    return data.resample("MS").mean().interpolate().to_numpy(dtype=np.float64)


def seasonal_synthetic(n: int = 700, seed: int = 0, offset: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    e = rng.normal(size=n)
    for t in range(12, n):
        y[t] = 0.4 * y[t - 1] - 0.2 * y[t - 2] + 0.5 * y[t - 12] + e[t]
    return offset + y


def series_for(name: str) -> np.ndarray:
    if name == "co2":
        return co2_monthly()
    if name == "sunspots":
        return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)
    return seasonal_synthetic()


def state_of(y: np.ndarray, exog: np.ndarray | None = None, cut: int = 100) -> LaggedMoments:
    s = LaggedMoments(P, n_exog=0 if exog is None else exog.shape[1])
    s.update(y[:cut], None if exog is None else exog[:cut])
    s.update(y[cut:], None if exog is None else exog[cut:])
    return s


def rel(a, b) -> float:
    """Largest error relative to the largest reference entry (norm-wise relative)."""
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def lag_rows(y: np.ndarray, K: int) -> np.ndarray:
    """Row for each t >= P: [y_{t-1}, ..., y_{t-K}] (a plain loop)."""
    return np.array([[y[t - k] for k in range(1, K + 1)] for t in range(P, len(y))])


def compare(m: AutoRegressive, y: np.ndarray, lags, d, trend, exog=None, future=None) -> float:
    """Largest relative difference against statsmodels on every reported quantity."""
    ref = reference_estimator("autoregressive", m.get_params(), LaggedMoments(P))
    ref.fit(y, exog=exog)
    res = ref.results_
    assert list(res.model.ar_lags) == list(lags)
    assert ref.n_obs_ == m.n_obs_ == len(y) - P
    worst = max(rel(m.coef_, ref.coef_), rel(m.sigma2_, ref.sigma2_))
    if trend == "c":
        worst = max(worst, rel(m.intercept_, ref.intercept_))
    if exog is not None:
        worst = max(worst, rel(m.exog_coef_, ref.exog_coef_))
    # one-step predictions on every row
    X = lag_rows(y, max(lags) + d)
    if exog is not None:
        X = np.c_[X, exog[P:]]
    fitted = np.asarray(res.fittedvalues)
    want = fitted if d == 0 else y[P - 1 : -1] + fitted
    worst = max(worst, rel(m.predict(X), want))
    # recursive forecasts: statsmodels' forecast(h) and predict(start=n, end=n+h-1) agree
    h = 0 if future is None else len(future)
    h = h or 8
    n = len(y) - d
    fc = np.asarray(res.forecast(h, exog=future))
    pr = np.asarray(res.predict(start=n, end=n + h - 1, exog_oos=future))
    np.testing.assert_allclose(fc, pr, rtol=1e-12)
    if d == 1:
        fc = y[-1] + np.cumsum(fc)
    worst = max(worst, rel(m.forecast(y, h, exog=future), fc))
    worst = max(worst, rel(m.forecast(steps=h, exog=future), fc))  # tail kept by the state
    return worst


@pytest.mark.parametrize("data", ["co2", "sunspots", "synthetic"])
@pytest.mark.parametrize("d", [0, 1])
@pytest.mark.parametrize("trend", ["n", "c"])
@pytest.mark.parametrize(("p", "s"), [(1, 12), (3, 12), (2, 4), (2, 7)])
def test_seasonal_lag_equals_statsmodels(data, d, trend, p, s):
    y = series_for(data)
    state = state_of(y, cut=len(y) // 3)
    before = state_digest(state)
    m = AutoRegressive.from_state(state, p=p, d=d, trend=trend, seasonal_lag=s)
    assert state_digest(state) == before
    assert m.lags_.tolist() == [*range(1, p + 1), s]
    assert m.n_features_in_ == s + d
    assert compare(m, y, [*range(1, p + 1), s], d, trend) <= RTOL


def test_seasonal_lag_with_a_large_offset():
    """Around 1e9 with spread 1: offset-free quantities to 1e-8, levels to a few ulps."""
    y = seasonal_synthetic(seed=3, offset=1e9)
    shifted = y - 1e9  # exact
    m = AutoRegressive.from_state(state_of(y), p=2, trend="c", seasonal_lag=12)
    ref = reference_estimator("autoregressive", {"p": 2, "seasonal_lag": 12}, LaggedMoments(P))
    res = ref.fit(shifted).results_
    assert rel(m.coef_, ref.coef_) <= RTOL
    assert rel(m.sigma2_, res.sigma2) <= RTOL
    ulps = 4 * np.spacing(1e9)
    assert np.max(np.abs(m.predict(lag_rows(y, 12)) - (1e9 + res.fittedvalues))) <= ulps
    assert np.max(np.abs(m.forecast(y, 24) - (1e9 + res.forecast(24)))) <= ulps


def test_seasonal_lag_not_above_p_is_ignored():
    y = seasonal_synthetic(seed=4)
    state = state_of(y)
    plain = AutoRegressive.from_state(state, p=5)
    for s in (0, 4, 5):
        m = AutoRegressive.from_state(state, p=5, seasonal_lag=s)
        assert m.lags_.tolist() == [1, 2, 3, 4, 5]
        np.testing.assert_array_equal(m.coef_, plain.coef_)


def test_seasonal_lag_errors():
    state = state_of(seasonal_synthetic(seed=5))
    with pytest.raises(
        ValueError,
        match=r"`seasonal_lag \+ d <= max_lag` must hold .* got seasonal_lag=14, d=1, max_lag=14\.",
    ):
        AutoRegressive.from_state(state, p=1, d=1, seasonal_lag=14)
    with pytest.raises(ValueError, match="seasonal_lag=15"):
        AutoRegressive.from_state(state, p=1, seasonal_lag=15)
    with pytest.raises(ValueError, match=r"`0 <= seasonal_lag"):
        AutoRegressive.from_state(state, p=1, seasonal_lag=-1)
    with pytest.raises(TypeError, match="`seasonal_lag` must be an integer"):
        AutoRegressive.from_state(state, p=1, seasonal_lag=1.5)
    m = AutoRegressive.from_state(state, p=1, seasonal_lag=14)  # d=0: 14 <= max_lag
    assert m.level_coef_.shape == (14,)
    fit = AutoRegressive(p=2, seasonal_lag=12, d=1).fit(seasonal_synthetic(seed=5))
    assert fit.state_.max_lag == 13 and fit.forecast(steps=3).shape == (3,)


@pytest.mark.parametrize("max_lag", [1, 2, 5, 8, 13, 25, 53])
def test_every_search_space_point_finalizes(max_lag):
    y = seasonal_synthetic(300, seed=6)
    state = LaggedMoments(max_lag)
    state.update(y)
    space = AutoRegressive.search_space(state)
    seasonal = space["seasonal_lag"].choices if "seasonal_lag" in space else (0,)
    assert seasonal == (0, *[s for s in SEASONAL_PERIODS if s + 1 <= max_lag])
    ds = space["d"].choices if "d" in space else (0,)
    for p in range(space["p"].low, space["p"].high + 1):
        for s in seasonal:
            for d in ds:
                for trend in ("n", "c"):
                    m = AutoRegressive.from_state(state, p=p, d=d, trend=trend, seasonal_lag=s)
                    assert np.isfinite(m.coef_).all()


@pytest.mark.parametrize("d", [0, 1])
@pytest.mark.parametrize("trend", ["n", "c"])
@pytest.mark.parametrize("lags", [[1, 2], [1, 12]])
def test_exogenous_regressors_equal_statsmodels(d, trend, lags):
    rng = np.random.default_rng(7)
    n = 600
    exog = np.c_[rng.normal(size=n), np.sin(np.arange(n) / 9.0)]
    y = seasonal_synthetic(n, seed=7) + exog @ [1.5, -2.0]
    if d == 1:
        y = np.cumsum(y)
    future = np.c_[rng.normal(size=5), np.sin(np.arange(n, n + 5) / 9.0)]
    state = state_of(y, exog, cut=250)
    p, s = (2, 0) if lags == [1, 2] else (1, 12)
    m = AutoRegressive.from_state(state, p=p, d=d, trend=trend, seasonal_lag=s)
    assert m.n_exog_ == 2 and m.n_features_in_ == max(lags) + d + 2
    assert compare(m, y, lags, d, trend, exog=exog, future=future) <= RTOL


def test_exogenous_held_out_and_sample_scores_equal_numpy():
    from statetune.states import Reservoir

    rng = np.random.default_rng(8)
    n = 500
    exog = rng.normal(size=(n, 1))
    y = seasonal_synthetic(n, seed=8) + 2.0 * exog[:, 0]
    train, held = state_of(y[:300], exog[:300]), LaggedMoments(P, n_exog=1)
    held.update(y[300:], exog[300:])
    m = AutoRegressive.from_state(train, p=2, seasonal_lag=12, trend="c")
    targets = np.arange(300, n)
    L = np.array([[y[t - k] for k in range(1, P + 1)] for t in targets])
    pred = m.intercept_ + L[:, [0, 1, 11]] @ m.coef_ + exog[targets] @ m.exog_coef_
    err = y[targets] - pred
    assert rel(m.held_out_score(train, held, "mse"), np.mean(err**2)) <= 1e-10
    r = Reservoir(P + 1, size=10_000)
    r.update(np.c_[L, exog[targets]], y[targets], positions=targets)
    assert rel(m.sample_score(None, r, "mae"), np.mean(np.abs(err))) <= 1e-10
    with pytest.raises(ValueError, match="`exog` must hold the future exogenous rows"):
        m.forecast(steps=2)
    with pytest.raises(ValueError, match=r"`exog` must be finite with shape \(2, 1\)"):
        m.forecast(steps=2, exog=np.ones((2, 3)))
    with pytest.raises(ValueError, match="equal n_exog must hold"):
        m.held_out_score(None, state_of(y), "mse")
    fit = AutoRegressive(p=2).fit(y, exog=exog)
    assert fit.n_exog_ == 1 and fit.predict(np.c_[L[:, :2], exog[targets]]).shape == (200,)
