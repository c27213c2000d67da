"""k-means finalized from a coreset: quality against scikit-learn's KMeans fitted on all rows,
outputs against numpy, held-out metrics, tuning without a target, and named bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.algorithms.kmeans import KMeans
from statetune.algorithms.params import IntParam
from statetune.states import KMeansCoreset
from statetune.validation.elbow import elbow, plot_elbow


@pytest.fixture(autouse=True)
def _one_thread():
    """scikit-learn's KMeans on one thread: its OpenMP threads stall on a shared machine."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def numpy_sq_dist(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


def numpy_inertia(X: np.ndarray, C: np.ndarray) -> float:
    return float(numpy_sq_dist(X, C).min(axis=1).sum())


def unequal_blobs(seed: int = 0) -> np.ndarray:
    X, _ = make_blobs(
        n_samples=[30_000, 8_000, 1_500, 400, 60],
        n_features=4,
        cluster_std=[1.0, 2.0, 0.5, 1.0, 0.3],
        center_box=(-15, 15),
        random_state=seed,
    )
    return X[np.random.default_rng(seed).permutation(len(X))]


def coreset_of(X: np.ndarray, chunk: int = 7_001, **params) -> KMeansCoreset:
    s = KMeansCoreset(X.shape[1], **params)
    for a in range(0, len(X), chunk):
        s.update(X[a : a + chunk])
    return s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quality_on_unequal_blobs_against_sklearn_on_all_rows(seed):
    """k_max=10: 2,000 points kept of 39,960 rows (leaves of 16,000 rows, reduced twice)."""
    X = unequal_blobs(seed)
    state = coreset_of(X, k_max=10, seed=seed)
    assert state.n_points < len(X)
    for k in (2, 5, 10):
        ref = SkKMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
        ours = KMeans.from_state(state, n_clusters=k, n_init=10)
        ratio = numpy_inertia(X, ours.cluster_centers_) / ref.inertia_
        assert ratio <= 1.05, (k, ratio)  # measured: at most 1.01


def test_quality_on_digits_with_a_small_coreset():
    """Shipped real data, 64 columns: a coreset of at most 1,000 points (of 1,797 rows)."""
    X = load_digits().data.astype(float)
    state = coreset_of(X, chunk=500, k_max=10, size=1_000)
    assert len(state.coreset()[1]) <= 1_000
    for k in (2, 5, 10):
        ref = SkKMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
        ours = KMeans.from_state(state, n_clusters=k, n_init=10)
        assert numpy_inertia(X, ours.cluster_centers_) / ref.inertia_ <= 1.05


def test_exact_when_the_rows_fit_in_the_coreset():
    """Fewer rows than the coreset size: the coreset is the rows; same seed and rows in the
    same order as scikit-learn sees them: the same centers."""
    X = unequal_blobs()[:1_500]
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(X))
    state = KMeansCoreset(4, k_max=8)
    state.update(X, None, w)
    ours = KMeans.from_state(state, n_clusters=5, n_init=2, random_state=3)
    ref = SkKMeans(n_clusters=5, n_init=2, random_state=3).fit(X, sample_weight=w)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)


def test_outputs_against_numpy():
    X = unequal_blobs()
    model = KMeans.from_state(coreset_of(X, k_max=6), n_clusters=6)
    C = model.cluster_centers_
    Z = X[:500]
    d2 = numpy_sq_dist(Z, C)
    np.testing.assert_array_equal(model.predict(Z), d2.argmin(axis=1))
    np.testing.assert_allclose(model.transform(Z), np.sqrt(d2), rtol=1e-9, atol=1e-9)
    assert -model.score(Z) == pytest.approx(d2.min(axis=1).sum(), rel=1e-9)
    assert model.inertia_is_coreset_estimate_ and not hasattr(model, "labels_")
    assert model.inertia_ == pytest.approx(numpy_inertia(X, C), rel=0.1)  # an estimate
    fitted = KMeans(n_clusters=3).fit(Z)
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(Z))


def test_finalize_is_seeded_and_pure():
    state = coreset_of(unequal_blobs(), k_max=5)
    P, w = state.coreset()
    before = (P.copy(), w.copy())
    a = KMeans.from_state(state, n_clusters=5, n_init=3, random_state=7)
    b = KMeans.from_state(state, n_clusters=5, n_init=3, random_state=7)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(state.coreset()[0], before[0])
    np.testing.assert_array_equal(state.coreset()[1], before[1])


def test_held_out_inertia_is_the_held_out_rows_cost_per_row():
    """Small folds (held entirely in their coresets): the held-out inertia equals numpy's mean
    squared distance of the held-out fold's rows to the centers trained on the other folds."""
    X = unequal_blobs()[:3_000]
    states = st.compute_states(st.from_arrays(X), ["kmeans"], folds=3, metrics=["inertia"])
    slot = states.model_slot("kmeans")
    for k in range(3):
        held = states.held_out(slot, k)
        rows, _ = held.coreset()  # the held-out rows themselves (fewer than the size)
        assert len(rows) == held.n_rows
        model = get_algorithm("kmeans").finalize(states.train(slot, k), {"n_clusters": 4})
        got, how = states.score_fold("kmeans", {"n_clusters": 4}, "inertia", k)
        assert how == "held-out state (exact)"
        assert got == pytest.approx(
            numpy_inertia(rows, model.cluster_centers_) / len(rows), rel=1e-9
        )


def test_silhouette_on_the_held_out_sample_and_the_elbow():
    X, _ = make_blobs(
        n_samples=[900, 600, 400, 300], centers=[[0, 0], [9, 0], [0, 9], [9, 9]], random_state=1
    )
    states = st.compute_states(st.from_arrays(X), ["kmeans"], folds=3)
    sample = states.held_out(states.sample_slot(), 0)
    model = get_algorithm("kmeans").finalize(
        states.train(states.model_slot("kmeans"), 0), {"n_clusters": 4}
    )
    got, how = states.score_fold("kmeans", {"n_clusters": 4}, "silhouette", 0)
    assert how.startswith("held-out sample")
    assert got == pytest.approx(silhouette_score(sample.X, model.predict(sample.X)), rel=1e-12)
    curve = elbow(states, range(2, 8))
    assert isinstance(curve, pd.DataFrame)
    assert list(curve["n_clusters"]) == list(range(2, 8))
    assert int(curve.loc[curve["silhouette"].idxmax(), "n_clusters"]) == 4
    assert curve["inertia"].iloc[2] < 0.5 * curve["inertia"].iloc[0]  # falls with k
    fig = plot_elbow(curve)
    assert fig.axes and fig.axes[0].get_xlabel().startswith("n_clusters")


def test_tune_without_a_target_finds_the_clusters():
    X, _ = make_blobs(
        n_samples=[1_500, 800, 300], centers=[[0, 0], [10, 0], [0, 10]], random_state=2
    )
    result = st.tune(
        st.from_arrays(X),
        ["kmeans"],
        n_trials=15,
        storage="memory",
        metric="silhouette",
        search_space={"kmeans": {"n_clusters": IntParam(2, 6)}},
    )
    assert result.metric == "silhouette" and result.maximize
    assert result.best_algorithm == "kmeans" and result.best_params["n_clusters"] == 3
    assert result.best_value == pytest.approx(
        result.states.validation_score("kmeans", result.best_params, "silhouette"), rel=1e-12
    )
    model = result.best_model
    assert sorted(np.bincount(model.predict(X)).tolist()) == [300, 800, 1_500]
    inertia = st.tune(st.from_arrays(X), ["kmeans"], n_trials=4, storage="memory")
    assert inertia.metric == "inertia" and not inertia.maximize


def test_bad_input_is_named():
    state = coreset_of(unequal_blobs()[:2_000], k_max=5)
    alg = get_algorithm("kmeans")
    with pytest.raises(ValueError, match=r"n_clusters <= k_max.*n_clusters=6, k_max=5"):
        alg.finalize(state, {"n_clusters": 6})
    tiny = KMeansCoreset(4, k_max=5)
    tiny.update(np.arange(12.0).reshape(3, 4))
    with pytest.raises(
        ValueError, match=r"n_clusters <= points in the state.*n_clusters=4.*3 points"
    ):
        alg.finalize(tiny, {"n_clusters": 4})
    with pytest.raises(ValueError, match="empty"):
        alg.finalize(KMeansCoreset(4), {})
    with pytest.raises(ValueError, match="`init` must be one of"):
        alg.finalize(state, {"n_clusters": 2, "init": "nearest"})
    with pytest.raises(ValueError, match="unknown"):
        alg.finalize(state, {"n_neighbors": 2})
    space = alg.search_space(tiny)
    assert (space["n_clusters"].low, space["n_clusters"].high) == (2, 3)


class _UnseededCoreset(KMeansCoreset):
    def _rng(self, level):  # fresh entropy: the same rows give another state each time
        return np.random.default_rng()


class _UnseededKMeans(KMeans):
    reference = KMeans.reference

    @classmethod
    def make_state(cls, n_features, has_target, **state_params):
        return _UnseededCoreset(n_features, **state_params)


def test_contract_suite_checks_the_approximate_laws():
    """The registry's contract check for approximate states (run on kmeans by
    tests/test_contracts.py through check_algorithm) rejects a coreset whose reductions are
    not seeded: it feeds more rows than the coreset holds exactly."""
    from statetune.algorithms.registry import _REGISTRY, Algorithm, register_algorithm
    from statetune.testing import assert_merge_trees_within_bound

    register_algorithm(Algorithm("_unseeded_kmeans", _UnseededKMeans, "cluster", "double"))
    try:
        with pytest.raises(AssertionError, match="same chunking gave another state"):
            assert_merge_trees_within_bound("_unseeded_kmeans")
    finally:
        del _REGISTRY["_unseeded_kmeans"]
