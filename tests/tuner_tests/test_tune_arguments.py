"""Arguments of ``st.tune`` that are accepted run as documented; the others are refused with a
message naming the argument, never silently changed."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st


def test_tune_n_jobs_minus_one_runs_batches():
    X = np.random.default_rng(0).normal(size=(300, 3))
    r = st.tune(
        st.from_arrays(X, X[:, 0]), ["ridge"], n_trials=4, cv=2, n_jobs=-1, storage="memory"
    )
    assert len(r.study.trials) == 4
    with pytest.raises(ValueError, match="`n_jobs` must be a positive integer or -1"):
        st.tune(st.from_arrays(X, X[:, 0]), ["ridge"], n_trials=4, cv=2, n_jobs=0, storage="memory")


def test_step_distributions_are_refused_not_silently_changed():
    import optuna

    X = np.random.default_rng(0).normal(size=(300, 3))
    space = {"pcr": {"n_components": optuna.distributions.IntDistribution(1, 3, step=2)}}
    with pytest.raises(ValueError, match="must have no step"):
        st.tune(
            st.from_arrays(X, X[:, 0]),
            ["pcr"],
            n_trials=2,
            cv=2,
            storage="memory",
            search_space=space,
        )
