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

With the default sizes every training row is in the training sample (20,000 rows per fold
state) and every held-out row in the held-out sample, so both sides fit the same models on the
same rows: the trials are checked to agree (parameters and values) up to the first trial
where a tie in distance could order neighbours differently. The machine was shared with other
jobs: timings are indicative.

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


def refit_study(alg: str, spaces: dict, folds: list, trials: int, metric: str) -> tuple:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if metric == "accuracy" else "minimize", sampler=tpe(0)
    )

    def objective(trial: Any) -> float:
        _, params = suggest_algorithm(trial, spaces)
        scores = []
        for Xtr, ytr, Xho, yho in folds:
            pred = sk_model(alg, params).fit(Xtr, ytr).predict(Xho)
            if metric == "accuracy":
                scores.append(accuracy_score(yho, pred))
            else:
                scores.append(float(np.sqrt(mean_squared_error(yho, pred))))
        return float(np.mean(scores))

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return study, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=30_000)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", default="classification,regression")
    args = ap.parse_args()
    rows = []
    for task in args.tasks.split(","):
        alg = "knn_classifier" if task == "classification" else "knn_regressor"
        metric = "accuracy" if task == "classification" else "rmse"
        X, y = make_data(args.rows, task)
        walls, results = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = st.tune(
                st.from_arrays(X, y), [alg], n_trials=args.trials, cv=3, metric=metric,
                storage="memory", seed=0, pruner=optuna.pruners.NopPruner(),
            )  # fmt: skip
            walls.append(time.perf_counter() - t0)
            results.append(r)
        ours = results[0]
        fold = ours.states.folds.assign(0, len(X))
        folds = [(X[fold != k], y[fold != k], X[fold == k], y[fold == k]) for k in range(3)]
        spaces = {alg: ours.states.search_space(alg)}
        study, refit_s = refit_study(alg, spaces, folds, args.trials, metric)
        mine = [t for t in ours.study.trials if t.value is not None]
        theirs = [t for t in study.trials if t.value is not None]
        same = 0
        for a, b in zip(mine, theirs, strict=False):
            if a.params != b.params or abs(a.value - b.value) > 1e-9:
                break
            same += 1
        ratio = refit_s / statistics.median(walls)
        print(
            f"{task}: statetune {spread(walls)} | refit {refit_s:.1f} s | ratio {ratio:.1f}x "
            f"(target >= {TARGET:g}x) | identical leading trials {same}/{args.trials} | "
            f"best ours {ours.best_value:.4f} refit {study.best_value:.4f}"
        )
        rows.append(
            {
                "task": task,
                "rows": args.rows,
                "trials": args.trials,
                "statetune_s_median": round(statistics.median(walls), 3),
                "statetune_runs": ";".join(f"{w:.3f}" for w in walls),
                "refit_s": round(refit_s, 3),
                "ratio": round(ratio, 2),
                "identical_leading_trials": same,
                "best_statetune": ours.best_value,
                "best_refit": study.best_value,
                "pass_s": round(ours.timings["pass"], 3),
                "finalize_and_score_s": round(ours.timings["finalize_and_score"], 3),
            }
        )
    write_csv("knn_speedup", rows)


if __name__ == "__main__":
    main()
