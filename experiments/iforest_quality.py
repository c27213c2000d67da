"""Isolation forest quality: the tuned model from a per-fold sample against scikit-learn's
``IsolationForest`` with its defaults fitted on ALL training rows, by test ROC AUC.

Data sets (labels: 1 = anomaly), each split into train and test (stratified):

- ``mixture``: ``--rows`` (1,000,000 by default) rows of a 10-d Gaussian mixture (5
  components, own means and scales) with 1% outliers planted uniformly in a box 1.5 times as
  wide as the mixture's; 80/20 split.
- ``breast_cancer``: scikit-learn's breast cancer table (30 features); the benign rows are
  normal, the malignant rows are subsampled to 10% of the benign count as anomalies; 50/50
  split, ``--seeds`` draws.
- ``digits``: scikit-learn's 8x8 digits (64 features); the rows of one digit (per seed
  0, 1, 2, ...) are normal, 10% of that count drawn from the other digits are anomalies;
  50/50 split.

statetune: ``st.tune(train, ["isolation_forest"], metric=..., n_trials=--trials, cv=3)`` with
the label column (``roc_auc`` on the held-out samples) and without it (``em``, Goix's excess
mass: no labels); the best model (finalized from the sample of all training rows) is scored
on the test rows. Peer: ``sklearn.ensemble.IsolationForest(random_state=0)`` fitted on all
training rows. Trials that fail (the excess mass is undefined where its Monte Carlo volume
cannot resolve a level set, e.g. 64 features) are reported, not hidden.

Run: ``.venv/bin/python experiments/iforest_quality.py`` (writes results/iforest_quality.*);
quick: ``--rows 100000 --trials 10 --seeds 2``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import numpy as np
import optuna
from _common import RESULTS, outlier_mixture, write_csv
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import statetune as st


def mixture(n: int, d: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian mixture rows with 1% uniform outliers in a box 1.5x the mixture's."""
    return outlier_mixture(
        n, d, seed, components=5, concentration=3.0, centre=6.0, scale=(0.5, 1.5)
    )


def breast_cancer(seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, target = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(seed)
    normal = np.flatnonzero(target == 1)  # benign
    anomalies = rng.choice(np.flatnonzero(target == 0), size=len(normal) // 10, replace=False)
    idx = rng.permutation(np.r_[normal, anomalies])
    return X[idx], (target[idx] == 0).astype(float)


def digits(seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, target = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    normal = np.flatnonzero(target == seed % 10)
    others = np.flatnonzero(target != seed % 10)
    anomalies = rng.choice(others, size=len(normal) // 10, replace=False)
    idx = rng.permutation(np.r_[normal, anomalies])
    return X[idx], (target[idx] != seed % 10).astype(float)


def tuned_auc(
    Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray, labeled: bool, T: int
) -> dict[str, Any]:
    t0 = time.perf_counter()
    src = st.from_arrays(Xtr, ytr) if labeled else st.from_arrays(Xtr)
    r = st.tune(
        src,
        ["isolation_forest"],
        n_trials=T,
        cv=3,
        metric="roc_auc" if labeled else "em",
        seed=0,
        storage="memory",
    )
    secs = time.perf_counter() - t0
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in r.study.trials)
    complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in r.study.trials)
    if complete == 0:
        reason = r.study.trials[0].user_attrs.get("fail_reason", "")
        return {"auc": float("nan"), "secs": secs, "failed": failed, "note": reason[:120]}
    model = r.best_model
    return {
        "auc": float(roc_auc_score(yte, model.anomaly_score(Xte))),
        "secs": secs,
        "failed": failed,
        "note": json.dumps(r.best_params),
    }


def peer_auc(Xtr: np.ndarray, Xte: np.ndarray, yte: np.ndarray) -> dict[str, Any]:
    t0 = time.perf_counter()
    ref = IsolationForest(random_state=0).fit(Xtr)
    auc = float(roc_auc_score(yte, -ref.score_samples(Xte)))
    return {"auc": auc, "secs": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", UserWarning)
    cases: list[tuple[str, int, Any]] = [("mixture", 0, lambda s: mixture(args.rows, seed=s))]
    for s in range(args.seeds):
        cases.append(("breast_cancer", s, breast_cancer))
        cases.append(("digits", s, digits))
    rows = []
    for name, seed, make in cases:
        X, y = make(seed)
        test = 0.2 if name == "mixture" else 0.5
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test, stratify=y, random_state=seed)
        peer = peer_auc(Xtr, Xte, yte)
        for labeled in (True, False):
            ours = tuned_auc(Xtr, ytr, Xte, yte, labeled, args.trials)
            row = {
                "data": name,
                "seed": seed,
                "rows": len(X),
                "features": X.shape[1],
                "metric": "roc_auc" if labeled else "em",
                "statetune_test_auc": round(ours["auc"], 4),
                "sklearn_all_rows_test_auc": round(peer["auc"], 4),
                "difference": round(ours["auc"] - peer["auc"], 4),
                "failed_trials": ours["failed"],
                "statetune_s": round(ours["secs"], 2),
                "sklearn_s": round(peer["secs"], 2),
                "best_or_reason": ours["note"],
            }
            print(row, flush=True)
            rows.append(row)
    path = write_csv("iforest_quality", rows)
    plot(rows)
    print(f"wrote {path} and {RESULTS / 'iforest_quality.png'}")


def plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['data']}\nseed {r['seed']}" for r in rows if r["metric"] == "roc_auc"]
    peer = [r["sklearn_all_rows_test_auc"] for r in rows if r["metric"] == "roc_auc"]
    lab = [r["statetune_test_auc"] for r in rows if r["metric"] == "roc_auc"]
    unl = [r["statetune_test_auc"] for r in rows if r["metric"] == "em"]
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.bar(
        x - 0.27,
        peer,
        0.27,
        label="scikit-learn IsolationForest, defaults, all rows",
        color="#cc6677",
    )
    ax.bar(x, lab, 0.27, label="statetune tuned on roc_auc (labels)", color="#4477aa")
    ax.bar(
        x + 0.27,
        np.nan_to_num(unl),
        0.27,
        label="statetune tuned on em (no labels; 0 = all trials failed)",
        color="#88ccee",
    )
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0.4, 1.0)
    ax.set_ylabel("test ROC AUC")
    ax.set_title("Isolation forest from a per-fold sample vs scikit-learn on all rows")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "iforest_quality.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
