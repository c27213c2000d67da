"""The pass and the trials on Dask (issue 14): scaling and the cost of Dask itself.

Three figures, each a median of ``--repeat`` timed runs after one untimed warm-up (worker
processes import statetune on their first task):

1. **CSV pass scaling**: a CPU-bound pass (parsing ``--rows`` rows of CSV in 8 files) on a
   ``LocalCluster`` of 1 and of 2 single-threaded worker processes. Target: >= 1.7x.
2. **Dask overhead on Parquet**: the Dask pass (2 single-threaded workers) over the same rows
   as 8 Parquet files, against the local ``n_jobs=2`` pass on those files. Target: >= 0.8x.
3. **Trials on Dask**: ``--trials`` trials of ridge/elastic net (a seeded ``RandomSampler``,
   so both runs evaluate the same trials; TPE's own cost would weigh on both alike) on one
   computed state (d=50), 2 workers vs local threads (``n_jobs=2``). Target: >= 0.7x the
   local throughput.

Writes ``results/dask_scaling.csv`` and prints a table. On a shared machine the ratios move
with the load: rerun on a quiet one.

Run: ``.venv/bin/python experiments/dask_scaling.py [--rows 4000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import pandas as pd
from _common import regression_data, write_csv

import statetune as st

N_FILES = 8


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up: imports on fresh workers, file cache
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def cluster(n_workers: int) -> Any:
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=":0")
    return Client(c)


def close(client: Any) -> None:
    c = client.cluster
    client.close()
    c.close()


def write_files(folder: str, rows: int, d: int = 5) -> tuple[str, str]:
    X, y = regression_data(rows, d)
    csv_dir, pq_dir = os.path.join(folder, "csv"), os.path.join(folder, "parquet")
    os.makedirs(csv_dir)
    os.makedirs(pq_dir)
    for i, idx in enumerate(np.array_split(np.arange(rows), N_FILES)):
        df = pd.DataFrame(X[idx], columns=[f"x{j}" for j in range(d)])
        df["y"] = y[idx]
        df.to_csv(os.path.join(csv_dir, f"part{i}.csv"), index=False, float_format="%.6g")
        df.to_parquet(os.path.join(pq_dir, f"part{i}.parquet"), row_group_size=131072)
    return csv_dir, pq_dir


def row(figure: str, setup: str, times: list[float], unit_count: float, unit: str) -> dict:
    med = statistics.median(times)
    return {
        "figure": figure,
        "setup": setup,
        "median_s": round(med, 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "runs": len(times),
        "per_s": round(unit_count / med, 1),
        "unit": unit,
    }


def csv_scaling(csv_dir: str, rows: int, repeat: int) -> list[dict]:
    src = st.from_csv(csv_dir, target="y")
    out = []
    for n in (1, 2):
        client = cluster(n)
        try:
            ex = st.DaskExecutor(client)
            times = timed(lambda ex=ex: st.compute_states(src, ["ridge"], executor=ex), repeat)
        finally:
            close(client)
        out.append(row("csv pass", f"dask {n} worker(s)", times, rows, "rows"))
    return out


def parquet_overhead(pq_dir: str, rows: int, repeat: int) -> list[dict]:
    src = st.from_parquet(pq_dir, target="y")
    local = timed(lambda: st.compute_states(src, ["ridge"], n_jobs=2), repeat)
    client = cluster(2)
    try:
        ex = st.DaskExecutor(client)
        dist = timed(lambda: st.compute_states(src, ["ridge"], executor=ex), repeat)
    finally:
        close(client)
    return [
        row("parquet pass", "local n_jobs=2", local, rows, "rows"),
        row("parquet pass", "dask 2 workers", dist, rows, "rows"),
    ]


def trials(n_trials: int, repeat: int) -> list[dict]:
    X, y = regression_data(200_000, 50)
    states = st.compute_states(st.from_arrays(X, y), ["ridge", "elastic_net"], folds=5, n_jobs=2)

    def tune(**kw: Any) -> Any:
        return st.tune(
            states,
            ["ridge", "elastic_net"],
            n_trials=n_trials,
            metric="mse",
            storage="memory",
            sampler=optuna.samplers.RandomSampler(seed=0),
            **kw,
        )

    local = timed(lambda: tune(n_jobs=2), repeat)
    client = cluster(2)
    try:
        ex = st.DaskExecutor(client)
        dist = timed(lambda: tune(executor=ex), repeat)
    finally:
        close(client)
    return [
        row("trials", "local threads n_jobs=2", local, n_trials, "trials"),
        row("trials", "dask 2 workers", dist, n_trials, "trials"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("csv", "parquet", "trials"), action="append")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    only = set(args.only or ("csv", "parquet", "trials"))
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        if only & {"csv", "parquet"}:
            t0 = time.perf_counter()
            csv_dir, pq_dir = write_files(tmp, args.rows)
            print(
                f"wrote {args.rows:,} rows as CSV and Parquet in {time.perf_counter() - t0:.0f} s"
            )
        if "csv" in only:
            rows += csv_scaling(csv_dir, args.rows, args.repeat)
        if "parquet" in only:
            rows += parquet_overhead(pq_dir, args.rows, args.repeat)
    if "trials" in only:
        rows += trials(args.trials, args.repeat)
    write_csv("dask_scaling", rows)
    print(pd.DataFrame(rows).to_string(index=False))
    med = {(r["figure"], r["setup"]): r["median_s"] for r in rows}
    ratios = [
        (
            "csv pass: 2 vs 1 worker speed-up",
            "csv pass",
            "dask 1 worker(s)",
            "dask 2 worker(s)",
            1.7,
        ),
        ("parquet: dask / local speed", "parquet pass", "local n_jobs=2", "dask 2 workers", 0.8),
        (
            "trials: dask / local throughput",
            "trials",
            "local threads n_jobs=2",
            "dask 2 workers",
            0.7,
        ),
    ]
    for label, fig, base, other, target in ratios:
        if (fig, base) in med and (fig, other) in med:
            r = med[(fig, base)] / med[(fig, other)]
            print(f"{label}: {r:.2f}x (target >= {target}x)")


if __name__ == "__main__":
    main()
