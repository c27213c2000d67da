"""AutoRegressive from LaggedMoments equals statsmodels' AutoReg on the same sample (the
reference the model class declares, read through the registry).

The sample: rows with at least ``max_lag = P`` predecessors, i.e.
``AutoReg(np.diff(y, d), lags=p, trend=trend, hold_back=P - d)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.datasets import sunspots

from statetune.algorithms.autoregressive import AutoRegressive
from statetune.states import NonFiniteError
from statetune.states.lagged_moments import LaggedMoments
from statetune.testing import reference_estimator, state_digest

RTOL = 1e-8
P = 8


def ar3(n: int = 600, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    e = rng.normal(size=n)
    for t in range(3, n):
        y[t] = 0.6 * y[t - 1] - 0.3 * y[t - 2] + 0.2 * y[t - 3] + e[t]
    return y + 5.0


def sunspot_series() -> np.ndarray:
    return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)


def state_of(y: np.ndarray, max_lag: int = P, cut: int = 0) -> LaggedMoments:
    s = LaggedMoments(max_lag)
    s.update(y[:cut])
    s.update(y[cut:])
    return s


def reference(y: np.ndarray, p: int, trend: str, d: int = 0, steps: int = 6):
    """statsmodels on the same sample (rows of a state with max_lag P); forecasts integrated
    back to levels."""
    ref = reference_estimator("autoregressive", {"p": p, "trend": trend, "d": d}, LaggedMoments(P))
    ref.fit(y)
    return ref.coef_, ref.intercept_, ref.sigma2_, ref.n_obs_, ref.forecast(steps)


def rel(a, b) -> float:
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.mark.parametrize("data", ["ar3", "sunspots"])
@pytest.mark.parametrize("trend", ["n", "c"])
@pytest.mark.parametrize("p", [1, 3, 5])
def test_equals_statsmodels_autoreg(data, trend, p):
    y = ar3() if data == "ar3" else sunspot_series()
    state = state_of(y, cut=len(y) // 3)
    before = state_digest(state)
    m = AutoRegressive.from_state(state, p=p, trend=trend)
    assert state_digest(state) == before, "finalize changed the state"
    coef, intercept, sigma2, nobs, fc = reference(y, p, trend)
    assert rel(m.coef_, coef) <= RTOL
    assert abs(m.intercept_ - intercept) <= RTOL * max(abs(intercept), 1e-12) + 1e-12
    assert rel(m.sigma2_, sigma2) <= RTOL
    assert m.n_obs_ == nobs == len(y) - P
    assert rel(m.forecast(y, 6), fc) <= RTOL
    assert rel(m.forecast(steps=6), fc) <= RTOL  # from the tail kept in the state


@pytest.mark.parametrize("trend", ["n", "c"])
@pytest.mark.parametrize("p", [1, 3, 5])
def test_first_difference_equals_autoreg_on_diff(trend, p):
    y = np.cumsum(ar3(seed=1) - 5.0)  # an integrated series
    m = AutoRegressive.from_state(state_of(y, cut=101), p=p, trend=trend, d=1)
    coef, intercept, sigma2, nobs, fc = reference(y, p, trend, d=1)
    assert rel(m.coef_, coef) <= RTOL
    assert abs(m.intercept_ - intercept) <= RTOL * max(abs(intercept), 1e-12) + 1e-12
    assert rel(m.sigma2_, sigma2) <= RTOL
    assert m.n_obs_ == nobs
    assert rel(m.forecast(y, 6), fc) <= RTOL


def test_large_offset_keeps_full_precision():
    """A series around 1e9 with spread 1e-2: compare with statsmodels on the shifted series
    (``y - 1e9`` is exact). Levels near 1e9 are representable to one ulp (1.2e-7), so
    forecasts and predictions are compared to two ulps; coefficients, sigma2 and the held-out
    MSE (all offset-free) to 1e-8 relative."""
    y = 1e9 + 1e-2 * ar3(seed=2)
    shifted = y - 1e9
    m = AutoRegressive.from_state(state_of(y, cut=250), p=3, trend="c")
    coef, _, sigma2, _, fc = reference(shifted, 3, "c")
    assert rel(m.coef_, coef) <= RTOL
    assert rel(m.sigma2_, sigma2) <= RTOL
    ulp2 = 2 * np.spacing(1e9)
    assert np.max(np.abs(m.forecast(y, 6) - (1e9 + fc))) <= ulp2
    X = np.array([y[t - 3 : t][::-1] for t in range(P, len(y))])
    res = reference_estimator("autoregressive", {"p": 3}, LaggedMoments(P)).fit(shifted).results_
    assert np.max(np.abs(m.predict(X) - (1e9 + np.asarray(res.fittedvalues)))) <= ulp2
    y_held = 1e9 + 1e-2 * ar3(300, seed=9)
    held, z = state_of(y_held, cut=100), y_held - 1e9
    Xz = np.array([z[t - 3 : t][::-1] for t in range(P, len(z))])
    params = np.asarray(res.params)
    mse = float(np.mean((z[P:] - params[0] - Xz @ params[1:]) ** 2))
    assert rel(m.held_out_score(None, held, "mse"), mse) <= RTOL


def test_held_out_mse_equals_the_mse_on_held_out_rows():
    y = ar3(900, seed=3)
    train, held = state_of(y[:600]), state_of(y[600:], cut=77)
    for p, d, trend, alpha in [(3, 0, "c", 0.0), (2, 1, "c", 0.5), (4, 0, "n", 2.0)]:
        m = AutoRegressive.from_state(train, p=p, trend=trend, d=d, alpha=alpha)
        z = y[600:]
        X = np.array([z[t - P : t][::-1] for t in range(P, len(z))])[:, : p + d]
        target = z[P:]
        mse = float(np.mean((target - m.predict(X)) ** 2))
        # train=None: held's own rows only (with train, the straddling rows count too; see
        # test_autoregressive_validation.py)
        assert rel(m.held_out_score(None, held, "mse"), mse) <= 1e-10
        assert rel(m.held_out_score(None, held, "rmse"), np.sqrt(mse)) <= 1e-10
    with pytest.raises(ValueError, match="`metric` must be one"):
        m.held_out_score(train, held, "r2")


@pytest.mark.parametrize("layout", ["stacked", "interleaved"])
def test_pooled_series_equal_least_squares_on_stacked_rows(layout):
    """Two series fed stacked (all of a, then all of b) or interleaved (rows of a and b mixed
    at random, each series still in time order): the same pooled least squares."""
    rng = np.random.default_rng(4)
    ys = {"a": ar3(300, 5), "b": ar3(200, 6) + 3.0}
    ids = np.array(["a"] * 300 + ["b"] * 200)
    if layout == "interleaved":
        ids = rng.permutation(ids)
        assert (ids[:-1] != ids[1:]).sum() > 100  # the series alternate often
    y = np.empty(500)
    for k, z in ys.items():
        y[ids == k] = z  # series k's values in time order at its positions
    s = LaggedMoments(4)
    s.update(y, series=ids)
    m = AutoRegressive.from_state(s, p=2, trend="c")
    rows = [np.r_[1.0, z[t - 1], z[t - 2], z[t]] for z in ys.values() for t in range(4, len(z))]
    A = np.array(rows)
    beta = np.linalg.lstsq(A[:, :3], A[:, 3], rcond=None)[0]
    assert rel(m.coef_, beta[1:]) <= RTOL and rel(m.intercept_, beta[0]) <= RTOL
    with pytest.raises(ValueError, match="`series` must be given"):
        m.forecast(steps=2)
    assert m.forecast(steps=2, series="b").shape == (2,)


def test_fit_partial_fit_and_sklearn_surface():
    y = ar3(400, seed=7)
    m = AutoRegressive(p=3, trend="c").fit(y)
    ref = reference_estimator("autoregressive", {"p": 3}, LaggedMoments(3)).fit(y)
    assert rel(m.coef_, ref.coef_) <= RTOL
    inc = AutoRegressive(p=3).partial_fit(y[:150]).partial_fit(y[150:])
    assert rel(inc.coef_, m.coef_) <= 1e-10
    X = np.array([y[t - 3 : t][::-1] for t in range(3, len(y))])
    assert 0.0 < m.score(X, y[3:]) <= 1.0
    assert m.get_params() == {"p": 3, "trend": "c", "alpha": 0.0, "d": 0, "seasonal_lag": 0}


def ridge_ar_reference(y, max_lag, p, d, trend, alpha):
    """numpy on the model's defining rows: ``z = diff(y, d)`` at the times with ``max_lag``
    predecessors, regressed on its ``p`` lags by ridge (penalty ``alpha`` on the lag
    coefficients, the constant unpenalized). Returns ``(coef, intercept)``."""
    t = np.arange(max_lag, len(y))
    z = np.diff(y, d) if d else y  # z[i] is the d-th difference ending at y[i + d]
    target = z[t - d]
    A = np.column_stack([z[t - d - j] for j in range(1, p + 1)])
    if trend == "c":
        Am, bm = A.mean(axis=0), target.mean()
        Ac, bc = A - Am, target - bm
        coef = np.linalg.solve(Ac.T @ Ac + alpha * np.eye(p), Ac.T @ bc)
        return coef, bm - Am @ coef
    return np.linalg.solve(A.T @ A + alpha * np.eye(p), A.T @ target), 0.0


def test_search_space_points_finalize():
    y = ar3(300, seed=8)
    state = state_of(y, max_lag=4)
    space = AutoRegressive.search_space(state)
    assert space["p"].low == 1 and space["p"].high == 3 and space["d"].choices == (0, 1)
    for p in (1, 3):
        for d in (0, 1):
            for trend in ("n", "c"):
                for alpha in (space["alpha"].low, space["alpha"].high):
                    m = AutoRegressive.from_state(state, p=p, d=d, trend=trend, alpha=alpha)
                    coef, intercept = ridge_ar_reference(y, 4, p, d, trend, alpha)
                    assert rel(m.coef_, coef) <= 1e-8, (p, d, trend, alpha)
                    assert abs(m.intercept_ - intercept) <= 1e-8 * max(abs(intercept), 1.0)
    one = AutoRegressive.search_space(state_of(ar3(50), max_lag=1))
    assert "d" not in one and one["p"].high == 1


def test_bad_input_errors():
    state = state_of(ar3(100), max_lag=8)
    with pytest.raises(
        ValueError, match=r"`p \+ d <= max_lag` must hold, but got p=12, d=0, max_lag=8\."
    ):
        AutoRegressive.from_state(state, p=12)
    with pytest.raises(ValueError, match=r"got p=8, d=1, max_lag=8"):
        AutoRegressive.from_state(state, p=8, d=1)
    short = LaggedMoments(3)
    short.update(np.r_[ar3(50), [1.0, 2.0]], series=np.r_[np.zeros(50, int), [7, 7]])
    # a series too short for any lag row contributes no rows (every search-space point still
    # finalizes); forecasting it says why it cannot
    m_short = AutoRegressive.from_state(short, p=3)
    assert m_short.n_obs_ == 50 - 3
    with pytest.raises(ValueError, match=r"`len\(history\) >= max\(lags\) \+ d` must hold"):
        m_short.forecast(steps=1, series=7)
    tiny = state_of(np.arange(4.0), max_lag=4)
    with pytest.raises(ValueError, match="no series has more than max_lag=4"):
        AutoRegressive.from_state(tiny, p=1)
    with pytest.raises(ValueError, match="state is empty"):
        AutoRegressive.from_state(LaggedMoments(2), p=1)
    with pytest.raises(ValueError, match="`trend` must be one of"):
        AutoRegressive.from_state(state, trend="ct")
    with pytest.raises(ValueError, match="alpha"):
        AutoRegressive.from_state(state, alpha=-1.0)
    with pytest.raises(TypeError, match="must be a LaggedMoments state"):
        from statetune.states import Moments

        AutoRegressive.from_state(Moments(2), p=1)
    with pytest.raises(NonFiniteError, match=r"position 3 \(series 0\) holds inf"):
        AutoRegressive(p=1).fit(np.array([1.0, 2.0, 3.0, np.inf, 5.0]))
    m = AutoRegressive.from_state(state, p=3)
    with pytest.raises(ValueError, match=r"`len\(history\) >= max\(lags\) \+ d` must hold"):
        m.forecast([1.0, 2.0], 3)
