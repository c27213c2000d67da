"""Heartbeats on an RDB storage: a trial whose owner on another host stopped beating is failed
as abandoned and run again; the trials of a running ``tune`` call keep beating."""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import optuna
import pytest

import statetune as st
from statetune.tuner.heartbeat import beating, stale_trial_ids
from statetune.tuner.owners import ABANDONED_ATTR, Owner, _trial_template
from statetune.tuner.tune import StudyRecoveryWarning


def _storage(tmp_path, interval=1, grace=1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=interval, grace_period=grace
        )


def _foreign_trial(storage, study_id, run="elsewhere-run"):
    """A RUNNING trial owned by a process on another host (its liveness unknown here)."""
    owner = dataclasses.replace(Owner.this_process(run), host="another-host.example")
    trial_id = storage.create_new_trial(study_id, _trial_template(owner))
    storage.record_heartbeat(trial_id)
    return trial_id


@pytest.fixture
def states():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + rng.normal(size=400)
    return st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)


def test_a_trial_whose_owner_on_another_host_stopped_beating_is_failed_and_run_again(
    tmp_path, states
):
    storage = _storage(tmp_path)

    def tune(n):
        return st.tune(
            states,
            ["ridge"],
            n_trials=n,
            cv=3,
            storage=storage,
            study_name="s",
            seed=0,
            progress=False,
        )

    first = tune(3)
    study_id = storage.get_study_id_from_name(first.study.study_name)
    gone = _foreign_trial(storage, study_id)
    time.sleep(2.5)  # past the grace period (1 s) with no beat
    assert gone in stale_trial_ids(storage, study_id)
    with pytest.warns(StudyRecoveryWarning, match=r"trial\(s\) \[3\]"):
        second = tune(6)
    trial = storage.get_trial(gone)
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.system_attrs[ABANDONED_ATTR] == "owner_gone"
    assert "another-host.example" in trial.user_attrs["fail_reason"]
    assert "no heartbeat for over 2 s" in trial.user_attrs["fail_reason"]
    done = [t for t in second.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6  # the abandoned trial did not count toward n_trials


def test_a_foreign_trial_that_still_beats_counts_as_running(tmp_path, states):
    storage = _storage(tmp_path, interval=1, grace=30)
    first = st.tune(
        states, ["ridge"], n_trials=3, cv=3, storage=storage, study_name="s", seed=0, progress=False
    )
    study_id = storage.get_study_id_from_name(first.study.study_name)
    live = _foreign_trial(storage, study_id)
    second = st.tune(
        states, ["ridge"], n_trials=6, cv=3, storage=storage, study_name="s", seed=0, progress=False
    )
    assert storage.get_trial(live).state == optuna.trial.TrialState.RUNNING
    states_ = [t.state for t in second.study.trials]
    assert states_.count(optuna.trial.TrialState.COMPLETE) == 5  # 5 + the live one = 6


def test_the_running_trials_of_a_call_keep_beating_and_no_others(tmp_path):
    storage = _storage(tmp_path, interval=1, grace=1)
    study_id = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "s")
    ours = storage.create_new_trial(study_id, _trial_template(Owner.this_process("run-a")))
    other = storage.create_new_trial(study_id, _trial_template(Owner.this_process("run-b")))
    storage.record_heartbeat(ours)
    storage.record_heartbeat(other)
    with beating(storage, study_id, "run-a"):
        time.sleep(2.6)
        assert stale_trial_ids(storage, study_id) == [other]
    assert storage.get_trial(ours).state == optuna.trial.TrialState.RUNNING


def test_storage_urls_are_opened_with_heartbeats(tmp_path):
    from statetune.tuner.heartbeat import HEARTBEAT_SECONDS, heartbeat_interval
    from statetune.tuner.storage import open_storage_url

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ExperimentalWarning reaches the user
        storage = open_storage_url(f"sqlite:///{tmp_path / 'url.db'}")
    assert heartbeat_interval(storage) == HEARTBEAT_SECONDS
    assert heartbeat_interval(optuna.storages.InMemoryStorage()) is None
