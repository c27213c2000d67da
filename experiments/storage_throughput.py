"""Trials per second a study storage sustains: journal file, SQLite, PostgreSQL; 1 and 2 processes.

Tiny trials (ridge on a 5-feature state, 3 folds, ~0.1 ms to finalize and score) and a seeded
``RandomSampler`` per process (no TPE cost), so the figure is the storage's (plus statetune's
owner records and Optuna's ask/tell bookkeeping): ``st.tune(states, ..., n_trials=N)`` in each
process on one study, started together behind a file barrier after their states are built.
Throughput is the study's trials over the wall time from the first process entering ``tune``
to the last one leaving it (opening the storage and the study included). A fresh storage
(file, or PostgreSQL database) for every run; median of ``REPEAT`` runs.

PostgreSQL needs a server: run under the test server script, which sets
``STATETUNE_TEST_POSTGRES_URL`` (without it the PostgreSQL rows are skipped)::

    scripts/with_pg_test_server.sh .venv/bin/python experiments/storage_throughput.py

Also counts the SQL statements a trial costs on PostgreSQL (``st.tune`` and, for reference,
Optuna's own ``study.optimize``), a figure the machine's load does not change.
``--statements`` runs that count alone.

Writes results/storage_throughput.csv and results/storage_statements.csv.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

N_TRIALS = 200
REPEAT = 3


def worker(storage: str, cache_dir: str, ready: str, k: int, n_procs: int, n_trials: int) -> None:
    """One process: build states, wait for the others, run ``tune``, print its timings."""
    import optuna
    from _common import regression_data

    import statetune as st

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = regression_data(2_000, 5)
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
    Path(f"{ready}.{k}").touch()
    while not all(Path(f"{ready}.{j}").exists() for j in range(n_procs)):
        time.sleep(0.002)
    t0 = time.time()
    r = st.tune(
        states,
        ["ridge"],
        n_trials=n_trials,
        cv=3,
        storage=None if storage == "journal" else storage,
        cache_dir=cache_dir,
        sampler=optuna.samplers.RandomSampler(seed=k),
    )
    t1 = time.time()
    print(json.dumps({"start": t0, "end": t1, "new": r.n_new_trials, "timings": r.timings}))


def _fresh_pg_database(server: str) -> str:
    import psycopg

    name = f"st_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(server: str, url: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def one_run(kind: str, n_procs: int, server: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "journal":
            storage = "journal"
        elif kind == "sqlite":
            storage = f"sqlite:///{tmp}/study.db"
        else:
            assert server is not None
            storage = _fresh_pg_database(server)
        ready = f"{tmp}/ready"
        here = Path(__file__).resolve().parent
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", storage, tmp, ready, str(k), str(n_procs)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=here,
            )
            for k in range(n_procs)
        ]
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"{kind} worker failed:\n{err}")
            outs.append(json.loads(out.strip().splitlines()[-1]))
        if kind == "postgresql":
            assert server is not None
            _drop_pg_database(server, storage)
    total = sum(o["new"] for o in outs)
    wall = max(o["end"] for o in outs) - min(o["start"] for o in outs)
    storage_s = sum(o["timings"]["storage"] + o["timings"]["sampler"] for o in outs)
    return {"trials": total, "wall": wall, "ask_tell_ms": 1e3 * storage_s / total}


def statements_per_trial(server: str) -> dict[str, float]:
    """SQL statements per trial over 100 trials of a warm PostgreSQL study (10 trials in it):
    ``st.tune``'s loop and Optuna's own ``study.optimize`` (load-independent, unlike time)."""
    import collections

    import optuna
    import sqlalchemy
    from _common import regression_data
    from sqlalchemy import event

    import statetune as st

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    counts: collections.Counter[str] = collections.Counter()

    def count(conn, cursor, statement, params, context, executemany) -> None:
        counts[statement.split()[0]] += 1

    event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", count)
    url = _fresh_pg_database(server)
    try:
        X, y = regression_data(2_000, 5)
        states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
        out = {}
        for n in (10, 110):
            counts.clear()
            sampler = optuna.samplers.RandomSampler(seed=0)
            st.tune(
                states, ["ridge"], n_trials=n, cv=3, storage=url, study_name="s", sampler=sampler
            )
        out["statetune"] = sum(counts.values()) / 100
        print(f"st.tune: {out['statetune']:.1f} statements per trial {dict(counts)}")

        def objective(t: optuna.Trial) -> float:
            return t.suggest_float("a", 1e-3, 1e3, log=True) + t.suggest_int("b", 0, 1)

        study = optuna.create_study(storage=url, sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=10)
        counts.clear()
        study.optimize(objective, n_trials=100)
        out["optuna optimize"] = sum(counts.values()) / 100
        print(f"optuna optimize: {out['optuna optimize']:.1f} statements per trial {dict(counts)}")
    finally:
        event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", count)
        _drop_pg_database(server, url)
    return out


def main() -> None:
    from _common import write_csv

    server = os.environ.get("STATETUNE_TEST_POSTGRES_URL")
    kinds = ["journal", "sqlite"] + (["postgresql"] if server else [])
    if not server:
        print("STATETUNE_TEST_POSTGRES_URL is not set: PostgreSQL skipped (see the module doc)")
    rows = []
    for kind in kinds:
        for n_procs in (1, 2):
            runs = [one_run(kind, n_procs, server) for _ in range(REPEAT)]
            rates = [r["trials"] / r["wall"] for r in runs]
            ask_tell = statistics.median(r["ask_tell_ms"] for r in runs)
            rate = statistics.median(rates)
            rows.append(
                {
                    "storage": kind,
                    "processes": n_procs,
                    "trials": runs[0]["trials"],
                    "trials_per_second": round(rate, 1),
                    "min": round(min(rates), 1),
                    "max": round(max(rates), 1),
                    "ask_tell_ms_per_trial": round(ask_tell, 2),
                }
            )
            print(
                f"{kind:<10} {n_procs} process(es): {rate:6.1f} trials/s "
                f"({min(rates):.1f}..{max(rates):.1f}, {REPEAT} runs); "
                f"ask+tell {ask_tell:.2f} ms/trial (sum over processes)"
            )
    write_csv("storage_throughput", rows)
    if server:
        counted = statements_per_trial(server)
        write_csv(
            "storage_statements",
            [{"loop": k, "statements_per_trial": round(v, 1)} for k, v in counted.items()],
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        a = sys.argv[2:]
        worker(a[0], a[1], a[2], int(a[3]), int(a[4]), N_TRIALS)
    elif len(sys.argv) > 1 and sys.argv[1] == "--statements":
        statements_per_trial(os.environ["STATETUNE_TEST_POSTGRES_URL"])
    else:
        main()
