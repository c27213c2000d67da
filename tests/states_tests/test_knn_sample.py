"""``KNNSample``: the sample does not depend on chunking or merge order, partitions smaller
than the sample do not bias it, stratified shares follow the class counts, and the moments
are exact."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from statetune.states import KNNSample
from statetune.states.knn_sample import stratified_quotas
from statetune.testing import npz_round_trip, state_digest


def _rows(n, seed=0, n_classes=3, rare=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    p = [0.9, 0.09, 0.01] if rare else None
    y = rng.choice(np.array(["a", "b", "c"])[:n_classes], size=n, p=p)
    return X, y


def _filled(X, y, bounds, **params):
    s = KNNSample(X.shape[1], **params)
    for a, b in itertools.pairwise(bounds):
        s.update(X[a:b], y[a:b], positions=np.arange(a, b))
    return s


def _sample_digest(state):
    """A hash of the sampled rows held (per class when stratified) and of the sample taken:
    byte-identical samples (the moments are compared with ``allclose``: their sums round
    differently in other chunkings)."""
    h = hashlib.sha256()
    arrays = state.to_arrays()[1]
    for name in sorted(arrays):
        if not name.startswith("moments_"):
            h.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    for a in state.sample():
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("stratify", [False, True])
def test_every_chunk_size_gives_the_identical_sample(stratify):
    n = 60
    X, y = _rows(n)
    states = [
        _filled(X, y, [*range(0, n, c), n], k_max=3, size=12, stratify=stratify)
        for c in range(1, n + 1)
    ]
    assert len({_sample_digest(s) for s in states}) == 1
    assert all(s.allclose(states[-1]) for s in states)
    assert len(states[0].sample()[2]) >= 12


@settings(max_examples=15, deadline=None)
@given(
    cuts=hst.lists(hst.integers(1, 199), max_size=6, unique=True),
    order_seed=hst.integers(0, 1_000),
    stratify=hst.booleans(),
)
def test_merge_order_does_not_change_the_sample(cuts, order_seed, stratify):
    n = 200
    X, y = _rows(n, rare=True)
    bounds = [0, *sorted(cuts), n]
    whole = _filled(X, y, [0, n], k_max=4, size=30, stratify=stratify)
    parts = [
        _filled(X, y, [a, b], k_max=4, size=30, stratify=stratify)
        for a, b in itertools.pairwise(bounds)
    ]
    merged = KNNSample(2, k_max=4, size=30, stratify=stratify)
    for i in np.random.default_rng(order_seed).permutation(len(parts)):
        merged.merge(parts[i])
    assert merged.allclose(whole)
    got, want = merged.sample(), whole.sample()
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert state_digest(npz_round_trip(merged)) == state_digest(merged)


def test_small_partitions_are_not_over_represented():
    # 10 rows in one partition and 990 in another, a sample of 100: a per-partition sample
    # merged without weighting by counts would take about half from the small one; keys by
    # position take 1 in 10 from each, whatever the partitioning
    X, y = _rows(1_000)
    from_small = []
    for seed in range(200):
        small = _filled(X, y, [0, 10], k_max=1, size=100, seed=seed)
        big = KNNSample(2, k_max=1, size=100, seed=seed)
        big.update(X[10:], y[10:], positions=np.arange(10, 1_000))
        small.merge(big)
        Xs = small.sample()[0]
        from_small.append(np.isin(Xs[:, 0], X[:10, 0]).sum())
    # mean 1.0 (100 x 10 / 1000); its standard error over 200 seeds is about 0.07
    assert abs(np.mean(from_small) - 1.0) < 0.3


def test_stratified_shares_follow_class_counts_with_k_max_per_class():
    X, y = _rows(5_000, rare=True)
    s = _filled(X, y, [0, 1_234, 5_000], k_max=20, size=500, stratify=True)
    counts = s.class_counts()
    _, ys, _ = s.sample()
    got = {c: int((ys == c).sum()) for c in counts}
    assert got["c"] >= min(20, counts["c"])  # the rare class fills a neighbourhood of k_max
    assert abs(got["a"] - 500 * counts["a"] / 5_000) <= 1
    assert abs(got["b"] - 500 * counts["b"] / 5_000) <= 1
    # each class's rows are its rows of smallest key: a uniform sample within the class
    plain = _filled(X[y == "b"], y[y == "b"], [0, int((y == "b").sum())], k_max=1, size=got["b"])
    assert plain.n_rows == counts["b"]
    assert stratified_quotas(np.array([900, 90, 10]), 100, 5).tolist() == [90, 9, 5]
    assert stratified_quotas(np.array([3, 1]), 100, 5).tolist() == [3, 1]


def test_moments_are_exact_and_rows_are_checked():
    X, y = _rows(300)
    w = np.random.default_rng(2).uniform(0.1, 3.0, 300)
    s = KNNSample(2, k_max=2, size=10)
    s.update(X[:100], y[:100], w[:100])
    s.update(X[100:], y[100:], w[100:])
    mean, scale = s.scaling()
    np.testing.assert_allclose(mean, np.average(X, axis=0, weights=w), rtol=1e-13)
    var = np.average((X - np.average(X, axis=0, weights=w)) ** 2, axis=0, weights=w)
    np.testing.assert_allclose(scale, np.sqrt(var), rtol=1e-12)
    bad = X[:3].copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="column 1 holds nan at row 1"):
        s.update(bad, y[:3])
    with pytest.raises(ValueError, match=r"target must be finite.*row 0"):
        KNNSample(2).update(X[:2], np.array([np.inf, 1.0]))
    assert s.n_rows == 300  # all or nothing
