"""k-nearest-neighbours tuning speed: statetune (one pass, one neighbour search per fold and
space, trials take prefixes) against Optuna refitting scikit-learn ``KNeighbors*`` per fold per
trial.

Data (numpy, seed 0): ``--rows`` rows (30,000 by default) of 6 features on scales 1..1000;
classification: three rings (labels by the radius in the scaled space); regression:
``sin(3 r)`` plus noise. Same folds (the StateSet's fold of each row), same search space
(``states.search_space``: ``n_neighbors`` 1..k_max=50 on a log scale, ``weights``, ``p``,
``standardize``), same sampler (statetune's ``TPESampler(seed=0, multivariate=True,
group=True, constant_liar=False)``), same trial count (200):

(a) ``st.tune(source, [alg], n_trials=200, cv=3)``, pass included (``--repeat`` runs, median);
(b) plain Optuna whose objective suggests exactly what statetune's asks and fits
    scikit-learn's ``KNeighborsClassifier``/``KNeighborsRegressor`` (a ``StandardScaler``
    fitted on the fold's training rows before it when ``standardize``) on each fold's training
    rows, scoring ``accuracy`` / ``rmse`` on all the fold's held-out rows (fold arrays sliced
    outside the timed trials, in the refit side's favour); one run (it takes minutes).
    With ``--refit-trials n`` the refit study is not run: ``n`` of statetune's trials (a
    seeded random subset) are refitted instead, and the study's cost is estimated as their
    mean CPU time x the trial count (its sampler's time left out, in its favour).

Times are CPU seconds of the process (``time.process_time``): the machine is shared with
other jobs, which stretch wall times by whatever else runs (wall times are reported too).
With the default sizes every training row is in the training sample (20,000 rows per fold
state) and every held-out row in the held-out sample, so both sides fit the same models on the
same rows: the full study's trials are checked to agree with statetune's (parameters and
values, up to the first that differs), the replayed ones by value.

Run: ``.venv/bin/python experiments/knn_speedup.py`` (writes results/knn_speedup.csv).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import optuna
from _common import spread, suggest_algorithm, tpe, write_csv
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import statetune as st

SCALES = np.array([1.0, 10.0, 100.0, 1000.0, 1.0, 1.0])
TARGET = 20.0


def make_data(n: int, task: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rings (classification) or a radial sine (regression) in 6 features of unequal scale;
    two of the features are noise."""
    rng = np.random.default_rng(seed)
    Z = rng.uniform(-2.0, 2.0, size=(n, 6))
    r = np.sqrt((Z[:, :4] ** 2).sum(axis=1))
    X = Z * SCALES
    if task == "classification":
        noisy = r + 0.1 * rng.normal(size=n)
        return X, np.digitize(noisy, [1.5, 2.5]).astype(np.int64)
    return X, np.sin(3.0 * r) + 0.2 * rng.normal(size=n)


def sk_model(alg: str, p: dict[str, Any]) -> Any:
    cls = KNeighborsClassifier if alg == "knn_classifier" else KNeighborsRegressor
    knn = cls(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"])
    return make_pipeline(StandardScaler(), knn) if p["standardize"] else knn


def refit_scores(alg: str, params: dict[str, Any], folds: list, metric: str) -> float:
    """scikit-learn fitted on each fold's training rows, scored on all its held-out rows."""
    scores = []
    for Xtr, ytr, Xho, yho in folds:
        pred = sk_model(alg, params).fit(Xtr, ytr).predict(Xho)
        if metric == "accuracy":
            scores.append(accuracy_score(yho, pred))
        else:
            scores.append(float(np.sqrt(mean_squared_error(yho, pred))))
    return float(np.mean(scores))


def refit_study(alg: str, spaces: dict, folds: list, trials: int, metric: str) -> tuple:
    """The full Optuna study (same sampler and seed, same suggestions as statetune's)."""
    direction = "maximize" if metric == "accuracy" else "minimize"
    study = optuna.create_study(direction=direction, sampler=tpe(0))

    def objective(trial: Any) -> float:
        _, params = suggest_algorithm(trial, spaces)
        return refit_scores(alg, params, folds, metric)

    w0, c0 = time.perf_counter(), time.process_time()
    study.optimize(objective, n_trials=trials)
    return study, time.perf_counter() - w0, time.process_time() - c0


def replay(alg: str, ours: Any, folds: list, metric: str, n: int) -> dict[str, Any]:
    """Refit ``n`` of statetune's trials (a seeded random subset, in parameter space exactly
    the trials the refit study would run while both agree): CPU seconds per trial, and the
    largest difference to statetune's value."""
    trials = [t for t in ours.study.trials if t.value is not None]
    pick = np.random.default_rng(0).choice(len(trials), size=min(n, len(trials)), replace=False)
    cpu, diff = [], 0.0
    for i in sorted(pick.tolist()):
        t = trials[i]
        params = {k.split(":", 1)[1]: v for k, v in t.params.items() if ":" in k}
        c0 = time.process_time()
        value = refit_scores(alg, params, folds, metric)
        cpu.append(time.process_time() - c0)
        diff = max(diff, abs(value - float(t.value)))
    return {"cpu": cpu, "max_diff": diff}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=30_000)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", default="classification,regression")
    ap.add_argument(
        "--refit-trials",
        type=int,
        default=0,
        help="0: run the full refit study; n: refit n of statetune's trials and estimate",
    )
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    for task in args.tasks.split(","):
        alg = "knn_classifier" if task == "classification" else "knn_regressor"
        metric = "accuracy" if task == "classification" else "rmse"
        X, y = make_data(args.rows, task)
        walls, cpus, results = [], [], []
        for _ in range(args.repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            r = st.tune(
                st.from_arrays(X, y), [alg], n_trials=args.trials, cv=3, metric=metric,
                storage="memory", seed=0, pruner=optuna.pruners.NopPruner(),
            )  # fmt: skip
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            results.append(r)
        ours = results[0]
        fold = ours.states.folds.assign(0, len(X))
        folds = [(X[fold != k], y[fold != k], X[fold == k], y[fold == k]) for k in range(3)]
        spaces = {alg: ours.states.search_space(alg)}
        row: dict[str, Any] = {
            "task": task,
            "rows": args.rows,
            "trials": args.trials,
            "statetune_cpu_s_median": round(statistics.median(cpus), 3),
            "statetune_wall_s_median": round(statistics.median(walls), 3),
            "statetune_cpu_runs": ";".join(f"{c:.3f}" for c in cpus),
            "pass_s": round(ours.timings["pass"], 3),
            "sampler_s": round(ours.timings["sampler"], 3),
            "finalize_and_score_s": round(ours.timings["finalize_and_score"], 3),
        }
        if args.refit_trials == 0:
            study, refit_wall, refit_cpu = refit_study(alg, spaces, folds, args.trials, metric)
            mine = [t for t in ours.study.trials if t.value is not None]
            theirs = [t for t in study.trials if t.value is not None]
            same = 0
            for a, b in zip(mine, theirs, strict=False):
                if a.params != b.params or abs(a.value - b.value) > 1e-9:
                    break
                same += 1
            row.update(
                refit="full study", refit_cpu_s=round(refit_cpu, 3),
                refit_wall_s=round(refit_wall, 3), identical_leading_trials=same,
                best_statetune=ours.best_value, best_refit=study.best_value,
            )  # fmt: skip
        else:
            got = replay(alg, ours, folds, metric, args.refit_trials)
            per_trial = statistics.mean(got["cpu"])
            # the refit study's sampler time is left out (in its favour)
            refit_cpu = per_trial * args.trials
            row.update(
                refit=f"estimated: mean CPU of {len(got['cpu'])} replayed trials x {args.trials}",
                refit_cpu_s=round(refit_cpu, 3),
                refit_cpu_per_trial=";".join(f"{c:.3f}" for c in got["cpu"]),
                max_value_diff_replayed=got["max_diff"],
            )  # fmt: skip
        row["ratio_cpu"] = round(row["refit_cpu_s"] / row["statetune_cpu_s_median"], 2)
        print(
            f"{task}: statetune CPU {spread(cpus)}, wall {spread(walls)} | refit CPU "
            f"{row['refit_cpu_s']:.1f} s ({row['refit']}) | ratio {row['ratio_cpu']:.1f}x "
            f"(target >= {TARGET:g}x)",
            flush=True,
        )
        rows.append(row)
    write_csv("knn_speedup", rows)


if __name__ == "__main__":
    main()
