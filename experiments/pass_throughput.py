"""Pass throughput on in-memory float64 1,000,000 x 50 + target, 5 folds, against a bare Z.T @ Z.

Timed as a user calls it: a new source each call (``st.compute_states(st.from_arrays(X, y),
...)``), default options; the reused-source lines show what a warm source would save. With a
cache, the arrays are fingerprinted (XXH3 over every byte): the fingerprint's share of the pass
is reported, and a cached pass (new cache each call: fingerprint, pass, entry written) against
the plain one.

Also measures the design choices the engine rests on:
- gathering each fold's rows (a row-level fold hash) versus handing folds strided views;
- single-threaded BLAS per worker versus multi-threaded BLAS on 2 cores (threadpoolctl);
- sequential, joblib threads and joblib processes.

Run: ``.venv/bin/python experiments/pass_throughput.py`` (writes results/pass_throughput.*)
"""

from __future__ import annotations

import tempfile

import numpy as np
from _common import bar_chart, median_time, regression_data, write_csv
from threadpoolctl import threadpool_info, threadpool_limits

import statetune as st

N, D, K, REPEAT = 1_000_000, 50, 5, 7


def gather_per_fold(X: np.ndarray, y: np.ndarray) -> None:
    """What a row-level fold hash would cost: gather each fold's rows, then one syrk each."""
    fold = st.FoldConfig(K).assign(0, len(X))
    for a in range(0, len(X), 65536):
        f = fold[a : a + 65536]
        for k in range(K):
            idx = np.flatnonzero(f == k) + a
            Z = np.column_stack([X[idx], y[idx]])
            Z.T @ Z


def main() -> None:
    X, y = regression_data(N, D)
    Z = np.column_stack([X, y])
    src = st.from_arrays(X, y)
    blas = threadpool_info()
    print(f"BLAS: {[(i['internal_api'], i['num_threads']) for i in blas]}")
    rows = []

    def record(label: str, seconds: float, ceiling: float) -> None:
        rows.append(
            {
                "variant": label,
                "seconds": round(seconds, 4),
                "speed_vs_ZtZ": round(ceiling / seconds, 3),
            }
        )
        print(f"{label:<42} {seconds:7.3f} s   {ceiling / seconds:5.2f}x of Z.T @ Z")

    ceiling = median_time(lambda: Z.T @ Z, REPEAT)
    record("bare Z.T @ Z (ceiling)", ceiling, ceiling)
    seq = median_time(lambda: st.compute_states(st.from_arrays(X, y), ["ridge"], folds=K), REPEAT)
    record("statetune sequential, new source (user)", seq, ceiling)
    record(
        "statetune n_jobs=2 threads, new source (user)",
        median_time(
            lambda: st.compute_states(st.from_arrays(X, y), ["ridge"], folds=K, n_jobs=2),
            REPEAT,
        ),
        ceiling,
    )
    record(
        "statetune sequential, source reused",
        median_time(lambda: st.compute_states(src, ["ridge"], folds=K), REPEAT),
        ceiling,
    )
    record(
        "statetune n_jobs=2 threads, source reused",
        median_time(lambda: st.compute_states(src, ["ridge"], folds=K, n_jobs=2), REPEAT),
        ceiling,
    )
    from statetune.data.fingerprint import array_fingerprint

    fp = median_time(lambda: array_fingerprint(X, y, None), REPEAT)
    print(f"fingerprint (XXH3-128 of X, y): {fp:.4f} s = {fp / seq:.1%} of the sequential pass")
    shares = [{"what": "fingerprint / sequential pass", "ratio": round(fp / seq, 3)}]

    def cached() -> None:
        with tempfile.TemporaryDirectory() as folder:
            st.compute_states(st.from_arrays(X, y), ["ridge"], folds=K, cache=folder)

    cached_s = median_time(cached, REPEAT)
    record("statetune sequential with a new cache", cached_s, ceiling)
    print(f"cache overhead (fingerprint + entry written): {cached_s / seq - 1:.1%} of the pass")
    shares.append({"what": "cached pass / plain pass - 1", "ratio": round(cached_s / seq - 1, 3)})
    write_csv("pass_fingerprint", shares)
    record(
        "statetune n_jobs=2 loky processes",
        median_time(
            lambda: st.compute_states(src, ["ridge"], folds=K, n_jobs=2, backend="loky"), 3
        ),
        ceiling,
    )
    with threadpool_limits(1, "blas"):
        c1 = median_time(lambda: Z.T @ Z, REPEAT)
        s1 = median_time(lambda: st.compute_states(src, ["ridge"], folds=K), REPEAT)
    record("Z.T @ Z, BLAS 1 thread", c1, ceiling)
    record("statetune sequential, BLAS 1 thread", s1, ceiling)
    record(
        "row-level folds: gather + syrk per fold",
        median_time(lambda: gather_per_fold(X, y), 3),
        ceiling,
    )
    write_csv("pass_throughput", rows)
    bar_chart(
        "pass_throughput",
        [r["variant"] for r in rows],
        [r["speed_vs_ZtZ"] for r in rows],
        "speed relative to Z.T @ Z (higher is better)",
        f"Pass over {N:,} x {D} + target, {K} folds (median of runs)",
    )


if __name__ == "__main__":
    main()
