"""Rolling-origin folds of series are windows of time common to all series.

A panel whose series start (and end) at different dates must be validated on windows of time:
fold k holds out every value with ``t_k <= t < t_{k+1}`` and trains on every value before
``t_k``. References are numpy least squares on the explicit lag matrix of every value dated
before ``t_k``, scored one step ahead on the values in the window (lags taken from the full
series, also from before the window), on generated panels and on real ones shipped with
statsmodels (Grunfeld's firms, World Bank fertility rates by country).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

import statetune as st
from statetune.engine.time_folds import TimeFolds, folds_from_json

# ---------------------------------------------------------------------- data


def ragged_panel(
    n_series: int = 120, seed: int = 0, first: str = "1990-01-01", last: str = "2016-04-01"
) -> pd.DataFrame:
    """Monthly AR(2) series starting at random months, a fifth of them ending early; long
    format, interleaved by date (as a warehouse exports them)."""
    rng = np.random.default_rng(seed)
    months = pd.date_range(first, last, freq="MS")
    frames = []
    for i in range(n_series):
        a = int(rng.integers(0, len(months) - 40))
        b = len(months) if rng.random() < 0.8 else int(rng.integers(a + 30, len(months)))
        y = np.zeros(b - a)
        e = rng.normal(size=b - a)
        for t in range(2, b - a):
            y[t] = 0.55 * y[t - 1] - 0.2 * y[t - 2] + e[t]
        frames.append(
            pd.DataFrame({"series": f"m{i:03d}", "date": months[a:b], "value": y + 3.0 + i % 7})
        )
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["date", "series"], kind="stable").reset_index(drop=True)


def as_ns(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy().astype("datetime64[ns]").view(np.int64)


def grunfeld_ragged() -> pd.DataFrame:
    """Grunfeld's investment panel (11 firms x 1935..1954), firms entering and leaving at
    different years (their first and last years dropped)."""
    from statsmodels.datasets import grunfeld

    g = grunfeld.load_pandas().data
    g = g.assign(year=g["year"].astype(np.int64), firm=g["firm"].astype(str))
    enter = dict(zip(sorted(g["firm"].unique()), [0, 3, 0, 6, 1, 9, 0, 4, 2, 0, 7], strict=True))
    leave = dict(zip(sorted(g["firm"].unique()), [0, 0, 2, 0, 0, 0, 3, 0, 0, 1, 0], strict=True))
    keep = (g["year"] >= 1935 + g["firm"].map(enter)) & (g["year"] <= 1954 - g["firm"].map(leave))
    g = g[keep][["firm", "year", "invest", "value", "capital"]]
    return g.sort_values(["year", "firm"], kind="stable").reset_index(drop=True)


def fertility_long() -> pd.DataFrame:
    """World Bank fertility rates, 1960..2013 by country: countries whose records start (1990,
    2006, ...) or stop (2002, 2010, ...) at different years, some with gaps."""
    from statsmodels.datasets import fertility

    f = fertility.load_pandas().data
    years = [c for c in f.columns if c.isdigit()]
    long = f.melt(id_vars=["Country Code"], value_vars=years, var_name="year", value_name="rate")
    long = long.dropna(subset=["rate"])
    long["date"] = pd.to_datetime(long["year"], format="%Y")
    long = long.rename(columns={"Country Code": "country"})[["country", "date", "rate"]]
    return long.sort_values(["date", "country"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------- reference


@dataclass
class LagTable:
    """Every value with ``P`` predecessors in its series: its lags, exogenous row, time, id."""

    lags: np.ndarray
    exog: np.ndarray
    target: np.ndarray
    time: np.ndarray
    series: np.ndarray
    row: np.ndarray  # the value's row in the frame


def lag_table(
    df: pd.DataFrame, series: str, time: np.ndarray, target: str, exog: list[str], P: int
) -> LagTable:
    """Built with a plain loop over each series' values in time order."""
    parts: dict[str, list] = {k: [] for k in ("lags", "exog", "target", "time", "series", "row")}
    for key, idx in df.groupby(series, sort=True).indices.items():
        idx = idx[np.argsort(time[idx], kind="stable")]
        y = df[target].to_numpy(dtype=float)[idx]
        E = df[exog].to_numpy(dtype=float)[idx] if exog else np.empty((len(idx), 0))
        for i in range(P, len(idx)):
            parts["lags"].append([y[i - j] for j in range(1, P + 1)])
            parts["exog"].append(E[i])
            parts["target"].append(y[i])
            parts["time"].append(time[idx[i]])
            parts["series"].append(key)
            parts["row"].append(idx[i])
    return LagTable(
        np.array(parts["lags"]).reshape(-1, P),
        np.array(parts["exog"]).reshape(len(parts["target"]), len(exog)),
        np.array(parts["target"]),
        np.array(parts["time"]),
        np.array(parts["series"]),
        np.array(parts["row"]),
    )


def reference_errors(tab: LagTable, p: int, lo: object, hi: object) -> np.ndarray:
    """OLS AR(p) (constant, exog) on every lag row with time < lo; one-step errors on the rows
    with lo <= time < hi."""
    A = np.column_stack([np.ones(len(tab.target)), tab.lags[:, :p], tab.exog])
    train = tab.time < lo
    held = (tab.time >= lo) & (tab.time < hi)
    beta = np.linalg.lstsq(A[train], tab.target[train], rcond=None)[0]
    return tab.target[held] - A[held] @ beta


def raw(t: object) -> object:
    """A window bound as the int64 nanoseconds of the pass (timestamps) or the number."""
    return t.value if isinstance(t, pd.Timestamp) else t


def check_windows_against_numpy(
    s: st.StateSet,
    df: pd.DataFrame,
    series: str,
    time: np.ndarray,
    target: str,
    exog: list[str],
    P: int,
    p: int,
) -> list:
    """Fold scores equal numpy on the windows; no training value at or after a window's start;
    every series with values in a window is validated; windows tile the end of the data."""
    tab = lag_table(df, series, time, target, exog, P)
    params = {"p": p, "trend": "c", "alpha": 0.0, "d": 0}
    mse = s.fold_scores("autoregressive", params, "mse")
    windows = s.fold_windows()
    assert len(windows) == s.n_folds
    assert raw(windows[-1].held_end) > time.max()
    for w, nxt in itertools.pairwise(windows):
        assert w.held_end == nxt.held_start == nxt.train_end
    for k, w in enumerate(windows):
        lo, hi = raw(w.held_start), raw(w.held_end)
        err = reference_errors(tab, p, lo, hi)
        np.testing.assert_allclose(mse[k], np.mean(err**2), rtol=1e-8)
        in_window = (time >= lo) & (time < hi)
        assert w.n_held == in_window.sum() and w.n_train == (time < lo).sum()
        assert raw(w.first_held) == time[in_window].min()
        assert raw(w.last_held) == time[in_window].max()
        validated = set(df.loc[in_window, series].astype(str))
        assert w.n_series == len(validated)
        held, train = s.held_out("lagged_moments", k), s.train("lagged_moments", k)
        assert {str(i) for i in held.series_ids.tolist()} == validated
        assert all(train.time_span(i)[1] < lo for i in train.series_ids.tolist())
        assert all(lo <= held.time_span(i)[0] for i in held.series_ids.tolist())
        assert all(held.time_span(i)[1] < hi for i in held.series_ids.tolist())
    return windows


# ---------------------------------------------------------------------- the leak


def test_no_fold_trains_on_values_at_or_after_its_held_out_values():
    """The issue's panel: series of 40..316 months starting at different dates. Each fold's
    training values must all be earlier than its held-out values, and every series with
    values in the held-out time range must be validated (uses the API of before the fix)."""
    df = ragged_panel()
    s = st.compute_states(
        st.from_pandas(df, target="value", series="series", time="date"),
        ["autoregressive"],
        folds=3,
        max_lag=6,
    )
    t = as_ns(df["date"])
    for k in range(3):
        train, held = s.train("lagged_moments", k), s.held_out("lagged_moments", k)
        train_last = max(train.time_span(i)[1] for i in train.series_ids.tolist())
        held_first = min(held.time_span(i)[0] for i in held.series_ids.tolist())
        held_last = max(held.time_span(i)[1] for i in held.series_ids.tolist())
        assert train_last < held_first, f"fold {k} trains on values dated in its window"
        in_range = (t >= held_first) & (t <= held_last)
        assert set(held.series_ids.tolist()) == set(df.loc[in_range, "series"])


@pytest.mark.parametrize("clock", ["datetime", "float_years", "int_months"])
def test_ragged_panel_fold_scores_equal_numpy_on_windows_of_time(clock):
    df = ragged_panel()
    if clock == "float_years":
        df["date"] = df["date"].dt.year + (df["date"].dt.month - 1) / 12.0
    elif clock == "int_months":
        df["date"] = (df["date"].dt.year - 1990) * 12 + df["date"].dt.month - 1
    time = as_ns(df["date"]) if clock == "datetime" else df["date"].to_numpy()
    s = st.compute_states(
        st.from_pandas(df, target="value", series="series", time="date"),
        ["autoregressive"],
        folds=4,
        max_lag=6,
    )
    windows = check_windows_against_numpy(s, df, "series", time, "value", [], 6, 3)
    kinds = {type(w.held_start) for w in windows}
    assert kinds == ({pd.Timestamp} if clock == "datetime" else {int if "int" in clock else float})
    # late starters are validated: more series in the last window than the longest few
    assert min(w.n_series for w in windows) > 60
    # the held-out lag-row samples follow the same windows: MAE on the sample (all of each
    # window's rows: fewer than 5,000) equals numpy, and MASE scales by the training sample
    tab = lag_table(df, "series", time, "value", [], 6)
    prev = np.full(len(df), np.nan)
    prev[tab.row] = tab.lags[:, 0]
    params = {"p": 3, "trend": "c", "alpha": 0.0, "d": 0}
    mae = s.fold_scores("autoregressive", params, "mae")
    mase = s.fold_scores("autoregressive", params, "mase")
    y = df["value"].to_numpy()
    for k, w in enumerate(windows):
        lo, hi = raw(w.held_start), raw(w.held_end)
        held, train = s.held_out("reservoir", k), s.train("reservoir", k)
        assert held.n_rows < 5_000 and len(held.y) == held.n_rows
        assert np.all((time[held.positions] >= lo) & (time[held.positions] < hi))
        assert np.all(time[train.positions] < lo)
        err = reference_errors(tab, 3, lo, hi)
        np.testing.assert_allclose(mae[k], np.mean(np.abs(err)), rtol=1e-9)
        scale = np.mean(np.abs(y[train.positions] - prev[train.positions]))
        np.testing.assert_allclose(mase[k], np.mean(np.abs(err)) / scale, rtol=1e-9)


def test_grunfeld_firms_entering_and_leaving_with_exogenous_columns():
    g = grunfeld_ragged()
    s = st.compute_states(
        st.from_pandas(g, target="invest", series="firm", time="year"),
        ["autoregressive"],
        folds=3,
        max_lag=3,
    )
    assert s.time_grid().width == 1  # 20 years: one block per year
    windows = check_windows_against_numpy(
        s, g, "firm", g["year"].to_numpy(), "invest", ["value", "capital"], 3, 2
    )
    assert [(w.first_held, w.last_held) for w in windows] == [
        (1952, 1952),
        (1953, 1953),
        (1954, 1954),
    ]


def test_fertility_rates_of_countries_recorded_over_different_years():
    f = fertility_long()
    s = st.compute_states(
        st.from_pandas(f, target="rate", series="country", time="date"),
        ["autoregressive"],
        folds=4,
        max_lag=4,
    )
    windows = check_windows_against_numpy(s, f, "country", as_ns(f["date"]), "rate", [], 4, 2)
    span = f.groupby("country")["date"].agg(["min", "max"])
    late = set(span.index[(span["min"].dt.year >= 1990) & (span["max"] >= windows[0].held_start)])
    held = {str(c) for k in range(4) for c in s.held_out("lagged_moments", k).series_ids.tolist()}
    assert len(late) >= 5 and late <= held  # countries recorded from 1990 on are validated too
    assert all(isinstance(w.held_start, pd.Timestamp) for w in windows)


# ---------------------------------------------------------------------- window design


def test_units_join_empty_blocks_and_a_sliver_to_the_block_before():
    f = TimeFolds(n_folds=2, max_blocks=8)
    assert f.units([5, 0, 0, 7, 7, 3]) == [(0, 3), (3, 4), (4, 6)]  # 2 * 3 < 7: merged
    assert f.units([5, 7, 8, 4]) == [(0, 1), (1, 2), (2, 3), (3, 4)]  # 4 = 8 / 2: kept
    assert f.units([0, 4, 4]) == [(0, 2), (2, 3)]
    assert f.windows([5, 0, 0, 7, 7, 3]) == [(3, 4), (4, 6)]
    with pytest.raises(ValueError, match=r"`folds \+ 1 <= time blocks` holding values.*folds=2"):
        f.windows([5, 0, 9, 1])


def test_data_ending_just_after_a_grid_line_do_not_make_a_sliver_window():
    """Months 0..512 (integers): blocks of 32 months, the last holding month 512 only; it joins
    the window before instead of being scored alone."""
    rng = np.random.default_rng(4)
    frames = []
    for i in range(50):
        start = int(rng.integers(0, 300))
        frames.append(
            pd.DataFrame({"s": i, "t": np.arange(start, 513), "y": rng.normal(size=513 - start)})
        )
    df = pd.concat(frames).sort_values(["t", "s"]).reset_index(drop=True)
    s = st.compute_states(
        st.from_pandas(df, target="y", series="s", time="t"), ["autoregressive"], folds=3
    )
    assert s.time_grid().width == 32
    windows = check_windows_against_numpy(s, df, "s", df["t"].to_numpy(), "y", [], 8, 2)
    last = windows[-1]
    assert (last.held_start, last.held_end, last.last_held, last.n_series) == (480, 544, 512, 50)
    assert last.n_held == 33 * 50


def test_without_a_time_column_positions_stand_in_for_time():
    rng = np.random.default_rng(5)
    lengths = [390, 90, 250, 330]  # positions 0..389: blocks of 16, a sliver of 6
    ids = np.repeat(np.arange(4), lengths)
    y = rng.normal(size=ids.size)
    s = st.compute_states(st.from_series(y, series=ids), ["autoregressive"], folds=2, max_lag=4)
    windows = s.fold_windows()
    assert {w.by for w in windows} == {"position"}
    assert [(w.held_start, w.held_end) for w in windows] == [(352, 368), (368, 400)]
    assert [w.n_series for w in windows] == [1, 1]  # only the longest reaches position 352
    result = st.tune(s, ["autoregressive"], n_trials=2, cv=2, storage="memory")
    assert "positions in each series" in result.summary()


# ---------------------------------------------------------------------- invariance


def _blocks_equal(a: st.StateSet, b: st.StateSet) -> None:
    xa, xb = a.states_of("lagged_moments"), b.states_of("lagged_moments")
    assert len(xa) == len(xb)
    for sa, sb in zip(xa, xb, strict=True):
        assert sa.allclose(sb, rtol=1e-9)


def _reorder(df: pd.DataFrame, how: str, seed: int) -> pd.DataFrame:
    """Rows in another order that keeps every series in time order."""
    if how == "by_series":
        return df.sort_values(["series", "date"], kind="stable").reset_index(drop=True)
    if how == "interleaved":
        rng = np.random.default_rng(seed)
        by_series = df.sort_values(["series", "date"], kind="stable")
        labels = rng.permutation(by_series["series"].to_numpy())
        slots = np.argsort(labels, kind="stable")  # the k-th slot of a label gets its k-th value
        out = by_series.iloc[np.argsort(slots)]  # type: ignore[call-overload]
        return out.reset_index(drop=True)
    return df


SMALL = ragged_panel(16, seed=9, first="2001-01-01", last="2012-12-01")


def small(clock: str) -> pd.DataFrame:
    if clock == "datetime":
        return SMALL
    return SMALL.assign(date=SMALL["date"].dt.year + (SMALL["date"].dt.month - 1) / 12.0)


@functools.cache
def small_states(clock: str) -> st.StateSet:
    return st.compute_states(
        st.from_pandas(small(clock), target="value", series="series", time="date"),
        ["autoregressive"],
        folds=3,
        max_lag=4,
    )


@settings(max_examples=15, deadline=None)
@given(
    clock=st_.sampled_from(["datetime", "float"]),
    how=st_.sampled_from(["by_date", "by_series", "interleaved"]),
    seed=st_.integers(0, 1_000),
    cuts=st_.lists(st_.integers(1, len(SMALL) - 1), max_size=4, unique=True),
    group=st_.integers(7, 400),
)
def test_blocks_and_windows_do_not_depend_on_files_chunks_or_row_order(
    tmp_path_factory, clock, how, seed, cuts, group
):
    """Files cut anywhere (a first file of one row has a single time), row groups of any size,
    rows by date, by series (the range of times grows at both ends) or interleaved at
    random: the same blocks, windows and scores as one pass over the frame."""
    df = _reorder(small(clock), how, seed)
    if how == "interleaved":
        assert df.groupby("series")["date"].is_monotonic_increasing.all()
    folder = tmp_path_factory.mktemp("split")
    bounds = [0, *sorted(cuts), len(df)]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        df.iloc[a:b].to_parquet(folder / f"part-{i:02d}.parquet", row_group_size=group)
    split = st.compute_states(
        st.from_parquet(folder, target="value", series="series", time="date"),
        ["autoregressive"],
        folds=3,
        max_lag=4,
    )
    whole = small_states(clock)
    _blocks_equal(whole, split)
    assert split.fold_windows() == whole.fold_windows()
    params = {"p": 2, "trend": "c", "alpha": 0.0, "d": 1}
    np.testing.assert_allclose(
        split.fold_scores("autoregressive", params, "mse"),
        whole.fold_scores("autoregressive", params, "mse"),
        rtol=1e-9,
    )
    # each block's lag-row sample is complete here (< 5,000 rows): the same rows, by value
    for a, b in zip(split.states_of("reservoir"), whole.states_of("reservoir"), strict=True):
        assert a.n_rows == b.n_rows == len(a.y)
        np.testing.assert_array_equal(np.sort(a.y), np.sort(b.y))


@pytest.mark.parametrize("split", ["by_time", "late_series_first"])
def test_update_widens_the_grid_as_a_full_pass_would(split):
    df = ragged_panel(60, seed=2)
    starts = df.groupby("series")["date"].transform("min")
    first = df["date"] < "2004-01-01" if split == "by_time" else starts >= "2000-01-01"
    src = {
        part: st.from_pandas(frame, target="value", series="series", time="date")
        for part, frame in (("a", df[first]), ("b", df[~first]), ("all", df))
    }
    a = st.compute_states(src["a"], ["autoregressive"], folds=3, max_lag=4)
    extended = st.update(a, src["b"])
    full = st.compute_states(src["all"], ["autoregressive"], folds=3, max_lag=4)
    assert extended.time_grid().width > a.time_grid().width  # the span doubled (and more)
    _blocks_equal(full, extended)
    assert extended.fold_windows() == full.fold_windows()
    params = {"p": 2, "trend": "c", "alpha": 0.0, "d": 0}
    np.testing.assert_allclose(
        extended.fold_scores("autoregressive", params, "mse"),
        full.fold_scores("autoregressive", params, "mse"),
        rtol=1e-9,
    )


def test_cache_extends_with_a_file_of_series_that_start_earlier(tmp_path):
    df = ragged_panel(50, seed=6)
    starts = df.groupby("series")["date"].transform("min")
    late = starts >= "2000-01-01"
    data = tmp_path / "data"
    data.mkdir()
    df[late].to_parquet(data / "a.parquet", index=False)
    cache = st.StateCache(tmp_path / "cache")

    def compute() -> st.StateSet:
        src = st.from_parquet(data, target="value", series="series", time="date")
        return st.compute_states(src, ["autoregressive"], folds=3, cache=cache, max_lag=4)

    before = compute()
    df[~late].to_parquet(
        data / "b.parquet", index=False
    )  # earlier starters: the grid widens to the left
    after = compute()
    full = st.compute_states(
        st.from_pandas(
            pd.concat([df[late], df[~late]]), target="value", series="series", time="date"
        ),
        ["autoregressive"],
        folds=3,
        max_lag=4,
    )
    assert after.time_grid().lo < before.time_grid().lo
    _blocks_equal(full, after)
    assert after.fold_windows() == full.fold_windows()


def test_states_cached_under_the_position_scheme_are_rebuilt_once(tmp_path, monkeypatch):
    import statetune.engine.time_folds as time_folds

    df = ragged_panel(20, seed=7)
    src = st.from_pandas(df, target="value", series="series", time="date")
    cache = st.StateCache(tmp_path / "cache")
    monkeypatch.setattr(time_folds, "SCHEME", "time-blocks-v1")  # what main persisted
    st.compute_states(src, ["autoregressive"], folds=3, cache=cache)
    old_keys = set(cache.keys())
    monkeypatch.undo()
    fresh = st.compute_states(src, ["autoregressive"], folds=3, cache=cache)
    new_keys = set(cache.keys()) - old_keys
    assert len(new_keys) == 2  # lagged moments and their lag-row samples, rebuilt
    assert {cache.load(k).spec["folds"]["scheme"] for k in new_keys} == {"time-grid-v2"}
    _blocks_equal(st.compute_states(src, ["autoregressive"], folds=3), fresh)
    old = next(k for k in old_keys if cache.load(k).spec["kind"] == "lagged_moments")
    with pytest.raises(ValueError, match=r"built with 'time-blocks-v1'.*rebuild them"):
        st.update(old, src, cache=cache)
    with pytest.raises(ValueError, match="leak the future"):
        folds_from_json({"scheme": "time-blocks-v1", "n_folds": 3, "seed": 0, "max_blocks": 32})


# ---------------------------------------------------------------------- reporting


def test_tune_reports_the_windows_in_the_table_summary_plot_and_files(tmp_path):
    df = ragged_panel(30, seed=8)
    src = st.from_pandas(df, target="value", series="series", time="date")
    result = st.tune(src, ["autoregressive"], n_trials=3, cv=3, storage="memory", max_lag=4)
    table = result.fold_windows
    assert table is not None and list(table["fold"]) == [0, 1, 2]
    assert (table["train_end"] == table["held_start"]).all()
    assert table["last_held"].iloc[-1] == pd.Timestamp("2016-04-01")
    first, last = table["first_held"].iloc[0].date(), table["last_held"].iloc[0].date()
    assert f"{first}..{last}" in result.summary()
    fig = result.plot("folds")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[-1].endswith("..2016-04-01") and "held-out window" in fig.axes[0].get_xlabel()
    result.save(tmp_path / "out")
    saved = pd.read_csv(tmp_path / "out" / "fold_windows.csv")
    assert list(saved["n_series"]) == list(table["n_series"])
    plain = st.tune(
        st.from_arrays(np.eye(30), np.arange(30.0)), ["ridge"], n_trials=2, storage="memory"
    )
    assert plain.fold_windows is None
