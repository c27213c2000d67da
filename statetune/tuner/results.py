"""``TuneResult``: the study, the best model (finalized on all rows, no extra pass), trials,
timings and plots.

Example
-------
>>> import numpy as np, statetune as st
>>> X = np.random.default_rng(0).normal(size=(200, 3)); y = X @ [1.0, 0.0, 2.0]
>>> r = st.tune(st.from_arrays(X, y), ["ridge"], n_trials=5, cv=3, storage="memory")
>>> r.best_algorithm, r.trials.shape[0]
('ridge', 5)
"""

from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from statetune.state_cache.files import atomic_write
from statetune.tuner.plots import PLOT_KINDS, make_plot, window_label
from statetune.tuner.space import params_in_space, split_params
from statetune.validation import StateSet

__all__ = ["TuneResult"]


@dataclass
class TuneResult:
    """What :func:`statetune.tune` returns."""

    study: Any
    states: StateSet
    spaces: dict[str, dict[str, Any]]
    metric: str
    maximize: bool
    timings: dict[str, float] = field(default_factory=dict)
    n_new_trials: int = 0

    @property
    def best_trial(self) -> Any:
        """The best completed trial inside the search space of this run (the first of ties,
        as Optuna's ``study.best_trial``). A study resumed with ``resume=True`` in another
        space keeps older trials outside it: they never give the best."""
        from optuna.trial import TrialState

        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        inside = [t for t in done if params_in_space(t.params, self.spaces)]
        if not inside and done:
            raise ValueError(
                f"A best trial must lie in this run's search space, but the {len(done)} "
                f"completed trial(s) of study {self.study.study_name!r} all lie outside it "
                "(trials of an earlier search space); run trials in this one."
            )
        if not inside:
            reasons = self.fail_reasons
            shown = "; ".join(f"{r!r} ({n} trial{'s' * (n > 1)})" for r, n in reasons[:3])
            more = f" and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            why = f" First distinct fail reasons: {shown}{more}." if reasons else ""
            raise ValueError(
                "A best trial needs at least one completed trial, but every trial failed or was "
                f"pruned.{why} See result.fail_reasons and result.trials['fail_reason']."
            )
        pick = max if self.maximize else min
        return pick(inside, key=lambda t: t.value)

    @property
    def fail_reasons(self) -> list[tuple[str, int]]:
        """The distinct ``fail_reason`` of failed trials, in order of first appearance, with
        how many trials failed so (trials of an older search space included)."""
        from optuna.trial import TrialState

        counts: dict[str, int] = {}
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
            reason = str(t.user_attrs.get("fail_reason", "no reason recorded"))
            counts[reason] = counts.get(reason, 0) + 1
        return list(counts.items())

    @property
    def counts(self) -> pd.DataFrame:
        """Per tuned algorithm (index, every one): trials inside this run's search space
        by state (``complete``, ``pruned``, ``failed``, ``running``) and the ``best`` complete
        value (NaN when none completed)."""
        df = self.trials
        df = df[df["in_space"]]
        rows = {}
        for alg in self.spaces:
            mine = df[df["algorithm"] == alg]
            done = mine.loc[mine["state"] == "COMPLETE", "value"]
            best = (done.max() if self.maximize else done.min()) if len(done) else float("nan")
            rows[alg] = {
                "trials": len(mine),
                "complete": len(done),
                "pruned": int((mine["state"] == "PRUNED").sum()),
                "failed": int((mine["state"] == "FAIL").sum()),
                "running": int(mine["state"].isin(["RUNNING", "WAITING"]).sum()),
                "best": float(best),
            }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "algorithm"
        return out

    @property
    def best_algorithm(self) -> str:
        return split_params(self.best_trial.params, next(iter(self.spaces)))[0]

    @property
    def best_params(self) -> dict[str, Any]:
        """Hyperparameters of the best trial, with scikit-learn names."""
        return split_params(self.best_trial.params, next(iter(self.spaces)))[1]

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)

    @cached_property
    def best_model(self) -> Any:
        """The best algorithm finalized on all rows (the merge of every fold): no data pass."""
        return self.states.finalize(self.best_algorithm, self.best_params)

    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial: number, state, value, algorithm, parameters (columns
        ``"<algorithm>:<param>"``, the study's names), fold scores, how
        they were computed (``validation``: held-out state or sample), seconds, reasons, and
        ``in_space`` (the parameters lie in this run's search space)."""
        rows = []
        default = next(iter(self.spaces))
        for t in self.study.trials:
            alg, params = split_params(t.params, default)
            rows.append(
                {
                    "number": t.number,
                    "state": t.state.name,
                    "value": t.value,
                    "algorithm": alg,
                    **{f"{alg}:{k}": v for k, v in params.items()},
                    "fold_scores": t.user_attrs.get("fold_scores"),
                    "validation": t.user_attrs.get("validation"),
                    "seconds": t.duration.total_seconds() if t.duration else None,
                    "fail_reason": t.user_attrs.get("fail_reason"),
                    "in_space": params_in_space(t.params, self.spaces),
                }
            )
        return pd.DataFrame(rows)

    @property
    def fold_windows(self) -> pd.DataFrame | None:
        """Series data: one row per fold with its window of time (``train_end``,
        ``held_start``, ``held_end`` and the held-out values' ``first_held``/``last_held``,
        as timestamps for datetimes, or positions in each series without a time column),
        the values trained on and held out and the series validated; the scores of
        ``trials["fold_scores"]`` follow this order. ``None`` for shuffled folds."""
        if not getattr(self.states.folds, "is_time", False):
            return None
        return pd.DataFrame([w.as_dict() for w in self.states.fold_windows()])

    def plot(self, kind: str = "history") -> Any:
        """A matplotlib Figure: ``"history"``, ``"importances"``, ``"slice"``, ``"algorithms"``
        or ``"folds"`` (the best trial's score per fold; for series, rolling origins labelled
        with the times each fold holds out)."""
        time_folds = bool(getattr(self.states.folds, "is_time", False))
        windows = self.states.fold_windows() if time_folds and kind == "folds" else None
        trials = self.trials
        trials = trials[trials["in_space"]]  # as best_trial: never a trial of an older space
        return make_plot(kind, self.study, trials, self.metric, self.maximize, time_folds, windows)

    def save_plots(self, folder: str | Path) -> list[Path]:
        """Every plot that applies, as PNG files in ``folder``."""
        import matplotlib.pyplot as plt

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for kind in PLOT_KINDS:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # Optuna's few-trials notes
                    fig = self.plot(kind)
            except (ValueError, RuntimeError):
                continue  # e.g. importances need two or more parameters
            path = folder / f"{kind}.png"
            try:  # atomic: a full disk names the file and leaves no partial PNG
                atomic_write(path, functools.partial(_png, fig))
            finally:
                plt.close(fig)
            paths.append(path)
        return paths

    @property
    def cache_report(self) -> Any:
        """What the state cache did for this run's pass (rows read, rows from the cache), or
        None when the pass ran without a cache (see :class:`statetune.state_cache.CacheReport`)."""
        return getattr(self.states, "cache_report", None)

    @property
    def preprocessing(self) -> dict[str, Any] | None:
        """What was done to a table with text columns or missing values, or None for a
        numeric table: the source's part (columns one-hot encoded with their level counts,
        columns with missing values, rows dropped for a missing target) and, under
        ``"best_model"``, the best model's fitted part (imputation means, indicators,
        infrequent and unseen levels, columns dropped as missing in every training row)."""
        source = self.states.schema.preprocessing
        if source is None:
            return None
        fitted = getattr(self.best_model, "preprocessing_", None) if self._has_best else None
        return {**source, "best_model": None if fitted is None else fitted.summary()}

    @property
    def _has_best(self) -> bool:
        try:
            _ = self.best_trial
        except ValueError:
            return False
        return True

    def summary(self) -> str:
        """A short table: best per algorithm, the winner, the held-out windows (series) and
        where the time went."""
        counts = self.counts
        width = max(14, *(len(a) + 2 for a in counts.index))
        lines = [
            f"{'algorithm':<{width}}{'trials':>8}{'complete':>10}{'pruned':>8}{'failed':>8}"
            f"{'best ' + self.metric:>18}"
        ]
        for alg, row in counts.iterrows():
            best = f"{row['best']:.6g}" if row["complete"] else "no complete trial"
            lines.append(
                f"{alg!s:<{width}}{int(row['trials']):>8}{int(row['complete']):>10}"
                f"{int(row['pruned']):>8}{int(row['failed']):>8}{best:>18}"
            )
        if int(counts["complete"].sum()):
            lines.append(
                f"best: {self.best_algorithm} {self.best_params} -> "
                f"{self.metric}={self.best_value:.6g}"
            )
        else:
            shown = "; ".join(f"{r} ({n})" for r, n in self.fail_reasons[:3])
            lines.append(f"best: no complete trial. First fail reasons: {shown or 'none'}")
        if getattr(self.states.folds, "is_time", False):
            windows = self.states.fold_windows()
            shown = ", ".join(window_label(w).replace("\n", "") for w in windows)
            by = " (positions in each series)" if windows[0].by == "position" else ""
            lines.append(f"held-out windows{by}: {shown}")
        prep = self.states.schema.preprocessing
        if prep is not None:
            lines.append(f"preprocessing: {_prep_line(prep)}")
        if self.cache_report is not None:
            lines.append(str(self.cache_report))
        if self.timings:
            parts = ", ".join(f"{k} {v:.3f}s" for k, v in self.timings.items())
            lines.append(f"time: {parts}")
        return "\n".join(lines)

    def save(self, folder: str | Path) -> Path:
        """Write ``best_model/``, ``trials.csv``, ``summary.json`` and the plots to ``folder``
        (and ``fold_windows.csv`` for series data), each file atomically (a full disk raises
        :class:`~statetune.state_cache.files.DiskFullError` naming the file).

        When no trial completed, ``trials.csv`` (with each ``fail_reason``) and
        ``summary.json`` (with ``fail_reasons``) are written, then the ``ValueError`` of
        :attr:`best_trial` naming the first distinct reasons is raised."""
        from statetune.tuner.model_io import save_model

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        csv = self.trials.to_csv(index=False).encode()
        atomic_write(folder / "trials.csv", lambda f: f.write(csv))
        windows = self.fold_windows
        if windows is not None:
            win_csv = windows.to_csv(index=False).encode()
            atomic_write(folder / "fold_windows.csv", lambda f: f.write(win_csv))
        counts = self.counts
        info: dict[str, Any] = {
            "metric": self.metric,
            "n_trials": len(self.study.trials),
            "per_algorithm": {
                str(a): {k: (None if pd.isna(v) else v) for k, v in row.items()}
                for a, row in counts.to_dict(orient="index").items()
            },
            "study_name": self.study.study_name,
            "timings_seconds": self.timings,
        }
        try:
            best = {
                "best_algorithm": self.best_algorithm,
                "best_params": self.best_params,
                "best_value": self.best_value,
            }
        except ValueError:
            info["fail_reasons"] = [{"reason": r, "trials": n} for r, n in self.fail_reasons]
            text = json.dumps(info, indent=2, default=str).encode()
            atomic_write(folder / "summary.json", lambda f: f.write(text))
            raise
        save_model(folder / "best_model", self.best_algorithm, self.states, self.best_params)
        self.save_plots(folder)
        text = json.dumps({**best, **info}, indent=2, default=str).encode()
        atomic_write(folder / "summary.json", lambda f: f.write(text))
        return folder


def _prep_line(prep: dict[str, Any]) -> str:
    """One line from a table source's preprocessing summary."""
    parts = []
    if prep.get("encoded"):
        parts.append(
            "one-hot " + ", ".join(f"{c} ({n} levels)" for c, n in prep["encoded"].items())
        )
    if prep.get("missing"):
        parts.append("mean-imputed " + ", ".join(map(str, prep["missing"])))
    if prep.get("dropped_rows_missing_target"):
        parts.append(f"{prep['dropped_rows_missing_target']} rows dropped (missing target)")
    return "; ".join(parts) or "none"


def _png(fig: Any, f: Any) -> None:
    fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
