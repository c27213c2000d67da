"""The pass over series data: time blocks, rolling-origin validation, order errors.

References are numpy least squares on the explicit lag matrix of all rows.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

import statetune as st
from statetune.states import LaggedMoments, SeriesOrderError


def _ar_series(n: int, seed: int, offset: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = 0.3 + 0.6 * y[t - 1] - 0.25 * y[t - 2] + rng.normal()
    return y + offset


def _long_frame(lengths: list[int], seed: int = 0) -> pd.DataFrame:
    """Series of the given lengths, interleaved by date (as a data warehouse exports them)."""
    frames = []
    for i, n in enumerate(lengths):
        frames.append(
            pd.DataFrame(
                {
                    "store": f"s{i}",
                    "date": pd.date_range("2021-01-01", periods=n, freq="D"),
                    "sales": _ar_series(n, seed + i, offset=10.0 * i),
                }
            )
        )
    return pd.concat(frames).sort_values(["date", "store"], kind="stable").reset_index(drop=True)


def _assert_blocks_equal(a: st.StateSet, b: st.StateSet) -> None:
    for kind in ("lagged_moments",):
        xa, xb = a.states_of(kind), b.states_of(kind)
        assert len(xa) == len(xb)
        for sa, sb in zip(xa, xb, strict=True):
            assert sa.allclose(sb, rtol=1e-9)


def test_one_series_pass_equals_the_state_of_all_values():
    y = _ar_series(3_000, 0)
    s = st.compute_states(st.from_series(y), ["autoregressive"], folds=3)
    whole = LaggedMoments(8)
    whole.update(y)
    assert s.total("lagged_moments").allclose(whole)
    blocks = s.states_of("lagged_moments")
    assert 16 < len(blocks) <= 32  # 3,000 values: blocks of 128
    assert [b.n_rows for b in blocks[:-1]] == [128] * (len(blocks) - 1)


def _numpy_fold_mse(y: np.ndarray, p: int, P: int, lo: int, hi: int) -> float:
    """OLS AR(p) with a constant on targets t in [P, lo) (statsmodels' hold_back=P),
    scored one step ahead on targets t in [max(lo, P), hi) with lags from the full series."""

    def design(ts: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(ts))] + [y[ts - j] for j in range(1, p + 1)])

    train = np.arange(P, lo)
    beta = np.linalg.lstsq(design(train), y[train], rcond=None)[0]
    held = np.arange(max(lo, P), hi)
    return float(np.mean((y[held] - design(held) @ beta) ** 2))


def test_rolling_origin_scores_equal_numpy_on_the_lag_matrix():
    y = _ar_series(1_000, 1)
    K, P = 3, 8
    s = st.compute_states(st.from_series(y), ["autoregressive"], folds=K)
    # 1,000 positions in blocks of 32 (at most 32 blocks): 31 full blocks and a sliver of 8
    # values, which joins the block before it; positions stand in for time (no time column)
    windows = s.fold_windows()
    assert [(w.held_start, w.held_end) for w in windows] == [(896, 928), (928, 960), (960, 1024)]
    assert [(w.first_held, w.last_held) for w in windows][-1] == (960, 999)
    assert {w.by for w in windows} == {"position"}
    got = s.fold_scores("autoregressive", {"p": 3, "trend": "c", "alpha": 0.0, "d": 0}, "mse")
    for k, (lo, hi) in enumerate([(896, 928), (928, 960), (960, 1_000)]):
        want = _numpy_fold_mse(y, 3, P, lo, hi)
        np.testing.assert_allclose(got[k], want, rtol=1e-8)


@settings(max_examples=15, deadline=None)
@given(cuts=st_.lists(st_.integers(1, 2_399), min_size=1, max_size=5, unique=True))
def test_files_split_anywhere_give_the_same_blocks(tmp_path_factory, cuts):
    df = _long_frame([900, 700, 800])  # 2,400 rows, interleaved
    whole = st.compute_states(
        st.from_pandas(df, target="sales", series="store", time="date"), ["autoregressive"]
    )
    folder = tmp_path_factory.mktemp("split")
    bounds = [0, *sorted(cuts), len(df)]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        df.iloc[a:b].to_parquet(folder / f"part-{i:02d}.parquet", row_group_size=97)
    split = st.compute_states(
        st.from_parquet(folder, target="sales", series="store", time="date"), ["autoregressive"]
    )
    _assert_blocks_equal(whole, split)
    assert whole.n_rows == split.n_rows == len(df)


def test_appending_data_extends_blocks_as_a_full_pass_would(tmp_path):
    df = _long_frame([1_500, 1_200])
    cut = 1_700
    first = st.compute_states(
        st.from_pandas(df.iloc[:cut], target="sales", series="store", time="date"),
        ["autoregressive"],
        folds=3,
    )
    extended = st.update(
        first, st.from_pandas(df.iloc[cut:], target="sales", series="store", time="date")
    )
    full = st.compute_states(
        st.from_pandas(df, target="sales", series="store", time="date"), ["autoregressive"], folds=3
    )
    _assert_blocks_equal(full, extended)
    params = {"p": 2, "trend": "c", "alpha": 0.0, "d": 1}
    np.testing.assert_allclose(
        extended.fold_scores("autoregressive", params, "rmse"),
        full.fold_scores("autoregressive", params, "rmse"),
        rtol=1e-9,
    )


def test_cached_series_pass_hits_then_extends_with_a_new_file(tmp_path):
    df = _long_frame([600, 600])
    data = tmp_path / "data"
    data.mkdir()
    df.iloc[:800].to_parquet(data / "a.parquet")
    cache = st.StateCache(tmp_path / "cache")
    src = st.from_parquet(data, target="sales", series="store", time="date")
    a = st.compute_states(src, ["autoregressive"], folds=2, cache=cache, max_lag=5)
    b = st.compute_states(src, ["autoregressive"], folds=2, cache=cache, max_lag=5)
    _assert_blocks_equal(a, b)
    assert a.total("lagged_moments").max_lag == 5
    df.iloc[800:].to_parquet(data / "b.parquet")
    src = st.from_parquet(data, target="sales", series="store", time="date")
    c = st.compute_states(src, ["autoregressive"], folds=2, cache=cache, max_lag=5)
    full = st.compute_states(
        st.from_pandas(df, target="sales", series="store", time="date"),
        ["autoregressive"],
        folds=2,
        max_lag=5,
    )
    _assert_blocks_equal(full, c)


def test_mae_and_mase_come_from_the_held_out_sample_of_lag_rows():
    y = _ar_series(2_000, 3)
    s = st.compute_states(st.from_series(y), ["autoregressive"], folds=2)
    params = {"p": 2, "trend": "c", "alpha": 0.0, "d": 0}
    score, how = s.score_fold("autoregressive", params, "mae", 1)
    assert how.startswith("held-out sample of")
    # Blocks of 64 values, the last a sliver of 16 joining the one before: the held-out window
    # of fold 1 is positions 1,920..1,999 (< 5,000 sample rows: the sample is all of it).
    lo, hi = 1_920, 2_000
    assert (s.fold_windows()[1].held_start, s.fold_windows()[1].last_held) == (lo, hi - 1)
    model = s.train("lagged_moments", 1)
    from statetune.algorithms.autoregressive import AutoRegressive

    m = AutoRegressive.from_state(model, **params)
    t = np.arange(lo, hi)
    pred = m.predict(np.column_stack([y[t - 1], y[t - 2]]))
    np.testing.assert_allclose(score, np.mean(np.abs(y[t] - pred)), rtol=1e-9)
    assert s.score_fold("autoregressive", params, "mse", 1)[1] == "held-out state (exact)"


def test_tune_forecasts_end_to_end_and_equals_statsmodels():
    from statsmodels.tsa.ar_model import AutoReg

    df = _long_frame([800]).drop(columns=["store"])
    src = st.from_pandas(df, target="sales", time="date")
    result = st.tune(src, ["autoregressive"], n_trials=12, cv=3, storage="memory", seed=1)
    assert len(result.trials) == 12 and result.best_value > 0
    values = [t.value for t in result.study.trials if t.state.name == "COMPLETE"]
    assert np.isfinite(values).all() and min(values) == result.best_value
    params = {k: v for k, v in result.best_params.items() if k != "algorithm"}
    d, p = params.get("d", 0), params["p"]
    y = df["sales"].to_numpy()
    # the best model itself (its alpha and seasonal lag included): numpy ridge on its rows
    best = result.states.finalize("autoregressive", params)
    s = params.get("seasonal_lag", 0)
    lags = list(range(1, p + 1)) + ([s] if s > p else [])
    t = np.arange(8, len(y))
    z = np.diff(y, d) if d else y
    A = np.column_stack([z[t - d - j] for j in lags])
    b = z[t - d]
    if params["trend"] == "c":
        A, b = A - A.mean(axis=0), b - b.mean()
    alpha = params.get("alpha", 0.0)
    coef = np.linalg.solve(A.T @ A + alpha * np.eye(len(lags)), A.T @ b)
    np.testing.assert_allclose(best.coef_, coef, rtol=1e-8)
    if params.get("alpha", 0.0) > 0 or params.get("seasonal_lag", 0):
        params.update(alpha=0.0, seasonal_lag=0)
    model = result.states.finalize("autoregressive", params)
    ref = AutoReg(np.diff(y, d) if d else y, lags=p, trend=params["trend"], hold_back=8 - d).fit()
    np.testing.assert_allclose(model.coef_, ref.params[-p:], rtol=1e-8)


# ---------------------------------------------------------------------- bad input
def test_timestamps_out_of_order_across_files_name_series_and_row(tmp_path):
    df = _long_frame([50, 50])
    df.iloc[:60].to_parquet(tmp_path / "a.parquet")
    late = df.iloc[60:].copy()
    late.loc[late.index[3], "date"] = pd.Timestamp("2021-01-02")
    late.to_parquet(tmp_path / "b.parquet")
    src = st.from_parquet(tmp_path, target="sales", series="store", time="date")
    with pytest.raises(SeriesOrderError, match=r"series 's1'.*2021-01-02.*row 63 of the source"):
        st.compute_states(src, ["autoregressive"], folds=2)


def test_appended_data_must_continue_the_cached_times(tmp_path):
    df = _long_frame([64])  # blocks of 2 values: appended values start new blocks
    states = st.compute_states(
        st.from_pandas(df, target="sales", series="store", time="date"), ["autoregressive"]
    )
    late = df.iloc[:3].copy()
    late["date"] = pd.date_range("2021-02-01", periods=3)  # before the last cached date
    with pytest.raises(SeriesOrderError, match=r"series 's0' has 2021-02-01.*after 2021-03-05"):
        st.update(states, st.from_pandas(late, target="sales", series="store", time="date"))


def test_series_column_missing_from_a_later_file_is_named(tmp_path):
    df = _long_frame([40, 40])
    df.iloc[:40].to_parquet(tmp_path / "a.parquet")
    df.iloc[40:].drop(columns=["store"]).to_parquet(tmp_path / "b.parquet")
    src = st.from_parquet(tmp_path, target="sales", series="store", time="date")
    with pytest.raises(
        ValueError, match=r"series column 'store' must exist in every file.*b\.parquet"
    ):
        st.compute_states(src, ["autoregressive"], folds=2)


def test_missing_value_names_column_and_row():
    y = _ar_series(200, 0)
    y[123] = np.nan
    with pytest.raises(ValueError, match=r"Column 'y' must be finite.*row 123"):
        st.compute_states(st.from_series(y), ["autoregressive"], folds=2)


def test_missing_series_id_names_the_row():
    df = _long_frame([20, 20]).astype({"store": object})
    df.loc[7, "store"] = None
    with pytest.raises(ValueError, match=r"Column 'store' must hold a series id.*row 7"):
        st.from_pandas(df, target="sales", series="store", time="date")


def test_algorithms_must_match_the_layout():
    y = _ar_series(100, 0)
    with pytest.raises(ValueError, match="needs forecasting algorithms"):
        st.compute_states(st.from_series(y), ["ridge"])
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="forecasts time series, but the source holds plain rows"):
        st.compute_states(st.from_arrays(X, X[:, 0]), ["autoregressive"])
    with pytest.raises(ValueError, match="validated in time order"):
        st.compute_states(st.from_series(y), ["autoregressive"], folds=st.FoldConfig(3))


def test_too_short_series_for_the_folds_and_orders():
    s = st.compute_states(st.from_series(np.arange(4.0) ** 1.5), ["autoregressive"], folds=4)
    with pytest.raises(ValueError, match=r"`folds \+ 1 <= time blocks`"):
        s.fold_scores("autoregressive", {"p": 1})
    y = _ar_series(300, 0)
    s = st.compute_states(st.from_series(y), ["autoregressive"], folds=2, max_lag=4)
    with pytest.raises(ValueError, match=r"`p \+ d <= max_lag`.*p=5"):
        s.finalize("autoregressive", {"p": 5})
    short = st.compute_states(
        st.from_series(np.r_[y, [1.0, 2.0]], series=np.r_[np.zeros(300), [1, 1]]),
        ["autoregressive"],
        folds=2,
        max_lag=4,
    )
    model = short.finalize("autoregressive", {"p": 2, "d": 1})  # pooled: series 1 adds no row
    with pytest.raises(ValueError, match=r"series 1 .*2 values"):
        model.forecast(series=1, steps=2)


def test_many_short_interleaved_series_blocks_and_samples_equal_per_series_references(
    monkeypatch,
):
    """Thousands of short series (many shorter than max_lag) interleaved at random, read in
    small chunks: each block equals the LaggedMoments of its values, and each block's sample
    holds exactly the lag rows whose target falls in it, built from true predecessors."""
    import statetune.data.arrays as arrays

    monkeypatch.setattr(arrays, "CHUNK_ROWS", 997)
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 40, size=3_000)
    ids = rng.permutation(np.repeat(np.arange(3_000), lengths))
    y = rng.normal(size=ids.size).cumsum()
    order = np.argsort(ids, kind="stable")
    index = np.empty(ids.size, dtype=np.int64)  # position of each value within its series
    index[order] = np.arange(ids.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    t = index * 10 + 3
    s = st.compute_states(st.from_series(y, series=ids, time=t), ["autoregressive"], folds=3)
    P, B = 8, 16  # times 3..383: blocks of 16 (0..23, 24 blocks; blocks of 8 would be 48)
    assert (t.min(), t.max()) == (3, 383)
    block_of = t // B
    blocks, samples = s.states_of("lagged_moments"), s.states_of("reservoir")
    assert len(blocks) == len(samples) == 24
    pred = {}  # global row -> rows of its P predecessors in its series, latest first
    for k in range(3_000):
        rows = np.flatnonzero(ids == k)
        for i in range(P, rows.size):
            pred[int(rows[i])] = rows[i - P : i][::-1]
    for b, (block, sample) in enumerate(zip(blocks, samples, strict=True)):
        m = np.flatnonzero(block_of == b)
        want = LaggedMoments(P)
        want.update(y[m], series=ids[m], time=t[m])
        assert block.allclose(want)
        rows = sorted(r for r in pred if block_of[r] == b)
        assert sorted(sample.positions.tolist()) == rows
        got = np.argsort(sample.positions)
        X_want = np.array([y[pred[r]] for r in rows]).reshape(-1, P)
        np.testing.assert_array_equal(sample.X[got], X_want)
        np.testing.assert_array_equal(sample.y[got], y[rows])


def test_order_error_in_a_pass_of_many_series_names_the_first_series_and_its_row():
    ids = np.tile(np.arange(500), 6)
    t = np.repeat(np.arange(6), 500).astype(np.int64)
    t[500 * 4 + 321] = 2  # series 321: 2 after 3
    t[500 * 5 + 17] = 0  # series 17: 0 after 4 (a later row, but the lower id)
    src = st.from_series(np.arange(3_000.0), series=ids, time=t)
    with pytest.raises(SeriesOrderError, match=r"series 17 has 0 after 4.* row 2517") as err:
        st.compute_states(src, ["autoregressive"], folds=2)
    assert err.value.series == 17


def test_a_chunk_of_only_shorter_series_keeps_the_block_size(monkeypatch):
    """A later chunk whose series are all shorter than the longest seen must not shrink (or
    break) the blocks: the block size depends on the longest series seen so far."""
    import statetune.data.arrays as arrays

    monkeypatch.setattr(arrays, "CHUNK_ROWS", 40)
    ids = np.array([0] * 40 + [1] * 10)
    t = np.r_[np.arange(40), np.arange(10)]
    s = st.compute_states(
        st.from_series(np.arange(50.0), series=ids, time=t), ["autoregressive"], folds=2
    )
    assert len(s.states_of("lagged_moments")) == 20  # 40 values in blocks of 2


def test_tune_records_how_each_forecast_trial_was_scored():
    y = _ar_series(2_000, 4)
    result = st.tune(
        st.from_series(y), ["autoregressive"], n_trials=4, cv=2, metric="mase", storage="memory"
    )
    done = result.trials[result.trials["state"] == "COMPLETE"]
    assert done["validation"].str.startswith("held-out sample of").all()
    exact = st.tune(st.from_series(y), ["autoregressive"], n_trials=3, cv=2, storage="memory")
    assert (exact.trials["validation"] == "held-out state (exact)").all()
    assert exact.states.sample_slot() is None  # MSE needs no sample


def test_ctrl_c_mid_series_pass_finalizes_and_resumes_to_the_full_state(tmp_path):
    df = _long_frame([3_000, 2_500])
    for i, a in enumerate(range(0, len(df), 2_000)):
        df.iloc[a : a + 2_000].to_parquet(tmp_path / f"p{i}.parquet", row_group_size=700)
    cache = st.StateCache(tmp_path / "c")
    seen = []

    def interrupt(rows):
        seen.append(rows)
        if sum(seen) >= 2_800:
            raise KeyboardInterrupt

    def source():
        return st.from_parquet(tmp_path, target="sales", series="store", time="date")

    with pytest.raises(st.PassInterrupted) as info:
        st.compute_states(
            source(), ["autoregressive"], folds=3, cache=cache, progress=interrupt, max_lag=4
        )
    partial = info.value.partial
    assert not partial.complete and partial.n_rows == sum(seen) == 3_400
    assert np.isfinite(partial.validation_score("autoregressive", {"p": 2}, "mse"))
    resumed = st.compute_states(source(), ["autoregressive"], folds=3, cache=cache, max_lag=4)
    full = st.compute_states(
        st.from_pandas(df, target="sales", series="store", time="date"),
        ["autoregressive"],
        folds=3,
        max_lag=4,
    )
    _assert_blocks_equal(full, resumed)
    for a, b in zip(full.states_of("reservoir"), resumed.states_of("reservoir"), strict=True):
        assert np.array_equal(np.sort(a.positions), np.sort(b.positions))


def test_times_and_ids_keep_their_kind_across_chunks_and_files(tmp_path):
    y = _ar_series(300, 5)
    pd.DataFrame({"y": y[:150], "t": np.arange(150), "s": 0}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"y": y[150:], "t": np.arange(150, 300) + 0.5, "s": 0}).to_parquet(
        tmp_path / "b.parquet"
    )
    with pytest.raises(TypeError, match=r"Column 't' must keep integer times.*150\.5 at row 150"):
        st.compute_states(st.from_parquet(tmp_path, target="y", time="t"), ["autoregressive"])
    pd.DataFrame({"y": y[150:], "t": np.arange(150, 300) * 1.0, "s": "x"}).to_parquet(
        tmp_path / "b.parquet"
    )  # integral float times are taken as they are; string ids after integers are not
    with pytest.raises(TypeError, match=r"Column 's' must keep the kind of its series ids"):
        st.compute_states(
            st.from_parquet(tmp_path, target="y", time="t", series="s"), ["autoregressive"]
        )
    pd.DataFrame({"y": y[150:], "t": np.arange(150, 300) * 1.0, "s": 0}).to_parquet(
        tmp_path / "b.parquet"
    )
    src = st.from_parquet(tmp_path, target="y", time="t", series="s")
    s = st.compute_states(src, ["autoregressive"])
    assert s.fold_scores("autoregressive", {"p": 2}).shape == (5,)


def test_update_by_key_keeps_each_max_lag_in_its_own_entry(tmp_path):
    df = _long_frame([300, 300])
    cache = st.StateCache(tmp_path / "c")
    src = st.from_pandas(df.iloc[:400], target="sales", series="store", time="date")
    for lag in (4, 6):
        st.compute_states(src, ["autoregressive"], folds=2, max_lag=lag, cache=cache)
    keys = {cache.load(k).spec["state_params"].get("max_lag"): k for k in cache.keys()}
    new = st.from_pandas(df.iloc[400:], target="sales", series="store", time="date")
    st.update(keys[4], new, cache=cache)
    for k in cache.keys():
        e = cache.load(k)
        width = e.spec["state_params"].get("max_lag") or e.spec["state_params"]["n_features"]
        assert all(
            getattr(s, "max_lag", getattr(s, "n_features", None)) == width for s in e.fold_states
        )
    rows = {
        e.spec["state_params"]["max_lag"]: e.n_rows
        for e in map(cache.load, cache.keys())
        if e.spec["kind"] == "lagged_moments"
    }
    assert rows == {4: 600, 6: 400}  # only the max_lag=4 entry was extended


def test_tune_on_time_fold_states_accepts_one_fold():
    y = _ar_series(500, 6)
    states = st.compute_states(st.from_series(y), ["autoregressive"], folds=1)
    result = st.tune(states, ["autoregressive"], n_trials=3, cv=1, storage="memory")
    assert len(result.trials) == 3
