"""A trial another process failed as abandoned (its heartbeat looked late) while this process
still ran it: the result is dropped with a warning and the study goes on."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

import statetune as st
from statetune.tuner.owners import abandon
from statetune.tuner.tune import StudyRecoveryWarning


def test_a_trial_failed_by_another_process_meanwhile_is_dropped_not_fatal(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X @ np.arange(5.0) + rng.normal(size=300)
    taken = []

    def other_host(study, frozen):
        # what another host's stale-trial check does to a trial of this batch still running
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if abandon(study._storage, t, "owner_gone", "abandoned: no heartbeat for 60 s"):
                taken.append(t.number)

    with pytest.warns(StudyRecoveryWarning, match=r"was finished by another process"):
        r = st.tune(
            st.from_arrays(X, y),
            ["ridge"],
            n_trials=6,
            cv=2,
            n_jobs=2,
            storage=f"sqlite:///{tmp_path / 's.db'}",
            callbacks=[other_host],
        )
    assert taken  # the callback did fail trials of a running batch
    by_number = {t.number: t for t in r.study.trials}
    for n in taken:
        assert by_number[n].state == optuna.trial.TrialState.FAIL
        assert "fold_scores" not in by_number[n].user_attrs
    done = [t for t in r.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6  # the dropped ones were abandoned, not counted: others ran instead
