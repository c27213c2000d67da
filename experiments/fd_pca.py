"""PCA of a wide table from a Frequent Directions sketch against exact PCA, scikit-learn's
``IncrementalPCA`` and ``PCA(svd_solver="randomized")``: quality, pass time, peak memory.

Data: a generated low-rank-plus-noise table, ``--rows`` rows (default 100,000; the figure of
issue 13 asks for 1,000,000: ``--rows 1000000``) x ``--cols`` columns (default 2,000), made
chunk by chunk from seeded generators (the same rows for every method, never all in memory
for the streaming methods): ``X = (Z * s) @ V + noise + offset`` with ``Z`` standard normal
(``--rank`` 20 columns), ``s_i = 30 * 0.85^i``, ``V`` a fixed random orthonormal basis, unit
noise and an offset of 5 per column.

Methods, each in its own subprocess (so its peak RSS is its own; ``baseline`` is the RSS of a
worker that only imports and generates one chunk):

- ``exact``: the :class:`~statetune.states.Moments` state, then its eigendecomposition (the
  reference: the exact covariance of all rows);
- ``fd``: a :class:`~statetune.states.FrequentDirections` state with ``ell = 2k`` and
  ``ell = 4k`` rows, finalized by statetune's ``PCA(n_components=k)``;
- ``ipca``: ``IncrementalPCA(n_components=k)``, ``partial_fit`` on batches of ``20 k`` rows
  (its cost per batch grows with the square of the batch, so scikit-learn's default of
  ``5 d`` rows per batch is far slower here);
- ``randomized``: ``PCA(k, svd_solver="randomized", random_state=0, copy=False)`` on the
  whole matrix, which it must hold in memory (``rows x cols x 8`` bytes; ``copy=False`` lets
  it center the matrix in place instead of in a second copy): the method needs several
  passes and does not merge.

Quality, against the exact covariance ``C`` (of the ``exact`` run): ``captured`` =
``trace(P C P^T) / (sum of the top k eigenvalues of C)`` for the method's components ``P``
(orthonormal rows: the variance of all rows projected on them over exact PCA's top k, the
share of the best possible k-dimensional variance the components really keep), and
``reported`` = the method's own explained-variance sum over the exact one (for the sketch,
``s_i^2``: the bottom of its Weyl interval). ``randomized`` is skipped, with the reason printed
and written, when the matrix (``rows x cols x 8`` bytes, plus a 10% margin) exceeds the memory
available (at 1,000,000 x 2,000: 16 GB). Time: the wall
time of the updates and the finalize only (data generation excluded), one run per method
(the machine was shared with other jobs: read the times as rough). Tracemalloc is not used
(it slows numpy's allocations); peak memory is ``ru_maxrss`` of the worker.

Run: ``.venv/bin/python experiments/fd_pca.py [--rows N] [--cols D] [--k K]`` (writes
results/fd_pca.csv and results/fd_pca.png).

``--quality-only``: the ``captured`` figure of the sketch alone (``ell = 2k`` and ``4k``) in one
pass that also accumulates the exact covariance (a float64 Gram matrix of the rows shifted by
the first chunk's mean, ``O(rows cols^2)``): one generation of the rows instead of three, for
``--rows 1000000``; no time or memory figures (the states share the pass). Writes
results/fd_pca_quality.csv.

``--by-width``: the measurement behind the default engine by width (docs/design.md): update
time per row of the moments and of the sketch (``ell = 128``, the default) on 8,192 rows of
standard normals at d = 500 .. 4,000, median of 3 runs, one BLAS thread, and the memory of
each state (``to_arrays`` bytes); writes results/fd_width.csv.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, write_csv

CHUNK = 10_000


def basis(cols: int, rank: int) -> np.ndarray:
    q = np.linalg.qr(np.random.default_rng(12345).normal(size=(cols, rank)))[0]
    return np.ascontiguousarray(q.T)


def chunks(rows: int, cols: int, rank: int, size: int = CHUNK) -> Any:
    """The table, ``size`` rows at a time (the same rows whatever ``size`` divides)."""
    V = basis(cols, rank)
    s = 30.0 * 0.85 ** np.arange(rank)
    for i, a in enumerate(range(0, rows, CHUNK)):
        rng = np.random.default_rng([7, i])
        m = min(CHUNK, rows - a)
        X = (rng.normal(size=(m, rank)) * s) @ V + rng.normal(size=(m, cols)) + 5.0
        for b in range(0, m, size):
            yield X[b : b + size]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(a: argparse.Namespace) -> dict[str, Any]:
    """One method: stream the rows, fit, save the components; report time and memory."""
    from threadpoolctl import threadpool_limits

    from statetune.algorithms.decomposition import PCA
    from statetune.states import FrequentDirections, Moments

    spent = 0.0
    out: dict[str, Any] = {"method": a.worker, "ell": a.ell}
    with threadpool_limits(limits=a.threads, user_api="blas"):
        if a.worker == "baseline":
            for X in chunks(min(a.rows, CHUNK), a.cols, a.rank):
                X.sum()
            P, ev = np.zeros((a.k, a.cols)), np.zeros(a.k)
        elif a.worker in ("exact", "fd"):
            d = a.cols
            state = (
                Moments(d, False) if a.worker == "exact" else FrequentDirections(d, False, a.ell)
            )
            for X in chunks(a.rows, a.cols, a.rank):
                t = time.perf_counter()
                state.update(X)
                spent += time.perf_counter() - t
            t = time.perf_counter()
            model = PCA.from_state(state, n_components=a.k)
            spent += time.perf_counter() - t
            P, ev = model.components_, model.explained_variance_
            if a.worker == "exact":
                C = state.comoment / (state.weight_sum - 1.0)
                np.save(a.out + ".cov.npy", C)
        elif a.worker == "ipca":
            from sklearn.decomposition import IncrementalPCA

            ipca = IncrementalPCA(n_components=a.k)
            for X in chunks(a.rows, a.cols, a.rank, size=20 * a.k):
                t = time.perf_counter()
                ipca.partial_fit(X)
                spent += time.perf_counter() - t
            P, ev = ipca.components_, ipca.explained_variance_
        elif a.worker == "randomized":
            from sklearn.decomposition import PCA as SkPCA

            X = np.empty((a.rows, a.cols))
            for i, part in enumerate(chunks(a.rows, a.cols, a.rank)):
                X[i * CHUNK : i * CHUNK + len(part)] = part
            t = time.perf_counter()
            pca = SkPCA(a.k, svd_solver="randomized", random_state=0, copy=False).fit(X)
            spent = time.perf_counter() - t
            P, ev = pca.components_, pca.explained_variance_
        else:
            raise ValueError(f"`--worker` must name a method, but got {a.worker!r}.")
    np.savez(a.out, components=P, explained_variance=ev)
    out.update(seconds=spent, peak_rss_mb=peak_rss_mb())
    return out


def quality_only(a: argparse.Namespace) -> None:
    """The sketch's ``captured`` at ``ell = 2k, 4k`` against the exact covariance, one pass."""
    from threadpoolctl import threadpool_limits

    from statetune.algorithms.decomposition import PCA
    from statetune.states import FrequentDirections

    d, t0 = a.cols, time.perf_counter()
    sketches = {ell: FrequentDirections(d, False, ell) for ell in (2 * a.k, 4 * a.k)}
    G, total, n, shift = np.zeros((d, d)), np.zeros(d), 0, None
    with threadpool_limits(limits=a.threads, user_api="blas"):
        for X in chunks(a.rows, a.cols, a.rank):
            for state in sketches.values():
                state.update(X)
            shift = X.mean(axis=0) if shift is None else shift
            Z = X - shift
            G += Z.T @ Z
            total += Z.sum(axis=0)
            n += len(X)
        C = (G - np.outer(total, total) / n) / (n - 1)
        best = float(np.linalg.eigvalsh(C)[::-1][: a.k].sum())
        rows = []
        for ell, state in sketches.items():
            P = PCA.from_state(state, n_components=a.k).components_
            got = float(np.trace(P @ C @ P.T)) / best
            rows.append({"method": "fd", "ell": ell, "captured": got, "rows": n, "cols": d})
            print(f"fd ell={ell:<4} captured {got:.6f}", flush=True)
    print(f"one pass: {time.perf_counter() - t0:.0f} s (shared machine)")
    write_csv("fd_pca_quality", rows)


def randomized_too_big(a: argparse.Namespace) -> str | None:
    """Why ``randomized`` cannot run here (the matrix, centered in place), or None."""
    need = int(1.1 * a.rows * a.cols * 8)
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(x.split()[1]) * 1024 for x in f if x.startswith("MemAvailable"))
    except (OSError, StopIteration):
        return None
    if need <= avail:
        return None
    return f"needs {need / 2**30:.0f} GB (the matrix + 10%), {avail / 2**30:.0f} GB available"


def run(method: str, a: argparse.Namespace, tmp: Path, ell: int = 0) -> dict[str, Any]:
    out = str(tmp / f"{method}_{ell}")
    cmd = [sys.executable, __file__, "--worker", method, "--out", out, "--ell", str(ell)]
    cmd += ["--rows", str(a.rows), "--cols", str(a.cols), "--k", str(a.k), "--rank", str(a.rank)]
    cmd += ["--threads", str(a.threads)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["out"] = out + ".npz"
    print(f"{method:>10} ell={ell:<4} {row['seconds']:8.1f} s  {row['peak_rss_mb']:8.0f} MB")
    return row


def by_width() -> None:
    import statistics

    from threadpoolctl import threadpool_limits

    from statetune.states import FrequentDirections, Moments

    rows = []
    X_all = np.random.default_rng(0).normal(size=(8_192, 4_000))
    for d in (500, 1_000, 2_000, 3_000, 4_000):
        X = np.ascontiguousarray(X_all[:, :d])
        for name, make in (
            ("moments", lambda d=d: Moments(d, False)),
            ("frequent_directions", lambda d=d: FrequentDirections(d, False, 128)),
        ):
            times = []
            for _ in range(3):
                state = make()
                with threadpool_limits(limits=1, user_api="blas"):
                    t = time.perf_counter()
                    state.update(X)
                    times.append(time.perf_counter() - t)
            nbytes = sum(a.nbytes for a in state.to_arrays()[1].values())
            us = statistics.median(times) / len(X) * 1e6
            rows.append({"state": name, "d": d, "us_per_row": us, "state_mb": nbytes / 2**20})
            print(f"{name:>20} d={d:<5} {us:9.1f} us/row  {nbytes / 2**20:8.1f} MB", flush=True)
    write_csv("fd_width", rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--cols", type=int, default=2_000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--rank", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--methods", default="exact,fd,ipca,randomized")
    p.add_argument("--worker", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--ell", type=int, default=0)
    p.add_argument("--by-width", action="store_true")
    p.add_argument("--quality-only", action="store_true")
    a = p.parse_args()
    if a.by_width:
        by_width()
        return
    if a.quality_only:
        quality_only(a)
        return
    if a.worker:
        print(json.dumps(worker(a)))
        return
    methods = a.methods.split(",")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        rows = [run("baseline", a, tmp)]
        skipped = randomized_too_big(a) if "randomized" in methods else None
        if skipped:
            print(f"randomized skipped: {skipped}")
            methods.remove("randomized")
        for m in methods:
            for ell in (2 * a.k, 4 * a.k) if m == "fd" else (0,):
                rows.append(run(m, a, tmp, ell))
        C = np.load(str(tmp / "exact_0.cov.npy")) if "exact" in methods else None
        if C is not None:
            lam = np.linalg.eigvalsh(C)[::-1]
            best = float(lam[: a.k].sum())
        for r in rows:
            got = np.load(r.pop("out"))
            r["captured"] = r["reported"] = float("nan")
            if C is not None and r["method"] != "baseline":
                P = got["components"]
                r["captured"] = float(np.trace(P @ C @ P.T)) / best
                r["reported"] = float(got["explained_variance"].sum()) / best
            r.update(rows=a.rows, cols=a.cols, k=a.k, threads=a.threads, note="")
        if skipped:
            rows.append({"method": "randomized", "ell": 0, "note": f"skipped: {skipped}"})
    write_csv("fd_pca", rows)
    plot(rows, a)


def plot(rows: list[dict[str, Any]], a: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r["method"] != "baseline" and not r.get("note")]
    if not shown:
        return
    names = [r["method"] + (f"\nell={r['ell']}" if r["method"] == "fd" else "") for r in shown]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, key, label in zip(
        axes,
        ("captured", "seconds", "peak_rss_mb"),
        (
            f"variance kept by the top {a.k} components / exact",
            "pass + finalize time (s)",
            "peak RSS (MB)",
        ),
        strict=True,
    ):
        vals = [float(r.get(key, np.nan)) for r in shown]
        ax.bar(names, vals, color="tab:blue")
        ax.set_title(label, fontsize=9)
        for i, v in enumerate(vals):
            label = f"{v:.6f}" if key == "captured" else f"{v:.4g}"  # 0.99999 is not "1"
            ax.text(i, v, label, ha="center", va="bottom", fontsize=8)
        if key == "captured":
            ax.set_ylim(min(0.9, min(vals) - 0.01), 1.005)
            ax.axhline(0.99, color="gray", lw=0.8, ls="--")
    fig.suptitle(
        f"PCA of a {a.rows:,} x {a.cols:,} low-rank-plus-noise table (k={a.k}); "
        f"{a.threads} BLAS thread(s), shared machine",
        fontsize=10,
    )
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "fd_pca.png", dpi=120)


if __name__ == "__main__":
    main()
