"""How to run trials in parallel: in this thread, joblib threads, or joblib processes (loky).

Evaluates the same 200 parameter sets (5-fold validation from held-out states) for ridge and
elastic net at d=50 and d=400, three ways. States are small (d x d per fold), so processes
receive them pickled; each process then rebuilds its own memoized factorizations.
This is what `st.tune` bases its choice on (threads only when a trial takes >= 10 ms).

Run: ``.venv/bin/python experiments/trial_parallelism.py``
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from _common import regression_data, write_csv
from joblib import Parallel, delayed

import statetune as st


def evaluate(states, name, params):
    return states.validation_score(name, params, "mse")


def run(states, name, grid, mode):
    if mode == "in-thread":
        return [evaluate(states, name, p) for p in grid]
    backend = "threading" if mode == "threads (2)" else "loky"
    with Parallel(n_jobs=2, backend=backend) as par:
        return par(delayed(evaluate)(states, name, p) for p in grid)


def main() -> None:
    rows = []
    for d in (50, 400):
        X, y = regression_data(200_000, d)
        states = st.compute_states(
            st.from_arrays(X, y), ["ridge", "elastic_net"], folds=5, n_jobs=2
        )
        rng = np.random.default_rng(0)
        grids = {
            "ridge": [{"alpha": float(10 ** rng.uniform(-3, 5))} for _ in range(200)],
            "elastic_net": [
                {"alpha": float(10 ** rng.uniform(-4, -1)), "l1_ratio": float(rng.uniform(0.05, 1))}
                for _ in range(200)
            ],
        }
        for name, grid in grids.items():
            for mode in ("in-thread", "threads (2)", "processes (2)"):
                times = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    run(states, name, grid, mode)
                    times.append(time.perf_counter() - t0)
                med = statistics.median(times)
                rows.append(
                    {
                        "d": d,
                        "algorithm": name,
                        "mode": mode,
                        "seconds_200_trials": round(med, 4),
                        "ms_per_trial": round(med / len(grid) * 1e3, 3),
                    }
                )
                print(
                    f"d={d:<4} {name:<12} {mode:<14} {med:7.3f}s  ({med / len(grid) * 1e3:.3f} ms/trial)"
                )
    write_csv("trial_parallelism", rows)


if __name__ == "__main__":
    main()
