"""``TableMoments`` (a table's base design, with its encoding) obeys the state laws: chunk
invariance, merge (commutative, associative), subtract, npz round trip; its designs are pure
functions of the state; every point of the search space of the linear finalizers finalizes;
and a pass over a DataFrame gives the same states however it is partitioned."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import statetune as st
from statetune.data.encoding import TableEncoding
from statetune.states import TableMoments
from statetune.testing import (
    assert_associative,
    assert_finalize_pure,
    assert_round_trip,
    assert_search_space_finalizes,
    state_digest,
)


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        rng.normal(size=(n, 3)) * [1.0, 50.0, 1e-3] + [0, 1e6, 5], columns=list("abc")
    )
    df = df.mask(rng.random((n, 3)) < 0.2)
    df["g"] = rng.choice(["p", "q", "r", None], size=n)
    df["y"] = rng.normal(size=n)
    return df


def base(df: pd.DataFrame) -> tuple[TableEncoding, np.ndarray, np.ndarray]:
    feats = ["a", "b", "c", "g"]
    enc = TableEncoding.from_frame(df, feats)
    return enc, enc.encode(df[feats]), df["y"].to_numpy()


def filled(enc: TableEncoding, A: np.ndarray, y: np.ndarray, cuts=()) -> TableMoments:
    s = TableMoments(A.shape[1], True, enc.to_text())
    bounds = [0, *sorted(cuts), len(A)]
    for a, b in itertools.pairwise(bounds):
        s.update(A[a:b], y[a:b])
    return s


@settings(max_examples=15, deadline=None)
@given(seed=hs.integers(0, 10_000), cuts=hs.lists(hs.integers(1, 119), max_size=4, unique=True))
def test_chunk_invariance_and_merge_laws(seed, cuts):
    enc, A, y = base(frame(120, seed))
    whole = filled(enc, A, y)
    assert filled(enc, A, y, cuts).allclose(whole)
    bounds = [0, *sorted(cuts), len(A)]
    parts = [filled(enc, A[a:b], y[a:b]) for a, b in itertools.pairwise(bounds)]
    left, right = parts[0].copy(), parts[-1].copy()
    for p in parts[1:]:
        left.merge(p)
    for p in reversed(parts[:-1]):
        right.merge(p)
    assert left.allclose(whole) and right.allclose(whole)
    assert_associative(parts)
    # the fold's design (means, kept levels, groups) does not depend on the merge order
    for ai, mf in ((False, None), (True, 30)):
        a, b = left.design(ai, mf), right.design(ai, mf)
        assert a.names == b.names and a.levels == b.levels and a.infrequent == b.infrequent
        np.testing.assert_allclose(a.T, b.T, rtol=1e-10)


def test_subtract_and_round_trip():
    enc, A, y = base(frame(300, 1))
    whole, head = filled(enc, A, y), filled(enc, A[:100], y[:100])
    rest = whole.copy()
    rest.subtract(head)
    assert isinstance(rest, TableMoments)
    assert rest.allclose(filled(enc, A[100:], y[100:]), rtol=1e-8)
    assert_round_trip(whole)
    assert isinstance(whole.copy(), TableMoments) and whole.copy().allclose(whole)


def test_states_of_other_layouts_do_not_merge():
    enc, A, y = base(frame(50, 2))
    other = TableEncoding.from_frame(frame(50, 2).assign(g="p"), ["a", "b", "c", "g"])
    s = filled(enc, A, y)
    t = TableMoments(
        other.encode(frame(50, 2).assign(g="p")[["a", "b", "c", "g"]]).shape[1],
        True,
        other.to_text(),
    )
    with pytest.raises(ValueError, match="must share parameters"):
        s.merge(t)


@pytest.mark.parametrize("name", ["ols", "ridge", "lasso", "elastic_net", "pcr"])
def test_search_space_finalizes_and_finalize_is_pure(name):
    enc, A, y = base(frame(400, 3))
    s = filled(enc, A, y)
    assert_search_space_finalizes(name, s, n_points=6, X=frame(20, 4)[["a", "b", "c", "g"]])
    before = state_digest(s)
    assert_finalize_pure(name, s, {"add_indicator": True, "min_frequency": 90})
    assert state_digest(s) == before


def test_a_pass_in_any_partitioning_gives_the_same_states():
    df = frame(5_000, 5)
    src = st.from_pandas(df, target="y")
    one = st.compute_states(src, ["ridge"], folds=3)
    many = st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=3, n_jobs=2)
    slot = one.model_slot("ridge")
    for k in range(3):
        assert one.train(slot, k).allclose(many.train(slot, k))
