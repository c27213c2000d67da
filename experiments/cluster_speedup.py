"""Tuning speed of the sample and coreset families: a ``--trials`` (200) trial study of
``kmeans`` and of ``isolation_forest`` with statetune (one pass, then every trial finalized
from the fold states) against plain Optuna refitting scikit-learn per fold per trial.

Data: ``--rows`` (1,000,000) rows of a 10-d Gaussian mixture (8 components of unequal
sizes and scales) with 1% uniform outliers labeled 1 (numpy, seed 0). Same folds (the
StateSet's fold assignment), same space (``states.search_space``), same sampler and seed
(``TPESampler(seed=0, multivariate=True, group=True)``, suggested in statetune's order):

- ``kmeans``, metric ``inertia``: statetune scores each held-out fold's coreset; the refit
  side fits ``sklearn.cluster.KMeans(n_clusters, init, n_init, random_state=0)`` on the
  fold's training rows and scores the mean squared distance of all its held-out rows.
- ``isolation_forest``, metric ``roc_auc`` (the label column): statetune grows one
  scikit-learn ``IsolationForest`` per fold and ``(max_samples, max_features)`` point of the
  space's grids on the training folds' sample (warm start, to the largest ``n_estimators``
  asked), each trial takes its first ``n_estimators`` trees and scores 10,000 held-out sample
  rows from their cached leaves; the refit side fits ``IsolationForest(n_estimators,
  max_samples, max_features, random_state=0)`` on all training rows and scores all held-out
  rows.

statetune's wall time includes its pass. The refit side runs ``--refit-trials`` trials
(measured) and its ``--trials`` total is *estimated* as the median refit trial times the
trial count (the refit study's own sampler time is left out, in its favour). Both sides are
also timed in CPU seconds of this process (``time.process_time``: less sensitive than wall
time to other jobs on a shared machine): ``speedup_cpu``. The first
trials of both sides are checked to ask the same parameters. The ratio is refit over
statetune. The machine is shared (2 cores, other jobs running): one run of each side unless
``--repeat``; treat the ratios as indicative.

Run: ``.venv/bin/python experiments/cluster_speedup.py`` (writes results/cluster_speedup.*);
quick: ``--rows 100000 --trials 20 --refit-trials 2``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import optuna
from _common import RESULTS, bar_chart, outlier_mixture, suggest_algorithm, tpe, write_csv
from sklearn.cluster import KMeans
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

import statetune as st

SEED = 0
METRIC = {"kmeans": "inertia", "isolation_forest": "roc_auc"}


def data(n: int, d: int = 10, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian mixture with 1% uniform outliers (label 1) in a box 1.5x the mixture's."""
    return outlier_mixture(
        n, d, seed, components=8, concentration=2.0, centre=8.0, scale=(0.5, 2.0)
    )


def refit_fold(alg: str, params: dict[str, Any], fold: tuple) -> float:
    """One fold of the refit side: fit on the training rows, score all held-out rows (one
    OpenMP thread, as statetune's k-means: on a shared machine more threads stall)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return _refit_fold(alg, params, fold)


def _refit_fold(alg: str, params: dict[str, Any], fold: tuple) -> float:
    Xtr, Xho, yho = fold
    if alg == "kmeans":
        m = KMeans(
            n_clusters=params["n_clusters"],
            init=params["init"],
            n_init=params["n_init"],
            random_state=SEED,
        ).fit(Xtr)
        return float(-m.score(Xho) / len(Xho))
    m = IsolationForest(
        n_estimators=params["n_estimators"],
        max_samples=params["max_samples"],
        max_features=params["max_features"],
        random_state=SEED,
    ).fit(Xtr)
    return float(roc_auc_score(yho, -m.score_samples(Xho)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--refit-trials", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--algorithms", default="kmeans,isolation_forest")
    ap.add_argument("--name", default="cluster_speedup", help="results/<name>.csv and .png")
    args = ap.parse_args()
    N, T, K = args.rows, args.trials, args.folds
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = data(N)
    out = []
    for alg in args.algorithms.split(","):
        metric = METRIC[alg]
        src = st.from_arrays(X, y) if alg == "isolation_forest" else st.from_arrays(X)
        walls, cpus, results = [], [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            r = st.tune(
                src,
                [alg],
                n_trials=T,
                cv=K,
                metric=metric,
                seed=SEED,
                storage="memory",
                pruner=optuna.pruners.NopPruner(),
            )
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            results.append(r)
        r = results[0]
        ours, ours_cpu = statistics.median(walls), statistics.median(cpus)
        states = r.states
        fold_ids = states.folds.assign(0, states.n_rows)
        spaces = {alg: states.search_space(alg)}
        folds = []
        for k in range(K):
            tr, ho = np.flatnonzero(fold_ids != k), np.flatnonzero(fold_ids == k)
            folds.append((X[tr], X[ho], y[ho]))
        times: list[float] = []
        cpu_times: list[float] = []
        asked: list[dict[str, Any]] = []

        def objective(
            trial: optuna.Trial, asked: list = asked, times: list = times, cpu: list = cpu_times
        ) -> float:
            _, params = suggest_algorithm(trial, spaces)  # noqa: B023
            asked.append(params)
            t0, c0 = time.perf_counter(), time.process_time()
            value = float(np.mean([refit_fold(alg, params, f) for f in folds]))  # noqa: B023
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            return value

        direction = "maximize" if r.maximize else "minimize"
        study = optuna.create_study(direction=direction, sampler=tpe(SEED))
        study.optimize(objective, n_trials=args.refit_trials)
        ours_first = [
            {k.split(":", 1)[1]: v for k, v in t.params.items() if ":" in k}
            for t in r.study.trials[: args.refit_trials]
        ]
        same = ours_first == asked
        refit_total = statistics.median(times) * T
        refit_cpu_total = statistics.median(cpu_times) * T
        row = {
            "algorithm": alg,
            "metric": metric,
            "rows": N,
            "folds": K,
            "trials": T,
            "statetune_s": round(ours, 2),
            "statetune_cpu_s": round(ours_cpu, 2),
            "statetune_pass_s": round(r.timings["pass"], 2),
            "statetune_finalize_and_score_s": round(r.timings["finalize_and_score"], 2),
            "refit_trial_median_s": round(statistics.median(times), 3),
            "refit_trials_measured": len(times),
            "refit_total_s_estimated": round(refit_total, 1),
            "refit_trial_median_cpu_s": round(statistics.median(cpu_times), 3),
            "refit_total_cpu_s_estimated": round(refit_cpu_total, 1),
            "speedup": round(refit_total / ours, 1),
            "speedup_cpu": round(refit_cpu_total / ours_cpu, 1),
            "same_first_params": same,
            "statetune_best": round(r.best_value, 5),
            "refit_best_of_measured": round(study.best_value, 5),
        }
        print(row, flush=True)
        out.append(row)
    path = write_csv(args.name, out)
    bar_chart(
        args.name,
        [f"{o['algorithm']} ({o['metric']})" for o in out],
        [o["speedup"] for o in out],
        "refit time (estimated) / statetune time",
        f"{T}-trial study, {N:,} rows, {K} folds: Optuna + scikit-learn refits vs statetune",
    )
    print(f"wrote {path} and {RESULTS / (args.name + '.png')}")


if __name__ == "__main__":
    main()
