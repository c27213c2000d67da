"""Incremental training cost: appending 10% new rows to cached states of 1,000,000 x 50.

A folder starts with 10 Parquet files of 100,000 rows. Five times in a row a new 100,000-row
file lands; each time we time (a) ``compute_states(..., cache=)`` reading the new file only and
(b) a from-scratch pass over every file, and check that ridge and PCA finalized from both agree
to 1e-10 relative. A cache hit (nothing changed) is timed too. Medians of repeated runs.

Run: ``.venv/bin/python experiments/incremental_cost.py`` (writes results/incremental_cost.*)
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _common import RESULTS, write_csv

import statetune as st

D, FILE_ROWS, BASE_FILES, APPENDS, REPEAT = 50, 100_000, 10, 5, 3


def write_file(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    beta = np.random.default_rng(0).standard_normal(D)
    X = rng.standard_normal((FILE_ROWS, D)) + 3.0
    table = pa.table(
        {**{f"x{i}": X[:, i] for i in range(D)}, "y": X @ beta + rng.standard_normal(FILE_ROWS)}
    )
    pq.write_table(table, path, row_group_size=FILE_ROWS)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def main() -> None:
    root = Path(tempfile.mkdtemp())
    data = root / "data"
    data.mkdir()
    for i in range(BASE_FILES):
        write_file(data / f"part-{i:03d}.parquet", i)
    algs = ["ridge", "pca"]
    rows = []
    cache_root = root / "cache"
    # the initial build (a full pass that also writes the cache)
    t_build, _ = timed(
        lambda: st.compute_states(
            st.from_parquet(data, target="y"), algs, folds=5, cache=cache_root
        )
    )
    hit = statistics.median(
        timed(
            lambda: st.compute_states(
                st.from_parquet(data, target="y"), algs, folds=5, cache=cache_root
            )
        )[0]
        for _ in range(5)
    )
    print(
        f"initial build with cache: {t_build:.3f}s; cache hit (fingerprints + load): {hit * 1e3:.1f} ms"
    )
    cum_inc, cum_full = t_build, t_build
    for k in range(APPENDS):
        write_file(data / f"part-{BASE_FILES + k:03d}.parquet", 1000 + k)
        inc_times, full_times = [], []
        for _ in range(
            REPEAT
        ):  # each repeat extends a copy of the cache as it was before this append
            trial_cache = root / "trial"
            shutil.rmtree(trial_cache, ignore_errors=True)
            shutil.copytree(cache_root, trial_cache)
            t, extended = timed(
                lambda tc=trial_cache: st.compute_states(
                    st.from_parquet(data, target="y"), algs, folds=5, cache=tc
                )
            )
            inc_times.append(t)
            t, scratch = timed(
                lambda: st.compute_states(st.from_parquet(data, target="y"), algs, folds=5)
            )
            full_times.append(t)
        shutil.rmtree(cache_root)
        shutil.move(str(trial_cache), cache_root)
        inc, full = statistics.median(inc_times), statistics.median(full_times)
        ridge_diff = rel_diff(
            st.finalize("ridge", extended, alpha=1.0).coef_,
            st.finalize("ridge", scratch, alpha=1.0).coef_,
        )
        pca_e = st.finalize("pca", extended, n_components=5)
        pca_s = st.finalize("pca", scratch, n_components=5)
        pca_diff = rel_diff(pca_e.explained_variance_, pca_s.explained_variance_)
        cv_diff = abs(
            extended.validation_score("ridge", {"alpha": 1.0})
            / scratch.validation_score("ridge", {"alpha": 1.0})
            - 1
        )
        cum_inc += inc
        cum_full += full
        row = {
            "append": k + 1,
            "total_rows": extended.n_rows,
            "incremental_s": round(inc, 4),
            "from_scratch_s": round(full, 4),
            "ratio": round(inc / full, 3),
            "cumulative_incremental_s": round(cum_inc, 3),
            "cumulative_from_scratch_s": round(cum_full, 3),
            "ridge_coef_rel_diff": f"{ridge_diff:.2e}",
            "pca_variance_rel_diff": f"{pca_diff:.2e}",
            "cv_mse_rel_diff": f"{cv_diff:.2e}",
        }
        rows.append(row)
        print(
            f"append {k + 1}: {extended.n_rows:,} rows  incremental {inc:.3f}s  from scratch {full:.3f}s  "
            f"ratio {inc / full:.3f}  ridge diff {ridge_diff:.1e}  pca diff {pca_diff:.1e}"
        )
    rows.append(
        {
            "append": "cache hit",
            "total_rows": rows[-1]["total_rows"],
            "incremental_s": round(hit, 4),
        }
    )
    write_csv("incremental_cost", rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    appends = [r for r in rows if r["append"] != "cache hit"]
    fig, ax = plt.subplots(figsize=(7, 4))
    x = [0] + [r["append"] for r in appends]
    ax.plot(
        x,
        [t_build] + [r["cumulative_from_scratch_s"] for r in appends],
        "o-",
        label="retrain from scratch each time",
    )
    ax.plot(
        x,
        [t_build] + [r["cumulative_incremental_s"] for r in appends],
        "o-",
        label="statetune: extend cached states",
    )
    ax.set_xlabel("appends of 100,000 rows (10%)")
    ax.set_ylabel("cumulative pass time (s)")
    ax.set_title("Cost of keeping 5-fold states current (1M x 50 start)")
    ax.legend()
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "incremental_cost.png", dpi=110)
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
