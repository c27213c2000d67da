"""Figures of a study: Optuna's matplotlib plots plus a per-algorithm comparison.

Every algorithm of the study appears in ``"algorithms"``, also one whose trials were all pruned
or failed (pruned trials are hollow markers at their last reported running mean); no axis is
clipped; ``"folds"`` shows the spread of the fold scores of the best trials; integer
parameters get integer ticks.

Example
-------
>>> from statetune.tuner.plots import PLOT_KINDS
>>> PLOT_KINDS
('history', 'importances', 'slice', 'algorithms', 'folds')
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PLOT_KINDS", "TOP_TRIALS", "make_plot", "window_label"]

PLOT_KINDS = ("history", "importances", "slice", "algorithms", "folds")
TOP_TRIALS = 10  # trials whose fold scores the shuffled-folds plot shows
LOG_SPREAD = 20.0  # positive values spanning more than this factor get a log axis

COMPLETE_LABEL = "complete trial"
PRUNED_LABEL = "pruned trial (last reported running mean)"
BEST_LABEL = "best"


def _figure(ax: Any) -> Any:
    first = np.ravel(ax)[0] if isinstance(ax, np.ndarray) else ax
    return first.get_figure()


def _last_reported(study: Any) -> dict[int, float]:
    """Trial number -> the last intermediate value it reported (pruned trials' only score)."""
    if study is None:
        return {}
    out = {}
    for t in study.get_trials(deepcopy=False):
        if t.intermediate_values:
            out[t.number] = float(t.intermediate_values[max(t.intermediate_values)])
    return out


def _algorithm_order(trials: pd.DataFrame, study: Any) -> list[str]:
    """The study's algorithms in the order given to ``tune`` (also those without a trial),
    then any other algorithm a trial names."""
    declared = []
    if study is not None:
        declared = list(getattr(study, "user_attrs", {}).get("algorithms") or [])
    return list(dict.fromkeys([*declared, *trials["algorithm"].dropna()]))


def algorithms_plot(trials: pd.DataFrame, metric: str, maximize: bool, study: Any = None) -> Any:
    """Every trial's score per algorithm: filled dots for complete trials, hollow circles for
    pruned ones (at the running mean they last reported), a bar mark at each algorithm's best.
    Every algorithm of the study gets a column, with its counts under its name; one without a
    complete trial says so. The axis holds every point (a log axis when positive scores span
    more than a factor of :data:`LOG_SPREAD`); scores that cannot be drawn (infinite) are
    counted in the title."""
    import matplotlib.pyplot as plt

    last = _last_reported(study)
    algs = _algorithm_order(trials, study)
    fig, ax = plt.subplots(figsize=(max(9.0, 1.5 * len(algs) + 4), 4.8))
    rng = np.random.default_rng(0)
    counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
    n_hidden = 0
    shown: list[float] = []
    done_pts: list[tuple[float, float]] = []
    pruned_pts: list[tuple[float, float]] = []
    best_pts: list[tuple[float, float]] = []
    labels = []
    empty = []
    for i, alg in enumerate(algs):
        mine = trials[trials["algorithm"] == alg]
        n = {s: int((mine["state"] == s).sum()) for s in counts}
        for s in counts:
            counts[s] += n[s]
        done = mine.loc[mine["state"] == "COMPLETE", "value"].to_numpy(dtype=float)
        pruned = np.array(
            [last.get(int(k), np.nan) for k in mine.loc[mine["state"] == "PRUNED", "number"]],
            dtype=float,
        )
        for vals, pts in ((done, done_pts), (pruned, pruned_pts)):
            ok = vals[np.isfinite(vals)]
            n_hidden += int(np.sum(~np.isnan(vals) & ~np.isfinite(vals)))
            pts.extend(zip(i + rng.uniform(-0.18, 0.18, ok.size), ok, strict=True))
            shown.extend(ok)
        finite_done = done[np.isfinite(done)]
        if finite_done.size:
            best_pts.append((i, float(finite_done.max() if maximize else finite_done.min())))
        else:
            empty.append(i)
        parts = [f"{n['COMPLETE']} complete"]
        parts += [f"{n[s]} {w}" for s, w in (("PRUNED", "pruned"), ("FAIL", "failed")) if n[s]]
        labels.append(f"{alg}\n" + "\n".join(parts))
    if done_pts:
        xs, ys = zip(*done_pts, strict=True)
        ax.scatter(xs, ys, s=16, color="#224488", alpha=0.55, label=COMPLETE_LABEL)
    if pruned_pts:
        xs, ys = zip(*pruned_pts, strict=True)
        ax.scatter(xs, ys, s=30, facecolors="none", edgecolors="#dd7722", label=PRUNED_LABEL)
    if best_pts:
        xs, ys = zip(*best_pts, strict=True)
        ax.scatter(xs, ys, s=900, marker="_", linewidths=2.5, color="#cc2222", label=BEST_LABEL)
        for x, y in best_pts:
            ax.annotate(
                f"{y:.4g}", (x, y), xytext=(24, 0), textcoords="offset points", va="center",
                fontsize=8, color="#cc2222",
            )  # fmt: skip
    positive = bool(shown) and min(shown) > 0
    if positive and max(shown) / min(shown) > LOG_SPREAD:
        ax.set_yscale("log")
    lo, hi = (min(shown), max(shown)) if shown else (0.0, 1.0)
    for i in empty:
        ax.text(
            i, math.sqrt(lo * hi) if ax.get_yscale() == "log" else (lo + hi) / 2,
            "no complete trial", ha="center", va="center", rotation=90, fontsize=9,
            color="#666666",
        )  # fmt: skip
    ax.set_xticks(range(len(algs)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlim(-0.6, len(algs) - 0.4)
    scale = ", log scale" if ax.get_yscale() == "log" else ""
    ax.set_ylabel(f"{metric} ({'higher' if maximize else 'lower'} is better{scale})")
    total = len(trials)
    title = (
        f"{metric} per algorithm, {'higher' if maximize else 'lower'} is better: "
        f"{total} trials ({counts['COMPLETE']} complete, {counts['PRUNED']} pruned, "
        f"{counts['FAIL']} failed)"
    )
    if n_hidden:
        title += f"\n{n_hidden} infinite score(s) not drawn"
    ax.set_title(title, fontsize=10)
    if done_pts or pruned_pts:
        legend = ax.legend(
            fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0
        )
        for handle in legend.legend_handles:
            if handle is not None and handle.get_label() == BEST_LABEL:
                handle.set_sizes([150])  # type: ignore[attr-defined]
    fig.tight_layout()
    return fig


def window_label(window: Any) -> str:
    """``first .. last`` held-out time of a fold window (dates without a midnight time)."""

    def show(t: Any) -> str:
        if isinstance(t, pd.Timestamp):
            return str(t.date()) if t == t.normalize() else str(t)
        return f"{t:g}" if isinstance(t, float) else str(t)

    return f"{show(window.first_held)}\n..{show(window.last_held)}"


def _time_folds_plot(
    done: pd.DataFrame,
    metric: str,
    maximize: bool,
    time_folds: bool,
    windows: Sequence[Any] | None,
) -> Any:
    """The best trial's score on each rolling origin, in time order."""
    import matplotlib.pyplot as plt

    values = done["value"].to_numpy(dtype=float)
    best = done.iloc[int(np.argmax(values) if maximize else np.argmin(values))]
    scores = np.asarray(best["fold_scores"], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(range(len(scores)), scores, color="#88bbee")
    ax.axhline(float(np.mean(scores)), color="#224488", linestyle="--", label="mean")
    ax.set_xticks(range(len(scores)))
    if windows is not None and len(windows) == len(scores):
        by = "positions in each series" if windows[0].by == "position" else "times"
        ax.set_xticklabels([window_label(w) for w in windows], fontsize=8)
        ax.set_xlabel(f"held-out window ({by}; trained on everything earlier)")
    else:
        ax.set_xlabel("rolling origin (later time windows to the right)" if time_folds else "fold")
    ax.set_ylabel(metric)
    ax.set_title(f"Best trial ({best['algorithm']}, #{int(best['number'])}): score per fold")
    ax.legend()
    fig.tight_layout()
    return fig


def folds_plot(
    trials: pd.DataFrame,
    metric: str,
    maximize: bool,
    time_folds: bool,
    windows: Sequence[Any] | None = None,
    top: int = TOP_TRIALS,
) -> Any:
    """Series (``time_folds``): the best trial's score on each rolling origin, in time order
    (``windows``: the states' :meth:`~statetune.engine.StateSet.fold_windows`, which label the
    bars with the times each fold holds out). Shuffled folds: the per-fold scores of the
    ``top`` best complete trials, best first, one box and its points per trial (the points of
    trial ``n`` carry ``gid="trial-n"``), so the spread over folds can be read against the
    differences between trials."""
    import matplotlib.pyplot as plt

    done = trials[trials["state"] == "COMPLETE"]
    done = done[done["fold_scores"].notna()]
    if done.empty:
        raise ValueError("The folds plot needs a completed trial with fold scores, but has none.")
    if time_folds:
        return _time_folds_plot(done, metric, maximize, time_folds, windows)
    ranked = done.sort_values(["value", "number"], ascending=[not maximize, True]).head(top)
    scores = [np.asarray(s, dtype=float) for s in ranked["fold_scores"]]
    fig, ax = plt.subplots(figsize=(max(9.0, 0.8 * len(scores) + 4), 4.5))
    ax.boxplot(scores, positions=range(len(scores)), widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)
    for i, (number, s) in enumerate(zip(ranked["number"], scores, strict=True)):
        ax.scatter(
            i + rng.uniform(-0.12, 0.12, s.size), s, s=14, color="#224488", alpha=0.7,
            gid=f"trial-{int(number)}", zorder=3, label="one fold" if i == 0 else None,
        )  # fmt: skip
    means = [float(np.mean(s)) for s in scores]
    ax.scatter(
        range(len(scores)), means, marker="D", s=30, color="#cc2222", zorder=4,
        label="mean over folds (the trial's score)",
    )  # fmt: skip
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_xticks(range(len(scores)))
    ax.set_xticklabels(
        [f"#{int(n)}\n{a}" for n, a in zip(ranked["number"], ranked["algorithm"], strict=True)],
        fontsize=8,
    )
    n_folds = max(s.size for s in scores)
    ax.set_xlabel(f"the {len(scores)} best trials, best first (trial number, algorithm)")
    ax.set_ylabel(f"{metric} on one held-out fold")
    ax.set_title(
        f"Spread of the {n_folds} fold scores of the {len(scores)} best of {len(done)} "
        f"complete trials ({'higher' if maximize else 'lower'} is better)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _integer_ticks(fig: Any, study: Any) -> None:
    """Integer locators on axes of integer parameters (non-log) and of trial numbers; the
    algorithm names of a slice plot turned so they do not overlap."""
    from matplotlib.ticker import MaxNLocator
    from optuna.distributions import IntDistribution

    ints = set()
    for t in study.get_trials(deepcopy=False):
        for name, dist in t.distributions.items():
            if isinstance(dist, IntDistribution) and not dist.log:
                ints.add(name)
    for ax in fig.axes:
        if ax.get_xlabel() == "algorithm":  # long category names would overlap
            ax.tick_params(axis="x", labelrotation=30)
        for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
            if (label in ints or label == "Trial") and axis.get_scale() == "linear":
                axis.set_major_locator(MaxNLocator(nbins=5, integer=True))


def make_plot(
    kind: str,
    study: Any,
    trials: pd.DataFrame,
    metric: str,
    maximize: bool,
    time_folds: bool = False,
    windows: Sequence[Any] | None = None,
) -> Any:
    """A matplotlib Figure of ``kind`` (one of :data:`PLOT_KINDS`); ``windows`` labels the
    folds of series data."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.visualization import matplotlib as ovm

    if kind not in PLOT_KINDS:
        raise ValueError(f"`kind` must be one of {PLOT_KINDS}, but got {kind!r}.")
    if (trials["state"] == "COMPLETE").sum() == 0 and kind != "algorithms":
        raise ValueError("Plots need at least one completed trial, but the study has none.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if kind in ("history", "slice"):
            plot = ovm.plot_optimization_history if kind == "history" else ovm.plot_slice
            fig = _figure(plot(study, target_name=metric))
            _integer_ticks(fig, study)
            return fig
        if kind == "importances":
            return _figure(ovm.plot_param_importances(study, target_name=metric))
    if kind == "folds":
        return folds_plot(trials, metric, maximize, time_folds, windows)
    if trials.empty:
        raise ValueError("The algorithms plot needs at least one trial, but the study has none.")
    return algorithms_plot(trials, metric, maximize, study)
