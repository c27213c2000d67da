"""The main job (``make run``): a real tuning run on the embedded default dataset.

1. Writes a realistic 1,000,000 x 50 regression table to ``data/demo_regression.parquet`` on
   first use (:mod:`statetune.demo_data`, block by block; nothing is downloaded).
2. Tunes ridge, elastic net and principal component regression, next to the baseline (the
   mean predictor, the reference every study should show), with one Optuna study:
   200 trials, 5 folds, 2 workers, one streamed pass over the file, the study journaled in
   ``.statetune/``.
3. Prints the best model (its scikit-learn repr) and the speedup against refitting
   scikit-learn per fold per trial: each algorithm's typical trial is refitted for real on the
   training rows of the file's first row group at two sizes, and the time of a refit on a
   whole training fold is scaled linearly in rows from the larger (labeled an ESTIMATE; the
   growth measured between the two sizes is printed beside it). Only that row group is read,
   so memory stays flat (under 1 GB) however large the file.
4. Leaves ``results/``: best_model/, trials.csv, summary.json and the plots.

Every step says what it is doing before it starts.

Example
-------
>>> from statetune.main_job import scale_to  # a 2 s fit on 200,000 rows -> 800,000 rows
>>> scale_to(200_000, 2.0, 800_000)
8.0
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import statetune as st
from statetune.demo_data import DEFAULT_PATH, ensure_demo_parquet
from statetune.engine import FoldConfig

__all__ = ["RefitEstimate", "estimate_refit_seconds", "main", "read_rows", "scale_to"]

ALGORITHMS = ["ridge", "elastic_net", "pcr", "baseline"]
REFIT_ROWS = 131_072  # rows of the file read for the timed refits (one row group)


def say(text: str) -> None:
    print(text, flush=True)


def one_line(model: Any) -> str:
    """A model's scikit-learn repr on one line (a pipeline's repr spans several)."""
    return " ".join(repr(model).split())


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


def read_rows(path: str | Path, n_rows: int, target: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_rows`` rows of a Parquet file as ``(X, y)``, read batch by batch (never
    the whole file)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    features = [c for c in pf.schema_arrow.names if c != target]
    n_rows = min(n_rows, pf.metadata.num_rows)
    X = np.empty((n_rows, len(features)))
    y = np.empty(n_rows)
    at = 0
    for batch in pf.iter_batches(batch_size=65_536):
        take = min(batch.num_rows, n_rows - at)
        part = batch.slice(0, take)
        for j, name in enumerate(features):
            X[at : at + take, j] = part.column(name).to_numpy()
        y[at : at + take] = part.column(target).to_numpy()
        at += take
        if at >= n_rows:
            break
    return X, y


def scale_to(rows: int, seconds: float, n: int) -> float:
    """Seconds at ``n`` rows from a fit timed at ``rows`` rows: fit cost at a fixed number of
    features grows linearly in rows (the job prints the growth it measured between two sizes
    next to this estimate, so the assumption can be checked)."""
    return seconds * n / rows


@dataclass
class RefitEstimate:
    """Estimated seconds to refit scikit-learn for every fold of every trial evaluated, from
    ``n_timed`` real refits taking ``timed`` seconds in all on ``rows`` training rows (two
    sizes), the larger scaled linearly to ``full_rows`` training rows a fold."""

    seconds: float
    timed: float
    n_timed: int
    rows: tuple[int, int]
    full_rows: int


def _typical_trials(result: st.TuneResult) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Each algorithm's *median* completed trial by score (a typical one, neither the easiest
    nor the hardest to fit), and the folds each algorithm's trials evaluated (pruned trials
    count the folds they reached)."""
    from statetune.tuner.space import split_params

    default = next(iter(result.spaces))
    folds_run: dict[str, int] = {}
    completed: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for t in result.study.trials:
        alg, params = split_params(t.params, default)
        done = t.state.name == "COMPLETE"
        n = result.states.n_folds if done else len(t.intermediate_values)
        folds_run[alg] = folds_run.get(alg, 0) + n
        if done:
            completed.setdefault(alg, []).append((float(t.value), params))
    typical = {
        alg: sorted(trials, key=lambda vp: vp[0])[len(trials) // 2][1]
        for alg, trials in completed.items()
    }
    return typical, folds_run


def estimate_refit_seconds(result: st.TuneResult, X: np.ndarray, y: np.ndarray) -> RefitEstimate:
    """Time each algorithm's typical trial refitted by scikit-learn on the fold-0 training
    rows among ``X, y`` (the first rows of the data), at half and at all of them, and scale
    the larger linearly to a whole training fold of the data; that time stands for every fold
    of that algorithm's trials."""
    states = result.states
    assert isinstance(states.folds, FoldConfig)  # the main job tunes plain rows
    train = np.flatnonzero(states.folds.assign(0, len(y)) != 0)
    full_rows = int(np.sum(states.folds.assign(0, states.n_rows) != 0))
    sizes = (len(train) // 2, len(train))
    typical, folds_run = _typical_trials(result)
    say(
        f"timing {2 * len(typical)} scikit-learn refits for the speedup estimate (each "
        f"algorithm's typical trial on {sizes[0]:,} and {sizes[1]:,} training rows of the "
        f"first {len(y):,} rows, scaled to a {full_rows:,}-row training fold)..."
    )
    timed, estimate = 0.0, 0.0
    for alg, params in typical.items():
        measured = []
        for n in sizes:
            model = _sklearn_model(alg, params)
            Xt, yt = X[train[:n]], y[train[:n]]
            print(f"  {one_line(model)} on {n:,} rows...", end="", flush=True)
            t0 = time.perf_counter()
            model.fit(Xt, yt)
            secs = time.perf_counter() - t0
            del Xt, yt
            say(f" {secs:.2f}s")
            measured.append((n, secs))
            timed += secs
        (n1, t1), (n2, t2) = measured
        per_fold = scale_to(n2, t2, full_rows)
        estimate += per_fold * folds_run[alg]
        growth = f"{t2 / t1:.1f}x" if t1 > 0 else "n/a"
        say(
            f"  {alg}: {n2 / n1:.0f}x the rows took {growth} the time; ~{per_fold:.2f}s a fold "
            f"(scaled linearly to {full_rows:,} rows) x {folds_run[alg]} folds its trials "
            "evaluated"
        )
    return RefitEstimate(estimate, timed, 2 * len(typical), sizes, full_rows)


def main(
    n_rows: int = 1_000_000,
    n_trials: int = 200,
    data: str | Path = DEFAULT_PATH,
    out: str | Path = "results",
    refit_rows: int = REFIT_ROWS,
) -> int:
    t_start = time.perf_counter()
    say(f"preparing the demo data ({n_rows:,} rows x 50 features, written block by block)...")
    path = ensure_demo_parquet(data, n_rows=n_rows)
    t_data = time.perf_counter() - t_start
    groups = st.from_parquet(path, target="y").partitions()
    say(
        f"data: {path} ({len(groups)} row groups of up to {groups[0].n_rows:,} rows; prepared "
        f"in {t_data:.1f}s)"
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    say(
        f"tuning {', '.join(ALGORITHMS)}: one streamed pass over the file, then {n_trials} "
        "trials x 5 folds on 2 workers..."
    )
    t0 = time.perf_counter()
    result = st.tune(
        st.from_parquet(path, target="y"),
        ALGORITHMS,
        n_trials=n_trials,
        cv=5,
        metric="rmse",
        n_jobs=2,
        seed=0,
        study_name=f"main-job-{stamp}",
        progress=sys.stderr.isatty(),
    )
    wall = time.perf_counter() - t0
    print(result.summary())
    say(f"best model: {one_line(result.best_model)}, fitted on {result.states.n_rows:,} rows")
    say(f"statetune: {n_trials} trials x 5 folds in {wall:.1f}s (one pass over the data included)")
    X, y = read_rows(path, refit_rows)
    est = estimate_refit_seconds(result, X, y)
    del X, y
    say(
        f"refitting scikit-learn per fold per trial: ESTIMATE {est.seconds:,.0f}s (from "
        f"{est.n_timed} real refits of typical trials on {est.rows[0]:,} and {est.rows[1]:,} "
        f"rows, {est.timed:.1f}s, scaled linearly to {est.full_rows:,} rows a fold) "
        f"-> statetune is ~{est.seconds / wall:,.0f}x faster"
    )
    say(f"writing results to {out}/ (best model, trials table, plots)...")
    saved = result.save(out)
    say(f"results: {saved}/ (best_model/, trials.csv, summary.json, plots)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
