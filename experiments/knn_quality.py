"""k-nearest neighbours tuned from a sample against scikit-learn ``KNeighbors*`` tuned on all
rows: test accuracy (classification) and test RMSE (regression) by sample size.

Data:

- ``rings_1M`` / ``radial_sine_1M``: 1,000,000 generated rows of 6 features on scales 1..1000
  (two of them noise; :func:`knn_speedup.make_data`): three noisy rings (classification) and
  ``sin(3 r)`` plus noise (regression). 20,000 rows are the test split; the other 980,000 are
  what both sides learn from.
- scikit-learn's ``load_breast_cancer`` (569 x 30) and ``load_digits`` (1,797 x 64), shipped
  (no download); a stratified 25% test split.

Ours: ``st.tune(source, [alg], n_trials=TRIALS, cv=3)`` with ``state_params={alg: {"size": S,
"k_max": 50}}`` for each sample size S (10k, 50k, 200k on the generated data; 100, 300 and
every row on the small tables), then the best model (finalized from the total state: a sample
of S rows, standardized by the exact moments of every row) predicts the test split.

scikit-learn tuned on all rows, over the same space (``n_neighbors`` 1..50, ``weights``,
``p``, ``standardize`` = a ``StandardScaler`` before the neighbours):

- generated data: every point of the space (the 200 combinations) scored on a validation split
  of 20,000 of the 980,000 rows, the neighbours found by scikit-learn's own ``kneighbors`` on
  the other 960,000 (one search at k = 50 per (standardize, p); the votes at each k are
  scikit-learn's ``predict``, which is checked at the chosen point); the best point is then
  fitted on all 980,000 rows and predicts the test split;
- small tables: ``GridSearchCV(cv=3)`` over the whole space, refitted on the training split.

"Within 1 point": test accuracy at most 0.01 below scikit-learn's, or test RMSE at most 1%
above it. The machine was shared with other jobs (timings are not reported here).

Run: ``.venv/bin/python experiments/knn_quality.py`` (writes results/knn_quality.csv and
results/knn_quality.png); ``--rows 100000`` for a quicker, smaller run.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import numpy as np
import optuna
from _common import RESULTS, write_csv
from knn_speedup import make_data
from sklearn import neighbors
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import statetune as st
from statetune.algorithms.knn import neighbor_weights

K_MAX = 50
TRIALS = 30
TEST_ROWS = 20_000


def sk_model(task: str, params: dict[str, Any]) -> Any:
    cls = (
        neighbors.KNeighborsClassifier
        if task == "classification"
        else neighbors.KNeighborsRegressor
    )
    knn = cls(n_neighbors=params["n_neighbors"], weights=params["weights"], p=params["p"])
    return Pipeline([("scale", StandardScaler()), ("knn", knn)]) if params["standardize"] else knn


def score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    if task == "classification":
        return float(np.mean(pred == y))
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def sklearn_tuned_big(task: str, X: np.ndarray, y: np.ndarray, Xt: np.ndarray) -> tuple:
    """Every point of the space scored on a validation split from scikit-learn's neighbours;
    the best refitted on all rows; its test predictions and parameters."""
    n_val = 20_000
    Xtr, ytr, Xv, yv = X[n_val:], y[n_val:], X[:n_val], y[:n_val]
    classes = np.unique(ytr)
    best: tuple[float, dict[str, Any]] | None = None
    for standardize in (False, True):
        scaler = StandardScaler().fit(Xtr) if standardize else None
        A = scaler.transform(Xtr) if scaler else Xtr
        B = scaler.transform(Xv) if scaler else Xv
        for p in (1, 2):
            dist, ind = neighbors.NearestNeighbors(p=p).fit(A).kneighbors(B, K_MAX)
            for k in range(1, K_MAX + 1):
                for weights in ("uniform", "distance"):
                    w = neighbor_weights(dist[:, :k], weights)
                    yk = ytr[ind[:, :k]]
                    if task == "classification":
                        votes = np.stack([(w * (yk == c)).sum(axis=1) for c in classes], axis=1)
                        pred = classes[votes.argmax(axis=1)]
                        s = -score(task, yv, pred)
                    else:
                        pred = (w * yk).sum(axis=1) / w.sum(axis=1)
                        s = score(task, yv, pred)
                    params = {
                        "n_neighbors": k,
                        "weights": weights,
                        "p": p,
                        "standardize": standardize,
                    }
                    if best is None or s < best[0]:
                        best = (s, params, pred)
    assert best is not None
    params = best[1]
    # the votes above are scikit-learn's predict at that point: checked on validation rows
    check = sk_model(task, params).fit(Xtr, ytr).predict(Xv[:2_000])
    agree = float(np.mean(np.isclose(check, best[2][:2_000], rtol=1e-9, atol=1e-12)))
    model = sk_model(task, params).fit(X, y)
    return model.predict(Xt), params, agree


def sklearn_tuned_small(task: str, X: np.ndarray, y: np.ndarray, Xt: np.ndarray) -> tuple:
    """``GridSearchCV(cv=3)`` over the space (``n_neighbors`` on a grid of 1..50)."""
    ks = [k for k in (1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50) if k <= len(X) * 2 // 3]
    grid = [
        {
            "scale": [StandardScaler() if standardize else "passthrough"],
            "knn": [neighbors.KNeighborsClassifier(weights=weights, p=p)],
            "knn__n_neighbors": ks,
        }
        for standardize in (False, True)
        for p in (1, 2)
        for weights in ("uniform", "distance")
    ]
    pipe = Pipeline([("scale", "passthrough"), ("knn", neighbors.KNeighborsClassifier())])
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
    return search.predict(Xt), search.best_params_


def ours(task: str, X: np.ndarray, y: np.ndarray, Xt: np.ndarray, size: int) -> tuple:
    alg = "knn_classifier" if task == "classification" else "knn_regressor"
    metric = "accuracy" if task == "classification" else "rmse"
    k_max = min(K_MAX, size)
    r = st.tune(
        st.from_arrays(X, y), [alg], n_trials=TRIALS, cv=3, metric=metric, storage="memory",
        seed=0, state_params={alg: {"size": size, "k_max": k_max}},
    )  # fmt: skip
    return r.best_model.predict(Xt), r.best_params


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sizes", default="10000,50000,200000")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    rows = []
    for task, name in (("classification", "rings_1M"), ("regression", "radial_sine_1M")):
        X, y = make_data(args.rows, task, seed=1)
        Xt, yt, X, y = X[:TEST_ROWS], y[:TEST_ROWS], X[TEST_ROWS:], y[TEST_ROWS:]
        pred, params, agree = sklearn_tuned_big(task, X, y, Xt)
        ref = score(task, yt, pred)
        print(
            f"{name}: scikit-learn tuned on all rows {ref:.4f} {params} (grid votes equal "
            f"scikit-learn's predict on {agree:.2%} of 2,000 validation rows)",
            flush=True,
        )
        for size in [int(s) for s in args.sizes.split(",")]:
            p_ours, best = ours(task, X, y, Xt, size)
            got = score(task, yt, p_ours)
            within = (ref - got <= 0.01) if task == "classification" else (got <= 1.01 * ref)
            print(f"  sample {size}: {got:.4f} within 1 point: {within} {best}", flush=True)
            rows.append(
                {"data": name, "task": task, "metric": "accuracy" if task == "classification" else "rmse",
                 "sample_size": size, "rows": len(X), "ours": got, "sklearn_all_rows": ref,
                 "within_1_point": within, "ours_params": best, "sklearn_params": params}
            )  # fmt: skip
    for name, loader in (("breast_cancer", load_breast_cancer), ("digits", load_digits)):
        Xa, ya = loader(return_X_y=True)
        X, Xt, y, yt = train_test_split(Xa, ya, test_size=0.25, random_state=0, stratify=ya)
        pred, params = sklearn_tuned_small("classification", X, y, Xt)
        ref = score("classification", yt, pred)
        print(f"{name}: scikit-learn tuned on all rows {ref:.4f}", flush=True)
        for size in (100, 300, len(X)):
            p_ours, best = ours("classification", X, y, Xt, size)
            got = score("classification", yt, p_ours)
            print(f"  sample {size}: {got:.4f} within 1 point: {ref - got <= 0.01}", flush=True)
            rows.append(
                {"data": name, "task": "classification", "metric": "accuracy", "sample_size": size,
                 "rows": len(X), "ours": got, "sklearn_all_rows": ref,
                 "within_1_point": ref - got <= 0.01, "ours_params": best,
                 "sklearn_params": {k: str(v) for k, v in params.items()}}
            )  # fmt: skip
    write_csv("knn_quality", rows)
    plot(rows)


def plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("accuracy", "rmse"), strict=True):
        names = dict.fromkeys(r["data"] for r in rows if r["metric"] == metric)
        for i, name in enumerate(names):
            rs = [r for r in rows if r["data"] == name]
            color = f"C{i}"
            ax.plot([r["sample_size"] for r in rs], [r["ours"] for r in rs], "o-", color=color,
                    label=f"{name}: statetune (sample)")  # fmt: skip
            ax.axhline(rs[0]["sklearn_all_rows"], color=color, ls="--", lw=1,
                       label=f"{name}: scikit-learn, all rows")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("sample size (rows)")
        ax.set_ylabel(f"test {metric}")
        ax.legend(fontsize=7)
    fig.suptitle("k-nearest neighbours tuned from a sample vs scikit-learn tuned on all rows")
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "knn_quality.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
