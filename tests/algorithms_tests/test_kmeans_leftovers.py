"""k-means leftovers of issue 12: the coreset ``inertia_`` is biased low and the held-out
estimate is not (both against numpy's cost on all rows); the silhouette of a sample that
falls into one cluster is a named failure, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st
from statetune.validation.elbow import elbow, held_out_inertia


def _cost(X, C):
    d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    return float(d2.min(axis=1).sum())


def test_coreset_inertia_is_biased_low_and_the_held_out_estimate_is_not():
    X = np.random.default_rng(0).normal(size=(20_000, 20))  # no clusters: overfitting shows
    states = st.compute_states(
        st.from_arrays(X),
        ["kmeans"],
        folds=4,
        metrics=["inertia"],
        state_params={"kmeans": {"k_max": 15, "size": 600}},
    )
    params = {"n_clusters": 15}
    model = states.finalize("kmeans", params)
    true = _cost(X, model.cluster_centers_)
    assert model.inertia_is_coreset_estimate_
    assert model.inertia_ < 0.95 * true  # the in-sample coreset cost: optimistic
    assert held_out_inertia(states, params) == pytest.approx(true, rel=0.03)


def test_silhouette_of_one_cluster_fails_the_trial_with_a_named_reason():
    X = np.ones((300, 2))  # every held-out row falls into one cluster
    result = st.tune(
        st.from_arrays(X),
        ["kmeans"],
        n_trials=2,
        cv=3,
        metric="silhouette",
        storage="memory",
        state_params={"kmeans": {"k_max": 3}},
    )
    reasons = [t.user_attrs.get("fail_reason", "") for t in result.study.trials]
    assert all("silhouette is undefined" in r for r in reasons), reasons
    states = st.compute_states(st.from_arrays(X), ["kmeans"], folds=3)
    curve = elbow(states, [2])
    assert np.isnan(curve["silhouette"].iloc[0])
