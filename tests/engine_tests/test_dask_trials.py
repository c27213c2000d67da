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


class _Watching(optuna.samplers.RandomSampler):
    """Records, at each trial's first suggest, how many of the study's trials are RUNNING."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.running: list[int] = []

    def sample_independent(self, study, trial, name, dist):
        if not trial.params:
            states = (optuna.trial.TrialState.RUNNING,)
            self.running.append(len(study.get_trials(deepcopy=False, states=states)))
        return super().sample_independent(study, trial, name, dist)


def test_the_next_batch_is_asked_while_the_workers_run_the_one_before(
    dask_client, states, monkeypatch
):
    # Pipelined: when a batch is asked, the batch before it is still out on the workers
    # (RUNNING, not yet told). With 4 trials a task and 2 worker threads a batch is 8 trials:
    # a batch-at-a-time loop sees at most 8 running at an ask (its own batch so far, this trial
    # included). Every trial must still be told, none left running, values equal to local.
    import statetune.tuner.dask_trials as dask_trials

    monkeypatch.setattr(dask_trials, "trials_per_task", lambda seconds: 4)
    ex = st.DaskExecutor(dask_client)
    assert ex.n_jobs == 2
    watch = _Watching(seed=3)
    kw = dict(n_trials=200, cv=3, metric="rmse", storage="memory")
    dist = st.tune(states, ["ridge", "elastic_net"], executor=ex, sampler=watch, **kw)
    local = st.tune(
        states, ["ridge", "elastic_net"], sampler=optuna.samplers.RandomSampler(seed=3), **kw
    )
    trials = dist.study.get_trials(deepcopy=False)
    assert len(trials) == 200
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert max(watch.running) > 8  # a whole batch was out while the next was asked
    a = local.study.get_trials(deepcopy=False)
    assert [t.params for t in a] == [t.params for t in trials]
    np.testing.assert_allclose([t.value for t in a], [t.value for t in trials], rtol=1e-12)


def test_a_stop_with_a_batch_in_flight_tells_that_batch_and_asks_no_more(dask_client, states):
    # study.stop() from a callback while the next batch runs on the workers: that batch
    # finishes and is told (no trial left RUNNING), and no further batch is asked.
    calls = []

    def stop_after_first(study, trial):
        calls.append(trial.number)
        if len(calls) == 3:
            study.stop()

    r = st.tune(
        states,
        ["ridge", "elastic_net"],
        n_trials=5_000,
        cv=3,
        metric="rmse",
        storage="memory",
        sampler=optuna.samplers.RandomSampler(seed=1),
        executor=st.DaskExecutor(dask_client),
        callbacks=[stop_after_first],
    )
    trials = r.study.get_trials(deepcopy=False)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len(trials) < 5_000
    assert len(calls) == len(trials)
