"""Small-data tuning speed: ``st.tune`` vs Optuna refitting scikit-learn per fold per trial, on
tables small enough that per-trial overhead, not the data, decides the time.

Cases (no download):

- ``coil_like``: 4,657 x 85 binary classification shaped like the CoIL 2000 insurance data:
  ``make_classification`` (20 informative, 10 redundant features, ~6% positives, 2% flipped
  labels, seed 0) with 40 columns made integer-valued and right-skewed
  (``floor(exp(0.6 x) * u)``, ``u ~ U(1, 4)``: counts and ordinal levels);
- ``breast_cancer``: scikit-learn's shipped breast cancer table (569 x 30, binary).

Each side runs the same 200 trials (``--trials``) of one joint search over LDA(solver="eigen",
shrinkage), QDA(reg_param), GaussianNB(var_smoothing) and RidgeClassifier(alpha,
fit_intercept), ``metric="roc_auc"``, 5 folds, the same TPE sampler
(``TPESampler(seed=0, multivariate=True, group=True, constant_liar=False)``, what ``st.tune``
builds), the same parameter names and spaces (``states.search_space``) and the same folds, no
pruning (``NopPruner`` on both sides, so both run every fold of every trial):

(a) ``st.tune(st.from_arrays(X, y), ...)`` timed as a user calls it: a new source each run, the
    pass included; ``TuneResult.timings`` gives the sampler's and finalize-and-score's shares;
(b) plain Optuna whose objective refits scikit-learn on each fold's training rows and scores
    ``roc_auc_score`` on the held-out rows (``predict_proba[:, 1]``; ``decision_function`` for
    RidgeClassifier: the same ranking); the fold arrays are sliced once, outside the timing (in
    the refit side's favour); a new study each run.

Both run ``--repeat`` times (median and min..max); the figure is the ratio of medians. Trials
both sides ran are compared: same parameters (the studies stay identical while their values
agree), values within 1e-9.

BLAS threads: ``--blas-threads 1`` (default) on both sides. On the shared 2-core machine,
OpenBLAS's 2 threads made each small ``eigh`` up to ~100x slower under load (measured: an
85 x 85 generalized ``eigh`` 433 ms vs 5 ms idle), which would inflate the refit side's time; one
thread keeps the comparison about the work, not the machine. ``--blas-threads 0`` leaves the
defaults.

Run: ``.venv/bin/python experiments/small_data_speedup.py`` (writes
results/small_data_speedup.csv and .png); quick check: ``--trials 30 --repeat 1``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from _common import RESULTS, spread, suggest_algorithm, tpe, write_csv
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB

import statetune as st

ALGORITHMS = ("lda", "qda", "gaussian_nb", "ridge_classifier")
SEED = 0
TARGET = 20.0
FAILURES = (ArithmeticError, ValueError, np.linalg.LinAlgError)


def coil_like(seed: int = SEED, n: int = 4657) -> tuple[np.ndarray, np.ndarray]:
    """``n`` x 85 (4,657 by default), ~6% positives, 40 integer-valued right-skewed columns."""
    X, y = make_classification(
        n_samples=n,
        n_features=85,
        n_informative=20,
        n_redundant=10,
        weights=[0.94],
        flip_y=0.02,
        class_sep=0.8,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    for j in range(40):
        X[:, j] = np.floor(np.exp(0.6 * X[:, j]) * rng.uniform(1, 4))
    return X, y


CASES = {
    "coil_like": coil_like,
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
}


def sklearn_model(alg: str, params: Mapping[str, Any]) -> Any:
    if alg == "lda":
        return LinearDiscriminantAnalysis(solver="eigen", shrinkage=params["shrinkage"])
    if alg == "qda":
        return QuadraticDiscriminantAnalysis(reg_param=params["reg_param"])
    if alg == "gaussian_nb":
        return GaussianNB(var_smoothing=params["var_smoothing"])
    return RidgeClassifier(alpha=params["alpha"], fit_intercept=params["fit_intercept"])


def refit_score(alg: str, params: Mapping[str, Any], folds: Sequence[tuple]) -> float:
    scores = []
    for Xtr, ytr, Xho, yho in folds:
        m = sklearn_model(alg, params).fit(Xtr, ytr)
        s = m.predict_proba(Xho)[:, 1] if hasattr(m, "predict_proba") else m.decision_function(Xho)
        scores.append(float(roc_auc_score(yho, s)))
    return float(np.mean(scores))


def run_refit(
    spaces: Mapping[str, Any], folds: Sequence[tuple], T: int
) -> tuple[float, float, float, Any]:
    """One plain Optuna study (new each run), timed from study creation to the last trial: wall
    seconds, CPU seconds, and the wall seconds spent refitting and scoring (the rest is
    Optuna's own: sampler, storage)."""
    refit_s = 0.0

    def objective(trial: optuna.Trial) -> float:
        nonlocal refit_s
        alg, params = suggest_algorithm(trial, spaces)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # QDA's collinearity warnings, as a user would see
            try:
                return refit_score(alg, params, folds)
            except FAILURES:
                return float("nan")  # Optuna records a failed trial
            finally:
                refit_s += time.perf_counter() - t

    t0, c0 = time.perf_counter(), time.process_time()
    study = optuna.create_study(
        direction="maximize", sampler=tpe(SEED), pruner=optuna.pruners.NopPruner()
    )
    study.optimize(objective, n_trials=T)
    return time.perf_counter() - t0, time.process_time() - c0, refit_s, study


def run_statetune(X: np.ndarray, y: np.ndarray, T: int, K: int) -> tuple[float, float, Any]:
    """One ``st.tune`` as a user calls it: wall seconds, CPU seconds of this process, result."""
    t0, c0 = time.perf_counter(), time.process_time()
    r = st.tune(
        st.from_arrays(X, y),
        list(ALGORITHMS),
        n_trials=T,
        cv=K,
        metric="roc_auc",
        seed=SEED,
        storage="memory",
        pruner=optuna.pruners.NopPruner(),
    )
    return time.perf_counter() - t0, time.process_time() - c0, r


def compare_trials(a: Any, b: Any) -> tuple[int, int, float]:
    """Leading trials with the same parameters, trials compared, largest value difference."""
    same, diff = 0, 0.0
    for ta, tb in zip(a.trials, b.trials, strict=False):
        if ta.params != tb.params:
            break
        same += 1
        va, vb = ta.value, tb.value
        if va is not None and vb is not None and np.isfinite(va) and np.isfinite(vb):
            diff = max(diff, abs(va - vb))
    return same, min(len(a.trials), len(b.trials)), diff


def load() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side (median, min..max)")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument(
        "--sizes", type=int, nargs="*", default=[1000, 4657, 50_000, 200_000], help="rows"
    )
    ap.add_argument("--size-trials", type=int, default=100)
    ap.add_argument("--blas-threads", type=int, default=1, help="0: the library defaults")
    args = ap.parse_args()
    T, K = args.trials, args.folds
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    limits: Any = contextlib.nullcontext()
    if args.blas_threads > 0:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(args.blas_threads)
    rows: list[dict[str, Any]] = []
    sizes: list[dict[str, Any]] = []
    with limits:
        for case in args.cases:
            X, y = CASES[case]()
            states = st.compute_states(st.from_arrays(X, y), list(ALGORITHMS), folds=K, seed=SEED)
            spaces = {a: states.search_space(a) for a in ALGORITHMS}
            fold_ids = states.folds.assign(0, states.n_rows)
            folds = [
                (X[fold_ids != k], y[fold_ids != k], X[fold_ids == k], y[fold_ids == k])
                for k in range(K)
            ]
            print(
                f"{case}: {X.shape[0]:,} x {X.shape[1]}, {y.mean():.1%} positives, {K} folds, "
                f"{T} trials, {args.repeat} runs per side, load {load()}"
            )
            st_walls, st_cpu, st_timings, results = [], [], [], []
            refit_walls, refit_cpu, refit_own, studies = [], [], [], []
            for _ in range(args.repeat):  # interleaved, so load changes hit both sides alike
                wall, cpu, r = run_statetune(X, y, T, K)
                st_walls.append(wall)
                st_cpu.append(cpu)
                st_timings.append(r.timings)
                results.append(r)
                wall, cpu, refit_s, study = run_refit(spaces, folds, T)
                refit_walls.append(wall)
                refit_cpu.append(cpu)
                refit_own.append(1e3 * (wall - refit_s) / T)
                studies.append(study)
                print(f"  statetune {st_walls[-1]:.2f} s, Optuna + refits {wall:.2f} s")
            r, study = results[0], studies[0]
            same, compared, diff = compare_trials(r.study, study)
            sampler_ms = [1e3 * t["sampler"] / T for t in st_timings]
            score_ms = [1e3 * t["finalize_and_score"] / T for t in st_timings]
            ratio = statistics.median(refit_walls) / statistics.median(st_walls)
            cpu_ratio = statistics.median(refit_cpu) / statistics.median(st_cpu)
            # both sides pay Optuna's own time per trial (S); the refit side adds refits (R):
            # (S + R) / S bounds the ratio even if statetune's own work cost nothing
            ceiling = statistics.median(refit_walls) / (1e-3 * T * statistics.median(refit_own))
            mix = dict(Counter(t.params.get("algorithm") for t in r.study.trials))
            refit_failed = sum(t.state != optuna.trial.TrialState.COMPLETE for t in study.trials)
            st_failed = sum(t.state != optuna.trial.TrialState.COMPLETE for t in r.study.trials)
            print(f"  statetune st.tune:      {spread(st_walls)}")
            print(f"  Optuna + sklearn refit: {spread(refit_walls)}")
            print(f"  CPU seconds: statetune {spread(st_cpu)}, refit {spread(refit_cpu)}")
            print(
                f"  CPU ratio of medians {cpu_ratio:.1f}x; wall ratio of medians: {ratio:.1f}x (target >= {TARGET:g}x); ceiling with the "
                f"same sampler (refit wall / Optuna's own time in it): {ceiling:.1f}x"
            )
            print(
                f"  statetune per trial: finalize+score {spread(score_ms, 'ms', digits=2)}, "
                f"Optuna sampler {spread(sampler_ms, 'ms', digits=2)}; refit side's Optuna "
                f"time (sampler + storage) {spread(refit_own, 'ms', digits=2)}"
            )
            print(
                f"  trial mix {mix}; failed trials statetune {st_failed}, refit {refit_failed}; "
                f"identical parameters in the first {same} of {compared} trials, values within "
                f"{diff:.2e}; best statetune {r.best_value:.6f}, refit {study.best_value:.6f}"
            )
            note = (
                f"machine shared with other jobs (load {load()} at the end); BLAS threads "
                f"{args.blas_threads or 'default'}; NopPruner both sides; trial mix {mix}; "
                f"identical params in first {same}/{compared} trials"
            )
            for method, walls, cpus in (
                ("statetune st.tune", st_walls, st_cpu),
                ("optuna+sklearn refit", refit_walls, refit_cpu),
            ):
                rows.append(
                    {
                        "case": case,
                        "method": method,
                        "rows": X.shape[0],
                        "features": X.shape[1],
                        "trials": T,
                        "folds": K,
                        "runs": len(walls),
                        "median_s": round(statistics.median(walls), 4),
                        "min_s": round(min(walls), 4),
                        "max_s": round(max(walls), 4),
                        "ratio_of_medians": round(ratio, 2),
                        "cpu_median_s": round(statistics.median(cpus), 4),
                        "cpu_ratio_of_medians": round(cpu_ratio, 2),
                        "statetune_finalize_score_ms_per_trial": round(
                            statistics.median(score_ms), 3
                        ),
                        "statetune_sampler_ms_per_trial": round(statistics.median(sampler_ms), 3),
                        "refit_side_optuna_ms_per_trial": round(statistics.median(refit_own), 3),
                        "ratio_ceiling_same_sampler": round(ceiling, 2),
                        "best_value": r.best_value
                        if method.startswith("statetune")
                        else study.best_value,
                        "best_params": json.dumps(
                            r.best_params if method.startswith("statetune") else study.best_params
                        ),
                        "notes": note,
                    }
                )
        for n in args.sizes:  # per-trial cost vs the sampler's as the rows grow (statetune only)
            X, y = coil_like(n=n)
            wall, _, r = run_statetune(X, y, args.size_trials, K)
            tm = r.timings
            score_ms = 1e3 * tm["finalize_and_score"] / args.size_trials
            sampler_ms = 1e3 * tm["sampler"] / args.size_trials
            print(
                f"coil_like {n:,} rows, {args.size_trials} trials: st.tune {wall:.2f} s (pass "
                f"{tm['pass']:.2f} s); per trial finalize+score {score_ms:.2f} ms, sampler "
                f"{sampler_ms:.2f} ms; load {load()}"
            )
            sizes.append(
                {
                    "rows": n,
                    "trials": args.size_trials,
                    "wall_s": round(wall, 3),
                    "pass_s": round(tm["pass"], 3),
                    "finalize_score_ms_per_trial": round(score_ms, 3),
                    "sampler_ms_per_trial": round(sampler_ms, 3),
                    "load": load(),
                }
            )
    if sizes:
        write_csv("small_data_per_trial_by_size", sizes)
    path = write_csv("small_data_speedup", rows)
    chart(rows, args)
    print(f"wrote {path} and {RESULTS / 'small_data_speedup.png'}")


def chart(rows: Sequence[dict[str, Any]], args: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    width = 0.38
    for i, case in enumerate(cases):
        pair = [r for r in rows if r["case"] == case]
        for j, r in enumerate(pair):
            x = i + (j - 0.5) * width
            color = "#4477aa" if r["method"].startswith("statetune") else "#cc6677"
            med = r["median_s"]
            ax.bar(x, med, width, color=color, label=r["method"] if i == 0 else None)
            ax.errorbar(x, med, yerr=[[med - r["min_s"]], [r["max_s"] - med]], color="k", capsize=4)
            ax.annotate(f"{med:.3g} s", (x, r["max_s"]), ha="center", va="bottom", fontsize=8)
        ax.annotate(
            f"{pair[0]['ratio_of_medians']:.1f}x wall, {pair[0]['cpu_ratio_of_medians']:.1f}x CPU"
            f"\n(same-sampler ceiling {pair[0]['ratio_ceiling_same_sampler']:.1f}x)",
            (i, max(r["max_s"] for r in pair) * 2.2),
            ha="center",
            fontsize=9,
            weight="bold",
        )
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(
        [
            f"{c}\n{rows[2 * i]['rows']:,} x {rows[2 * i]['features']}, "
            f"statetune/trial: score {rows[2 * i]['statetune_finalize_score_ms_per_trial']:.2f} ms"
            f" vs sampler {rows[2 * i]['statetune_sampler_ms_per_trial']:.2f} ms"
            for i, c in enumerate(cases)
        ],
        fontsize=8,
    )
    ax.set_ylim(top=ax.get_ylim()[1] * 6)
    ax.set_ylabel("wall time of 200 trials, s (log; median, bars min..max)")
    ax.set_title(
        f"st.tune vs Optuna + scikit-learn refits, roc_auc, {args.trials} trials x "
        f"{args.folds} folds, {args.repeat} runs each\n(shared 2-core machine, BLAS threads "
        f"{args.blas_threads or 'default'})",
        fontsize=10,
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "small_data_speedup.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
