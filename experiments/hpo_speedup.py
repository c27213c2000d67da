"""Tuning speed: statetune's one pass + finalize-from-states vs refitting scikit-learn per trial.

Same data (``regression_data(N, 50)``, N = 1,000,000 by default), same folds (the StateSet's
``fold_ids``), same search space, same sampler and seed. Compared, for ridge and elastic net:

(a) ``st.tune(..., pruner=NopPruner())``, pass included; median of 3 runs, with the
    ``timings`` breakdown (pass, sampler, finalize_and_score, storage).
(b) plain Optuna, same ``TPESampler(seed=0, multivariate=True, group=True)``, whose objective
    refits ``sklearn.linear_model.Ridge`` / ``ElasticNet`` on each fold's training rows and
    scores MSE on the held-out rows. Only ``--refit-trials`` trials run; the n_trials total is
    the median trial time x n_trials plus (a)'s measured sampler + storage time (the same TPE
    on the same space), labeled ``estimated``. The scores of those trials are checked against
    ``states.validation_score`` on the same parameters (max relative difference).
(c) scikit-learn's CV shortcuts on the same folds (``PredefinedSplit``): ``RidgeCV`` over 200
    log-spaced alphas and ``ElasticNetCV`` (7 l1_ratios x 100 alphas), timed once. RidgeCV with
    ``cv`` is a grid search, one independent refit per (alpha, fold); when the grid would take
    more than ``--cv-budget`` seconds it runs on an evenly thinned subset of the alphas at full
    rows and the full-grid time is extrapolated linearly in the number of alphas (labeled
    ``estimated``). Their best parameters are scored with ``states.validation_score`` and
    statetune also evaluates the same grid exhaustively (pass + loop) for a like-for-like time.

Search space: each algorithm's default statetune space on both sides, as is:
ridge = alpha (log-uniform, data-scaled range) and fit_intercept in {True, False};
elastic net = alpha (log-uniform, data-scaled floor .. 20 x alpha_max) and l1_ratio (0.05..1).
(b) suggests exactly ``states.search_space(alg)[p].to_optuna()`` in the same order, so with the
same seed it asks the same trials as (a).

Run: ``.venv/bin/python experiments/hpo_speedup.py`` (writes results/hpo_speedup.*);
quick check: ``--rows 50000 --trials 30``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from _common import RESULTS, log_bar_chart, median_time, regression_data, suggest, tpe, write_csv
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, ElasticNetCV, Ridge, RidgeCV
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import PredefinedSplit

import statetune as st

D, SEED, REPEAT = 50, 0, 3
ALGORITHMS = ("ridge", "elastic_net")
DEFAULT_REFIT_TRIALS = {"ridge": 10, "elastic_net": 4}
RIDGE_GRID = 200
ENET_L1_RATIOS = (0.1, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0)
ENET_ALPHAS = 100
SKLEARN = {"ridge": Ridge, "elastic_net": ElasticNet}
TIMING_KEYS = ("pass", "sampler", "finalize_and_score", "storage")


def run_statetune(X: np.ndarray, y: np.ndarray, alg: str, n_trials: int, folds: int) -> dict:
    """``REPEAT`` st.tune runs (pass included); median wall time and of each timing."""
    walls, timings, results = [], [], []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        r = st.tune(
            st.from_arrays(X, y),
            [alg],
            n_trials=n_trials,
            cv=folds,
            metric="mse",
            seed=SEED,
            storage="memory",
            pruner=optuna.pruners.NopPruner(),
        )
        walls.append(time.perf_counter() - t0)
        timings.append(r.timings)
        results.append(r)
    return {
        "wall": statistics.median(walls),
        "timings": {k: statistics.median(t[k] for t in timings) for k in TIMING_KEYS},
        "result": results[0],
        "best_values": [r.best_value for r in results],
    }


def run_refit_optuna(
    X: np.ndarray,
    y: np.ndarray,
    alg: str,
    dists: Mapping[str, Any],
    train_idx: Sequence[np.ndarray],
    held_idx: Sequence[np.ndarray],
    n_trials: int,
) -> dict:
    """Plain Optuna + scikit-learn refits per fold (what tuning without states costs)."""
    trial_seconds: list[float] = []
    n_warnings = 0

    def objective(trial: optuna.Trial) -> float:
        nonlocal n_warnings
        params = suggest(trial, dists)
        t0 = time.perf_counter()
        scores = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            for tr, ho in zip(train_idx, held_idx, strict=True):
                model = SKLEARN[alg](**params).fit(X[tr], y[tr])
                scores.append(mean_squared_error(y[ho], model.predict(X[ho])))
        n_warnings += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        trial_seconds.append(time.perf_counter() - t0)
        return float(np.mean(scores))

    study = optuna.create_study(
        direction="minimize", sampler=tpe(SEED), pruner=optuna.pruners.NopPruner()
    )
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "trial_median": statistics.median(trial_seconds),
        "trials": study.trials,
        "convergence_warnings": n_warnings,
    }


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def timed_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--refit-trials",
        type=int,
        default=None,
        help="trials actually run by plain Optuna + sklearn (default: ridge 10, elastic net 4)",
    )
    ap.add_argument(
        "--cv-budget",
        type=float,
        default=300.0,
        help="seconds RidgeCV may take before its alpha grid is thinned and extrapolated",
    )
    args = ap.parse_args()
    N, T, K = args.rows, args.trials, args.folds
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    X, y = regression_data(N, D)
    print(f"data {N:,} x {D}, {K} folds, {T} trials (statetune repeated {REPEAT}x, median)")
    # One StateSet for fold ids, search spaces and scoring other methods' parameters. A
    # sequential pass like st.tune's (n_jobs=1): a parallel pass merges partial states in
    # another order, which moves the data-scaled space bounds by an ulp, and then the same
    # seed no longer asks bit-identical trials.
    states = st.compute_states(st.from_arrays(X, y), list(ALGORITHMS), folds=K, seed=SEED)
    fold_ids = states.folds.assign(0, states.n_rows)
    train_idx = [np.flatnonzero(fold_ids != k) for k in range(K)]
    held_idx = [np.flatnonzero(fold_ids == k) for k in range(K)]
    cv = PredefinedSplit(fold_ids)

    rows: list[dict[str, Any]] = []

    def record(method: str, alg: str, n: int, wall: float, kind: str, **extra: Any) -> None:
        row = {
            "method": method,
            "algorithm": alg,
            "rows": N,
            "folds": K,
            "trials_or_candidates": n,
            "wall_s": round(wall, 4),
            "measured_or_estimated": kind,
            "pass_s": "",
            "sampler_s": "",
            "finalize_and_score_s": "",
            "storage_s": "",
            "per_trial_ms": round(1e3 * wall / n, 4) if n else "",
            "best_mse": "",
            "max_rel_diff_vs_statetune": "",
            "notes": "",
        }
        for k, v in extra.items():
            if isinstance(v, float):  # seconds to the microsecond, scores to 10 digits
                v = round(v, 6) if k.endswith("_s") else float(f"{v:.10g}")
            row[k] = v
        rows.append(row)

    st_runs, refit_runs = {}, {}
    for alg in ALGORITHMS:
        # (a) statetune
        s = st_runs[alg] = run_statetune(X, y, alg, T, K)
        tm = s["timings"]
        same = len(set(s["best_values"])) == 1
        record(
            "statetune st.tune",
            alg,
            T,
            s["wall"],
            "measured",
            pass_s=tm["pass"],
            sampler_s=tm["sampler"],
            finalize_and_score_s=tm["finalize_and_score"],
            storage_s=tm["storage"],
            best_mse=s["result"].best_value,
            notes=f"median of {REPEAT}; pass included; NopPruner; best_value identical in all runs: {same}",
        )

        # (b) plain Optuna + scikit-learn refits, a few trials, extrapolated
        dists = {p: d.to_optuna() for p, d in states.search_space(alg).items()}
        n_refit = min(T, args.refit_trials or DEFAULT_REFIT_TRIALS[alg])
        b = refit_runs[alg] = run_refit_optuna(X, y, alg, dists, train_idx, held_idx, n_refit)
        diffs, same_params = [], []
        st_trials = s["result"].study.trials
        for t in b["trials"]:
            diffs.append(rel_diff(t.value, states.validation_score(alg, t.params, "mse")))
            same_params.append(t.params == st_trials[t.number].params)
        b["max_rel_diff"] = max(diffs)
        b["same_params"] = all(same_params)
        best_b = min(t.value for t in b["trials"])
        record(
            "optuna + sklearn refit",
            alg,
            n_refit,
            b["wall"],
            "measured",
            best_mse=best_b,
            max_rel_diff_vs_statetune=b["max_rel_diff"],
            notes=(
                f"median trial {b['trial_median']:.3f} s; same params as statetune's first "
                f"{n_refit} trials: {b['same_params']}; ConvergenceWarnings: {b['convergence_warnings']}"
            ),
        )
        overhead = tm["sampler"] + tm["storage"]
        b["estimate"] = T * b["trial_median"] + overhead
        record(
            "optuna + sklearn refit",
            alg,
            T,
            b["estimate"],
            "estimated",
            notes=(
                f"{T} x median refit trial ({b['trial_median']:.3f} s, from {n_refit} measured) "
                f"+ statetune's measured TPE sampler+storage time ({overhead:.2f} s)"
            ),
        )

    # (c) scikit-learn CV shortcuts on the same folds, and statetune over the same grids
    space = states.search_space("ridge")["alpha"]
    grid = np.geomspace(space.low, space.high, RIDGE_GRID)
    per_candidate = refit_runs["ridge"]["trial_median"]  # one alpha = K refits, as one trial
    if per_candidate * RIDGE_GRID <= args.cv_budget:
        sub = np.arange(RIDGE_GRID)
    else:
        k = max(3, int(args.cv_budget / per_candidate))
        sub = np.unique(np.linspace(0, RIDGE_GRID - 1, k).round().astype(int))
    ridge_cv = RidgeCV(alphas=grid[sub], cv=cv, scoring="neg_mean_squared_error")
    t_rcv, _ = timed_once(lambda: ridge_cv.fit(X, y))
    rcv_params = {"alpha": float(ridge_cv.alpha_), "fit_intercept": True}
    rcv_mse = states.validation_score("ridge", rcv_params, "mse")
    rcv_diff = rel_diff(-ridge_cv.best_score_, rcv_mse)
    if len(sub) == RIDGE_GRID:
        t_rcv_full, kind, note = t_rcv, "measured", f"{RIDGE_GRID} alphas"
    else:
        t_refit, _ = timed_once(lambda: Ridge(alpha=rcv_params["alpha"]).fit(X, y))
        t_rcv_full = t_refit + (t_rcv - t_refit) * RIDGE_GRID / len(sub)
        kind = "estimated"
        note = (
            f"ran {len(sub)} of the {RIDGE_GRID} alphas (evenly thinned) in {t_rcv:.1f} s; "
            f"grid search cost is linear in alphas: refit {t_refit:.2f} s + rest x {RIDGE_GRID}/{len(sub)}"
        )
    record(
        "sklearn RidgeCV(cv=PredefinedSplit)",
        "ridge",
        RIDGE_GRID,
        t_rcv_full,
        kind,
        best_mse=rcv_mse,
        max_rel_diff_vs_statetune=rcv_diff,
        notes=f"{note}; best alpha {rcv_params['alpha']:.4g} scored by statetune; diff = its best_score_ vs statetune",
    )

    enet_cv = ElasticNetCV(l1_ratio=list(ENET_L1_RATIOS), alphas=ENET_ALPHAS, cv=cv, n_jobs=1)
    t_ecv, _ = timed_once(lambda: enet_cv.fit(X, y))
    ecv_params = {"alpha": float(enet_cv.alpha_), "l1_ratio": float(enet_cv.l1_ratio_)}
    ecv_mse = states.validation_score("elastic_net", ecv_params, "mse")

    # statetune, same grids, exhaustively (pass time taken from the st.tune runs above)
    def ridge_grid() -> list[float]:
        return [
            states.validation_score("ridge", {"alpha": float(a), "fit_intercept": True}, "mse")
            for a in grid
        ]

    enet_points = [
        (float(a), float(r))
        for r, alphas in zip(ENET_L1_RATIOS, enet_cv.alphas_, strict=True)
        for a in alphas
    ]

    def enet_grid() -> list[float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return [
                states.validation_score("elastic_net", {"alpha": a, "l1_ratio": r}, "mse")
                for a, r in enet_points
            ]

    enet_scores = np.array(enet_grid()).reshape(len(ENET_L1_RATIOS), ENET_ALPHAS)
    ecv_path = enet_cv.mse_path_.mean(axis=2)
    ecv_diff = float(np.max(np.abs(enet_scores - ecv_path) / enet_scores))
    i = ENET_L1_RATIOS.index(enet_cv.l1_ratio_)
    ecv_best_diff = rel_diff(float(ecv_path[i].min()), ecv_mse)
    record(
        "sklearn ElasticNetCV(cv=PredefinedSplit)",
        "elastic_net",
        len(enet_points),
        t_ecv,
        "measured",
        best_mse=ecv_mse,
        max_rel_diff_vs_statetune=ecv_diff,
        notes=(
            f"{len(ENET_L1_RATIOS)} l1_ratios x {ENET_ALPHAS} alphas, n_jobs=1; best "
            f"alpha {ecv_params['alpha']:.4g} l1_ratio {ecv_params['l1_ratio']} scored by "
            f"statetune (vs its own mse_path_ there: rel diff {ecv_best_diff:.2g}); diff column = "
            "its mse_path_ vs statetune over the whole grid (warm-started path at tol=1e-4)"
        ),
    )

    ridge_scores = ridge_grid()
    for alg, fn, n, best in (
        ("ridge", ridge_grid, RIDGE_GRID, min(ridge_scores)),
        ("elastic_net", enet_grid, len(enet_points), float(enet_scores.min())),
    ):
        loop = median_time(fn, repeat=REPEAT, warmup=0)
        pass_s = st_runs[alg]["timings"]["pass"]
        record(
            "statetune same grid (pass + loop)",
            alg,
            n,
            pass_s + loop,
            "measured",
            pass_s=pass_s,
            finalize_and_score_s=loop,
            best_mse=best,
            notes=f"validation_score over the {'RidgeCV' if alg == 'ridge' else 'ElasticNetCV'} grid; loop median of {REPEAT}",
        )

    write_csv("hpo_speedup", rows)
    # The chart shows whole tuning jobs: not the few refit trials the estimates come from.
    full = [r for r in rows if r["trials_or_candidates"] >= min(T, RIDGE_GRID)]
    log_bar_chart(
        "hpo_speedup",
        [f"{r['method']}\n{r['algorithm']} ({r['trials_or_candidates']})" for r in full],
        [float(r["wall_s"]) for r in full],
        [r["measured_or_estimated"] == "estimated" for r in full],
        f"Tuning wall time, {N:,} x {D}, {K} folds",
    )

    # Report
    print(
        f"\n{'method':<42} {'algorithm':<12} {'n':>5} {'wall s':>10} {'kind':<10} "
        f"{'best mse':>10} {'max rel diff':>12}"
    )
    for r in rows:
        bm = f"{r['best_mse']:.6f}" if r["best_mse"] != "" else ""
        rd = f"{r['max_rel_diff_vs_statetune']:.2e}" if r["max_rel_diff_vs_statetune"] != "" else ""
        print(
            f"{r['method']:<42} {r['algorithm']:<12} {r['trials_or_candidates']:>5} "
            f"{r['wall_s']:>10.3f} {r['measured_or_estimated']:<10} {bm:>10} {rd:>12}"
        )
    print("\nstatetune timings (median of runs, s):")
    for alg in ALGORITHMS:
        tm = st_runs[alg]["timings"]
        print(f"  {alg:<12} " + "  ".join(f"{k} {tm[k]:.3f}" for k in TIMING_KEYS))
    print("\nratios:")
    for alg in ALGORITHMS:
        s, b = st_runs[alg], refit_runs[alg]
        print(
            f"  {alg:<12} optuna+sklearn refit ({T} trials, estimated) / statetune: "
            f"{b['estimate'] / s['wall']:,.0f}x   (target >= 100x)"
        )
    print(
        f"  ElasticNetCV / statetune elastic_net st.tune ({T} trials): "
        f"{t_ecv / st_runs['elastic_net']['wall']:,.1f}x   (target > 1x)"
    )
    grid_rows = [r for r in rows if r["method"].startswith("statetune same grid")]
    print(
        f"  RidgeCV / statetune same grid: {t_rcv_full / float(grid_rows[0]['wall_s']):,.1f}x;  "
        f"ElasticNetCV / statetune same grid: {t_ecv / float(grid_rows[1]['wall_s']):,.1f}x"
    )
    for alg in ALGORITHMS:
        tm = st_runs[alg]["timings"]
        fin, samp = 1e3 * tm["finalize_and_score"] / T, 1e3 * tm["sampler"] / T
        print(
            f"  {alg:<12} finalize_and_score per trial {fin:.3f} ms vs TPE sampler per trial "
            f"{samp:.3f} ms -> {'below' if fin < samp else 'ABOVE'} (target: below)"
        )
    print("\nbest validation MSE (scored by statetune on the same folds):")
    for alg in ALGORITHMS:
        print(f"  statetune {alg} TPE {T} trials: {st_runs[alg]['result'].best_value:.6f}")
    print(f"  RidgeCV best alpha: {rcv_mse:.6f};  ElasticNetCV best: {ecv_mse:.6f}")
    print(
        "agreement sklearn refit vs statetune on the same trials (max rel diff): "
        + ", ".join(f"{a} {refit_runs[a]['max_rel_diff']:.2e}" for a in ALGORITHMS)
    )
    print(f"\nwrote {RESULTS / 'hpo_speedup.csv'} and {RESULTS / 'hpo_speedup.png'}")


if __name__ == "__main__":
    main()
