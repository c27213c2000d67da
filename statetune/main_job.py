"""The main job (``make run``): a real tuning run on the embedded default dataset.

1. Writes a realistic 1,000,000 x 50 regression table to ``data/demo_regression.parquet`` on
   first use (:mod:`statetune.demo_data`; nothing is downloaded).
2. Tunes ridge, elastic net and principal component regression, next to the baseline (the
   mean predictor, the reference every study should show), with one Optuna study:
   200 trials, 5 folds, 2 workers, one pass over the file, the study journaled in ``.statetune/``.
3. Prints the best model and the speedup against refitting scikit-learn per fold per trial:
   a few real refits are timed on this data, the rest is an estimate from them (labeled so).
4. Leaves ``results/``: best_model/, trials.csv, summary.json and the plots.

Example
-------
>>> from statetune.main_job import estimate_refit_seconds  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

import statetune as st
from statetune.demo_data import ensure_demo_parquet
from statetune.engine import FoldConfig

__all__ = ["estimate_refit_seconds", "main"]

ALGORITHMS = ["ridge", "elastic_net", "pcr", "baseline"]


def _sklearn_model(algorithm: str, params: dict[str, Any]) -> Any:
    from sklearn import decomposition, dummy, linear_model
    from sklearn.pipeline import make_pipeline

    if algorithm == "baseline":
        return dummy.DummyRegressor()
    if algorithm == "ridge":
        return linear_model.Ridge(**params)
    if algorithm == "elastic_net":
        return linear_model.ElasticNet(**params)
    return make_pipeline(
        decomposition.PCA(params["n_components"], svd_solver="full"),
        linear_model.Ridge(alpha=params["alpha"]),
    )


def estimate_refit_seconds(
    result: st.TuneResult, X: np.ndarray, y: np.ndarray, per_algorithm: int = 1
) -> tuple[float, float, int]:
    """(estimated seconds to refit scikit-learn for every fold every trial evaluated, seconds
    actually timed, refits timed). For each algorithm, its *median* completed trial (by score:
    a typical one, neither the easiest nor the hardest to fit) is refitted for real on
    ``per_algorithm`` folds; that time stands for every fold of that algorithm's trials
    (pruned trials count the folds they reached)."""
    from statetune.tuner.space import split_params

    states = result.states
    assert isinstance(states.folds, FoldConfig)  # the main job tunes plain rows
    fold = states.folds.assign(0, states.n_rows)
    default = next(iter(result.spaces))
    folds_run: dict[str, int] = {}
    completed: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for t in result.study.trials:
        alg, params = split_params(t.params, default)
        n = states.n_folds if t.state.name == "COMPLETE" else len(t.intermediate_values)
        folds_run[alg] = folds_run.get(alg, 0) + n
        if t.state.name == "COMPLETE":
            completed.setdefault(alg, []).append((float(t.value), params))
    typical = {
        alg: sorted(trials, key=lambda vp: vp[0])[len(trials) // 2][1]
        for alg, trials in completed.items()
    }
    timed, n_timed, estimate = 0.0, 0, 0.0
    for alg, params in typical.items():
        per_fit = []
        for k in range(per_algorithm):
            train = fold != k
            t0 = time.perf_counter()
            _sklearn_model(alg, params).fit(X[train], y[train])
            per_fit.append(time.perf_counter() - t0)
        timed += sum(per_fit)
        n_timed += len(per_fit)
        estimate += float(np.median(per_fit)) * folds_run[alg]
    return estimate, timed, n_timed


def main() -> int:
    t_start = time.perf_counter()
    path = ensure_demo_parquet()
    t_data = time.perf_counter() - t_start
    print(
        f"data: {path} ({st.from_parquet(path, target='y').partitions()[0].n_rows:,} rows per row group; prepared in {t_data:.1f}s)"
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    t0 = time.perf_counter()
    result = st.tune(
        st.from_parquet(path, target="y"),
        ALGORITHMS,
        n_trials=200,
        cv=5,
        metric="rmse",
        n_jobs=2,
        seed=0,
        study_name=f"main-job-{stamp}",
        progress=sys.stderr.isatty(),
    )
    wall = time.perf_counter() - t0
    print(result.summary())
    model = result.best_model
    print(
        f"best model: {type(model).__name__}(**{result.best_params}) fitted on {result.states.n_rows:,} rows"
    )
    print(f"statetune: 200 trials x 5 folds in {wall:.1f}s (one pass over the data included)")
    import pandas as pd

    df = pd.read_parquet(path)
    X = df.drop(columns=["y"]).to_numpy()
    y = df["y"].to_numpy()
    del df
    estimate, timed, n = estimate_refit_seconds(result, X, y)
    print(
        f"refitting scikit-learn per fold per trial: ESTIMATE {estimate:,.0f}s "
        f"(from {n} real refits of typical trials timed on this data, {timed:.1f}s) "
        f"-> statetune is ~{estimate / wall:,.0f}x faster"
    )
    out = result.save("results")
    print(f"results: {out}/ (best_model/, trials.csv, summary.json, plots)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
