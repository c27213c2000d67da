"""Finalize latency from cached moments (d=50) and K-fold validation from held-out states.

The first finalize per state pays for an eigendecomposition (memoized on the state); later
trials reuse it. Reported: first and median later finalize, and a 5-fold validation score.
Compared with scikit-learn refitting the same model on 1,000,000 rows once.

Run: ``.venv/bin/python experiments/finalize_latency.py``
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from _common import regression_data, write_csv
from sklearn import linear_model

import statetune as st

N, D, K = 1_000_000, 50, 5


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    X, y = regression_data(N, D)
    states = st.compute_states(
        st.from_arrays(X, y), ["ridge", "elastic_net", "pca", "pcr"], folds=K
    )
    rng = np.random.default_rng(0)
    cases = {
        "ridge": lambda: {"alpha": float(10 ** rng.uniform(-3, 4))},
        "elastic_net": lambda: {
            "alpha": float(10 ** rng.uniform(-4, -1)),
            "l1_ratio": float(rng.uniform(0.1, 1)),
        },
        "pca": lambda: {"n_components": int(rng.integers(1, D + 1))},
        "pcr": lambda: {
            "n_components": int(rng.integers(1, D + 1)),
            "alpha": float(10 ** rng.uniform(-3, 3)),
        },
    }
    rows = []
    for name, draw in cases.items():

        def fin(name: str = name, draw=draw) -> None:
            st.finalize(name, states, **draw())

        def score(name: str = name, draw=draw) -> None:
            states.validation_score(name, draw())

        first = timed(fin, 1)[0]
        later = statistics.median(timed(fin, 200))
        cv = statistics.median(timed(score, 50))
        rows.append(
            {
                "algorithm": name,
                "first_finalize_ms": round(first * 1e3, 3),
                "median_finalize_ms": round(later * 1e3, 4),
                "median_5fold_score_ms": round(cv * 1e3, 3),
            }
        )
    t0 = time.perf_counter()
    linear_model.Ridge(alpha=1.0).fit(X, y)
    sk = time.perf_counter() - t0
    for r in rows:
        print(
            f"{r['algorithm']:<12} first {r['first_finalize_ms']:8.3f} ms   later median {r['median_finalize_ms']:8.4f} ms   5-fold score {r['median_5fold_score_ms']:8.3f} ms"
        )
    print(
        f"scikit-learn Ridge.fit on all rows once: {sk * 1e3:.0f} ms  (ratio to ridge finalize: {sk / (rows[0]['median_finalize_ms'] / 1e3):,.0f}x)"
    )
    write_csv("finalize_latency", rows)


if __name__ == "__main__":
    main()
