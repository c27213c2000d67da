"""Classification pass throughput: 1,000,000 x 50 with 10 classes, 5 folds, vs a bare Z.T @ Z.

The pass fills per-fold ``ClassMoments`` (one moments state per class), and the per-fold
``Reservoir`` sample only when a row-wise metric (accuracy, log loss...) is requested; the
pass is timed both ways.

Run: ``.venv/bin/python experiments/class_moments_throughput.py``
"""

from __future__ import annotations

import numpy as np
from _common import median_time, write_csv

import statetune as st
from statetune.states import ClassMoments

N, D, CLASSES, K = 1_000_000, 50, 10, 5


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, CLASSES, size=N)
    Z = np.column_stack([X, y.astype(float)])
    ceiling = median_time(lambda: Z.T @ Z, 5)
    src = st.from_arrays(X, y)

    def class_moments_only() -> None:
        s = ClassMoments(D)
        s.update(X, y)

    rows = [
        ("bare Z.T @ Z (ceiling)", ceiling),
        ("ClassMoments.update, all rows, 1 fold", median_time(class_moments_only, 3)),
        (
            "pass: class moments only (exact metrics), 5 folds",
            median_time(
                lambda: st.compute_states(src, ["lda"], folds=K, metrics=["log_likelihood"]), 3
            ),
        ),
        (
            "same, n_jobs=2",
            median_time(
                lambda: st.compute_states(
                    src, ["lda"], folds=K, metrics=["log_likelihood"], n_jobs=2
                ),
                3,
            ),
        ),
        (
            "pass: class moments + reservoir, 5 folds",
            median_time(lambda: st.compute_states(src, ["lda"], folds=K), 3),
        ),
        (
            "same, n_jobs=2",
            median_time(lambda: st.compute_states(src, ["lda"], folds=K, n_jobs=2), 3),
        ),
    ]
    out = []
    for label, seconds in rows:
        print(f"{label:<44} {seconds:7.3f} s   {ceiling / seconds:5.2f}x of Z.T @ Z")
        out.append(
            {
                "variant": label,
                "seconds": round(seconds, 4),
                "speed_vs_ZtZ": round(ceiling / seconds, 3),
            }
        )
    write_csv("class_moments_throughput", out)


if __name__ == "__main__":
    main()
