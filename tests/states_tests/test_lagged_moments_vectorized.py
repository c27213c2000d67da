"""The vectorized ``LaggedMoments`` against a plain per-series reference.

The reference walks each series on its own in Python: all its values in order, a lag row for
every value with ``P`` predecessors, head/tail/count/times from the lists. Data are random
interleavings of many short series (many shorter than ``P``), fed in random batches, merged
from random segments, and given out-of-order times to compare the error raised.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from statetune.states import LaggedMoments, Moments, SeriesOrderError
from statetune.testing import state_digest


def _data(seed: int, n_series: int, max_len: int, strings: bool, float_times: bool):
    """``(ids, y, exog, times)``: series of random lengths 0..max_len, randomly interleaved
    (each in its own order), with strictly increasing times per series."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, max_len + 1, size=n_series)
    seq = rng.permutation(np.repeat(np.arange(n_series), lengths))
    y = rng.normal(size=seq.size) * 3.0 + 100.0
    exog = rng.normal(size=(seq.size, 1))
    times = np.empty(seq.size, dtype=np.int64)
    for k in range(n_series):
        rows = np.flatnonzero(seq == k)
        times[rows] = np.cumsum(rng.integers(1, 4, size=rows.size)) + 1_000 * k
    ids: Any = np.array([f"s{k:03d}" for k in seq]) if strings else seq.astype(np.int64)
    return ids, y, exog, (times.astype(np.float64) if float_times else times)


def _reference(ids, y, exog, times, P: int) -> dict[str, Any]:
    """Per series, in Python: lag rows, head, tail, count and time span."""
    X_rows, t_rows, per = [], [], {}
    for key in sorted(set(ids.tolist())):
        rows = [i for i, k in enumerate(ids.tolist()) if k == key]
        v = [float(y[i]) for i in rows]
        for i in range(P, len(v)):
            X_rows.append([v[i - j] for j in range(1, P + 1)] + list(exog[rows[i]]))
            t_rows.append(v[i])
        per[key] = (
            len(v),
            v[:P],
            v[-P:],
            (times[rows[0]].item(), times[rows[-1]].item()),
        )
    m = Moments(P + exog.shape[1], has_target=True)
    m.update(np.array(X_rows).reshape(-1, P + exog.shape[1]), np.array(t_rows))
    return {"moments": m, "series": per}


def _assert_matches(state: LaggedMoments, ref: dict[str, Any]) -> None:
    assert state.counts() == {k: c for k, (c, _, _, _) in ref["series"].items()}
    for key, (_, head, tail, span) in ref["series"].items():
        assert state.head(key).tolist() == head
        assert state.tail(key).tolist() == tail
        assert state.time_span(key) == span
    assert state.n_lag_rows == ref["moments"].n_rows
    assert state.moments.allclose(ref["moments"], 1e-10)


def _batches(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [0, *sorted({c % (n + 1) for c in cuts}), n]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


@settings(max_examples=60, deadline=None)
@given(
    seed=st_.integers(0, 10_000),
    n_series=st_.integers(1, 60),
    max_len=st_.integers(0, 9),
    P=st_.integers(1, 5),
    cuts=st_.lists(st_.integers(0, 10_000), max_size=4),
    merge_at=st_.integers(0, 10_000),
    strings=st_.booleans(),
    float_times=st_.booleans(),
)
def test_vectorized_update_and_merge_equal_the_per_series_reference(
    seed, n_series, max_len, P, cuts, merge_at, strings, float_times
):
    ids, y, exog, times = _data(seed, n_series, max_len, strings, float_times)
    if y.size == 0:
        return
    ref = _reference(ids, y, exog, times, P)
    # batches of one state
    state = LaggedMoments(P, n_exog=1)
    for a, b in _batches(y.size, cuts):
        state.update(y[a:b], exog[a:b], series=ids[a:b], time=times[a:b])
    _assert_matches(state, ref)
    # two segments merged in time order (the order rule), each fed in batches
    m = merge_at % (y.size + 1)
    first, second = LaggedMoments(P, n_exog=1), LaggedMoments(P, n_exog=1)
    for part, (lo, hi) in ((first, (0, m)), (second, (m, y.size))):
        for a, b in _batches(hi - lo, cuts):
            part.update(
                y[lo + a : lo + b],
                exog[lo + a : lo + b],
                series=ids[lo + a : lo + b],
                time=times[lo + a : lo + b],
            )
    first.merge(second)
    _assert_matches(first, ref)
    assert first.allclose(state)
    # round trip keeps the records
    back = LaggedMoments.from_arrays(*state.to_arrays())
    assert back.allclose(state) and state_digest(back) == state_digest(state)


def _first_violation(ids, times, last: dict[Any, Any]) -> tuple[int, Any] | None:
    """The batch position of the earliest order violation, per series in Python."""
    found = []
    for key in set(ids.tolist()):
        rows = [i for i, k in enumerate(ids.tolist()) if k == key]
        prev = last.get(key)
        for i in rows:
            if prev is not None and not times[i] > prev:
                found.append((i, key))
                break
            prev = times[i]
    return min(found, key=lambda e: e[0]) if found else None


@settings(max_examples=40, deadline=None)
@given(
    seed=st_.integers(0, 10_000),
    n_series=st_.integers(1, 40),
    P=st_.integers(1, 4),
    n_bad=st_.integers(1, 3),
    strings=st_.booleans(),
)
def test_out_of_order_times_raise_at_the_reference_position_and_change_nothing(
    seed, n_series, P, n_bad, strings
):
    ids, y, exog, times = _data(seed, n_series, 8, strings, False)
    if y.size < 4:
        return
    cut = y.size // 2
    state = LaggedMoments(P, n_exog=1)
    state.update(y[:cut], exog[:cut], series=ids[:cut], time=times[:cut])
    last = {k: state.time_span(k)[1] for k in state.counts()}
    rng = np.random.default_rng(seed + 1)
    bad_times = times.copy()
    for i in rng.choice(np.arange(cut, y.size), size=min(n_bad, y.size - cut), replace=False):
        bad_times[i] -= rng.integers(1, 6)  # may fall back to, or before, an earlier time
    want = _first_violation(ids[cut:], bad_times[cut:], last)
    before = state_digest(state)
    if want is None:
        state.update(y[cut:], exog[cut:], series=ids[cut:], time=bad_times[cut:])
        return
    with pytest.raises(SeriesOrderError) as err:
        state.update(y[cut:], exog[cut:], series=ids[cut:], time=bad_times[cut:])
    assert (err.value.row, err.value.series) == want
    assert f"series {want[1]!r} has" in str(err.value)
    assert f"position {want[0]}" in str(err.value)
    assert state_digest(state) == before


def test_many_series_in_one_batch_equal_one_state_per_series_merged():
    ids, y, exog, times = _data(7, 2_000, 12, False, False)
    state = LaggedMoments(4, n_exog=1)
    state.update(y, exog, series=ids, time=times)
    acc = LaggedMoments(4, n_exog=1)
    for key in np.unique(ids):
        rows = np.flatnonzero(ids == key)
        one = LaggedMoments(4, n_exog=1)
        one.update(y[rows], exog[rows], series=ids[rows], time=times[rows])
        acc.merge(one)
    assert acc.allclose(state)
    _assert_matches(state, _reference(ids, y, exog, times, 4))
