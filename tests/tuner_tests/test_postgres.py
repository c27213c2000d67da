"""Studies on PostgreSQL: st.tune and the CLI on a server, two processes on one study, and
storage URLs that cannot be reached (these last run without a server).

The server tests need ``STATETUNE_TEST_POSTGRES_URL`` (``make test-pg`` and ``.ci/run`` start a
throwaway server with scripts/with_pg_test_server.sh and set it); without it they skip, unless
``STATETUNE_REQUIRE_POSTGRES=1`` (set by CI), where a missing server is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import optuna
import pytest

import statetune as st
from statetune.testing import make_regression_data
from statetune.tuner import storage as storage_mod
from statetune.tuner.owners import OWNER_ATTR

SERVER = os.environ.get("STATETUNE_TEST_POSTGRES_URL")
REQUIRED = os.environ.get("STATETUNE_REQUIRE_POSTGRES") == "1"


@pytest.fixture
def pg_url():
    """A fresh database on the test server (dropped after the test)."""
    if not SERVER:
        if REQUIRED:
            pytest.fail(
                "STATETUNE_REQUIRE_POSTGRES=1 but STATETUNE_TEST_POSTGRES_URL is not set: the "
                "PostgreSQL tests must run here (start a server with "
                "scripts/with_pg_test_server.sh, as `make test-pg` does)."
            )
        pytest.skip(
            "no PostgreSQL server: set STATETUNE_TEST_POSTGRES_URL, or run `make test-pg` "
            "(starts a throwaway local server)"
        )
    import psycopg

    name = f"st_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield SERVER.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _source():
    X, y, _ = make_regression_data(600, 5, seed=3)
    return st.from_arrays(X, y)


def _trials(url, name):
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def test_tune_on_postgres_equals_in_memory_and_resumes(pg_url):
    src = _source()
    mem = st.tune(src, ["ridge", "lasso"], n_trials=12, cv=3, storage="memory")
    pg = st.tune(src, ["ridge", "lasso"], n_trials=12, cv=3, storage=pg_url)
    # Same seed, one process: the storage changes nothing in what is asked and scored.
    cols = ["number", "algorithm", "ridge:alpha", "lasso:alpha", "value"]
    a = mem.trials[cols].reset_index(drop=True)
    b = pg.trials[cols].reset_index(drop=True)
    assert a.equals(b), (a, b)
    again = st.tune(_source(), ["ridge", "lasso"], n_trials=16, cv=3, storage=pg_url)
    assert again.study.study_name == pg.study.study_name  # same identity: resumed
    assert again.n_new_trials == 4
    assert len(_trials(pg_url, pg.study.study_name)) == 16


def test_cli_tune_with_postgres_storage(pg_url, tmp_path, capsys):
    from statetune.cli import main

    X, y, _ = make_regression_data(300, 3, seed=5)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="")
    args = ["tune", str(path), "--target", "y", "--algorithms", "ridge", "--trials", "6"]
    args += ["--storage", pg_url, "--out", str(tmp_path / "out"), "--no-progress"]
    args += ["--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    (name,) = [s.study_name for s in optuna.get_all_study_summaries(pg_url)]
    assert f"study: {name} (6 trials, 6 new)" in capsys.readouterr().out
    assert all(t.state.name == "COMPLETE" for t in _trials(pg_url, name))


_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import optuna
    import statetune as st
    from statetune.testing import make_regression_data

    url, ready, k, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    X, y, _ = make_regression_data(600, 5, seed=3)
    src = st.from_arrays(X, y)
    states = st.compute_states(src, ["ridge", "lasso"], folds=3)
    open(f"{ready}.{k}", "w").close()
    while not all(os.path.exists(f"{ready}.{j}") for j in (0, 1)):
        time.sleep(0.005)  # both start their trials together
    r = st.tune(src, ["ridge", "lasso"], n_trials=n, cv=3, storage=url,
                sampler=optuna.samplers.RandomSampler(seed=100 + k))
    print(json.dumps({"name": r.study.study_name, "new": r.n_new_trials, "pid": os.getpid()}))
    """
)


def test_two_processes_share_one_study_and_no_trial_is_lost_or_run_twice(pg_url, tmp_path):
    import json

    n = 16
    ready = str(tmp_path / "ready")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, pg_url, ready, str(k), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (0, 1)
    ]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert outs[0]["name"] == outs[1]["name"]  # one study: same identity, same default name
    trials = _trials(pg_url, outs[0]["name"])
    total = len(trials)
    # Every trial asked was told by the process that asked it; none is lost or left running.
    assert sorted(t.number for t in trials) == list(range(total))
    assert all(t.state.name in ("COMPLETE", "PRUNED", "FAIL") for t in trials)
    assert total == sum(o["new"] for o in outs)
    # n_trials is the study's size: the two stop together (a batch asked by one process while
    # the other asked the last one may overshoot by one trial).
    assert n <= total <= n + 1
    by_pid = {o["pid"]: o["new"] for o in outs}
    owners = [t.system_attrs[OWNER_ATTR]["pid"] for t in trials]
    assert {pid: owners.count(pid) for pid in by_pid} == by_pid
    assert all(v > 0 for v in by_pid.values()), by_pid  # both worked on the study
    # Each process's seeded sampler draws its own points: no trial is a repeat of another.
    points = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(points)) == total


def test_unreachable_storage_fails_before_the_pass_naming_the_url_without_password():
    X, y, _ = make_regression_data(200, 3, seed=1)
    rows = []
    url = "postgresql://tuner:s3cret@127.0.0.1:1/studies"
    with pytest.raises(ValueError) as info:
        st.tune(st.from_arrays(X, y), ["ridge"], n_trials=3, storage=url, pass_progress=rows.append)
    msg = str(info.value)
    assert "'postgresql://tuner:***@127.0.0.1:1/studies'" in msg
    assert "s3cret" not in msg
    assert "must be reachable" in msg
    assert rows == []  # no pass work was done


def test_unreachable_storage_in_cli_fails_before_reading_data(tmp_path, capsys):
    from statetune.cli import main

    missing = tmp_path / "not_there.csv"  # never opened: the storage is checked first
    url = "postgres://tuner:s3cret@127.0.0.1:1/studies"
    assert main(["tune", str(missing), "--target", "y", "--storage", url]) == 1
    err = capsys.readouterr().err
    assert "'postgres://tuner:***@127.0.0.1:1/studies'" in err
    assert "s3cret" not in err and "not_there" not in err


def test_silent_server_times_out_within_the_connect_timeout(monkeypatch):
    """A host that accepts TCP but never answers (a firewall, a hung server): the connect
    timeout ends the wait instead of the driver's default (none for libpq)."""
    monkeypatch.setattr(storage_mod, "CONNECT_TIMEOUT", 2)  # libpq's minimum
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted, never answered
        port = silent.getsockname()[1]
        url = f"postgresql://u:pw@127.0.0.1:{port}/db"
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match=rf"'postgresql://u:\*\*\*@127.0.0.1:{port}/db'"):
            st.tune(_source(), ["ridge"], n_trials=2, storage=url)
        assert time.perf_counter() - t0 < 10
