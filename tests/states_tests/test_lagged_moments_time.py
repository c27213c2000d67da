"""Time order in LaggedMoments: timed series split anywhere give the same state (hypothesis);
out-of-order times inside a batch, across batches and in a merge raise SeriesOrderError and
leave the state unchanged; times survive the round trip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statetune.states import NonFiniteError, SeriesOrderError
from statetune.states.lagged_moments import LaggedMoments
from statetune.states.lagged_moments import SeriesOrderError as SeriesOrderErrorDirect
from statetune.testing import npz_round_trip, state_digest


def timed_data(n: int, seed: int, kind: str = "int", n_series: int = 3):
    """Interleaved series with strictly increasing, irregular times per series."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n_series, size=n)
    y = rng.normal(size=n).cumsum() + 10.0
    gaps = rng.integers(1, 1_000, size=n)
    t = 1_700_000_000_000_000_000 + np.cumsum(gaps)  # int64 nanoseconds, increasing overall
    return y, ids, (t if kind == "int" else 1e3 + 0.25 * np.cumsum(gaps))


def filled(y, ids, t, P, cuts=()):
    s = LaggedMoments(P)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(y)}), len(y)]
    for a, b in itertools.pairwise(bounds):
        s.update(y[a:b], series=ids[a:b], time=t[a:b])
    return s


def test_series_order_error_is_exported_and_a_value_error():
    assert SeriesOrderError is SeriesOrderErrorDirect
    assert issubclass(SeriesOrderError, ValueError)


@given(
    cuts=st.lists(st.integers(0, 80), max_size=8),
    P=st.integers(1, 5),
    kind=st.sampled_from(["int", "float"]),
    seed=st.integers(0, 1_000),
)
def test_split_timed_series_anywhere_gives_the_same_state(cuts, P, kind, seed):
    y, ids, t = timed_data(80, seed, kind)
    whole = filled(y, ids, t, P)
    pieces = filled(y, ids, t, P, cuts)
    assert pieces.allclose(whole)
    assert state_digest(pieces) == state_digest(filled(y, ids, t, P, cuts))
    for k in np.unique(ids).tolist():
        tk = t[ids == k]
        assert whole.time_span(k) == (tk[0].item(), tk[-1].item())
    assert whole.time_dtype == np.dtype("int64" if kind == "int" else "float64")
    # consecutive segments merged in order equal the whole, times included
    bounds = [0, *sorted({c for c in cuts if 0 < c < 80}), 80]
    parts = [filled(y[a:b], ids[a:b], t[a:b], P) for a, b in itertools.pairwise(bounds)]
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    assert left.allclose(whole)


def test_untimed_state_equals_timed_except_for_times():
    y, ids, t = timed_data(50, 1)
    timed, untimed = filled(y, ids, t, 3), LaggedMoments(3)
    untimed.update(y, series=ids)
    assert timed.moments.allclose(untimed.moments)
    assert not timed.allclose(untimed)  # times are part of the state
    assert untimed.time_span(0) is None and untimed.time_dtype is None


def test_out_of_order_inside_a_batch_names_series_position_and_times():
    s = LaggedMoments(2)
    s.update([1.0, 2.0], series=["a", "b"], time=[10, 20])
    before = state_digest(s)
    y = np.arange(8.0)
    ids = np.array(["a", "b", "a", "b", "a", "b", "a", "b"])
    t = np.array([11, 21, 12, 25, 13, 26, 14, 24])  # series b goes back at position 7
    with pytest.raises(
        SeriesOrderError,
        match=r"Timestamps must increase within each series, but series 'b' has 24 after 26 "
        r"at position 7\.",
    ) as err:
        s.update(y, series=ids, time=t)
    assert err.value.row == 7 and err.value.series == "b"
    assert state_digest(s) == before
    # equal times are not increasing either; the earliest bad position is reported
    t2 = np.array([11, 21, 11, 22, 13, 22, 14, 23])
    with pytest.raises(SeriesOrderError, match="series 'a' has 11 after 11 at position 2") as err:
        s.update(y, series=ids, time=t2)
    assert err.value.row == 2 and err.value.series == "a"
    assert state_digest(s) == before


def test_out_of_order_across_batches():
    s = LaggedMoments(2)
    s.update(np.arange(5.0), series=[1, 1, 2, 2, 2], time=[1.0, 2.0, 1.0, 2.0, 3.0])
    before = state_digest(s)
    with pytest.raises(
        SeriesOrderError,
        match=r"series 2 has 3\.0 after 3\.0 \(the state's last time\) at "
        r"position 1",
    ) as err:
        s.update([7.0, 8.0], series=[1, 2], time=[5.0, 3.0])
    assert err.value.row == 1 and err.value.series == 2
    assert state_digest(s) == before
    s.update([7.0, 8.0], series=[1, 2], time=[5.0, 3.5])
    assert s.time_span(1) == (1.0, 5.0) and s.time_span(2) == (1.0, 3.5)


def test_out_of_order_in_merge_leaves_both_states_unchanged():
    y, ids, t = timed_data(60, 2)
    a, b = filled(y[:30], ids[:30], t[:30], 3), filled(y[30:], ids[30:], t[30:], 3)
    da, db = state_digest(a), state_digest(b)
    with pytest.raises(SeriesOrderError, match="in a merge") as err:
        b.merge(a)  # a does not continue b
    assert err.value.row is None and err.value.series in set(ids.tolist())
    with pytest.raises(SeriesOrderError):
        b.straddle(a)
    assert state_digest(a) == da and state_digest(b) == db
    a.merge(b)
    assert a.allclose(filled(y, ids, t, 3))
    # disjoint series merge in any order, whatever their times
    c, e = LaggedMoments(3), LaggedMoments(3)
    c.update([1.0, 2.0], series=[7, 7], time=[100, 200])
    e.update([1.0, 2.0], series=[8, 8], time=[1, 2])
    ce, ec = c.copy(), e.copy()
    ce.merge(e)
    ec.merge(c)
    assert ce.allclose(ec)


def test_timed_and_untimed_do_not_mix():
    s = LaggedMoments(2)
    s.update([1.0, 2.0], series=[0, 1], time=[1, 1])
    with pytest.raises(ValueError, match="`time` must be given for series 0"):
        s.update([3.0])
    with pytest.raises(TypeError, match=r"dtype of the state's times \(int64\)"):
        s.update([3.0], time=[2.5])
    u = LaggedMoments(2)
    u.update([1.0, 2.0])
    with pytest.raises(ValueError, match="`time` must be omitted for series 0"):
        u.update([3.0], time=[5])
    timed = LaggedMoments(2)
    timed.update([3.0], time=[5])
    with pytest.raises(ValueError, match="timed in both states or in neither"):
        u.merge(timed)
    f = LaggedMoments(2)
    f.update([3.0], series=[9], time=[5.0])
    with pytest.raises(TypeError, match="dtype of their times"):
        s.merge(f)
    before = state_digest(s)
    with pytest.raises(NonFiniteError, match="position 1 holds nan") as err:
        LaggedMoments(2).update([1.0, 2.0], time=[1.0, np.nan])
    assert err.value.column == "time"
    with pytest.raises(ValueError, match="one time per value"):
        s.update([1.0, 2.0], time=[1])
    with pytest.raises(TypeError, match="integers, floats or datetimes"):
        s.update([1.0], time=["x"])
    assert state_digest(s) == before


def test_datetimes_become_int64_nanoseconds():
    s = LaggedMoments(1)
    days = np.array(["2024-01-01", "2024-01-02", "2024-01-05"], dtype="datetime64[D]")
    s.update([1.0, 2.0, 3.0], time=days)
    ns = days.astype("datetime64[ns]").view(np.int64)
    assert s.time_span() == (int(ns[0]), int(ns[-1])) and s.time_dtype == np.dtype("int64")
    with pytest.raises(SeriesOrderError, match="at position 0"):
        s.update([4.0], time=np.array(["2024-01-03"], dtype="datetime64[D]"))
    with pytest.raises(NonFiniteError, match="NaT"):
        LaggedMoments(1).update([1.0], time=np.array(["NaT"], dtype="datetime64[ns]"))


@pytest.mark.parametrize("kind", ["int", "float", "none", "partial"])
def test_round_trip_keeps_times(kind):
    y, ids, t = timed_data(40, 3, "float" if kind == "float" else "int")
    s = LaggedMoments(3)
    if kind == "none":
        s.update(y, series=ids)
    elif kind == "partial":  # series 5 untimed, the others timed
        s.update(y, series=ids, time=t)
        s.update([1.0, 2.0], series=[5, 5])
    else:
        s.update(y, series=ids, time=t)
    back = npz_round_trip(s)
    header, loaded = s.to_arrays()
    assert back.allclose(s) and state_digest(back) == state_digest(s)
    assert back.time_dtype == s.time_dtype
    if kind in ("int", "partial"):
        assert back.time_span(0) == s.time_span(0) and isinstance(back.time_span(0)[0], int)
    copy = s.copy()
    assert copy.allclose(s) and state_digest(copy) == state_digest(s)
    # states saved before times existed (no time arrays) load as untimed
    old = {k: v for k, v in loaded.items() if "time" not in k}
    h = {k: v for k, v in header.items() if k != "time_dtype"}
    assert LaggedMoments.from_arrays(h, old).time_dtype is None
    bad = dict(loaded, has_time=loaded["has_time"][:1])
    with pytest.raises(ValueError, match="one entry per series"):
        LaggedMoments.from_arrays(header, bad)
