"""k-means from a coreset against scikit-learn ``KMeans(n_init=10)`` fitted on all rows.

Quality: for each data set and k in {2, 5, 10, 20, k_max} (k_max = 20, the default, so the
last two coincide), the inertia on ALL rows of statetune's finalized model divided by the
inertia of scikit-learn's ``KMeans(n_clusters=k, n_init=10, random_state=0)`` fitted on all
rows. Our model: ``n_init=10`` too (same effort as the reference), finalized from

- ``pass``: the total state of ``st.compute_states(source, ["kmeans"], folds=5)`` (five fold
  coresets merged: a merge-and-reduce tree), and
- ``seed1``/``seed2``: a ``KMeansCoreset`` with another seed, fed in chunks of 10,007 rows
  (another chunking and another random stream: the law "within the bound" in distribution).

Data sets: blobs with unequal sizes (262,600 rows x 10; clusters of 200,000 down to 100 rows),
a 1,000,000 x 20 Gaussian mixture (15 components, weights 1..15, per-component scales),
scikit-learn's digits (1,797 x 64, shipped) and statsmodels' RAND health insurance table
``randhie`` (20,190 x 9 after dropping the outcome ``mdvis``; shipped). Digits is smaller than
the default coreset (4,000 points): there the state holds the rows themselves, so it is also
measured at coreset sizes 200 and 500 (``by size`` rows).

Time (machine shared with other jobs, medians of RUNS interleaved runs): the kmeans pass
against the moments pass (``["pca"]``) on the 1M x 20 mixture, 5 folds, no held-out sample;
and finalize from the total state (coreset already reduced) for k = 2, 5, 10, 20 at
``n_init=1`` (the default) and ``n_init=10``.

Run: ``.venv/bin/python experiments/kmeans_quality.py`` (writes results/kmeans_quality.csv,
results/kmeans_quality_by_size.csv, results/kmeans_timing.csv and results/kmeans_quality.png).
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import numpy as np
from _common import RESULTS, run_times, spread, write_csv
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import load_digits, make_blobs

import statetune as st
from statetune.algorithms.kmeans import KMeans, kmeans_cost
from statetune.states import KMeansCoreset

K_MAX = 20
KS = (2, 5, 10, 20, K_MAX)
RUNS = 3


def cost(centers: np.ndarray, X: np.ndarray) -> float:
    return sum(kmeans_cost(centers, X[a : a + 100_000]) for a in range(0, len(X), 100_000))


def datasets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    blobs, _ = make_blobs(
        n_samples=[200_000, 50_000, 10_000, 2_000, 500, 100],
        n_features=10,
        cluster_std=[1.0, 2.0, 0.5, 1.5, 1.0, 0.3],
        center_box=(-20, 20),
        random_state=0,
    )
    blobs = blobs[rng.permutation(len(blobs))]
    comps, d, n = 15, 20, 1_000_000
    means = rng.normal(scale=4.0, size=(comps, d))
    scales = rng.uniform(0.5, 3.0, size=(comps, d))
    lab = rng.choice(comps, size=n, p=np.arange(1, comps + 1) / np.arange(1, comps + 1).sum())
    mixture = means[lab] + rng.normal(size=(n, d)) * scales[lab]
    import statsmodels.api as sm

    randhie = sm.datasets.randhie.load_pandas().data.drop(columns=["mdvis"]).to_numpy(float)
    return {
        "blobs_unequal": blobs,
        "mixture_1M_x20": mixture,
        "digits": load_digits().data.astype(float),
        "randhie": randhie,
    }


def chunked_state(X: np.ndarray, seed: int, size: int | None = None) -> KMeansCoreset:
    s = KMeansCoreset(X.shape[1], k_max=K_MAX, size=size, seed=seed)
    for a in range(0, len(X), 10_007):
        s.update(X[a : a + 10_007])
    return s


def quality(name: str, X: np.ndarray) -> tuple[list[dict[str, Any]], Any]:
    rows = []
    states = st.compute_states(st.from_arrays(X), ["kmeans"], folds=5, metrics=["inertia"])
    total = states.total(states.model_slot("kmeans"))
    by_state = {"pass": total, "seed1": chunked_state(X, 1), "seed2": chunked_state(X, 2)}
    for k in sorted(set(KS)):
        ref = SkKMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
        ref_cost = cost(ref.cluster_centers_, X)
        for label, state in by_state.items():
            model = KMeans.from_state(state, n_clusters=k, n_init=10)
            ratio = cost(model.cluster_centers_, X) / ref_cost
            est = model.inertia_ / ref_cost
            rows.append(
                {
                    "dataset": name,
                    "rows": len(X),
                    "features": X.shape[1],
                    "k": k,
                    "state": label,
                    "coreset_points": model.coreset_size_,
                    "ratio": round(ratio, 5),
                    "inertia_estimate_over_ref": round(est, 5),
                }
            )
            print(rows[-1], flush=True)
    return rows, total


def by_size(name: str, X: np.ndarray, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    out = []
    for k in (2, 5, 10):
        ref_cost = cost(
            SkKMeans(n_clusters=k, n_init=10, random_state=0).fit(X).cluster_centers_, X
        )
        for size in sizes:
            for seed in range(3):
                s = chunked_state(X, seed, size)
                m = KMeans.from_state(s, n_clusters=k, n_init=10)
                out.append(
                    {
                        "dataset": name,
                        "k": k,
                        "size": size,
                        "seed": seed,
                        "ratio": round(cost(m.cluster_centers_, X) / ref_cost, 5),
                    }
                )
                print(out[-1], flush=True)
    return out


def timing(X: np.ndarray, total: KMeansCoreset) -> list[dict[str, Any]]:
    src = st.from_arrays(X)
    passes: dict[str, list[float]] = {"moments (pca)": [], "kmeans coreset": []}
    for _ in range(RUNS):  # interleaved: both sides see the same machine load
        for label, alg, metric in (
            ("moments (pca)", "pca", "reconstruction_error"),
            ("kmeans coreset", "kmeans", "inertia"),
        ):
            t0 = time.perf_counter()
            st.compute_states(src, [alg], folds=5, metrics=[metric])
            passes[label].append(time.perf_counter() - t0)
    rows: list[dict[str, Any]] = [
        {"what": f"pass {label}", "median_s": statistics.median(t), "runs": spread(t)}
        for label, t in passes.items()
    ]
    speed = statistics.median(passes["moments (pca)"]) / statistics.median(passes["kmeans coreset"])
    rows.append({"what": "kmeans pass speed / moments pass speed", "median_s": speed, "runs": ""})
    total.coreset()  # reduced once, memoized (as for every trial on a state)
    for n_init in (1, 10):
        for k in (2, 5, 10, 20):
            t = run_times(
                lambda k=k, n_init=n_init: KMeans.from_state(total, n_clusters=k, n_init=n_init),
                repeat=7,
                warmup=1,
            )
            rows.append(
                {
                    "what": f"finalize k={k} n_init={n_init}",
                    "median_s": statistics.median(t),
                    "runs": spread(t, "ms", 1e3, 1),
                }
            )
    for r in rows:
        print(r, flush=True)
    return rows


def plot(rows: list[dict[str, Any]], size_rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == name]
        ks = sorted({r["k"] for r in mine})
        worst = [max(r["ratio"] for r in mine if r["k"] == k) for k in ks]
        med = [statistics.median(r["ratio"] for r in mine if r["k"] == k) for k in ks]
        line = a.plot(ks, med, "o-", label=name)[0]
        a.plot(ks, worst, "x:", color=line.get_color())
    a.axhline(1.02, color="grey", lw=0.8, ls="--")
    a.axhline(1.05, color="red", lw=0.8, ls="--")
    a.set_xlabel("k")
    a.set_ylabel("inertia on all rows / scikit-learn KMeans(n_init=10)")
    a.set_title("by k (default size 200 k_max; o median, x worst of 3 states)")
    a.legend(fontsize=8)
    for name in dict.fromkeys(r["dataset"] for r in size_rows):
        for k in (2, 5, 10):
            mine = [r for r in size_rows if r["dataset"] == name and r["k"] == k]
            sizes = sorted({r["size"] for r in mine})
            b.plot(
                sizes,
                [max(r["ratio"] for r in mine if r["size"] == s) for s in sizes],
                "o-",
                label=f"{name} k={k}",
            )
    b.axhline(1.05, color="red", lw=0.8, ls="--")
    b.set_xscale("log")
    b.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    b.set_xlabel("coreset size (points)")
    b.set_ylabel("worst ratio of 3 seeds")
    b.set_title("by coreset size")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "kmeans_quality.png", dpi=120)


def main() -> None:
    data = datasets()
    rows: list[dict[str, Any]] = []
    totals = {}
    for name, X in data.items():
        got, totals[name] = quality(name, X)
        rows.extend(got)
    ratios = [r["ratio"] for r in rows]
    print(f"all: median {statistics.median(ratios):.4f}, worst {max(ratios):.4f}, {len(ratios)}")
    write_csv("kmeans_quality", rows)
    size_rows = by_size("digits", data["digits"], (200, 500, 1000))
    size_rows += by_size("blobs_unequal", data["blobs_unequal"], (200, 1000, 4000))
    write_csv("kmeans_quality_by_size", size_rows)
    plot(rows, size_rows)
    if "--no-timing" not in sys.argv:
        write_csv("kmeans_timing", timing(data["mixture_1M_x20"], totals["mixture_1M_x20"]))


if __name__ == "__main__":
    main()
