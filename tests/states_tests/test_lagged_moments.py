"""LaggedMoments against numpy on the explicit lag matrix; chunk invariance (hypothesis);
merge of consecutive segments and its order rule; many series; round trip; errors."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statetune.states import NonFiniteError
from statetune.states.lagged_moments import LaggedMoments
from statetune.testing import assert_associative, npz_round_trip, state_digest


def series(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    e = rng.normal(size=n)
    for t in range(3, n):
        y[t] = 0.5 * y[t - 1] - 0.3 * y[t - 2] + 0.1 * y[t - 3] + e[t]
    return y + 2.0


def explicit_rows(y: np.ndarray, P: int, exog: np.ndarray | None = None) -> np.ndarray:
    """Row t: [y_{t-1}, ..., y_{t-P}, x_t, y_t] for t = P..n-1, by a plain loop."""
    rows = []
    for t in range(P, len(y)):
        lags = [y[t - k] for k in range(1, P + 1)]
        ex = [] if exog is None else list(exog[t])
        rows.append([*lags, *ex, y[t]])
    return np.array(rows)


def filled(y, P, cuts=(), exog=None, n_exog=0, ids=None):
    s = LaggedMoments(P, n_exog)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(y)), len(y)]
    for a, b in itertools.pairwise(bounds):
        s.update(
            y[a:b],
            None if exog is None else exog[a:b],
            None if ids is None else ids[a:b],
        )
    return s


@pytest.mark.parametrize("P", [1, 2, 5])
@pytest.mark.parametrize("n_exog", [0, 2])
def test_matches_numpy_on_explicit_lag_matrix(P, n_exog):
    y = series(500, seed=P)
    exog = np.random.default_rng(1).normal(size=(500, n_exog)) if n_exog else None
    s = filled(y, P, cuts=(7, 123, 124, 300), exog=exog, n_exog=n_exog)
    Z = explicit_rows(y, P, exog)
    D = Z - Z.mean(axis=0)
    assert s.n_rows == 500 and s.n_lag_rows == 500 - P and s.weight_sum == 500.0
    np.testing.assert_allclose(s.moments.mean, Z.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.moments.comoment, D.T @ D, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(s.head(), y[:P])
    np.testing.assert_array_equal(s.tail(), y[-P:])
    assert s.counts() == {0: 500}


@given(
    cuts=st.lists(st.integers(0, 60), max_size=8),
    P=st.integers(1, 6),
)
def test_split_anywhere_gives_the_same_state(cuts, P):
    y = series(60, seed=3)
    whole = filled(y, P)
    pieces = filled(y, P, cuts)
    assert pieces.allclose(whole), f"chunk invariance broke for cuts {sorted(cuts)}"


@given(
    cuts=st.lists(st.integers(1, 59), min_size=1, max_size=5, unique=True),
    P=st.integers(1, 6),
)
def test_merge_of_consecutive_segments_equals_the_whole(cuts, P):
    y = series(60, seed=4)
    bounds = [0, *sorted(cuts), 60]
    parts = [filled(y[a:b], P) for a, b in itertools.pairwise(bounds)]
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    assert left.allclose(filled(y, P))
    # associative: a.(b.c) == (a.b).c, with segments shorter than P too
    assert_associative(parts)


def test_order_rule_b_after_a():
    """``a.merge(b)``: b continues a. Merging the other way round is the series b then a."""
    y = series(100, seed=5)
    a, b = filled(y[:40], 3), filled(y[40:], 3)
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    assert ab.allclose(filled(y, 3))
    assert ba.allclose(filled(np.concatenate([y[40:], y[:40]]), 3))
    assert not ba.allclose(ab)
    empty = LaggedMoments(3)
    e = ab.copy()
    e.merge(empty)
    assert e.allclose(ab)
    empty.merge(ab)
    assert empty.allclose(ab)


def test_exog_rows_straddling_a_merge():
    rng = np.random.default_rng(6)
    y, X = series(50, seed=6), rng.normal(size=(50, 2))
    a, b = filled(y[:20], 4, exog=X[:20], n_exog=2), filled(y[20:], 4, exog=X[20:], n_exog=2)
    a.merge(b)
    assert a.allclose(filled(y, 4, exog=X, n_exog=2))


@pytest.mark.parametrize("kind", ["int", "str"])
def test_interleaved_series_equal_separate_states_merged(kind):
    rng = np.random.default_rng(7)
    lengths = {0: 80, 1: 3, 2: 150}  # series 1 is shorter than max_lag
    ys = {k: series(n, seed=10 + k) for k, n in lengths.items()}
    ids = np.concatenate([np.full(n, k) for k, n in lengths.items()])
    rng.shuffle(ids)  # interleaved in random order; each series keeps its time order
    y = np.empty(len(ids))
    for k in lengths:
        y[ids == k] = ys[k]
    keys = ids if kind == "int" else np.array([f"s{k}" for k in ids])
    together = filled(y, 4, cuts=(37, 38, 200), ids=keys)
    separate = LaggedMoments(4)
    for k in (2, 0, 1):  # disjoint series: plain addition, any order
        s = LaggedMoments(4)
        s.update(ys[k], series=np.full(lengths[k], k if kind == "int" else f"s{k}"))
        separate.merge(s)
    assert together.allclose(separate)
    assert together.series_ids.dtype.kind == ("i" if kind == "int" else "U")
    assert together.n_lag_rows == (80 - 4) + 0 + (150 - 4)
    assert sorted(together.counts().values()) == [3, 80, 150]


@pytest.mark.parametrize("n_exog", [0, 1])
@pytest.mark.parametrize("kind", ["int", "str", "empty"])
def test_round_trip_through_npz_and_json(kind, n_exog):
    rng = np.random.default_rng(8)
    s = LaggedMoments(3, n_exog=n_exog)
    if kind != "empty":
        ids = rng.integers(0, 4, size=60)
        ids = ids if kind == "int" else np.array(["a", "bb", "c", "d"])[ids]
        s.update(series(60, seed=8), rng.normal(size=(60, n_exog)) if n_exog else None, ids)
    back = npz_round_trip(s)
    header, loaded = s.to_arrays()
    assert isinstance(back, LaggedMoments)
    assert state_digest(back) == state_digest(s)
    assert back.allclose(s)
    loaded["counts"] = loaded["counts"][:1] if loaded["counts"].size else np.array([5])
    with pytest.raises(ValueError, match="must hold"):
        LaggedMoments.from_arrays(json.loads(json.dumps(header)), loaded)


def test_non_finite_is_named_and_leaves_the_state_unchanged():
    s = filled(series(30), 2)
    before = state_digest(s)
    bad = np.array([1.0, 2.0, np.nan, 4.0])
    with pytest.raises(NonFiniteError, match=r"position 2 \(series 'b'\) holds nan") as err:
        LaggedMoments(2).update(bad, series=np.array(["a", "a", "b", "b"]))
    assert err.value.row == 2 and err.value.column == "y"
    with pytest.raises(NonFiniteError, match="position 2"):
        s.update(bad)
    e = LaggedMoments(2, n_exog=2)
    with pytest.raises(NonFiniteError, match="column 1 holds inf at position 3"):
        e.update(np.ones(4), np.array([[0, 0], [0, 0], [0, 0], [0, np.inf]]))
    assert e.n_rows == 0
    assert state_digest(s) == before


def test_bad_arguments():
    with pytest.raises(ValueError, match="`max_lag >= 1` must hold"):
        LaggedMoments(0)
    s = LaggedMoments(2)
    with pytest.raises(ValueError, match="one id per value"):
        s.update(np.ones(3), series=np.ones(2))
    with pytest.raises(ValueError, match="`exog` must be None"):
        s.update(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"`exog` must have shape \(3, 2\)"):
        LaggedMoments(2, n_exog=2).update(np.ones(3), np.ones((3, 1)))
    s.update(np.ones(3), series=[1, 1, 2])
    with pytest.raises(TypeError, match="all strings or all integers"):
        s.update(np.ones(1), series=["a"])
    with pytest.raises(ValueError, match="must share parameters"):
        s.merge(LaggedMoments(3))
    with pytest.raises(KeyError, match="series ids"):
        s.tail(7)
