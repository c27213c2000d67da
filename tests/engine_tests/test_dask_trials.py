"""Trials on Dask: states scattered once, batches of trials as tasks, the same values as
local trials for the same sampler; a wrong executor is refused before any work."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

import statetune as st
from statetune.testing import make_regression_data
from statetune.tuner.dask_trials import TASK_SECONDS, trials_per_task

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def states():
    X, y, _ = make_regression_data(5_000, 6, seed=1)
    return st.compute_states(st.from_arrays(X, y), ["ridge", "elastic_net"], folds=3)


def _task_stream(client, run):
    from distributed import get_task_stream

    with get_task_stream(client) as ts:
        out = run()
    return out, [str(t["key"]) for t in ts.data]


def test_dask_trials_equal_local_trials_for_a_seeded_random_sampler(dask_client, states):
    def tune(**kw):
        return st.tune(
            states,
            ["ridge", "elastic_net"],
            n_trials=60,
            cv=3,
            metric="rmse",
            storage="memory",
            sampler=optuna.samplers.RandomSampler(seed=4),
            **kw,
        )

    local = tune()
    scattered = []
    real_scatter = dask_client.scatter

    def scatter(*a, **k):
        scattered.append(k.get("broadcast"))
        return real_scatter(*a, **k)

    dask_client.scatter = scatter
    try:
        dist, keys = _task_stream(dask_client, lambda: tune(executor=st.DaskExecutor(dask_client)))
    finally:
        del dask_client.scatter
    a = local.study.get_trials(deepcopy=False)
    b = dist.study.get_trials(deepcopy=False)
    assert [t.params for t in a] == [t.params for t in b]
    np.testing.assert_allclose([t.value for t in a], [t.value for t in b], rtol=1e-12)
    assert [t.user_attrs["validation"] for t in a] == [t.user_attrs["validation"] for t in b]
    assert scattered == [True]  # states sent once, to every worker
    trial_tasks = [k for k in keys if k.startswith("statetune-trials")]
    # 59 trials after the timed first, batched: far fewer tasks than trials
    assert 1 <= len(trial_tasks) < 30
    assert sum(int(k.split("-")[2]) for k in trial_tasks) == 59


def test_trials_per_task_keep_scheduling_overhead_small():
    # ~1 ms of scheduling per task: under 10% of the trial time it carries
    for seconds in (1e-4, 4e-4, 3e-3, 0.02, 1.0):
        n = trials_per_task(seconds)
        assert n * seconds >= min(TASK_SECONDS, seconds) and 1e-3 / (n * seconds) < 0.1


def test_a_local_executor_is_refused_before_the_pass(states):
    from statetune.engine import JoblibExecutor

    with pytest.raises(TypeError, match=r"`executor` must be a st\.DaskExecutor"):
        st.tune(states, ["ridge"], n_trials=2, cv=3, storage="memory", executor=JoblibExecutor(2))
