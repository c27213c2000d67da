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
    log-spaced alphas and ``ElasticNetCV`` (7 l1_ratios x 100 alphas), each timed ``REPEAT``
    times like statetune (median, min..max). RidgeCV with ``cv`` is a grid search, one
    independent refit per (alpha, fold), ~290 s per run on 1M rows here: it runs on the first
    ``--ridge-cv-rows`` rows (100,000 by default; its folds are the StateSet's on those rows),
    and so does statetune's side of that comparison. When one run would take more than
    ``--cv-budget`` seconds it runs on an evenly thinned subset of the alphas and the full-grid
    time is extrapolated linearly in the number of alphas (labeled ``estimated``). Their best
    parameters are scored with ``states.validation_score``, and statetune evaluates the same grid
    exhaustively, cold: each of ``REPEAT`` runs builds a new source, does a new pass and runs the
    grid loop on those new states (pass + loop, like for like).

Search space: each algorithm's default statetune space on both sides, as is:
ridge = alpha (log-uniform, data-scaled range) and fit_intercept in {True, False};
elastic net = alpha (log-uniform, data-scaled floor .. 20 x alpha_max) and l1_ratio (0.05..1).
(b) suggests exactly ``states.search_space(alg)[p].to_optuna()`` in the same order, so with the
same seed it asks the same trials as (a).

Run: ``.venv/bin/python experiments/hpo_speedup.py`` (writes results/hpo_speedup.*);
quick check: ``--rows 50000 --trials 30``. The machine the README figures come from has 2
cores shared with other work: read the min..max spread beside each median.
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
from _common import (
    RESULTS,
    log_bar_chart,
    regression_data,
    run_times,
    spread,
    suggest,
    tpe,
    write_csv,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, ElasticNetCV, Ridge, RidgeCV
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import PredefinedSplit

import statetune as st
from statetune.tuner.space import split_params

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
        "walls": walls,
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
        "trial_seconds": trial_seconds,
        "trials": study.trials,
        "convergence_warnings": n_warnings,
    }


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


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
        "--ridge-cv-rows",
        type=int,
        default=100_000,
        help="rows (the first ones) RidgeCV and statetune's same-grid ridge run on: RidgeCV's "
        "grid search refits every (alpha, fold), ~290 s per run on 1M rows here",
    )
    ap.add_argument(
        "--cv-budget",
        type=float,
        default=300.0,
        help="seconds one RidgeCV run may take before its alpha grid is thinned and extrapolated",
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
            "runs": 1,
            "min_s": "",
            "max_s": "",
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
            runs=REPEAT,
            min_s=min(s["walls"]),
            max_s=max(s["walls"]),
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
            same_params.append(t.params == split_params(st_trials[t.number].params, alg)[1])
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
                f"median trial {spread(b['trial_seconds'])}; same params as statetune's first "
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

    # (c) scikit-learn CV shortcuts on the same folds, and statetune over the same grids, each
    # timed REPEAT times (median, min..max). RidgeCV runs on the first --ridge-cv-rows rows.
    NR = min(N, args.ridge_cv_rows)
    Xr, yr = X[:NR], y[:NR]
    states_r = (
        states
        if NR == N
        else st.compute_states(st.from_arrays(Xr, yr), ["ridge"], folds=K, seed=SEED)
    )
    cv_r = PredefinedSplit(states_r.folds.assign(0, NR))
    space = states_r.search_space("ridge")["alpha"]
    grid = np.geomspace(space.low, space.high, RIDGE_GRID)
    # one alpha = K refits, as one trial; refits scale with the rows
    per_candidate = refit_runs["ridge"]["trial_median"] * NR / N
    if per_candidate * RIDGE_GRID <= args.cv_budget:
        sub = np.arange(RIDGE_GRID)
    else:
        k = max(3, int(args.cv_budget / per_candidate))
        sub = np.unique(np.linspace(0, RIDGE_GRID - 1, k).round().astype(int))
    ridge_cv = RidgeCV(alphas=grid[sub], cv=cv_r, scoring="neg_mean_squared_error")
    t_rcv = run_times(lambda: ridge_cv.fit(Xr, yr), REPEAT)
    rcv_params = {"alpha": float(ridge_cv.alpha_), "fit_intercept": True}
    rcv_mse = states_r.validation_score("ridge", rcv_params, "mse")
    rcv_diff = rel_diff(-ridge_cv.best_score_, rcv_mse)
    rows_note = "" if NR == N else f"first {NR:,} of the {N:,} rows (--ridge-cv-rows); "
    if len(sub) == RIDGE_GRID:
        t_rcv_full, kind, note = t_rcv, "measured", f"{rows_note}{RIDGE_GRID} alphas"
    else:
        t_refit = statistics.median(
            run_times(lambda: Ridge(alpha=rcv_params["alpha"]).fit(Xr, yr), REPEAT)
        )
        t_rcv_full = [t_refit + (t - t_refit) * RIDGE_GRID / len(sub) for t in t_rcv]
        kind = "estimated"
        note = (
            f"{rows_note}ran {len(sub)} of the {RIDGE_GRID} alphas (evenly thinned) in "
            f"{statistics.median(t_rcv):.1f} s; grid search cost is linear in alphas: refit "
            f"{t_refit:.2f} s + rest x {RIDGE_GRID}/{len(sub)}"
        )
    record(
        "sklearn RidgeCV(cv=PredefinedSplit)",
        "ridge",
        RIDGE_GRID,
        statistics.median(t_rcv_full),
        kind,
        rows=NR,
        runs=REPEAT,
        min_s=min(t_rcv_full),
        max_s=max(t_rcv_full),
        best_mse=rcv_mse,
        max_rel_diff_vs_statetune=rcv_diff,
        notes=(
            f"{note}; median of {REPEAT} runs; best alpha {rcv_params['alpha']:.4g} scored by "
            "statetune; diff = its best_score_ vs statetune"
        ),
    )

    enet_cv = ElasticNetCV(l1_ratio=list(ENET_L1_RATIOS), alphas=ENET_ALPHAS, cv=cv, n_jobs=1)
    t_ecv = run_times(lambda: enet_cv.fit(X, y), REPEAT)
    ecv_params = {"alpha": float(enet_cv.alpha_), "l1_ratio": float(enet_cv.l1_ratio_)}
    ecv_mse = states.validation_score("elastic_net", ecv_params, "mse")

    # statetune, same grids, exhaustively, cold: each run is a new source, a new pass and the
    # grid loop on those new states (no memo warm from an earlier run)
    enet_points = [
        (float(a), float(r))
        for r, alphas in zip(ENET_L1_RATIOS, enet_cv.alphas_, strict=True)
        for a in alphas
    ]

    def ridge_grid(sts: st.StateSet) -> list[float]:
        return [
            sts.validation_score("ridge", {"alpha": float(a), "fit_intercept": True}, "mse")
            for a in grid
        ]

    def enet_grid(sts: st.StateSet) -> list[float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return [
                sts.validation_score("elastic_net", {"alpha": a, "l1_ratio": r}, "mse")
                for a, r in enet_points
            ]

    def cold_grid(
        alg: str, Xg: np.ndarray, yg: np.ndarray, loop: Callable[[st.StateSet], list[float]]
    ) -> dict[str, Any]:
        walls, passes, loops = [], [], []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            sts = st.compute_states(st.from_arrays(Xg, yg), [alg], folds=K, seed=SEED)
            t1 = time.perf_counter()
            scores = loop(sts)
            t2 = time.perf_counter()
            walls.append(t2 - t0)
            passes.append(t1 - t0)
            loops.append(t2 - t1)
        return {"walls": walls, "pass": passes, "loop": loops, "scores": scores}

    g_enet = cold_grid("elastic_net", X, y, enet_grid)
    enet_scores = np.array(g_enet["scores"]).reshape(len(ENET_L1_RATIOS), ENET_ALPHAS)
    ecv_path = enet_cv.mse_path_.mean(axis=2)
    ecv_diff = float(np.max(np.abs(enet_scores - ecv_path) / enet_scores))
    i = ENET_L1_RATIOS.index(enet_cv.l1_ratio_)
    ecv_best_diff = rel_diff(float(ecv_path[i].min()), ecv_mse)
    record(
        "sklearn ElasticNetCV(cv=PredefinedSplit)",
        "elastic_net",
        len(enet_points),
        statistics.median(t_ecv),
        "measured",
        runs=REPEAT,
        min_s=min(t_ecv),
        max_s=max(t_ecv),
        best_mse=ecv_mse,
        max_rel_diff_vs_statetune=ecv_diff,
        notes=(
            f"median of {REPEAT} runs; {len(ENET_L1_RATIOS)} l1_ratios x {ENET_ALPHAS} alphas, "
            f"n_jobs=1; best alpha {ecv_params['alpha']:.4g} l1_ratio {ecv_params['l1_ratio']} "
            f"scored by statetune (vs its own mse_path_ there: rel diff {ecv_best_diff:.2g}); "
            "diff column = its mse_path_ vs statetune over the whole grid (warm-started path at "
            "tol=1e-4)"
        ),
    )
    g_ridge = cold_grid("ridge", Xr, yr, ridge_grid)
    grids = {}
    for alg, g, n, nrows in (
        ("ridge", g_ridge, RIDGE_GRID, NR),
        ("elastic_net", g_enet, len(enet_points), N),
    ):
        grids[alg] = g
        record(
            "statetune same grid (pass + loop, cold)",
            alg,
            n,
            statistics.median(g["walls"]),
            "measured",
            rows=nrows,
            runs=REPEAT,
            min_s=min(g["walls"]),
            max_s=max(g["walls"]),
            pass_s=statistics.median(g["pass"]),
            finalize_and_score_s=statistics.median(g["loop"]),
            best_mse=float(min(g["scores"])),
            notes=(
                f"{'first ' + format(nrows, ',') + ' rows; ' if nrows != N else ''}"
                f"validation_score over the {'RidgeCV' if alg == 'ridge' else 'ElasticNetCV'} "
                f"grid; median of {REPEAT} cold runs (new source, new pass, then the loop)"
            ),
        )

    write_csv("hpo_speedup", rows)
    # The chart shows whole tuning jobs: not the few refit trials the estimates come from.
    full = [r for r in rows if r["trials_or_candidates"] >= min(T, RIDGE_GRID)]
    log_bar_chart(
        "hpo_speedup",
        [
            f"{r['method']}\n{r['algorithm']} ({r['trials_or_candidates']})"
            + ("" if r["rows"] == N else f", {r['rows']:,} rows")
            for r in full
        ],
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
    med = statistics.median
    print(
        f"  ElasticNetCV ({spread(t_ecv)}) / statetune elastic_net st.tune, {T} trials "
        f"({spread(st_runs['elastic_net']['walls'])}): "
        f"{med(t_ecv) / st_runs['elastic_net']['wall']:,.1f}x   (target > 1x)"
    )
    print(
        f"  RidgeCV on {NR:,} rows ({kind}; {spread(t_rcv_full)}) / statetune same grid cold "
        f"({spread(grids['ridge']['walls'])}): "
        f"{med(t_rcv_full) / med(grids['ridge']['walls']):,.1f}x"
    )
    print(
        f"  ElasticNetCV ({spread(t_ecv)}) / statetune same grid cold "
        f"({spread(grids['elastic_net']['walls'])}): "
        f"{med(t_ecv) / med(grids['elastic_net']['walls']):,.1f}x"
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
    print(
        f"  RidgeCV best alpha ({NR:,} rows, scored on their folds): {rcv_mse:.6f};  "
        f"ElasticNetCV best: {ecv_mse:.6f}"
    )
    print(
        "agreement sklearn refit vs statetune on the same trials (max rel diff): "
        + ", ".join(f"{a} {refit_runs[a]['max_rel_diff']:.2e}" for a in ALGORITHMS)
    )
    print(f"\nwrote {RESULTS / 'hpo_speedup.csv'} and {RESULTS / 'hpo_speedup.png'}")


if __name__ == "__main__":
    main()
