"""Forecast tuning speed: statetune's one pass + finalize-from-states vs refitting lag regressions
per fold per trial.

Data: ``--series`` series (20 by default) x ``--length`` daily values (5,000), each
``level + AR(2) + weekly pattern + N(0, 1) noise`` with its own coefficients (numpy, seed 0), in
long format: a pandas DataFrame with columns store / date / sales.

(a) ``st.tune(st.from_pandas(df, target="sales", series="store", time="date"),
    ["autoregressive"], n_trials=200, cv=3, metric="mse", storage="memory", seed=0,
    max_lag=8)``: default search space (p, trend, ridge alpha, d, seasonal_lag), default
    pruning (none for folds this cheap); source + pass + trials timed, ``--repeat`` runs, median, with the
    ``timings`` breakdown.
(b) the peer a user would otherwise run: plain Optuna with the same
    ``TPESampler(seed=0, multivariate=True, group=True, constant_liar=False)``, no pruner
    and the same search space (``states.search_space("autoregressive")``,
    suggested in the same order, so the two studies ask the same trials), whose objective, per
    fold per trial, builds the explicit lag matrices of the ``d``-times differenced series from
    the raw values, stacks the series (one pooled model, as statetune's) and fits
    ``sklearn.linear_model.Ridge(alpha, fit_intercept=trend == "c")`` (``LinearRegression`` at
    ``alpha == 0``), then scores one-step-ahead MSE on the held-out block. Timed from the DataFrame
    (grouping it into per-series arrays included). statsmodels has neither a pooled
    multi-series ``AutoReg`` nor a ridge penalty with an unpenalized constant, so the peer is
    the regression ``AutoReg`` runs, on the stacked lag matrices; the script checks that
    construction against ``statsmodels.tsa.ar_model.AutoReg`` on one series at ``alpha = 0``.
    With ``--refit-trials n < n_trials`` only n trials run and the total is ``estimated``
    (median objective time x n_trials + statetune's measured TPE sampler + storage time). The
    peer runs ``--repeat`` times like statetune (new study each run): medians and the spread
    (min..max) on both sides; the trial-by-trial agreement uses its first run.

Folds (rolling origin, reproduced in the peer): fold k holds out the window of time
``states.fold_windows()[k]`` (``held_start <= date < held_end``, common to all series), trains
on every value dated before it and predicts each held-out value one step ahead from the actual
lags; every store has the same dates, so a window is a range of indices ``[lo, hi)``. Rows:
the times with at least ``max_lag`` predecessors in their series.

Agreement: statetune's ``states.fold_scores`` equals the peer's per-fold MSE on a few fixed
parameter sets (max relative difference printed); both studies ask the same parameters trial
by trial (checked) and their values are compared trial by trial, best trials included.

Run: ``.venv/bin/python experiments/forecast_speedup.py`` (writes results/forecast_speedup.*);
quick check: ``--length 1000 --trials 30``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd
from _common import RESULTS, log_bar_chart, spread, suggest, tpe, write_csv
from scipy.signal import lfilter
from sklearn.linear_model import LinearRegression, Ridge
from statsmodels.tsa.ar_model import AutoReg

import statetune as st
from statetune.tuner.space import split_params

SEED, ALG = 0, "autoregressive"
TIMING_KEYS = ("pass", "sampler", "finalize_and_score", "storage")
FIXED_PARAMS = (
    {"p": 2, "trend": "c", "alpha": 1.0, "d": 0, "seasonal_lag": 7},
    {"p": 3, "trend": "n", "alpha": 50.0, "d": 1, "seasonal_lag": 0},
    {"p": 7, "trend": "c", "alpha": 5000.0, "d": 1, "seasonal_lag": 4},
    {"p": 1, "trend": "c", "alpha": 0.0, "d": 0, "seasonal_lag": 7},
)


def series_data(n_series: int, length: int, seed: int = SEED) -> pd.DataFrame:
    """Long-format daily sales: per store ``level + AR(2) + weekly pattern + noise``."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2000-01-01", periods=length, freq="D")
    frames = []
    for s in range(n_series):
        phi1, phi2 = 0.4 + 0.3 * rng.random(), -0.25 + 0.15 * rng.random()
        ar = lfilter([1.0], [1.0, -phi1, -phi2], rng.standard_normal(length))
        weekly = rng.normal(0.0, 2.0, 7)[np.arange(length) % 7]
        sales = 50.0 + 20.0 * rng.random() + ar + weekly
        frames.append(pd.DataFrame({"store": f"store{s:03d}", "date": dates, "sales": sales}))
    return pd.concat(frames, ignore_index=True)


def source(df: pd.DataFrame) -> Any:
    return st.from_pandas(df, target="sales", series="store", time="date")


def run_statetune(
    df: pd.DataFrame, n_trials: int, folds: int, max_lag: int, repeat: int
) -> dict[str, Any]:
    """``repeat`` st.tune runs (source + pass + trials); median wall time and timings."""
    walls, timings, results = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = st.tune(
            source(df),
            [ALG],
            n_trials=n_trials,
            cv=folds,
            metric="mse",
            storage="memory",
            seed=SEED,
            max_lag=max_lag,
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


def to_arrays(df: pd.DataFrame) -> list[np.ndarray]:
    """Each store's sales in date order (what the peer starts from)."""
    df = df.sort_values(["store", "date"], kind="stable")
    return [g.to_numpy(np.float64) for _, g in df.groupby("store", sort=True)["sales"]]


def lags_of(params: Mapping[str, Any]) -> list[int]:
    p, s = int(params["p"]), int(params["seasonal_lag"])
    return list(range(1, p + 1)) + ([s] if s > p else [])


def lag_rows(
    y: np.ndarray, lags: Sequence[int], d: int, lo: int, hi: int, max_lag: int
) -> tuple[np.ndarray, np.ndarray]:
    """Explicit lag matrix ``[Δ^d y_{t-j} for j in lags]`` and target ``Δ^d y_t`` for the times
    ``t`` in ``[lo, hi)`` with at least ``max_lag`` predecessors (lags from the full series)."""
    z = np.diff(y, d) if d else y  # z[i] = Δ^d y_{i+d}
    t = np.arange(max(lo, max_lag), min(hi, len(y)))
    X = np.column_stack([z[t - d - j] for j in lags])
    return X, z[t - d]


def fit_peer(X: np.ndarray, z: np.ndarray, alpha: float, trend: str) -> Any:
    fi = trend == "c"
    if alpha == 0.0:
        return LinearRegression(fit_intercept=fi).fit(X, z)
    return Ridge(alpha=alpha, fit_intercept=fi).fit(X, z)


def peer_fold(
    series: Sequence[np.ndarray],
    params: Mapping[str, Any],
    window: tuple[int, int],
    max_lag: int,
) -> float:
    """Refit on every series' values before the held-out window, one-step MSE on it."""
    lags, d = lags_of(params), int(params["d"])
    lo, hi = window
    train = [lag_rows(y, lags, d, 0, lo, max_lag) for y in series]
    held = [lag_rows(y, lags, d, lo, hi, max_lag) for y in series]
    model = fit_peer(
        np.vstack([X for X, _ in train]),
        np.concatenate([z for _, z in train]),
        float(params["alpha"]),
        params["trend"],
    )
    Xh, zh = np.vstack([X for X, _ in held]), np.concatenate([z for _, z in held])
    return float(np.mean((zh - model.predict(Xh)) ** 2))


def peer_fold_scores(
    series: Sequence[np.ndarray],
    params: Mapping[str, Any],
    windows: Sequence[tuple[int, int]],
    max_lag: int,
) -> np.ndarray:
    return np.array([peer_fold(series, params, w, max_lag) for w in windows])


def run_peer(
    df: pd.DataFrame,
    dists: Mapping[str, Any],
    windows: Sequence[tuple[int, int]],
    max_lag: int,
    n_trials: int,
) -> dict[str, Any]:
    """Plain Optuna + per-fold refits from the raw series, unpruned as st.tune's default
    leaves folds this cheap (see :mod:`statetune.tuner.pruning`)."""
    trial_seconds: list[float] = []
    t0 = time.perf_counter()
    series = to_arrays(df)

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, dists)
        t = time.perf_counter()
        scores: list[float] = []
        try:
            for window in windows:
                scores.append(peer_fold(series, params, window, max_lag))
        finally:
            trial_seconds.append(time.perf_counter() - t)
        return float(np.mean(scores))

    study = optuna.create_study(
        direction="minimize", sampler=tpe(SEED), pruner=optuna.pruners.NopPruner()
    )
    study.optimize(objective, n_trials=n_trials)
    return {
        "wall": time.perf_counter() - t0,
        "trial_median": statistics.median(trial_seconds),
        "trial_total": sum(trial_seconds),
        "study": study,
        "series": series,
    }


def check_statsmodels(y: np.ndarray, max_lag: int) -> float:
    """Max relative difference of the peer's lag-matrix OLS vs statsmodels ``AutoReg`` (one
    series, alpha = 0) over a few lag sets, differencing orders and trends."""
    worst = 0.0
    for params in (
        {"p": 2, "seasonal_lag": 7, "d": 0, "trend": "c"},
        {"p": 3, "seasonal_lag": 0, "d": 1, "trend": "n"},
        {"p": 5, "seasonal_lag": 7, "d": 1, "trend": "c"},
    ):
        lags, d = lags_of(params), params["d"]
        X, z = lag_rows(y, lags, d, 0, len(y), max_lag)
        m = fit_peer(X, z, 0.0, params["trend"])
        ours = np.r_[m.intercept_, m.coef_] if params["trend"] == "c" else m.coef_
        res = AutoReg(
            np.diff(y, d) if d else y, lags=lags, trend=params["trend"], hold_back=max_lag - d
        ).fit()
        worst = max(worst, float(np.max(np.abs(ours - res.params) / np.abs(res.params))))
    return worst


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=20)
    ap.add_argument("--length", type=int, default=5000)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--max-lag", type=int, default=8)
    ap.add_argument(
        "--repeat", type=int, default=5, help="runs of each side, statetune and the peer (median)"
    )
    ap.add_argument(
        "--refit-trials",
        type=int,
        default=None,
        help="trials the peer actually runs (default: all; fewer -> the total is estimated)",
    )
    args = ap.parse_args()
    S, L, T, K, P = args.series, args.length, args.trials, args.folds, args.max_lag
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    df = series_data(S, L)
    print(
        f"data {S} series x {L:,} daily values ({len(df):,} rows), {K} rolling-origin folds, "
        f"max_lag {P}, {T} trials (statetune and the peer each run {args.repeat}x, median)"
    )
    # One StateSet (untimed) for the search space, the fold layout and scoring fixed params.
    states = st.compute_states(source(df), [ALG], folds=K, max_lag=P)
    dates = np.sort(df["date"].unique()).astype("datetime64[ns]").view(np.int64)
    windows = [
        (
            int(np.searchsorted(dates, w.held_start.value)),
            int(np.searchsorted(dates, w.held_end.value)),
        )
        for w in states.fold_windows()
    ]
    print(f"held-out windows (indices of each series' values): {windows}")
    series = to_arrays(df)

    # 0. the peer reproduces statetune's folds and model exactly
    sm_diff = check_statsmodels(series[0][: windows[0][0]], P)
    fixed_diff = 0.0
    for params in FIXED_PARAMS:
        a = states.fold_scores(ALG, params, "mse")
        b = peer_fold_scores(series, params, windows, P)
        fixed_diff = max(fixed_diff, float(np.max(np.abs(a - b) / np.abs(b))))
    print(
        f"check: peer lag-matrix OLS vs statsmodels AutoReg (1 series, alpha=0): max rel diff "
        f"{sm_diff:.2e}; statetune fold_scores vs peer on {len(FIXED_PARAMS)} fixed param sets: "
        f"max rel diff {fixed_diff:.2e}"
    )

    # (a) statetune
    s = run_statetune(df, T, K, P, args.repeat)
    st_study = s["result"].study
    tm = s["timings"]

    # (b) the peer, same sampler / pruner / space / folds
    dists = {p: d.to_optuna() for p, d in states.search_space(ALG).items()}
    n_peer = min(T, args.refit_trials or T)
    peer_runs = [run_peer(df, dists, windows, P, n_peer) for _ in range(args.repeat)]
    b = peer_runs[0]
    peer_walls = [p["wall"] for p in peer_runs]
    b["wall"] = statistics.median(peer_walls)
    b["trial_median"] = statistics.median(p["trial_median"] for p in peer_runs)
    b["trial_total"] = statistics.median(p["trial_total"] for p in peer_runs)
    peer_trials = b["study"].trials
    overhead = tm["sampler"] + tm["storage"]
    if n_peer == T:
        peer_total, peer_kind = b["wall"], "measured"
    else:
        peer_total, peer_kind = T * b["trial_median"] + overhead, "estimated"

    # agreement, trial by trial
    same_params = same_state = True
    val_diffs: list[float] = []
    for pt in peer_trials:
        sft = st_study.trials[pt.number]
        same_params &= pt.params == split_params(sft.params, ALG)[1]
        same_state &= pt.state == sft.state
        if pt.value is not None and sft.value is not None:
            val_diffs.append(rel_diff(pt.value, sft.value))
    complete = [t for t in peer_trials if t.state == optuna.trial.TrialState.COMPLETE]
    peer_best = min(complete, key=lambda t: t.value)
    st_best = st_study.best_trial
    st_of_peer_best = states.validation_score(ALG, peer_best.params, "mse")
    peer_of_st_best = float(
        np.mean(peer_fold_scores(series, split_params(st_best.params, ALG)[1], windows, P))
    )
    best_diff = max(
        rel_diff(st_of_peer_best, peer_best.value), rel_diff(peer_of_st_best, st_best.value)
    )
    max_val_diff = max(val_diffs)
    states_count = {
        str(k.name).lower(): sum(t.state == k for t in st_study.trials)
        for k in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    }

    rows = [
        {
            "method": "statetune st.tune",
            "trials": T,
            "wall_s": round(s["wall"], 4),
            "measured_or_estimated": "measured",
            "runs": args.repeat,
            "min_s": round(min(s["walls"]), 4),
            "max_s": round(max(s["walls"]), 4),
            "pass_s": round(tm["pass"], 4),
            "sampler_s": round(tm["sampler"], 4),
            "finalize_and_score_s": round(tm["finalize_and_score"], 4),
            "storage_s": round(tm["storage"], 4),
            "best_mse": float(f"{st_best.value:.12g}"),
            "best_params": str(st_best.params),
            "max_rel_diff_vs_statetune": "",
            "notes": (
                f"median of {args.repeat} (runs {', '.join(f'{w:.2f}' for w in s['walls'])} s); "
                f"from_pandas + pass + trials; no pruning; {states_count}; best value "
                f"identical in all runs: {len(set(s['best_values'])) == 1}"
            ),
        },
        {
            "method": "optuna + lag-matrix Ridge refit",
            "trials": n_peer,
            "wall_s": round(b["wall"], 4),
            "measured_or_estimated": "measured",
            "runs": args.repeat,
            "min_s": round(min(peer_walls), 4),
            "max_s": round(max(peer_walls), 4),
            "pass_s": "",
            "sampler_s": "",
            "finalize_and_score_s": round(b["trial_total"], 4),
            "storage_s": "",
            "best_mse": float(f"{peer_best.value:.12g}"),
            "best_params": str(peer_best.params),
            "max_rel_diff_vs_statetune": float(f"{max_val_diff:.3g}"),
            "notes": (
                f"median of {args.repeat} runs (runs {', '.join(f'{w:.2f}' for w in peer_walls)} "
                f"s); median trial {1e3 * b['trial_median']:.1f} ms; same params as "
                f"statetune trial by trial: {same_params}; same pruned/complete: {same_state}"
            ),
        },
    ]
    if peer_kind == "estimated":
        rows.append(
            {
                **rows[-1],
                "trials": T,
                "wall_s": round(peer_total, 4),
                "measured_or_estimated": "estimated",
                "min_s": "",
                "max_s": "",
                "finalize_and_score_s": "",
                "best_mse": "",
                "best_params": "",
                "max_rel_diff_vs_statetune": "",
                "notes": (
                    f"{T} x median objective ({1e3 * b['trial_median']:.1f} ms, from {n_peer} "
                    f"measured) + statetune's TPE sampler + storage time ({overhead:.2f} s)"
                ),
            }
        )
    write_csv("forecast_speedup", rows)
    full = [r for r in rows if r["trials"] == T]
    log_bar_chart(
        "forecast_speedup",
        [f"{r['method']} ({r['trials']} trials)" for r in full],
        [float(r["wall_s"]) for r in full],
        [r["measured_or_estimated"] == "estimated" for r in full],
        f"Forecast tuning wall time: {S} series x {L:,} values, {K} rolling-origin folds, "
        f"max_lag {P}",
    )

    print(f"\n{'method':<34} {'trials':>6} {'wall s':>9} {'kind':<10} {'best mse':>12}")
    for r in rows:
        bm = f"{r['best_mse']:.8f}" if r["best_mse"] != "" else ""
        print(
            f"{r['method']:<34} {r['trials']:>6} {r['wall_s']:>9.3f} "
            f"{r['measured_or_estimated']:<10} {bm:>12}"
        )
    print("\nstatetune timings (median, s): " + "  ".join(f"{k} {tm[k]:.3f}" for k in TIMING_KEYS))
    print(f"statetune trials: {states_count}")
    print(
        f"statetune: {spread(s['walls'])}\npeer: {n_peer} trials, {spread(peer_walls)} "
        f"(objective {b['trial_total']:.2f} s, median trial {1e3 * b['trial_median']:.1f} ms)"
    )
    print(
        f"\nratio of medians, peer ({peer_kind}) / statetune: {peer_total / s['wall']:,.1f}x   "
        f"({peer_total:.2f} s / {s['wall']:.3f} s; {args.repeat} runs each)"
    )
    print(
        f"agreement: same params trial by trial: {same_params}; same pruned/complete: "
        f"{same_state}; max rel diff of trial values {max_val_diff:.2e} "
        f"({len(val_diffs)} trials)"
    )
    print(
        f"best: statetune {st_best.value:.10f} (trial {st_best.number}, {st_best.params}); "
        f"peer {peer_best.value:.10f} (trial {peer_best.number}); statetune's score of the "
        f"peer's best {st_of_peer_best:.10f}, peer's score of statetune's best "
        f"{peer_of_st_best:.10f}; max rel diff {best_diff:.2e}"
    )
    print(f"\nwrote {RESULTS / 'forecast_speedup.csv'} and {RESULTS / 'forecast_speedup.png'}")


if __name__ == "__main__":
    main()
