"""Finalize latency from cached moments (d=50) and K-fold validation from held-out states,
against scikit-learn fitting the same ridge on all 1,000,000 rows; cold and warm on both sides.

statetune: the first finalize on a new StateSet is **cold** (it pays for the factorization or
eigendecomposition, memoized on the state); later finalizes on that StateSet are **warm** (new
parameters each call, the memo reused). Each of RUNS runs builds a new StateSet for one algorithm
(the pass is not timed), times the first finalize (cold), then the median of WARM_CALLS later
ones (warm); likewise the 5-fold ``validation_score`` (first call cold, median of SCORE_CALLS
later ones warm) on the same StateSet.

scikit-learn: ``Ridge(alpha=1.0).fit(X, y)`` on all rows. **Cold** = the first fit in a new
Python process (data generated, then the first fit timed: lazy imports, BLAS start-up), RUNS
processes; **warm** = RUNS later fits in this process. The ratio lines divide cold by cold and
warm by warm. Reported: medians over runs and the spread (min..max).

Run: ``.venv/bin/python experiments/finalize_latency.py`` (writes results/finalize_latency.csv)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import regression_data, run_times, spread, write_csv
from sklearn import linear_model

import statetune as st

N, D, K = 1_000_000, 50, 5
RUNS, WARM_CALLS, SCORE_CALLS = 5, 200, 50

COLD_SKLEARN = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from _common import regression_data
from sklearn import linear_model
X, y = regression_data({N}, {D})
t0 = time.perf_counter()
linear_model.Ridge(alpha=1.0).fit(X, y)
print(time.perf_counter() - t0)
"""


def draws(rng: np.random.Generator) -> dict[str, Callable[[], dict[str, Any]]]:
    return {
        "ridge": lambda: {"alpha": float(10 ** rng.uniform(-3, 4))},
        "elastic_net": lambda: {
            "alpha": float(10 ** rng.uniform(-4, -1)),
            "l1_ratio": float(rng.uniform(0.1, 1)),
        },
        "pca": lambda: {"n_components": int(rng.integers(1, D + 1))},
        "pcr": lambda: {
            "n_components": int(rng.integers(1, D + 1)),
            "alpha": float(10 ** rng.uniform(-3, 3)),
        },
    }


def ms(times: list[float]) -> str:
    return spread(times, "ms", 1e3, 4)


def main() -> None:
    X, y = regression_data(N, D)
    cases = draws(np.random.default_rng(0))
    rows = []
    print(f"data {N:,} x {D}, {K} folds; {RUNS} runs, each on a new StateSet; median (min..max)")
    for name, draw in cases.items():
        cold_fin, warm_fin, cold_cv, warm_cv = [], [], [], []
        for _ in range(RUNS):
            states = st.compute_states(st.from_arrays(X, y), [name], folds=K)

            def fin(name: str = name, draw=draw, states=states) -> None:
                st.finalize(name, states, **draw())

            def score(name: str = name, draw=draw, states=states) -> None:
                states.validation_score(name, draw())

            cold_fin += run_times(fin, 1)
            warm_fin.append(statistics.median(run_times(fin, WARM_CALLS)))
            cold_cv += run_times(score, 1)
            warm_cv.append(statistics.median(run_times(score, SCORE_CALLS)))
        print(
            f"{name:<12} finalize cold {ms(cold_fin)}   warm {ms(warm_fin)}\n"
            f"{'':<12} 5-fold score cold {ms(cold_cv)}   warm {ms(warm_cv)}"
        )
        for path, f, cv in (("cold", cold_fin, cold_cv), ("warm", warm_fin, warm_cv)):
            rows.append(
                {
                    "side": f"statetune {name}",
                    "path": path,
                    "runs": RUNS,
                    "finalize_median_ms": round(statistics.median(f) * 1e3, 4),
                    "finalize_min_ms": round(min(f) * 1e3, 4),
                    "finalize_max_ms": round(max(f) * 1e3, 4),
                    "score_5fold_median_ms": round(statistics.median(cv) * 1e3, 4),
                    "score_5fold_min_ms": round(min(cv) * 1e3, 4),
                    "score_5fold_max_ms": round(max(cv) * 1e3, 4),
                }
            )
    sk_cold = [
        float(
            subprocess.run(
                [sys.executable, "-c", COLD_SKLEARN], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(RUNS)
    ]
    sk_warm = run_times(lambda: linear_model.Ridge(alpha=1.0).fit(X, y), RUNS, warmup=1)
    for path, t in (("cold", sk_cold), ("warm", sk_warm)):
        rows.append(
            {
                "side": "scikit-learn Ridge.fit, all rows",
                "path": path,
                "runs": RUNS,
                "finalize_median_ms": round(statistics.median(t) * 1e3, 4),
                "finalize_min_ms": round(min(t) * 1e3, 4),
                "finalize_max_ms": round(max(t) * 1e3, 4),
                "score_5fold_median_ms": "",
                "score_5fold_min_ms": "",
                "score_5fold_max_ms": "",
            }
        )
    print(
        f"scikit-learn Ridge.fit on all rows: cold (first fit in a new process) {ms(sk_cold)}   "
        f"warm {ms(sk_warm)}"
    )
    ridge = {
        r["path"]: r["finalize_median_ms"] / 1e3 for r in rows if r["side"] == "statetune ridge"
    }
    print(
        f"ratio Ridge.fit / ridge finalize, medians: cold / cold "
        f"{statistics.median(sk_cold) / ridge['cold']:,.0f}x   warm / warm "
        f"{statistics.median(sk_warm) / ridge['warm']:,.0f}x"
    )
    write_csv("finalize_latency", rows)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
