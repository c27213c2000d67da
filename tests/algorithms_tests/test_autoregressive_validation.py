"""Rolling-origin validation of AutoRegressive: the held-out MSE over every held-out target
(the held-out block's own lag rows plus the rows straddling the boundary) equals numpy on the
explicit lag matrix built from the full series; MAE/MASE on reservoir samples of lag rows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from statetune.algorithms.autoregressive import AutoRegressive
from statetune.states import Reservoir, SeriesOrderError
from statetune.states.lagged_moments import LaggedMoments
from statetune.testing import reference_estimator

P = 6


def ar2(n: int, seed: int, offset: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    e = rng.normal(size=n)
    for t in range(2, n):
        y[t] = 0.5 * y[t - 1] - 0.25 * y[t - 2] + e[t]
    return y + offset


def lag_matrix(y: np.ndarray, targets: np.ndarray, P: int) -> np.ndarray:
    """Row for each target t: [y_{t-1}, ..., y_{t-P}] from the full series (a plain loop)."""
    return np.array([[y[t - k] for k in range(1, P + 1)] for t in targets])


def blocks(y: np.ndarray, cuts: list[int], time: np.ndarray | None = None) -> list[LaggedMoments]:
    out = []
    for a, b in itertools.pairwise([0, *cuts, len(y)]):
        s = LaggedMoments(P)
        s.update(y[a:b], time=None if time is None else time[a:b])
        out.append(s)
    return out


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize(("d", "trend"), [(0, "c"), (1, "c"), (0, "n"), (2, "n")])
def test_rolling_origin_mse_equals_numpy_on_all_held_out_targets(d, trend):
    y = ar2(700, seed=1) if d == 0 else np.cumsum(ar2(700, seed=1, offset=0.1))
    if d == 2:
        y = np.cumsum(y)
    cuts = [200, 203, 400, 404, 560]  # blocks of 3 and 4 values: shorter than max_lag
    parts = blocks(y, cuts, time=np.arange(700) * 10)
    bounds = [0, *cuts, 700]
    worst = 0.0
    for b in range(1, len(parts)):
        train = parts[0].copy()
        for part in parts[1:b]:
            train.merge(part)  # in order: each block continues the previous ones
        held = parts[b]
        m = AutoRegressive.from_state(train, p=2, d=d, trend=trend)
        # independent reference: statsmodels fitted on the training values, its parameters
        # applied to the held-out targets' lags taken from the full series
        ref = reference_estimator("autoregressive", {"p": 2, "trend": trend, "d": d}, train)
        ref.fit(y[: bounds[b]])
        const, phi = ref.intercept_, ref.coef_
        targets = np.arange(bounds[b], bounds[b + 1])
        z = np.diff(y, d)  # z[t - d] = Δ^d y_t
        L = lag_matrix(z, targets - d, 2)
        err = z[targets - d] - const - L @ phi
        mse = float(np.mean(err**2))
        assert held.n_lag_rows == max(len(targets) - P, 0)
        for metric, want in (("mse", mse), ("rmse", np.sqrt(mse))):
            got = m.held_out_score(train, held, metric)
            worst = max(worst, rel(got, want))
        # held's own rows only when train is not a state (the old behaviour)
        if held.n_lag_rows:
            own = targets[P:]
            e_own = z[own - d] - const - lag_matrix(z, own - d, 2) @ phi
            got = m.held_out_score(None, held, "mse")
            assert rel(got, float(np.mean(e_own**2))) <= (1e-8 if d < 2 else 1e-6)
        else:
            with pytest.raises(ValueError, match="held-out lag rows > 0"):
                m.held_out_score(None, held, "mse")
    # d=2 on an I(2) series: the state holds moments of the levels, whose spread is ~1e5 times
    # that of the second differences, so D C D^T cancels about 5 digits (documented limit)
    assert worst <= (1e-8 if d < 2 else 1e-6), worst


def test_rolling_origin_with_many_series_and_a_large_offset():
    rng = np.random.default_rng(2)
    ys = {k: 1e9 + 1e-2 * ar2(300, seed=10 + k) for k in range(3)}
    cut = 200
    train, held = LaggedMoments(P), LaggedMoments(P)
    for k, z in ys.items():
        train.update(z[:cut], series=np.full(cut, k))
        held.update(z[cut:], series=np.full(len(z) - cut, k))
    m = AutoRegressive.from_state(train, p=3, trend="c")
    rows = [(np.r_[z[t - 3 : t][::-1]], z[t]) for z in ys.values() for t in range(cut, len(z))]
    X = np.array([r[0] for r in rows]) - 1e9  # exact shift
    target = np.array([r[1] for r in rows]) - 1e9
    # the same fit by least squares on the shifted training rows
    tr = [
        np.r_[1.0, z[t - 3 : t][::-1] - 1e9, z[t] - 1e9] for z in ys.values() for t in range(P, cut)
    ]
    A = np.array(tr)
    beta = np.linalg.lstsq(A[:, :4], A[:, 4], rcond=None)[0]
    mse = float(np.mean((target - beta[0] - X @ beta[1:]) ** 2))
    assert rel(m.held_out_score(train, held, "mse"), mse) <= 1e-8
    del rng


def test_held_out_that_does_not_continue_train_is_refused():
    y = ar2(100, seed=3)
    parts = blocks(y, [50], time=np.arange(100))
    m = AutoRegressive.from_state(parts[1], p=2)
    with pytest.raises(SeriesOrderError, match="must continue"):
        m.held_out_score(parts[1], parts[0], "mse")


def lag_reservoir(y: np.ndarray, targets: np.ndarray, size: int, seed: int = 0) -> Reservoir:
    r = Reservoir(P, size=size, seed=seed)
    r.update(lag_matrix(y, targets, P), y[targets], positions=targets)
    return r


@pytest.mark.parametrize("d", [0, 1])
@pytest.mark.parametrize("size", [10_000, 40])
def test_mae_and_mase_equal_numpy_on_the_sampled_rows(d, size):
    y = ar2(500, seed=4) if d == 0 else np.cumsum(ar2(500, seed=4, offset=0.2))
    state = LaggedMoments(P)
    state.update(y[:350])
    m = AutoRegressive.from_state(state, p=3, d=d, trend="c")
    train_r = lag_reservoir(y, np.arange(P, 350), size, seed=1)
    held_r = lag_reservoir(y, np.arange(350, 500), size, seed=2)
    assert len(held_r.y) == min(size, 150)
    pos = held_r.positions  # the sampled targets, computed from the full series by numpy
    L = lag_matrix(y, pos, P)
    b = m.level_coef_
    if d == 0:
        pred = m.intercept_ + L[:, : len(b)] @ b
    else:  # Δy_t = c + φ·Δy lags  ->  y_t = y_{t-1} + c + φ·(y_{t-j} - y_{t-j-1})
        dl = L[:, :-1] - L[:, 1:]
        pred = L[:, 0] + m.intercept_ + dl[:, : len(m.coef_)] @ m.coef_
    mae = float(np.mean(np.abs(y[pos] - pred)))
    tpos = train_r.positions
    scale = float(np.mean(np.abs(y[tpos] - y[tpos - 1])))
    assert rel(m.sample_score(None, held_r, "mae"), mae) <= 1e-8
    assert rel(m.sample_score(train_r, held_r, "mase"), mae / scale) <= 1e-8


def test_sample_metrics_are_declared_and_weighted():
    assert AutoRegressive.metrics == ("mse", "rmse", "mae", "mase")
    assert AutoRegressive.sample_metrics == ("mae", "mase")
    assert not any(AutoRegressive.maximize[k] for k in AutoRegressive.metrics)
    y = ar2(200, seed=5)
    state = LaggedMoments(P)
    state.update(y)
    m = AutoRegressive.from_state(state, p=2)
    targets = np.arange(P, 200)
    w = np.random.default_rng(0).uniform(0.1, 2.0, size=len(targets))
    r = Reservoir(P, size=1_000)
    r.update(lag_matrix(y, targets, P), y[targets], w, positions=targets)
    err = np.abs(y[targets] - m.predict(lag_matrix(y, targets, 2)))
    assert rel(m.sample_score(None, r, "mae"), float(np.sum(w * err) / np.sum(w))) <= 1e-10


def test_sample_score_errors():
    y = ar2(100, seed=6)
    state = LaggedMoments(P)
    state.update(y)
    m = AutoRegressive.from_state(state, p=2)
    held = lag_reservoir(y, np.arange(P, 100), 50)
    with pytest.raises(ValueError, match="`metric` must be one an autoregression"):
        m.sample_score(held, held, "mse")
    with pytest.raises(ValueError, match="training sample must hold lag rows"):
        m.sample_score(Reservoir(P), held, "mase")
    with pytest.raises(ValueError, match="held-out sample must hold lag rows"):
        m.sample_score(held, Reservoir(P), "mae")
    flat = np.full(20, 3.0)
    with pytest.raises(ValueError, match=r"`mean \|y_t - y_\{t-1\}\| > 0` must hold"):
        m.sample_score(lag_reservoir(flat, np.arange(P, 20), 50), held, "mase")
    narrow = Reservoir(1)
    narrow.update(np.ones((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match="must hold the lags"):
        m.sample_score(None, narrow, "mae")


def test_held_out_window_of_several_short_blocks_scores_every_held_out_target():
    """A held-out window of time merging blocks shorter than max_lag, over series that start
    before it, inside it or just before it (fewer than max_lag values in training): the exact
    MSE covers every held-out value with max_lag predecessors, whose lags come from training
    and from earlier blocks of the window (numpy least squares on the explicit lag rows)."""
    spans = {0: (0, 300), 1: (203, 300), 2: (196, 300)}  # times t of each series
    ys = {k: ar2(b - a, seed=20 + k, offset=2.0 * k) for k, (a, b) in spans.items()}
    cuts = [0, 200, 203, 205, 209, 300]  # blocks of time; the window is [200, 209)
    parts = []
    for lo, hi in itertools.pairwise(cuts):
        s = LaggedMoments(P)
        for k, (a, _) in spans.items():
            t = np.arange(max(lo, a), min(hi, a + len(ys[k])))
            s.update(ys[k][t - a], series=np.full(len(t), k), time=t)
        parts.append(s)
    train, held = parts[0], parts[1].copy()
    for part in parts[2:4]:
        held.merge(part)
    m = AutoRegressive.from_state(train, p=3, trend="c")
    rows = {"train": [], "held": []}
    for k, (a, _) in spans.items():
        z = ys[k]
        for i in range(P, len(z)):
            t = a + i
            which = "train" if t < 200 else "held" if t < 209 else None
            if which:
                rows[which].append(np.r_[1.0, z[i - 3 : i][::-1], z[i]])
    A, H = np.array(rows["train"]), np.array(rows["held"])
    assert len(H) == 9 + 0 + 7  # series 1 has no row before t = 209; series 2 from t = 202
    beta = np.linalg.lstsq(A[:, :4], A[:, 4], rcond=None)[0]
    mse = float(np.mean((H[:, 4] - H[:, :4] @ beta) ** 2))
    assert rel(m.held_out_score(train, held, "mse"), mse) <= 1e-9
