"""``isolation_forest`` in a study: each fold grows one forest per ``(max_samples,
max_features)`` (to the largest ``n_estimators`` asked) and every trial takes the first ``n``
trees, scoring the held-out sample from cached per-tree path lengths. Checked against
scikit-learn's ``IsolationForest(n_estimators=n)`` fitted on the same sample rows and scored
on the same held-out rows, and by counting the trees scikit-learn builds and traverses."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from sklearn import tree as sk_tree
from sklearn.ensemble import IsolationForest as SkIsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.algorithms import isolation_forest as iforest
from statetune.algorithms._anomaly_metrics import excess_mass, mass_volume, uniform_box_points
from statetune.algorithms.params import CategoricalParam


def _planted(n=1_200, n_out=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n, d)), rng.uniform(-6, 6, size=(n_out, d))])
    y = np.r_[np.zeros(n), np.ones(n_out)].astype(np.int64)
    perm = rng.permutation(len(X))
    return X[perm], y[perm]


@functools.cache
def _study_data():
    X, y = _planted()
    w = np.random.default_rng(3).integers(1, 4, len(X)).astype(float)
    return X, y, w


def _states(weighted=True, size=300):
    X, y, w = _study_data()
    return st.compute_states(
        st.from_arrays(X, y, sample_weight=w if weighted else None),
        ["isolation_forest"],
        folds=3,
        seed=2,
        state_params={"isolation_forest": {"size": size}},
    )


def _reference_fold(states, k, params, metric, weighted=True):
    """scikit-learn's forest of the fold's training sample rows (data rows, in their order,
    with their weights) scored on the fold's held-out sample rows."""
    X, y, w = _study_data()
    train = states.train(states.model_slot("isolation_forest"), k)
    rows = np.sort(np.asarray(train.positions))
    ref = SkIsolationForest(**params, random_state=0)
    ref.fit(X[rows], sample_weight=w[rows] if weighted else None)
    held = states.held_out(states.sample_slot(), k)
    h = np.sort(np.asarray(held.positions))
    assert len(h) <= iforest.ANOMALY_SAMPLE_ROWS  # every held-out sample row is scored
    anomaly = -ref.score_samples(X[h])
    hw = w[h] if weighted else None
    if metric == "roc_auc":
        return roc_auc_score(y[h], anomaly, sample_weight=hw)
    if metric == "average_precision":
        return average_precision_score(y[h], anomaly, sample_weight=hw)
    U = uniform_box_points(X[h], iforest.BOX_POINTS, int(held.seed))
    s_X, s_U = ref.score_samples(X[h]), ref.score_samples(U)
    return excess_mass(s_X, s_U) if metric == "em" else mass_volume(s_X, s_U)


_trial = hs.fixed_dictionaries(
    {
        "n_estimators": hs.integers(1, 40),
        "max_samples": hs.sampled_from([16, 64, "auto"]),
        "max_features": hs.sampled_from([0.5, 1.0]),
        "metric": hs.sampled_from(["roc_auc", "average_precision", "em", "mv"]),
    }
)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trials=hs.lists(_trial, min_size=2, max_size=4))
def test_trials_equal_sklearn_forests_of_n_trees_fitted_on_the_sample_rows(trials):
    """Any order of trials (forests grown, prefixes taken, combinations revisited) gives each
    fold the metric of scikit-learn's forest of n trees on the same rows, to 1e-12."""
    states = _states()
    for trial in trials:
        params = {k: v for k, v in trial.items() if k != "metric"}
        got = states.fold_scores("isolation_forest", params, trial["metric"])
        for k in range(3):
            want = _reference_fold(states, k, params, trial["metric"])
            assert got[k] == pytest.approx(want, abs=1e-12, rel=1e-12), (trial, k)


def test_finalized_models_equal_sklearn_whatever_was_grown_before():
    """A model of n trees taken from a forest grown to more trees (and one grown after it)
    is scikit-learn's forest of n trees: scores, threshold (contamination), predictions."""
    X, _, w = _study_data()
    states = _states()
    alg = get_algorithm("isolation_forest")
    train = states.train(states.model_slot("isolation_forest"), 1)
    rows = np.sort(np.asarray(train.positions))
    base = {"max_samples": 64, "max_features": 0.75}
    alg.finalize(train, {**base, "n_estimators": 60})  # grown to 60 first
    for n, c in [(7, 0.1), (60, "auto"), (25, 0.02), (90, 0.3)]:
        model = alg.finalize(train, {**base, "n_estimators": n, "contamination": c})
        ref = SkIsolationForest(**base, n_estimators=n, contamination=c, random_state=0)
        ref.fit(X[rows], sample_weight=w[rows])
        np.testing.assert_array_equal(model.score_samples(X), ref.score_samples(X))
        assert model.offset_ == ref.offset_
        np.testing.assert_array_equal(model.predict(X), ref.predict(X))
        np.testing.assert_array_equal(model._seeds, ref._seeds)
        assert len(model.estimators_) == n and model.max_samples_ == 64
    # an integer max_features counts features (scikit-learn's reading), "auto" rows per tree
    for mf in (1, 1.0):
        model = alg.finalize(train, {"max_samples": "auto", "max_features": mf, "n_estimators": 9})
        ref = SkIsolationForest(max_features=mf, n_estimators=9, random_state=0)
        ref.fit(X[rows], sample_weight=w[rows])
        np.testing.assert_array_equal(model.score_samples(X), ref.score_samples(X))


@pytest.fixture
def counts(monkeypatch):
    """Trees scikit-learn builds (``ExtraTreeRegressor.fit``), forests it fits and trees it
    traverses (``apply``), counted."""
    seen = {"trees": 0, "forests": 0, "traversals": 0}

    def counting(cls, name, what):
        original = getattr(cls, name)

        def wrapped(self, *args, **kwargs):
            seen[what] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapped)

    counting(sk_tree.ExtraTreeRegressor, "fit", "trees")
    counting(SkIsolationForest, "fit", "forests")
    counting(sk_tree.ExtraTreeRegressor, "apply", "traversals")
    return seen


def test_trials_reuse_one_forest_per_fold_and_combination(counts):
    """Five trials of two combinations build, per fold, the largest n asked of each (no
    tree twice); ``contamination`` refits nothing; a revisited prefix traverses no tree."""
    states = _states()
    a = {"max_samples": 32, "max_features": 1.0}
    b = {"max_samples": 16, "max_features": 0.5}
    trials = [
        {**a, "n_estimators": 30},
        {**a, "n_estimators": 10},
        {**a, "n_estimators": 50, "contamination": 0.1},
        {**b, "n_estimators": 20},
        {**a, "n_estimators": 40, "contamination": 0.2},
    ]
    for p in trials:
        states.fold_scores("isolation_forest", p, "roc_auc")
    assert counts["trees"] == 3 * (50 + 20)  # per fold: a grown 30 -> 50, b to 20
    assert counts["forests"] == 3 * 3  # a fitted, a warm-started, b fitted
    # held-out rows: each tree once per fold; the contamination threshold: the training
    # sample through a's first 50 trees, once per fold
    assert counts["traversals"] == 3 * (50 + 20) + 3 * 50
    before = dict(counts)
    for p in [{**a, "n_estimators": 17, "contamination": 0.05}, {**b, "n_estimators": 20}]:
        states.fold_scores("isolation_forest", p, "average_precision")
    assert counts == before  # prefixes of grown forests: nothing built or traversed
    states.fold_scores("isolation_forest", {**b, "n_estimators": 20}, "em")
    assert counts["trees"] == before["trees"]
    assert counts["traversals"] == before["traversals"] + 3 * 20  # the em box points, once


def test_caches_are_bounded_and_evicted_forests_regrow_the_same_trees(monkeypatch, counts):
    """With budgets below one forest, only the entry just used is kept (LRU): a trial of an
    evicted combination grows its forest again, and still equals scikit-learn."""
    monkeypatch.setattr(iforest, "FOREST_CACHE_BYTES", 1)
    monkeypatch.setattr(iforest, "DEPTH_CACHE_BYTES", 1)
    states = _states(weighted=False)
    a = {"max_samples": 32, "max_features": 1.0, "n_estimators": 12}
    b = {"max_samples": 16, "max_features": 0.5, "n_estimators": 9}
    got = [states.fold_scores("isolation_forest", p, "roc_auc") for p in (a, b, a)]
    assert counts["trees"] == 3 * (12 + 9 + 12)  # a grown again after b evicted it
    train = states.train(states.model_slot("isolation_forest"), 0)
    forests = train.derived(("isolation_forests",), lambda: None)
    assert len(forests) == 1 and forests.evictions == 2
    for scores, p in zip(got, (a, b, a), strict=True):
        for k in range(3):
            want = _reference_fold(states, k, p, "roc_auc", weighted=False)
            assert scores[k] == pytest.approx(want, abs=1e-12)


def test_byte_lru_evicts_least_recently_used_first():
    from statetune.algorithms._forest_cache import ByteLRU

    lru = ByteLRU(100)
    lru.put("a", 1, 40)
    lru.put("b", 2, 40)
    assert lru.get("a") == 1  # a is now the most recent
    lru.put("c", 3, 40)  # 120 > 100: b goes
    assert lru.get("b") is None and lru.get("a") == 1 and lru.get("c") == 3
    assert lru.nbytes == 80 and lru.evictions == 1
    lru.put("d", 4, 500)  # larger than the budget: kept alone
    assert len(lru) == 1 and lru.get("d") == 4


def test_search_space_is_a_grid_the_study_meets_again():
    states = _states()
    space = states.search_space("isolation_forest")
    # 300 rows per sample: max_samples up to half of them
    assert space["max_samples"] == CategoricalParam((16, 32, 64, 128))
    assert space["max_features"] == CategoricalParam((0.5, 0.75, 1.0))
    small = _states(size=40)
    assert states.n_rows == small.n_rows
    assert small.search_space("isolation_forest")["max_samples"] == CategoricalParam((16,))


def test_forests_of_two_grid_points_grow_at_once():
    """One grid point's growth does not hold up another's: each ``rows()`` below waits until
    the other call is inside its own growth too (a cache-wide lock would deadlock: timeout)."""
    import threading

    from statetune.algorithms._forest_cache import ByteLRU, grown_forest

    X = np.random.default_rng(0).normal(size=(64, 3))
    cache = ByteLRU(2**30)
    inside = threading.Barrier(2, timeout=10)

    def rows():
        inside.wait()  # raises BrokenBarrierError if the other call never gets in
        return X, None

    out: dict[int, object] = {}

    def grow(max_samples: int) -> None:
        out[max_samples] = grown_forest(cache, (max_samples, 3, 0), 4, rows)

    threads = [threading.Thread(target=grow, args=(m,)) for m in (16, 32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(out) == [16, 32]
    assert [len(out[m].estimators_) for m in (16, 32)] == [4, 4]
    assert out[16].max_samples_ == 16 and out[32].max_samples_ == 32
