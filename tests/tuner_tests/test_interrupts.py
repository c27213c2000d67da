"""Issue 9, item 6: no trial stays RUNNING after Ctrl-C or ``kill -9``.

A child process runs ``st.tune`` on a journal and is stopped at a chosen point: SIGINT sent to
itself inside ``study.ask()`` (the sampler's ``before_trial``), inside a ``suggest`` call (the
sampler's ``sample_relative``/``sample_independent``), while finalizing, inside ``tell``, or
between the journal write creating a trial and its fsync; or SIGKILL inside the sampler, or from outside at an
arbitrary moment. The journal is then read with plain Optuna, and the study resumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import optuna
import pytest

import statetune as st
from statetune.testing import make_regression_data
from statetune.tuner.owners import ABANDONED_ATTR, OWNER_ATTR, Owner, active_run, owner_alive
from statetune.tuner.tune import StudyRecoveryWarning

N_TRIALS = 12

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    import optuna
    import statetune as st
    import importlib
    tune_module = importlib.import_module("statetune.tuner.trial_pool")
    from statetune.testing import make_regression_data

    folder, mode, nth, n_jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sig = signal.SIGKILL if mode.startswith("kill") else signal.SIGINT
    calls = {"n": 0}

    def hit():
        calls["n"] += 1
        if calls["n"] == nth:
            print("signal", flush=True)
            os.kill(os.getpid(), sig)
            time.sleep(0.5)  # the handler runs at the next bytecode boundary

    class Sampler(optuna.samplers.TPESampler):
        def before_trial(self, study, trial):  # inside study.ask()
            if mode in ("ask", "kill-ask"):
                hit()
            super().before_trial(study, trial)

        def sample_relative(self, study, trial, space):  # inside the first suggest call
            if mode in ("suggest", "kill-suggest"):
                hit()
            return super().sample_relative(study, trial, space)

        def sample_independent(self, study, trial, name, dist):  # a later suggest call
            if mode == "suggest-independent":
                hit()
            return super().sample_independent(study, trial, name, dist)

    if mode in ("evaluate", "kill-evaluate", "slow"):
        evaluate = tune_module.evaluate

        def slow_evaluate(*args, **kwargs):
            if mode == "slow":
                time.sleep(0.02)
            else:
                hit()
            if n_jobs > 1:
                time.sleep(0.02)  # heavy enough for the thread pool
            return evaluate(*args, **kwargs)

        tune_module.evaluate = slow_evaluate
    if mode == "tell":
        tell = optuna.Study.tell

        def interrupted_tell(self, *args, **kwargs):
            hit()
            return tell(self, *args, **kwargs)

        optuna.Study.tell = interrupted_tell
    if mode == "fsync":  # the trial's record is written, its fsync not returned yet
        fsync, ask, asking = os.fsync, optuna.Study.ask, {"on": False}

        def flagged_ask(self, *args, **kwargs):
            asking["on"] = True
            try:
                return ask(self, *args, **kwargs)
            finally:
                asking["on"] = False

        def interrupted_fsync(fd):
            fsync(fd)
            if asking["on"]:
                hit()

        optuna.Study.ask = flagged_ask
        os.fsync = interrupted_fsync

    X, y, _ = make_regression_data(600, 4, seed=5)
    sampler = Sampler(seed=0, multivariate=True, group=True, n_startup_trials=3,
                      constant_liar=n_jobs > 1)
    st.tune(st.from_arrays(X, y), ["ridge", "lasso"], n_trials=int(sys.argv[5]), cv=3,
            cache_dir=folder, study_name="s", sampler=sampler, n_jobs=n_jobs)
    print("finished", flush=True)
    """
)


def run_child(folder, mode, nth, n_jobs=1, n_trials=N_TRIALS, wait=True):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    args = [sys.executable, "-c", CHILD, str(folder), mode, str(nth), str(n_jobs), str(n_trials)]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    return proc, out, err


def load(folder):
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(folder / "optuna_journal.log"))
    )
    return optuna.load_study(study_name="s", storage=storage).trials


def evaluated(trials):
    """COMPLETE, PRUNED, or FAIL with an evaluation (never abandoned ones)."""
    return [
        t
        for t in trials
        if t.state.name in ("COMPLETE", "PRUNED")
        or (t.state.name == "FAIL" and ABANDONED_ATTR not in t.system_attrs)
    ]


def resume(folder, n_trials=N_TRIALS):
    X, y, _ = make_regression_data(600, 4, seed=5)
    return st.tune(
        st.from_arrays(X, y),
        ["ridge", "lasso"],
        n_trials=n_trials,
        cv=3,
        cache_dir=folder,
        study_name="s",
    )


@pytest.mark.parametrize(
    ("mode", "nth", "n_jobs", "phase"),
    [
        ("ask", 5, 1, "asking for a trial"),
        ("suggest", 5, 1, "sampling its parameters"),
        ("suggest-independent", 2, 1, "sampling its parameters"),
        ("evaluate", 4, 1, "finalizing and scoring"),
        ("evaluate", 4, 2, "finalizing and scoring"),
        ("tell", 3, 1, "recording results"),
        ("fsync", 3, 1, "asking for a trial"),
    ],
)
def test_ctrl_c_leaves_no_running_trial_and_resume_counts_evaluated_ones(
    tmp_path, mode, nth, n_jobs, phase
):
    proc, out, err = run_child(tmp_path, mode, nth, n_jobs)
    assert "signal" in out and "finished" not in out, err
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    trials = load(tmp_path)
    assert trials, err
    assert not [t.number for t in trials if t.state.name == "RUNNING"]
    stopped = [t for t in trials if ABANDONED_ATTR in t.system_attrs]
    assert stopped and all(t.state.name == "FAIL" for t in stopped)
    for t in stopped:
        assert t.system_attrs[ABANDONED_ATTR] == "interrupted"
        assert t.user_attrs["fail_reason"].startswith(
            f"interrupted by KeyboardInterrupt while {phase}"
        )
        assert "not counted toward n_trials" in t.user_attrs["fail_reason"]
        assert t.system_attrs[OWNER_ATTR]["pid"] == proc.pid
    before = len(evaluated(trials))
    assert before < N_TRIALS
    with warnings.catch_warnings():
        warnings.simplefilter("error", StudyRecoveryWarning)  # nothing left to recover
        r = resume(tmp_path)
    after = load(tmp_path)
    assert len(evaluated(after)) == N_TRIALS
    assert r.n_new_trials == N_TRIALS - before
    assert all(t.state.is_finished() for t in after)


@pytest.mark.parametrize("mode", ["kill-ask", "kill-suggest", "kill-evaluate"])
def test_kill_9_leaves_a_trial_that_resume_fails_with_a_reason(tmp_path, mode):
    proc, _out, err = run_child(tmp_path, mode, 6)
    assert proc.returncode == -signal.SIGKILL, err
    trials = load(tmp_path)
    running = [t for t in trials if t.state.name == "RUNNING"]
    assert len(running) == 1  # killed while it ran: nothing could close it
    assert running[0].system_attrs[OWNER_ATTR]["pid"] == proc.pid
    before = len(evaluated(trials))
    with pytest.warns(
        StudyRecoveryWarning,
        match=rf"trial\(s\) \[{running[0].number}\] were left RUNNING by a tune call that stopped",
    ):
        r = resume(tmp_path)
    after = load(tmp_path)
    stale = after[running[0].number]
    assert stale.state.name == "FAIL"
    assert stale.system_attrs[ABANDONED_ATTR] == "owner_gone"
    assert f"its owner, process {proc.pid} on host" in stale.user_attrs["fail_reason"]
    assert not [t for t in after if t.state.name == "RUNNING"]
    assert len(evaluated(after)) == N_TRIALS and r.n_new_trials == N_TRIALS - before


def test_kill_9_at_an_arbitrary_moment(tmp_path):
    """From outside, mid-study: wherever it lands (a journal write included), resume works."""
    proc = run_child(tmp_path, "slow", 0, n_trials=400, wait=False)
    journal = tmp_path / "optuna_journal.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b'"op_code":6') >= 5:
            break  # five trials finished
        time.sleep(0.01)
    proc.kill()
    proc.communicate(timeout=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # recovery warnings, if the kill left anything
        resume(tmp_path, n_trials=20)
    after = load(tmp_path)
    assert not [t for t in after if t.state.name == "RUNNING"]
    assert len(evaluated(after)) == 20
    for t in after:
        if t.state.name == "FAIL":
            assert t.system_attrs.get(ABANDONED_ATTR) == "owner_gone", t.user_attrs


def test_owner_alive_tells_gone_reused_and_foreign_owners():
    me = Owner.this_process("run-a").to_json()
    with active_run("run-a"):
        assert owner_alive(me) is True
    assert owner_alive(me) is False  # this process, but its tune call is over
    assert owner_alive({**me, "started": (me["started"] or 0) + 1}) is False  # pid reused
    assert owner_alive({**me, "host": me["host"] + "-elsewhere"}) is None  # cannot tell
    assert owner_alive({**me, "boot": "another-boot"}) is False
    assert owner_alive(None) is None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and os.path.exists(f"/proc/{child.pid}"):
        with open(f"/proc/{child.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break  # exited, not reaped yet
        time.sleep(0.01)
    record = {**me, "pid": child.pid, "started": None}
    assert owner_alive(record) is False  # a zombie is gone
    child.wait()
    assert owner_alive(record) is False


def test_in_process_interrupt_in_the_sampler_closes_the_half_asked_trial(monkeypatch):
    """No subprocess: KeyboardInterrupt raised by the sampler inside study.ask(), before ask
    returns the trial, in memory storage."""

    class Stop(optuna.samplers.TPESampler):
        calls = 0

        def before_trial(self, study, trial):
            Stop.calls += 1
            if Stop.calls == 3:
                raise KeyboardInterrupt
            super().before_trial(study, trial)

    X, y, _ = make_regression_data(300, 3, seed=2)
    captured = {}
    original = optuna.create_study

    def spy(*args, **kwargs):
        captured["study"] = study = original(*args, **kwargs)
        return study

    monkeypatch.setattr(optuna, "create_study", spy)
    with pytest.raises(KeyboardInterrupt):
        st.tune(
            st.from_arrays(X, y),
            ["ridge"],
            n_trials=6,
            cv=3,
            storage="memory",
            sampler=Stop(seed=0),
        )
    trials = captured["study"].trials
    assert len(trials) == 3 and all(t.state.is_finished() for t in trials)
    assert trials[-1].state.name == "FAIL" and trials[-1].params == {}
    assert (
        trials[-1]
        .user_attrs["fail_reason"]
        .startswith("interrupted by KeyboardInterrupt while asking")
    )
