"""Anchor-word topics from one pass: recovery, a study over k against scikit-learn's LDA, throughput.

1. Recovery (``topics_recovery``): corpora drawn from a known LDA model (V = 2,000 words,
   K = 20 topics drawn from Dirichlet(0.05) over the words, document proportions from
   Dirichlet(0.1), 100 tokens per document), one pass of 100,000 documents whose prefixes of
   10k, 20k, 50k and 100k documents are states along the way (a state is a sum: the prefix
   state is what a pass over the first n documents gives). Reported: L1 error between each
   recovered topic and its true topic (topics matched by the Hungarian algorithm), mean over
   topics, for RecoverL2 with the default anchor threshold; and, for scale, scikit-learn's
   ``LatentDirichletAllocation`` (batch, max_iter=10) fitted on the first 10,000 documents.
2. Study over k (``topics_study``) on a real corpus built from shipped text: the docstrings of
   the public functions, classes and methods of numpy, scipy, scikit-learn and pandas
   (installed packages; one document per docstring of 300 characters or more, duplicates
   dropped), tokenized by ``st.from_text(max_features=2000)``. Both sides do the same work on
   the same split (the rows of fold 0 held out), at every k = 5, 10, ..., 50, timed as a user
   runs it (wall and CPU seconds):
   statetune: one pass (``compute_states(folds=5)``), then per k ``Topics.from_state`` on the
   training state and both held-out metrics (UMass coherence, pair log-likelihood) from the
   held-out state; median of OURS_RUNS repeats, each on a new source (built untimed, as LDA is
   given the term counts) and from a fresh pass (nothing carried over); the first run and the
   time of each phase (one more run) are recorded too. And as a user's first call: the same
   study in each of COLD_RUNS fresh Python processes (median; ``cold_runs``): every array is
   new memory and one-time set-ups (BLAS threads, threadpoolctl's library lookup) are paid
   (later calls in one process reuse the allocator's memory).
   scikit-learn: per k ``LatentDirichletAllocation(n_components=k, random_state=0).fit`` (its
   defaults: batch variational Bayes, 10 iterations) and its held-out ``perplexity``; one
   repeat (a minute or more per repeat). Quality side by side on that split: both models scored
   by the same metrics from the held-out documents (LDA's topic-pair matrix ``R`` is the mean
   of ``theta theta^T`` over its training documents' inferred proportions, untimed), plus
   LDA's own perplexity; and our 5-fold means (its time after the pass is recorded too).
3. Throughput (``topics_throughput``): tokens per second of scikit-learn's CountVectorizer alone
   (``fit_transform``), of ``st.from_text`` (the same vectorizer, plus the source), of the pass
   alone on the built source (``compute_states(["topics"], folds=5)``), and of the pass on the
   100k-document synthetic corpus (CSR in memory). Medians of RUNS runs.

The machine is shared (2 cores, other jobs running): each timing is a median of a few runs of
one execution of this script; read the ratios, not the digits.

Run: ``.venv/bin/python experiments/topics_quality.py`` (``TOPICS_REUSE_RECOVERY=1`` reuses
results/topics_recovery.csv and runs the later parts only) (writes results/topics_recovery.csv,
results/topics_study.csv, results/topics_throughput.csv and results/topics_quality.png).
"""

from __future__ import annotations

import importlib
import inspect
import statistics
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from _common import RESULTS, run_times, write_csv
from scipy.optimize import linear_sum_assignment

import statetune as st
from statetune.algorithms.topics import Topics
from statetune.states import CoOccurrence

V, K, LENGTH = 2000, 20, 100
SIZES = (10_000, 20_000, 50_000, 100_000)
KS = tuple(range(5, 51, 5))
RUNS = 2
#: Repeats of our timed study (fresh states each time: nothing carried over); medians.
OURS_RUNS = 5
#: Fresh processes, each timing one study as a user's first call (see ``cold_runs``).
COLD_RUNS = 7
MODULES = (
    "numpy numpy.linalg numpy.fft numpy.random numpy.ma numpy.polynomial scipy.stats "
    "scipy.optimize scipy.linalg scipy.signal scipy.sparse scipy.sparse.linalg scipy.special "
    "scipy.interpolate scipy.integrate scipy.spatial scipy.ndimage scipy.cluster.hierarchy "
    "scipy.io scipy.fft sklearn.linear_model sklearn.cluster sklearn.decomposition "
    "sklearn.ensemble sklearn.metrics sklearn.preprocessing sklearn.model_selection "
    "sklearn.neighbors sklearn.svm sklearn.tree sklearn.feature_extraction.text sklearn.manifold "
    "sklearn.mixture sklearn.naive_bayes sklearn.covariance sklearn.impute sklearn.pipeline "
    "sklearn.compose sklearn.utils sklearn.datasets sklearn.gaussian_process "
    "sklearn.kernel_approximation sklearn.cross_decomposition sklearn.neural_network "
    "sklearn.feature_selection sklearn.inspection sklearn.calibration sklearn.semi_supervised "
    "sklearn.random_projection pandas pandas.api.types pandas.plotting"
).split()


def lda_corpus(n_docs: int, A: np.ndarray, alpha: float, rng: np.random.Generator) -> sp.csr_matrix:
    """Documents of LENGTH tokens from LDA: proportions ~ Dirichlet(alpha), topic per token,
    word per token from its topic (vectorized by topic)."""
    k = A.shape[1]
    theta = rng.dirichlet(np.full(k, alpha), size=n_docs)
    doc = np.repeat(np.arange(n_docs), LENGTH)
    cum = np.cumsum(theta, axis=1)
    z = np.empty(doc.size, dtype=np.int64)
    for a in range(0, doc.size, 1_000_000):
        d = doc[a : a + 1_000_000]
        u = rng.random(d.size)
        z[a : a + 1_000_000] = np.minimum((u[:, None] > cum[d]).sum(axis=1), k - 1)
    words = np.empty(doc.size, dtype=np.int64)
    for t in range(k):
        idx = np.flatnonzero(z == t)
        words[idx] = rng.choice(A.shape[0], size=idx.size, p=A[:, t])
    X = sp.csr_matrix((np.ones(doc.size), (doc, words)), shape=(n_docs, A.shape[0]))
    X.sum_duplicates()
    return X


def l1_error(A: np.ndarray, components: np.ndarray) -> float:
    """Mean L1 distance of matched topics (columns of ``A``; rows of ``components``)."""
    comp = components / components.sum(axis=1, keepdims=True)
    cost = np.abs(A[:, :, None] - comp.T[:, None, :]).sum(axis=0)
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].mean())


def recovery() -> tuple[list[dict[str, Any]], sp.csr_matrix]:
    from sklearn.decomposition import LatentDirichletAllocation

    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.full(V, 0.05), size=K).T
    X = lda_corpus(SIZES[-1], A, 0.1, rng)
    state, done, rows = CoOccurrence(V), 0, []
    for n in SIZES:
        state.update(X[done:n])
        done = n
        t0 = time.perf_counter()
        model = Topics.from_state(state, n_components=K)
        secs = time.perf_counter() - t0
        err = l1_error(A, model.components_)
        rows.append(
            {
                "docs": n,
                "method": "statetune anchor words (L2)",
                "l1_error": err,
                "finalize_s": secs,
            }
        )
        print(f"recovery n={n}: L1 {err:.3f} (finalize {secs:.2f} s)", flush=True)
    t0 = time.perf_counter()
    lda = LatentDirichletAllocation(K, learning_method="batch", max_iter=10, random_state=0)
    lda.fit(X[: SIZES[0]])
    secs = time.perf_counter() - t0
    err = l1_error(A, lda.components_)
    rows.append(
        {
            "docs": SIZES[0],
            "method": "sklearn LDA (batch, 10 iter)",
            "l1_error": err,
            "finalize_s": secs,
        }
    )
    print(f"recovery sklearn LDA n={SIZES[0]}: L1 {err:.3f} ({secs:.1f} s)", flush=True)
    return rows, X


def docstrings() -> list[str]:
    # the objects are kept alive while we look: an attribute made on access (a bound
    # method) freed and its id reused by the next one would be skipped, and the corpus
    # would change from run to run
    seen: dict[int, Any] = {}
    texts: dict[str, None] = {}

    def add(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen[id(obj)] = obj
        doc = inspect.getdoc(obj)
        if doc and len(doc) >= 300:
            texts.setdefault(doc, None)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            for attr, obj in inspect.getmembers(module):
                if attr.startswith("_") or not callable(obj):
                    continue
                add(obj)
                if inspect.isclass(obj):
                    for m, meth in inspect.getmembers(obj):
                        if not m.startswith("_") and callable(meth):
                            add(meth)
    return list(texts)


def lda_as_topics(lda: Any, X_train: Any) -> Topics:
    """scikit-learn's LDA in our model's form, to be scored by the same held-out metrics."""
    model = Topics(n_components=lda.n_components)
    comp = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
    theta = lda.transform(X_train)
    R = theta.T @ theta / len(theta)
    model.components_ = comp
    model.topic_pairs_ = R / R.sum()
    model.vocabulary_ = np.arange(comp.shape[1])
    return model


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def ours_one_split(src: Any, score: bool = True) -> tuple[Any, dict[int, Topics]]:
    """The user's study over k on fold 0: one pass, then finalize (and score) each k."""
    states = st.compute_states(src, ["topics"], folds=5)
    train, held = states.train("cooccurrence", 0), states.held_out("cooccurrence", 0)
    models = {}
    for k in KS:
        models[k] = model = Topics.from_state(train, n_components=k)
        if score:
            model.held_out_score(train, held, "coherence")
            model.held_out_score(train, held, "pair_log_likelihood")
    return states, models


def ours_phases(src: Any) -> dict[str, float]:
    """Wall seconds of each phase of :func:`ours_one_split` (one run, for the record): the
    pass, the finalizes, the coherences and the pair likelihoods (summed over k)."""
    out = dict.fromkeys(("pass", "finalize", "coherence", "pair_log_likelihood"), 0.0)
    t0 = time.perf_counter()
    states = st.compute_states(src, ["topics"], folds=5)
    train, held = states.train("cooccurrence", 0), states.held_out("cooccurrence", 0)
    out["pass"] = time.perf_counter() - t0
    for k in KS:
        t0 = time.perf_counter()
        model = Topics.from_state(train, n_components=k)
        t1 = time.perf_counter()
        model.held_out_score(train, held, "coherence")
        t2 = time.perf_counter()
        model.held_out_score(train, held, "pair_log_likelihood")
        t3 = time.perf_counter()
        out["finalize"] += t1 - t0
        out["coherence"] += t2 - t1
        out["pair_log_likelihood"] += t3 - t2
    return {name: round(secs, 4) for name, secs in out.items()}


def cold_runs(docs: list[str], runs: int = COLD_RUNS) -> list[float]:
    """Wall seconds of :func:`ours_one_split` as a user's first call: each run in a fresh
    Python process (statetune imported and the source built untimed, as in the warm runs),
    so no array of an earlier run is reused and one-time set-ups are paid (a first call's
    arrays are fresh pages of memory; later calls in one process reuse the allocator's)."""
    import pickle
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/docs.pkl"
        with open(path, "wb") as f:
            pickle.dump(docs, f)
        out = []
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, __file__, "--cold-study", path],
                check=True,
                capture_output=True,
                text=True,
            )
            out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def _cold_study(path: str) -> None:
    """One cold run (the child of :func:`cold_runs`): prints its wall seconds."""
    import pickle

    with open(path, "rb") as f:
        docs = pickle.load(f)
    src = st.from_text(docs, max_features=2000)
    t0 = time.perf_counter()
    ours_one_split(src)
    print(f"{time.perf_counter() - t0:.4f}")


def study(docs: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from sklearn.decomposition import LatentDirichletAllocation

    src = st.from_text(docs, max_features=2000)
    X = sp.csr_matrix(src.X)
    # statetune, timed: pass + 10 finalizes + both held-out metrics, medians of OURS_RUNS;
    # each run on a new source (built untimed: LDA is given the term counts too)
    # (a run's states and models are dropped before the next run starts: a user's study
    # holds one set of them)
    walls, cpus = [], []
    for _ in range(OURS_RUNS):
        fresh = st.from_text(docs, max_features=2000)
        (w0, c0) = _clock()
        ours_one_split(fresh)
        (w1, c1) = _clock()
        walls.append(w1 - w0)
        cpus.append(c1 - c0)
        del fresh
    ours_wall, ours_cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"study, statetune one split: {ours_wall:.2f} s wall, {ours_cpu:.2f} s CPU (runs: "
        f"{', '.join(f'{w:.2f}' for w in walls)} s wall)",
        flush=True,
    )
    phases = ours_phases(st.from_text(docs, max_features=2000))
    print(f"study, statetune phases (one more run, wall s): {phases}", flush=True)
    cold = cold_runs(docs)
    print(
        f"study, statetune first call of a fresh process: {statistics.median(cold):.2f} s wall "
        f"(runs: {', '.join(f'{w:.2f}' for w in cold)} s)",
        flush=True,
    )
    states = st.compute_states(src, ["topics"], folds=5)  # for the quality columns
    # the 5-fold study (quality columns; its time for the record)
    (w0, c0) = _clock()
    cv: dict[int, tuple[float, float]] = {}
    for k in KS:
        coh, pll = [], []
        for f in range(5):
            train, held = states.train("cooccurrence", f), states.held_out("cooccurrence", f)
            model = Topics.from_state(train, n_components=k)
            coh.append(model.held_out_score(train, held, "coherence"))
            pll.append(model.held_out_score(train, held, "pair_log_likelihood"))
        cv[k] = (float(np.mean(coh)), float(np.mean(pll)))
    (w1, c1) = _clock()
    five_wall, five_cpu = w1 - w0, c1 - c0
    print(f"5-fold study after the pass: {five_wall:.2f} s wall, {five_cpu:.2f} s CPU", flush=True)
    # scikit-learn, timed: refit at every k on the same split, scored by its own perplexity
    tr, he = states.train("cooccurrence", 0), states.held_out("cooccurrence", 0)
    fold = np.asarray(states.folds.assign(0, X.shape[0]))
    X_train, X_held = X[np.flatnonzero(fold != 0)], X[np.flatnonzero(fold == 0)]
    assert tr.n_rows == X_train.shape[0] and he.n_rows == X_held.shape[0]
    rows: list[dict[str, Any]] = []
    lda_wall, lda_cpu = 0.0, 0.0
    ours = ours_one_split(src, score=False)[1]
    for k in KS:
        (w0, c0) = _clock()
        lda = LatentDirichletAllocation(n_components=k, random_state=0).fit(X_train)
        perplexity = float(lda.perplexity(X_held))
        (w1, c1) = _clock()
        lda_wall += w1 - w0
        lda_cpu += c1 - c0
        for name, m, extra, secs in (
            ("statetune", ours[k], None, None),
            ("sklearn LDA", lda_as_topics(lda, X_train), perplexity, w1 - w0),
        ):
            row = {
                "k": k,
                "method": name,
                "coherence_split": m.held_out_score(tr, he, "coherence"),
                "pair_log_likelihood_split": m.held_out_score(tr, he, "pair_log_likelihood"),
                "coherence_5fold": cv[k][0] if name == "statetune" else None,
                "pair_log_likelihood_5fold": cv[k][1] if name == "statetune" else None,
                "lda_heldout_perplexity": extra,
                "lda_fit_s": secs,
            }
            rows.append(row)
            print(row, flush=True)
    timing = {
        "docs": float(X.shape[0]),
        "tokens": float(X.sum()),
        "ks": " ".join(map(str, KS)),
        "ours_one_split_wall_s": ours_wall,
        "ours_one_split_cpu_s": ours_cpu,
        "ours_runs": OURS_RUNS,
        "ours_first_run_wall_s": walls[0],
        "ours_cold_runs": len(cold),
        "ours_cold_wall_s": statistics.median(cold),
        "ours_cold_max_wall_s": max(cold),
        "ours_max_run_wall_s": max(walls),
        **{f"ours_phase_{name}_wall_s": secs for name, secs in phases.items()},
        "ours_5fold_after_pass_wall_s": five_wall,
        "ours_5fold_after_pass_cpu_s": five_cpu,
        "sklearn_lda_one_split_wall_s": lda_wall,
        "sklearn_lda_one_split_cpu_s": lda_cpu,
        "speedup_wall": lda_wall / ours_wall,
        "speedup_cold_wall": lda_wall / statistics.median(cold),
        "speedup_cpu": lda_cpu / ours_cpu,
    }
    return rows, timing


def throughput(docs: list[str], X_syn: sp.csr_matrix) -> list[dict[str, Any]]:
    from sklearn.feature_extraction.text import CountVectorizer

    src = st.from_text(docs, max_features=2000)
    tokens = float(src.X.sum())

    def vectorize() -> None:
        CountVectorizer(max_features=2000, stop_words="english").fit_transform(docs)

    timings = {
        "CountVectorizer alone (docstrings)": (run_times(vectorize, RUNS), tokens),
        "st.from_text (docstrings)": (
            run_times(lambda: st.from_text(docs, max_features=2000), RUNS),
            tokens,
        ),
        "pass alone, topics, 5 folds (docstrings)": (
            run_times(lambda: st.compute_states(src, ["topics"], folds=5), RUNS),
            tokens,
        ),
        "pass alone, topics, 5 folds (synthetic 100k docs)": (
            run_times(lambda: st.compute_states(st.from_arrays(X_syn), ["topics"], folds=5), 1),
            float(X_syn.sum()),
        ),
    }
    rows = []
    for name, (times, n_tok) in timings.items():
        med = statistics.median(times)
        rows.append(
            {
                "what": name,
                "tokens": n_tok,
                "median_s": med,
                "tokens_per_s": n_tok / med,
                "runs": len(times),
            }
        )
        print(f"throughput {name}: {n_tok / med:,.0f} tokens/s ({med:.2f} s)", flush=True)
    return rows


def plot(
    rec: list[dict[str, Any]],
    stu: list[dict[str, Any]],
    thr: list[dict[str, Any]],
    timing: dict[str, float],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(20, 4.5))
    ours = [r for r in rec if r["method"].startswith("statetune")]
    axes[0].plot(
        [r["docs"] for r in ours], [r["l1_error"] for r in ours], "o-", label="anchor words"
    )
    for r in rec:
        if not r["method"].startswith("statetune"):
            axes[0].plot([r["docs"]], [r["l1_error"]], "s", color="#cc6677", label=r["method"])
    axes[0].set_xscale("log")
    axes[0].set_xlabel("documents")
    axes[0].set_ylabel("mean L1 error per topic")
    axes[0].set_title(f"Recovery, synthetic LDA (V={V}, K={K})")
    axes[0].legend()
    for ax, key, title in (
        (axes[1], "coherence_split", "UMass coherence (held out)"),
        (axes[2], "pair_log_likelihood_split", "pair log-likelihood (held out)"),
    ):
        for name, color in (("statetune", "#4477aa"), ("sklearn LDA", "#cc6677")):
            pts = [r for r in stu if r["method"] == name]
            ax.plot([r["k"] for r in pts], [r[key] for r in pts], "o-", color=color, label=name)
        ax.set_xlabel("k (n_components)")
        ax.set_title(title + ", docstrings corpus")
        ax.legend()
    labels = [
        "statetune, first call\nof a process",
        "statetune, later\ncalls (median)",
        "sklearn LDA: fit and\nperplexity per k",
    ]
    vals = [
        timing["ours_cold_wall_s"],
        timing["ours_one_split_wall_s"],
        timing["sklearn_lda_one_split_wall_s"],
    ]
    bars = axes[3].bar(labels, vals, color=["#4477aa", "#88aadd", "#cc6677"])
    axes[3].bar_label(bars, fmt="%.3g s")
    axes[3].set_yscale("log")
    axes[3].set_title(f"Study over k in {KS[0]}..{KS[-1]}, one split (wall)")
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "topics_quality.png", dpi=110)
    plt.close(fig)


def main() -> None:
    import csv
    import os

    if os.environ.get("TOPICS_REUSE_RECOVERY") and (RESULTS / "topics_recovery.csv").exists():
        with open(RESULTS / "topics_recovery.csv") as f:  # a rerun of the later parts
            rec = [
                {**r, "docs": int(r["docs"]), "l1_error": float(r["l1_error"])}
                for r in csv.DictReader(f)
            ]
        rng = np.random.default_rng(0)
        X_syn = lda_corpus(SIZES[-1], rng.dirichlet(np.full(V, 0.05), size=K).T, 0.1, rng)
    else:
        rec, X_syn = recovery()
        write_csv("topics_recovery", rec)
    docs = docstrings()
    print(f"docstring corpus: {len(docs)} documents", flush=True)
    stu, timing = study(docs)
    write_csv("topics_study", stu)
    write_csv("topics_study_timing", [timing])
    print(timing, flush=True)
    thr = throughput(docs, X_syn)
    write_csv("topics_throughput", thr)
    plot(rec, stu, thr, timing)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--cold-study"]:
        _cold_study(sys.argv[2])
    else:
        main()
