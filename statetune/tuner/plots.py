"""Figures of a study: Optuna's matplotlib plots plus a per-algorithm comparison.

Example
-------
>>> from statetune.tuner.plots import PLOT_KINDS
>>> PLOT_KINDS
('history', 'importances', 'slice', 'algorithms', 'folds')
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["PLOT_KINDS", "make_plot", "window_label"]

PLOT_KINDS = ("history", "importances", "slice", "algorithms", "folds")


def _figure(ax: Any) -> Any:
    import numpy as np

    first = np.ravel(ax)[0] if isinstance(ax, np.ndarray) else ax
    return first.get_figure()


def algorithms_plot(trials: pd.DataFrame, metric: str, maximize: bool) -> Any:
    """Best value per algorithm (bars) over every completed trial's value (dots)."""
    import matplotlib.pyplot as plt

    done = trials[trials["state"] == "COMPLETE"]
    fig, ax = plt.subplots(figsize=(7, 4))
    algs = list(dict.fromkeys(done["algorithm"]))
    best = [
        done.loc[done["algorithm"] == a, "value"].agg("max" if maximize else "min") for a in algs
    ]
    ax.bar(algs, best, color="#88bbee", label=f"best {metric}")
    for i, a in enumerate(algs):
        vals = done.loc[done["algorithm"] == a, "value"]
        ax.scatter([i] * len(vals), vals, s=8, color="#224488", alpha=0.5)
    ax.set_ylabel(f"{metric} ({'higher' if maximize else 'lower'} is better)")
    ax.set_title("Best cross-validated score per algorithm (dots: every trial)")
    lo = min(done["value"].min(), min(best))
    hi = max(done["value"].quantile(0.9), max(best))
    if hi > lo:
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    fig.tight_layout()
    return fig


def window_label(window: Any) -> str:
    """``first .. last`` held-out time of a fold window (dates without a midnight time)."""

    def show(t: Any) -> str:
        if isinstance(t, pd.Timestamp):
            return str(t.date()) if t == t.normalize() else str(t)
        return f"{t:g}" if isinstance(t, float) else str(t)

    return f"{show(window.first_held)}\n..{show(window.last_held)}"


def folds_plot(
    trials: pd.DataFrame,
    metric: str,
    maximize: bool,
    time_folds: bool,
    windows: Sequence[Any] | None = None,
) -> Any:
    """The best trial's score on each fold; for series, folds are rolling origins in time
    order, so the bars show how the chosen model's error moves through the held-out windows
    (``windows``: the states' :meth:`~statetune.engine.StateSet.fold_windows`, which label the
    bars with the times each fold holds out)."""
    import matplotlib.pyplot as plt
    import numpy as np

    done = trials[trials["state"] == "COMPLETE"]
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
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        pass
    from optuna.exceptions import ExperimentalWarning
    from optuna.visualization import matplotlib as ovm

    if kind not in PLOT_KINDS:
        raise ValueError(f"`kind` must be one of {PLOT_KINDS}, but got {kind!r}.")
    if (trials["state"] == "COMPLETE").sum() == 0:
        raise ValueError("Plots need at least one completed trial, but the study has none.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if kind == "history":
            return _figure(ovm.plot_optimization_history(study, target_name=metric))
        if kind == "importances":
            return _figure(ovm.plot_param_importances(study, target_name=metric))
        if kind == "slice":
            return _figure(ovm.plot_slice(study, target_name=metric))
    if kind == "folds":
        return folds_plot(trials, metric, maximize, time_folds, windows)
    return algorithms_plot(trials, metric, maximize)
