"""Classifier tuning speed: statetune's one pass + finalize-from-states vs refitting scikit-learn
per fold per trial.

Data: ``classification_data(N, 50)`` (N = 1,000,000 by default), 10 Gaussian classes with their
own means, covariances and unequal priors (numpy, seed 0; the class parameters do not depend on
N, so ``--rows`` shrinks the same problem). Same folds (the StateSet's ``fold_ids``), same joint
search space over lda / qda / gaussian_nb / ridge_classifier, same sampler and seed:

(a) ``st.tune(source, ALGORITHMS, metric="accuracy", pruner=NopPruner())``, pass included
    (``--repeat`` runs, median), with the ``timings`` breakdown. Accuracy is a sample metric:
    statetune scores each fold on a reservoir of up to 20,000 held-out rows, so with more held-out
    rows than that its accuracy is an *estimate* of the fold's held-out accuracy.
(b) plain Optuna, same ``TPESampler(seed=0, multivariate=True, group=True, constant_liar=False)``,
    whose objective suggests exactly what statetune's does ("algorithm" first, then
    ``"<alg>:<param>"`` in ``states.search_space(alg)`` order) and refits scikit-learn
    (``LinearDiscriminantAnalysis(solver="eigen", shrinkage=s)``,
    ``QuadraticDiscriminantAnalysis(reg_param=r)``, ``GaussianNB(var_smoothing=v)``,
    ``RidgeClassifier(alpha=a, fit_intercept=b)``) on each fold's training rows, scoring
    ``accuracy_score`` on all the fold's held-out rows. The fold arrays are sliced once, outside
    the timed trials (in the refit side's favour). Only ``--refit-trials`` trials run; the
    n_trials total is ``estimated`` two ways, both plus (a)'s measured TPE sampler + storage time:
    (i) median refit trial x n_trials (the few trials measured mix algorithms at random: TPE's
    first 10 trials are random startup trials); (ii) per-algorithm median refit trial x the
    algorithm mix statetune's study actually ran (an algorithm absent from the measured trials is
    timed on one extra refit trial, with the parameters of statetune's first trial of it).
    Trials both sides ran are checked: same parameters, and values within sampling error. The
    refit study runs ``--repeat`` times, as statetune's studies do (a new study each run, same
    seed, so the same trials): medians and min..max on both sides; the checks use its first run.
(c) statetune's best parameters re-scored by scikit-learn on all held-out rows (exact), and on
    the reservoir rows statetune used (must equal statetune's fold scores: the models are the same,
    only the rows differ). The difference to statetune's estimate is given in units of its
    sampling standard error (reservoir of m of the fold's n held-out rows, without replacement:
    ``sqrt(p (1 - p) / m * (1 - m / n))`` per fold, combined over the fold mean).
(d) a second statetune study, lda / qda / gaussian_nb only, ``metric="log_likelihood"``: mean
    held-out ``log p(x, y)`` computed exactly from the held-out class moments (no sample). Its
    best is checked row by row on all held-out rows (the per-fold models finalized from the
    training states, scored with their Gaussian parameters). Its refit cost is ``estimated`` as in
    (b)(ii) from the accuracy refit trials (a fit + scoring all held-out rows per fold).

Run: ``.venv/bin/python experiments/classifier_speedup.py`` (writes results/classifier_speedup.*);
quick check: ``--rows 50000 --trials 30`` (there every held-out row is in the reservoir, so the
accuracies are exact and must agree to rounding).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from _common import RESULTS, log_bar_chart, spread, suggest_algorithm, write_csv
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import accuracy_score
from sklearn.naive_bayes import GaussianNB

import statetune as st
from statetune.algorithms import get_algorithm

D, N_CLASSES, SEED = 50, 10, 0
ALGORITHMS = ("lda", "qda", "gaussian_nb", "ridge_classifier")
LL_ALGORITHMS = ("lda", "qda", "gaussian_nb")
TIMING_KEYS = ("pass", "sampler", "finalize_and_score", "storage")
TARGET_SPEEDUP = 50.0
FAILURES = (ArithmeticError, ValueError, np.linalg.LinAlgError)


def classification_data(n: int, d: int = D, k: int = N_CLASSES, seed: int = SEED) -> tuple:
    """``n`` rows of ``k`` Gaussian classes: own means, own covariances, unequal priors."""
    rng = np.random.default_rng(seed)
    priors = rng.dirichlet(np.full(k, 5.0))
    means = rng.normal(scale=0.35, size=(k, d))
    chols = []
    for _ in range(k):
        A = rng.normal(size=(d, d)) / np.sqrt(d)
        chols.append(np.linalg.cholesky(0.5 * np.eye(d) + 0.5 * A @ A.T))
    y = rng.choice(k, size=n, p=priors)
    X = rng.standard_normal((n, d))
    for c in range(k):
        idx = np.flatnonzero(y == c)
        X[idx] = X[idx] @ chols[c].T + means[c]
    return X, y


def tpe() -> optuna.samplers.TPESampler:
    """The sampler statetune builds for a sequential study (n_jobs=1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=SEED, multivariate=True, group=True, constant_liar=False
        )


def split(params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Optuna params of a multi-algorithm study -> (algorithm, {param: value})."""
    alg = params["algorithm"]
    return alg, {k.split(":", 1)[1]: v for k, v in params.items() if k.startswith(f"{alg}:")}


def sklearn_model(alg: str, params: Mapping[str, Any]) -> Any:
    if alg == "lda":
        return LinearDiscriminantAnalysis(solver="eigen", shrinkage=params["shrinkage"])
    if alg == "qda":
        return QuadraticDiscriminantAnalysis(reg_param=params["reg_param"])
    if alg == "gaussian_nb":
        return GaussianNB(var_smoothing=params["var_smoothing"])
    return RidgeClassifier(alpha=params["alpha"], fit_intercept=params["fit_intercept"])


def refit(alg: str, params: Mapping[str, Any], folds: Sequence[tuple]) -> tuple[list, list, float]:
    """Fit on each fold's training rows, accuracy on all its held-out rows: models, scores, s."""
    t0 = time.perf_counter()
    models, scores = [], []
    for Xtr, ytr, Xho, yho in folds:
        m = sklearn_model(alg, params).fit(Xtr, ytr)
        models.append(m)
        scores.append(float(accuracy_score(yho, m.predict(Xho))))
    return models, scores, time.perf_counter() - t0


def sampling_se(exact: Sequence[float], sample_rows: Sequence[int], held_rows: Sequence[int]):
    """Standard error of the mean over folds of reservoir accuracies (without replacement)."""
    var = sum(
        p * (1 - p) / m * (1 - m / n) for p, m, n in zip(exact, sample_rows, held_rows, strict=True)
    )
    return math.sqrt(max(var, 0.0)) / len(exact)


def z_score(diff: float, se: float) -> float:
    if se > 0:
        return diff / se
    return 0.0 if abs(diff) < 1e-12 else math.inf


def row_log_likelihood(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Mean ``log p(x, y)`` over rows, from the model's Gaussians (LDA / QDA / GaussianNB)."""
    d = X.shape[1]
    if hasattr(model, "rotations_"):  # QDA
        gauss = [
            ((R / S) @ R.T, float(np.sum(np.log(S))))
            for R, S in zip(model.rotations_, model.scalings_, strict=True)
        ]
        means, log_prior = model.means_, np.log(model.priors_)
    elif hasattr(model, "var_"):  # GaussianNB
        gauss = [(np.diag(1.0 / v), float(np.sum(np.log(v)))) for v in model.var_]
        means, log_prior = model.theta_, np.log(model.class_prior_)
    else:  # LDA: one shared covariance
        prec = np.linalg.inv(model.covariance_)
        logdet = float(np.linalg.slogdet(model.covariance_)[1])
        gauss = [(prec, logdet)] * len(model.classes_)
        means, log_prior = model.means_, np.log(model.priors_)
    total = 0.0
    for i, c in enumerate(model.classes_):
        delta = X[y == c] - means[i]
        prec, logdet = gauss[i]
        quad = np.einsum("ij,ij->i", delta @ prec, delta)
        total += float(np.sum(log_prior[i] - 0.5 * (d * np.log(2 * np.pi) + logdet) - 0.5 * quad))
    return total / len(y)


def run_statetune(
    X: np.ndarray, y: np.ndarray, algs: Sequence[str], T: int, K: int, metric: str, repeat: int
) -> dict:
    """``repeat`` st.tune runs (pass included); median wall time and of each timing."""
    walls, timings, results = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = st.tune(
            st.from_arrays(X, y),
            list(algs),
            n_trials=T,
            cv=K,
            metric=metric,
            seed=SEED,
            storage="memory",
            pruner=optuna.pruners.NopPruner(),
        )
        walls.append(time.perf_counter() - t0)
        timings.append(r.timings)
        results.append(r)
    r = results[0]
    per_alg: dict[str, list[float]] = {}
    for t in r.study.trials:
        if t.datetime_complete is not None and t.datetime_start is not None:
            secs = (t.datetime_complete - t.datetime_start).total_seconds()
            per_alg.setdefault(t.params["algorithm"], []).append(secs)
    return {
        "wall": statistics.median(walls),
        "walls": walls,
        "timings": {k: statistics.median(t[k] for t in timings) for k in TIMING_KEYS},
        "result": r,
        "best_values": [x.best_value for x in results],
        "mix": Counter(t.params["algorithm"] for t in r.study.trials),
        "failed": sum(t.state != optuna.trial.TrialState.COMPLETE for t in r.study.trials),
        "trial_median_by_alg": {a: statistics.median(v) for a, v in per_alg.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--refit-trials", type=int, default=5, help="trials run by plain Optuna + sklearn refits"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each side: statetune's studies and the refit study (median, min..max)",
    )
    args = ap.parse_args()
    N, T, K = args.rows, args.trials, args.folds
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t_start = time.perf_counter()

    X, y = classification_data(N)
    print(
        f"data {N:,} x {D}, {N_CLASSES} classes, {K} folds, {T} trials "
        f"(statetune's studies and the refit study: {args.repeat} run(s) each, median)"
    )
    # A sequential pass like st.tune's (n_jobs=1): the same states, so the same data-scaled
    # bounds (ridge_classifier's alpha) and bit-identical trials for the same seed.
    states = st.compute_states(st.from_arrays(X, y), list(ALGORITHMS), folds=K, seed=SEED)
    fold_ids = states.folds.assign(0, states.n_rows)
    spaces = {a: states.search_space(a) for a in ALGORITHMS}
    folds = []
    for k in range(K):
        tr, ho = np.flatnonzero(fold_ids != k), np.flatnonzero(fold_ids == k)
        folds.append((X[tr], y[tr], X[ho], y[ho]))
    held_rows = [len(f[3]) for f in folds]
    reservoirs = [states.held_out("reservoir", k) for k in range(K)]
    sample_rows = [len(r.w) for r in reservoirs]
    for k, res in enumerate(reservoirs):  # each reservoir samples its own fold's rows
        assert np.all(fold_ids[res.positions] == k), f"reservoir {k} holds other folds' rows"
    print(f"held-out rows per fold {held_rows}; reservoir rows per fold {sample_rows}")

    rows: list[dict[str, Any]] = []

    def record(method: str, metric: str, algs: str, n: int, wall: float, kind: str, **extra):
        row = {
            "method": method,
            "metric": metric,
            "algorithms": algs,
            "rows": N,
            "folds": K,
            "trials": n,
            "wall_s": round(wall, 4),
            "measured_or_estimated": kind,
            "pass_s": "",
            "sampler_s": "",
            "finalize_and_score_s": "",
            "storage_s": "",
            "per_trial_ms": round(1e3 * wall / n, 3) if n else "",
            "runs": 1,
            "min_s": "",
            "max_s": "",
            "best_value": "",
            "best_algorithm": "",
            "best_params": "",
            "sampling_se": "",
            "z_vs_exact": "",
            "notes": "",
        }
        for key, v in extra.items():
            if isinstance(v, float) and math.isfinite(v):
                v = round(v, 6) if key.endswith("_s") else float(f"{v:.10g}")
            row[key] = v
        rows.append(row)

    # (a) statetune, accuracy over the four classifiers
    s = run_statetune(X, y, ALGORITHMS, T, K, "accuracy", args.repeat)
    r = s["result"]
    tm = s["timings"]
    same = len(set(s["best_values"])) == 1
    record(
        "statetune st.tune",
        "accuracy",
        "+".join(ALGORITHMS),
        T,
        s["wall"],
        "measured",
        runs=args.repeat,
        min_s=min(s["walls"]),
        max_s=max(s["walls"]),
        pass_s=tm["pass"],
        sampler_s=tm["sampler"],
        finalize_and_score_s=tm["finalize_and_score"],
        storage_s=tm["storage"],
        best_value=r.best_value,
        best_algorithm=r.best_algorithm,
        best_params=json.dumps(r.best_params),
        notes=(
            f"median of {args.repeat}; pass included; NopPruner; accuracy on a reservoir of "
            f"<= 20,000 held-out rows per fold; trial mix {dict(s['mix'])}; failed trials "
            f"{s['failed']}; best identical in all runs: {same}"
        ),
    )
    print(f"statetune accuracy study: {spread(s['walls'])}, mix {dict(s['mix'])}")

    # (b) plain Optuna + scikit-learn refits, a few trials, extrapolated
    n_refit = min(T, args.refit_trials)
    trial_secs: dict[str, list[float]] = {}

    def objective(trial: optuna.Trial) -> float:
        alg, params = suggest_algorithm(trial, spaces)
        _, scores, secs = refit(alg, params, folds)
        trial_secs.setdefault(alg, []).append(secs)
        trial.set_user_attr("fold_scores", scores)
        trial.set_user_attr("seconds", secs)
        return float(np.mean(scores))

    # the refit study runs as many times as statetune's (a new study each run, same seed: the
    # same trials); the agreement checks use the first run, the timings all of them
    studies, refit_walls, run_secs = [], [], []
    for _ in range(args.repeat):
        study = optuna.create_study(
            direction="maximize", sampler=tpe(), pruner=optuna.pruners.NopPruner()
        )
        t0 = time.perf_counter()
        study.optimize(objective, n_trials=n_refit, catch=FAILURES)
        refit_walls.append(time.perf_counter() - t0)
        studies.append(study)
        run_secs.append(
            [t.user_attrs["seconds"] for t in study.trials if "seconds" in t.user_attrs]
        )
    study = studies[0]
    refit_wall = statistics.median(refit_walls)
    st_trials = r.study.trials
    same_params, zs, diffs = [], [], []
    for t in study.trials:
        other = st_trials[t.number]
        same_params.append(t.params == other.params)
        if t.value is None or other.value is None:
            continue
        se = sampling_se(t.user_attrs["fold_scores"], sample_rows, held_rows)
        diffs.append(other.value - t.value)
        zs.append(z_score(other.value - t.value, se))
    all_secs = [x for secs in run_secs for x in secs]
    trial_median = statistics.median(all_secs)
    max_z = max((abs(z) for z in zs), default=math.nan)
    record(
        "optuna + sklearn refit",
        "accuracy",
        "+".join(ALGORITHMS),
        n_refit,
        refit_wall,
        "measured",
        runs=args.repeat,
        min_s=min(refit_walls),
        max_s=max(refit_walls),
        best_value=study.best_value,
        best_algorithm=study.best_params["algorithm"],
        best_params=json.dumps(split(study.best_params)[1]),
        z_vs_exact=max_z,
        notes=(
            f"median of {args.repeat} runs of {n_refit} trials; exact accuracy on all held-out "
            f"rows; median trial {trial_median:.2f} s (all runs); trials "
            f"{[t.params['algorithm'] for t in study.trials]}; same params as statetune's first "
            f"{n_refit} trials: {all(same_params)}; statetune - exact on those trials: max |diff| "
            f"{max((abs(x) for x in diffs), default=math.nan):.2g}, max |z| {max_z:.2f}"
        ),
    )
    # one extra refit trial for each algorithm statetune used but the refit trials did not
    used = set(s["mix"])
    extra_timed = []
    for alg in ALGORITHMS:
        if alg in used and alg not in trial_secs:
            first = next(t for t in st_trials if t.params["algorithm"] == alg)
            _, _, secs = refit(alg, split(first.params)[1], folds)
            trial_secs[alg] = [secs]
            extra_timed.append(f"{alg} (trial {first.number}): {secs:.2f} s")
    alg_median = {a: statistics.median(v) for a, v in trial_secs.items()}
    overhead = tm["sampler"] + tm["storage"]
    est_median = T * trial_median + overhead
    est_runs = [T * statistics.median(secs) + overhead for secs in run_secs]
    est_mix = sum(alg_median[a] * n for a, n in s["mix"].items()) + overhead
    record(
        "optuna + sklearn refit",
        "accuracy",
        "+".join(ALGORITHMS),
        T,
        est_median,
        "estimated",
        runs=args.repeat,
        min_s=min(est_runs),
        max_s=max(est_runs),
        notes=(
            f"{T} x median refit trial ({trial_median:.2f} s, from {args.repeat} x {n_refit} "
            "measured; min..max = the same estimate from each run alone) + "
            f"statetune's measured TPE sampler+storage time ({overhead:.2f} s)"
        ),
    )
    record(
        "optuna + sklearn refit (statetune's trial mix)",
        "accuracy",
        "+".join(ALGORITHMS),
        T,
        est_mix,
        "estimated",
        notes=(
            "sum over statetune's trials of the per-algorithm median refit trial "
            + json.dumps({a: round(v, 3) for a, v in alg_median.items()})
            + f" s + TPE sampler+storage ({overhead:.2f} s)"
            + (f"; extra refit trials timed: {'; '.join(extra_timed)}" if extra_timed else "")
        ),
    )
    for alg in ALGORITHMS:
        if alg in trial_secs:
            record(
                "sklearn refit, one trial (5-fold)",
                "accuracy",
                alg,
                1,
                alg_median[alg],
                "measured",
                notes=(
                    f"median of {len(trial_secs[alg])} trial(s); statetune's median trial of "
                    f"{alg}: {s['trial_median_by_alg'].get(alg, math.nan):.4f} s"
                ),
            )

    # (c) statetune's best, re-scored by scikit-learn: all held-out rows and the reservoir
    best_alg, best_params = r.best_algorithm, r.best_params
    models, exact_scores, rescore_secs = refit(best_alg, best_params, folds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sample_scores = [
            float(accuracy_score(res.y, m.predict(res.X), sample_weight=res.w))
            for m, res in zip(models, reservoirs, strict=True)
        ]
    st_folds = r.best_trial.user_attrs["fold_scores"]
    same_sample = float(np.max(np.abs(np.array(sample_scores) - np.array(st_folds))))
    exact_best = float(np.mean(exact_scores))
    best_se = sampling_se(exact_scores, sample_rows, held_rows)
    best_z = z_score(r.best_value - exact_best, best_se)
    record(
        "sklearn exact re-score of statetune's best",
        "accuracy",
        best_alg,
        1,
        rescore_secs,
        "measured",
        best_value=exact_best,
        best_algorithm=best_alg,
        best_params=json.dumps(best_params),
        sampling_se=best_se,
        z_vs_exact=best_z,
        notes=(
            f"all held-out rows; statetune's estimate {r.best_value:.6f}, diff "
            f"{r.best_value - exact_best:+.2e} = {best_z:+.2f} SE; sklearn on statetune's "
            f"reservoir rows vs statetune's fold scores: max |diff| {same_sample:.2g}"
        ),
    )

    # (d) statetune, exact held-out log-likelihood over the generative classifiers
    ll = run_statetune(X, y, LL_ALGORITHMS, T, K, "log_likelihood", args.repeat)
    rl = ll["result"]
    ll_alg, ll_params = rl.best_algorithm, rl.best_params
    alg_obj = get_algorithm(ll_alg)
    fold_ll = []
    for k, (_, _, Xho, yho) in enumerate(folds):
        m = alg_obj.finalize(states.train(states.model_slot(ll_alg), k), dict(ll_params))
        fold_ll.append(row_log_likelihood(m, Xho, yho))
    ll_rows = float(np.mean(fold_ll))
    ll_rel = abs(ll_rows - rl.best_value) / abs(ll_rows)
    ll_overhead = ll["timings"]["sampler"] + ll["timings"]["storage"]
    est_ll = sum(alg_median.get(a, math.nan) * n for a, n in ll["mix"].items()) + ll_overhead
    record(
        "statetune st.tune",
        "log_likelihood",
        "+".join(LL_ALGORITHMS),
        T,
        ll["wall"],
        "measured",
        runs=args.repeat,
        min_s=min(ll["walls"]),
        max_s=max(ll["walls"]),
        pass_s=ll["timings"]["pass"],
        sampler_s=ll["timings"]["sampler"],
        finalize_and_score_s=ll["timings"]["finalize_and_score"],
        storage_s=ll["timings"]["storage"],
        best_value=rl.best_value,
        best_algorithm=ll_alg,
        best_params=json.dumps(ll_params),
        notes=(
            f"pass included; exact from held-out class moments; row-by-row on all held-out rows "
            f"{ll_rows:.10g} (rel diff {ll_rel:.1e}); trial mix {dict(ll['mix'])}; failed "
            f"trials {ll['failed']}"
        ),
    )
    record(
        "optuna + sklearn refit (statetune's trial mix)",
        "log_likelihood",
        "+".join(LL_ALGORITHMS),
        T,
        est_ll,
        "estimated",
        notes=(
            "per-algorithm median refit trial from the accuracy refits x this study's mix "
            f"+ TPE sampler+storage ({ll_overhead:.2f} s)"
        ),
    )

    write_csv("classifier_speedup", rows)
    full = [x for x in rows if x["trials"] == T]
    log_bar_chart(
        "classifier_speedup",
        [f"{x['method']}\n{x['metric']} ({x['trials']} trials)" for x in full],
        [float(x["wall_s"]) for x in full],
        [x["measured_or_estimated"] == "estimated" for x in full],
        f"Classifier tuning wall time, {N:,} x {D}, {N_CLASSES} classes, {K} folds",
    )

    # Report
    print(
        f"\n{'method':<46} {'metric':<14} {'algorithms':<16} {'n':>4} {'wall s':>10} "
        f"{'kind':<10} {'best':>11} {'best alg':<12}"
    )
    for x in rows:
        bv = f"{x['best_value']:.6f}" if x["best_value"] != "" else ""
        algs = x["algorithms"] if len(x["algorithms"]) <= 16 else f"{x['algorithms'][:13]}..."
        print(
            f"{x['method']:<46} {x['metric']:<14} {algs:<16} {x['trials']:>4} "
            f"{x['wall_s']:>10.3f} {x['measured_or_estimated']:<10} {bv:>11} "
            f"{x['best_algorithm']:<12}"
        )
    print("\nstatetune timings (s):")
    for label, run in (("accuracy", s), ("log_likelihood", ll)):
        print(f"  {label:<15} " + "  ".join(f"{k} {run['timings'][k]:.3f}" for k in TIMING_KEYS))
        print(
            f"  {'':<15} median trial by algorithm: "
            + ", ".join(f"{a} {v * 1e3:.1f} ms" for a, v in run["trial_median_by_alg"].items())
        )
    print(
        f"\nstatetune accuracy study {spread(s['walls'])}; refit study ({n_refit} trials) "
        f"{spread(refit_walls)}; its {T}-trial estimate {spread(est_runs)}"
    )
    print("\nratios of medians (target: statetune >= 50x faster):")
    for label, est in (("median refit trial x n", est_median), ("statetune's trial mix", est_mix)):
        ratio = est / s["wall"]
        print(
            f"  accuracy: optuna+sklearn refit ({T} trials, estimated, {label}) / statetune: "
            f"{ratio:,.1f}x -> {'met' if ratio >= TARGET_SPEEDUP else 'NOT met'}"
        )
    print(
        f"  log_likelihood: optuna+sklearn refit ({T} trials, estimated, statetune's trial mix) "
        f"/ statetune: {est_ll / ll['wall']:,.1f}x"
    )
    for label, run in (("accuracy", s), ("log_likelihood", ll)):
        fin, samp = (1e3 * run["timings"][k] / T for k in ("finalize_and_score", "sampler"))
        print(
            f"  {label:<15} finalize_and_score per trial {fin:.2f} ms vs TPE sampler per trial "
            f"{samp:.2f} ms"
        )
    print("\nbest scores:")
    print(
        f"  statetune accuracy (reservoir estimate): {r.best_value:.6f}  {best_alg} {best_params}"
    )
    print(
        f"  same params, sklearn on all held-out rows (exact): {exact_best:.6f}; diff "
        f"{r.best_value - exact_best:+.2e}, sampling SE {best_se:.2e} -> z = {best_z:+.2f}"
    )
    print(
        f"  sklearn on the reservoir rows vs statetune's fold scores: max |diff| {same_sample:.2g}"
    )
    print(
        f"  refit trials both ran ({n_refit}): same params {all(same_params)}; statetune - exact: "
        f"max |diff| {max((abs(x) for x in diffs), default=math.nan):.2e}, max |z| {max_z:.2f}"
    )
    print(f"  best of the {n_refit} refit trials (exact): {study.best_value:.6f}")
    print(
        f"  statetune log_likelihood (exact, held-out states): {rl.best_value:.8f}  {ll_alg} "
        f"{ll_params}; row by row on all held-out rows {ll_rows:.8f} (rel diff {ll_rel:.1e})"
    )
    print(
        f"\nwrote {RESULTS / 'classifier_speedup.csv'} and {RESULTS / 'classifier_speedup.png'} "
        f"(total {time.perf_counter() - t_start:.0f} s)"
    )


if __name__ == "__main__":
    main()
