"""KMeansCoreset: its laws (identical under the same seed and row order, whatever the chunking;
merges of any tree within the coreset bound), weights, round trip and bad input, against numpy
costs on all rows (an independent reference)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import statetune as stt
from statetune.states import KMeansCoreset, NonFiniteError, state_from_arrays
from statetune.testing import npz_round_trip, state_digest


def numpy_cost(C: np.ndarray, X: np.ndarray, w: np.ndarray | None = None) -> float:
    """Sum of (weighted) squared distances to the nearest center, by broadcasting."""
    d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    return float(d2.sum() if w is None else w @ d2)


def unequal_blobs(n: int = 6_000, d: int = 3, seed: int = 0) -> np.ndarray:
    """Clusters of very different sizes (down to 0.5% of the rows), shuffled."""
    rng = np.random.default_rng(seed)
    sizes = (np.array([0.6, 0.25, 0.1, 0.045, 0.005]) * n).astype(int)
    centers = rng.normal(scale=10.0, size=(len(sizes), d))
    X = np.concatenate([c + rng.normal(size=(s, d)) for c, s in zip(centers, sizes, strict=True)])
    return X[rng.permutation(len(X))]


def fill(X: np.ndarray, cuts=(), w=None, **params) -> KMeansCoreset:
    s = KMeansCoreset(X.shape[1], **params)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    for a, b in itertools.pairwise(bounds):
        s.update(X[a:b], None, None if w is None else w[a:b])
    return s


SMALL = {"k_max": 4, "size": 60}  # leaves of 480 rows: 6,000 rows are reduced many times
MID = {"k_max": 4, "size": 200}  # 50 points per center (the benchmark's size is 200 k)


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(1, 5_999), max_size=6), seed=st.integers(0, 3))
def test_same_seed_same_rows_identical_whatever_the_chunking(cuts, seed):
    X = unequal_blobs(seed=seed)
    whole = fill(X, **SMALL, seed=seed)
    assert whole.n_points < len(X)  # reductions happened
    assert state_digest(fill(X, cuts, **SMALL, seed=seed)) == state_digest(whole)
    assert state_digest(fill(X, **SMALL, seed=seed + 1)) != state_digest(whole)


def test_merge_trees_stay_within_the_coreset_bound():
    X = unequal_blobs(24_000, seed=1)
    rng = np.random.default_rng(0)
    parts = [fill(X[a : a + 1_000], **MID, seed=0) for a in range(0, len(X), 1_000)]
    trees = {}
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    trees["left"] = left
    right = parts[-1].copy()
    for p in reversed(parts[:-1]):
        right.merge(p)
    trees["right"] = right
    pairs = [a.copy() for a in parts]
    while len(pairs) > 1:
        nxt = []
        for i in range(0, len(pairs) - 1, 2):
            pairs[i].merge(pairs[i + 1])
            nxt.append(pairs[i])
        pairs = nxt + ([pairs[-1]] if len(pairs) % 2 else [])
    trees["balanced"] = pairs[0]
    trees["stream"] = fill(X, (3_000, 7_777), **MID, seed=0)
    for name, state in trees.items():
        assert state.n_rows == len(X)
        assert state.weight_sum == pytest.approx(len(X))
        P, w = state.coreset()
        assert state._reductions[0] >= 12  # leaves were reduced (and levels above them)
        assert len(P) <= MID["size"]
        assert w.sum() == pytest.approx(len(X), rel=1e-9), name  # cluster weights kept
        for k in (1, 2, 4):
            for _ in range(5):  # centers near the data: where the bound matters
                C = X[rng.choice(len(X), k, replace=False)] + rng.normal(scale=0.5, size=(k, 3))
                ratio = numpy_cost(C, P, w) / numpy_cost(C, X)
                assert abs(ratio - 1.0) <= 0.15, (name, k, ratio)  # measured worst: 0.09


def test_exact_while_everything_fits_and_merges_then_commute():
    X = unequal_blobs(300)
    w = np.random.default_rng(0).uniform(0, 3, size=len(X))
    a, b = fill(X[:120], w=w[:120]), fill(X[120:], w=w[120:])
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    whole = fill(X, w=w)
    assert ab.allclose(whole) and ba.allclose(whole)
    P, v = whole.coreset()
    C = X[:3]
    assert numpy_cost(C, P, v) == pytest.approx(numpy_cost(C, X, w), rel=1e-12)


def test_small_far_cluster_is_kept():
    """Sensitivity sampling keeps a cluster of 0.05% of the rows far from the rest; a uniform
    sample of the same size would miss it most of the time."""
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(size=(40_000, 2)), rng.normal(size=(20, 2)) + 100.0])
    X = X[rng.permutation(len(X))]
    s = fill(X, (10_000, 25_000), k_max=2, size=100)
    P, w = s.coreset()
    far = np.linalg.norm(P, axis=1) > 50
    assert far.any()
    assert w[far].sum() == pytest.approx(20, rel=0.35)
    C = np.array([[0.0, 0.0], [100.0, 100.0]])
    assert numpy_cost(C, P, w) / numpy_cost(C, X) == pytest.approx(1.0, abs=0.2)


def test_round_trip_with_levels_and_pending_rows():
    X = unequal_blobs(5_000)
    s = fill(X, (1_234, 2_000), **SMALL, seed=5)
    assert s.n_points > 0 and len(s._parts) > 1  # coresets of several levels plus a buffer
    back = npz_round_trip(s)
    assert state_digest(back) == state_digest(s)
    assert back.allclose(s)
    P, w = s.coreset()
    Q, v = back.coreset()
    assert np.array_equal(P, Q) and np.array_equal(w, v)
    more = unequal_blobs(700, seed=9)
    s.update(more)
    back.update(more)
    assert state_digest(back) == state_digest(s)  # a loaded state goes on identically


def test_round_trip_through_the_state_cache(tmp_path):
    X = unequal_blobs(4_000)
    src = stt.from_arrays(X)
    first = stt.compute_states(src, ["kmeans"], folds=3, cache=tmp_path, metrics=["inertia"])
    again = stt.compute_states(src, ["kmeans"], folds=3, cache=tmp_path, metrics=["inertia"])
    slot = first.model_slot("kmeans")
    for k in range(3):
        assert state_digest(again.held_out(slot, k)) == state_digest(first.held_out(slot, k))


def test_bad_input_is_named():
    s = KMeansCoreset(2, k_max=3)
    X = np.ones((5, 2))
    X[3, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"column 1 .* row 3"):
        s.update(X)
    assert s.n_rows == 0  # all or nothing
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        s.update(np.ones((4, 3)))
    with pytest.raises(ValueError, match="size >= k_max"):
        KMeansCoreset(2, k_max=10, size=5)
    with pytest.raises(ValueError, match="share parameters"):
        s.merge(KMeansCoreset(2, k_max=3, seed=1))
    with pytest.raises(ValueError, match=r"weights must be finite and >= 0, .* at row 1"):
        s.update(np.ones((2, 2)), sample_weight=[1.0, -1.0])
    header, arrays = fill(unequal_blobs(1_000), **SMALL).to_arrays()
    arrays = dict(arrays, parts_w=arrays["parts_w"][:-1])
    with pytest.raises(ValueError, match="one weight per point"):
        state_from_arrays(header, arrays)
