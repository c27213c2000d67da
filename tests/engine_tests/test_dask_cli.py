"""`statetune tune --scheduler`: the pass and the trials run on the cluster; an unreachable
scheduler fails before any work, naming it; mismatched versions are reported from Dask's own
check."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.cli import EXIT_DATA, main
from statetune.engine import dask_executor

pytest.importorskip("distributed")


def test_tune_on_a_scheduler_runs_the_pass_and_the_trials_there(dask_client, tmp_path, capsys):
    from distributed import get_task_stream

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(2000, 3)), columns=["a", "b", "c"])
    df["y"] = df.a - 2 * df.c + rng.normal(size=2000)
    df.to_csv(tmp_path / "d.csv", index=False)
    address = dask_client.scheduler.address
    args = ["tune", str(tmp_path / "d.csv"), "--target", "y", "--scheduler", address]
    args += ["--trials", "12", "--storage", "memory", "--out", str(tmp_path / "out")]
    args += ["--no-progress", "--algorithms", "ridge,elastic_net"]
    with get_task_stream(dask_client) as ts:
        assert main(args) == 0
    names = {"-".join(str(t["key"]).split("-")[:2]) for t in ts.data}
    assert {"statetune-read", "statetune-pass", "statetune-trials"} <= names
    assert "ridge" in capsys.readouterr().out
    assert dask_client.status == "running"  # the CLI closed its own client only


def test_an_unreachable_scheduler_fails_before_any_work_naming_it(monkeypatch, capsys):
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", 0.5)
    t0 = time.perf_counter()
    code = main(["tune", "no-such-data.csv", "--target", "y", "--scheduler", "tcp://127.0.0.1:9"])
    assert code == EXIT_DATA and time.perf_counter() - t0 < 10
    err = capsys.readouterr().err
    assert "The Dask scheduler at 'tcp://127.0.0.1:9' must be reachable" in err
    assert "no-such-data" not in err  # the data was not looked at


def test_mismatched_versions_from_dasks_check_are_an_error():
    from distributed.versions import error_message, get_versions

    mine = get_versions(packages=["statetune"])
    theirs = {"host": mine["host"], "packages": dict(mine["packages"], statetune="0.0.1")}

    class Client:  # Dask's check over a worker that runs another statetune
        def submit(self): ...

        def scheduler_info(self): ...

        def get_versions(self, check=False, packages=None):
            msg = error_message(mine, {"tcp://w:1": theirs}, mine)
            if check and msg["warning"]:
                warnings.warn(msg["warning"], stacklevel=2)

    with pytest.raises(ValueError, match=r"(?s)same package versions.*statetune.*0\.0\.1"):
        st.DaskExecutor(Client())


def test_a_local_scheduler_spec_is_checked():
    with pytest.raises(ValueError, match="'local' or 'local:N'"):
        dask_executor.connect("local:x")
