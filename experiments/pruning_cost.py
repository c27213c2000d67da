"""What a fold costs, what pruning saves, and what it loses: the rule behind ``st.tune``'s
default pruner (none below :data:`statetune.tuner.pruning.PRUNE_MIN_FOLD_SECONDS` per fold).

The time of ``trial.report`` plus ``trial.should_prune`` (what a pruned study pays per
fold) in memory and in a journal file. Then, per data set, 100-trial studies with Optuna's
``MedianPruner`` (the old default), with no pruning, and with the default's per-algorithm
median pruning forced on: trial time, the sampler's share, the mean time of one fold (finalize and
score, reports included), pruned trials and the best value each algorithm reached (nan: no complete trial).

Run: ``.venv/bin/python experiments/pruning_cost.py`` (timings on a shared machine: medians).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import optuna
from _common import regression_data, write_csv
from sklearn.datasets import load_digits, load_wine

import statetune as st
from statetune.tuner import pruning

RULE = pruning.PRUNE_MIN_FOLD_SECONDS

CASES = {
    "regression 20k x 20": (
        lambda: regression_data(20_000, 20),
        ["ridge", "lasso", "elastic_net", "pcr"],
        "rmse",
    ),
    "regression 50k x 200": (
        lambda: regression_data(50_000, 200),
        ["ridge", "lasso", "pcr"],
        "rmse",
    ),
    "wine 178 x 13": (
        lambda: load_wine(return_X_y=True),
        ["lda", "qda", "gaussian_nb", "ridge_classifier"],
        "accuracy",
    ),
    "digits 1797 x 64": (
        lambda: load_digits(return_X_y=True),
        ["lda", "gaussian_nb", "multinomial_nb", "complement_nb"],
        "accuracy",
    ),
}
FOLDS = 5


def report_seconds(storage: object) -> float:
    """Median seconds of one ``trial.report`` + ``trial.should_prune`` with MedianPruner."""
    study = optuna.create_study(storage=storage, pruner=optuna.pruners.MedianPruner())
    times = []
    for _ in range(20):
        trial = study.ask()
        for k in range(FOLDS):
            t = time.perf_counter()
            trial.report(float(k), step=k)
            trial.should_prune()
            times.append(time.perf_counter() - t)
        study.tell(trial, 0.0)
    return statistics.median(times)


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        journal = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(Path(tmp) / "j.log"))
        )
        rep_mem, rep_journal = report_seconds(None), report_seconds(journal)
    print(
        f"report + should_prune per fold: memory {rep_mem * 1e3:.3f} ms, "
        f"journal file {rep_journal * 1e3:.3f} ms"
    )
    rows = []
    for case, (load, algs, metric) in CASES.items():
        X, y = load()
        states = st.compute_states(st.from_arrays(X, y), algs, folds=FOLDS, metrics=[metric])
        for name in ("median", "none", "auto-forced"):
            pruner = {"median": optuna.pruners.MedianPruner(), "none": optuna.pruners.NopPruner()}
            if name == "auto-forced":  # the default's pruning, switched on whatever the folds cost
                pruning.PRUNE_MIN_FOLD_SECONDS = 0.0
            t = time.perf_counter()
            r = st.tune(
                states,
                algs,
                n_trials=100,
                cv=FOLDS,
                metric=metric,
                pruner=pruner.get(name),
                storage="memory",
            )
            secs = time.perf_counter() - t
            pruning.PRUNE_MIN_FOLD_SECONDS = RULE
            counts = r.counts
            n_folds = sum(
                len(t.intermediate_values) if t.state.name == "PRUNED" else FOLDS
                for t in r.study.trials
                if t.state.name in ("COMPLETE", "PRUNED")
            )
            fold_ms = r.timings["finalize_and_score"] / n_folds * 1e3
            print(
                f"{case:<22}pruner={name:<12} trials {secs:6.2f} s (sampler "
                f"{r.timings['sampler']:5.2f} s), mean fold {fold_ms:6.2f} ms, pruned "
                f"{int(counts['pruned'].sum()):3d}/100; best per algorithm: "
                + ", ".join(f"{a} {v:.4g}" for a, v in counts["best"].items())
            )
            rows.append(
                {
                    "case": case,
                    "pruner": name,
                    "seconds": secs,
                    "sampler_seconds": r.timings["sampler"],
                    "fold_ms_mean": fold_ms,
                    "pruned": int(counts["pruned"].sum()),
                    "best_per_algorithm": "; ".join(
                        f"{a}={v:.6g}" for a, v in counts["best"].items()
                    ),
                }
            )
    print(f"rule: prune only when the first trial's fold takes >= {RULE} s")
    write_csv("pruning_cost", rows)


if __name__ == "__main__":
    main()
