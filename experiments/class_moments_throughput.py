"""Classification pass throughput: 1,000,000 x 50 with 10 classes, 5 folds, vs a bare Z.T @ Z.

The pass fills per-fold ``ClassMoments`` (one moments state per class), and the per-fold
``Reservoir`` sample only when a row-wise metric (accuracy, log loss...) is requested; the
pass is timed both ways.

Timed as a user calls it: a new source each call (``st.compute_states(st.from_arrays(X, y),
...)``); the "source reused" lines time the warmed path (one source object for every call, so
what the source caches on itself is not paid again), labeled. Each line: median over REPEAT
runs (after one untimed run) and the spread (min..max); the speed is against the median of the
bare product.

Run: ``.venv/bin/python experiments/class_moments_throughput.py``
(writes results/class_moments_throughput.csv)
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import run_times, spread, write_csv

import statetune as st
from statetune.states import ClassMoments

N, D, CLASSES, K, REPEAT = 1_000_000, 50, 10, 5, 5


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, CLASSES, size=N)
    Z = np.column_stack([X, y.astype(float)])
    src = st.from_arrays(X, y)

    def class_moments_only() -> None:
        s = ClassMoments(D)
        s.update(X, y)

    exact = {"metrics": ["log_likelihood"]}
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("bare Z.T @ Z (ceiling)", lambda: Z.T @ Z),
        ("ClassMoments.update, all rows, 1 fold", class_moments_only),
        (
            "pass: class moments only (exact metrics), new source (user)",
            lambda: st.compute_states(st.from_arrays(X, y), ["lda"], folds=K, **exact),
        ),
        (
            "same, n_jobs=2, new source (user)",
            lambda: st.compute_states(st.from_arrays(X, y), ["lda"], folds=K, n_jobs=2, **exact),
        ),
        (
            "pass: class moments + reservoir, new source (user)",
            lambda: st.compute_states(st.from_arrays(X, y), ["lda"], folds=K),
        ),
        (
            "same, n_jobs=2, new source (user)",
            lambda: st.compute_states(st.from_arrays(X, y), ["lda"], folds=K, n_jobs=2),
        ),
        (
            "pass: class moments only, source reused (warm)",
            lambda: st.compute_states(src, ["lda"], folds=K, **exact),
        ),
        (
            "same, n_jobs=2, source reused (warm)",
            lambda: st.compute_states(src, ["lda"], folds=K, n_jobs=2, **exact),
        ),
        (
            "pass: class moments + reservoir, source reused (warm)",
            lambda: st.compute_states(src, ["lda"], folds=K),
        ),
    ]
    print(f"data {N:,} x {D}, {CLASSES} classes, {K} folds; median of {REPEAT} runs (min..max)")
    ceiling = 0.0
    out = []
    for label, fn in cases:
        times = run_times(fn, REPEAT, warmup=1)
        med = statistics.median(times)
        ceiling = ceiling or med
        print(f"{label:<60} {spread(times)}   {ceiling / med:5.2f}x of Z.T @ Z")
        out.append(
            {
                "variant": label,
                "seconds": round(med, 4),
                "min_s": round(min(times), 4),
                "max_s": round(max(times), 4),
                "runs": len(times),
                "speed_vs_ZtZ": round(ceiling / med, 3),
            }
        )
    write_csv("class_moments_throughput", out)


if __name__ == "__main__":
    main()
