"""``state_params``: state parameters of algorithms other than a series' ``max_lag``, passed
through ``compute_states`` / ``iter_states`` / ``tune`` to the states a pass builds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import statetune as st


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


def test_kmeans_k_max_and_size_reach_the_coreset(digits):
    states = st.compute_states(
        st.from_arrays(digits),
        ["kmeans"],
        folds=3,
        state_params={"kmeans": {"k_max": 40, "size": 1_000}},
    )
    total = states.total("kmeans_coreset")
    assert (total.k_max, total.size) == (40, 1_000)
    # k above the default k_max (20) finalizes, and the search space reaches the new bound
    model = st.finalize("kmeans", states, n_clusters=30)
    assert model.cluster_centers_.shape == (30, 64)
    assert states.search_space("kmeans")["n_clusters"].high == 40
    snaps = list(
        st.iter_states(
            st.from_arrays(digits),
            ["kmeans"],
            folds=3,
            every=600,
            state_params={"kmeans": {"k_max": 40}},
        )
    )
    assert snaps[-1].total("kmeans_coreset").k_max == 40


def test_tune_state_params_are_part_of_the_study_identity(digits):
    r = st.tune(
        st.from_arrays(digits),
        ["kmeans"],
        n_trials=3,
        cv=3,
        metric="inertia",
        storage="memory",
        state_params={"kmeans": {"k_max": 25}},
    )
    assert r.states.total("kmeans_coreset").k_max == 25
    assert r.spaces["kmeans"]["n_clusters"].high == 25
    other = st.tune(
        st.from_arrays(digits), ["kmeans"], n_trials=3, cv=3, metric="inertia", storage="memory"
    )
    assert other.study.study_name != r.study.study_name


def test_bad_state_params_are_named(digits):
    src = st.from_arrays(digits)
    with pytest.raises(
        ValueError, match=r"keys must be algorithms of this pass \(kmeans\), but got 'ridge'"
    ):
        st.compute_states(src, ["kmeans"], state_params={"ridge": {"k_max": 3}})
    with pytest.raises(
        ValueError, match=r"State parameters of 'kmeans' must be among .*k_max.*but got kmax"
    ):
        st.compute_states(src, ["kmeans"], state_params={"kmeans": {"kmax": 3}})
    with pytest.raises(TypeError, match=r"state_params\['kmeans'\]` must be a mapping"):
        st.compute_states(src, ["kmeans"], state_params={"kmeans": 3})
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="State parameters of 'ridge' must be among"):
        st.compute_states(st.from_arrays(X, X[:, 0]), ["ridge"], state_params={"ridge": {"k": 1}})
