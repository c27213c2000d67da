"""The anchor-words topic model against the topics that generated the documents (synthetic LDA
corpora with known topics), scipy's optimizer (document proportions) and numpy on the held-out
documents themselves (coherence, pair likelihood)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment, minimize

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.algorithms.topics import SMOOTHING, Topics
from statetune.states import CoOccurrence

V, K = 60, 4


def _lda(n_docs, seed=0, length=50):
    """Documents from an LDA model whose first K words are anchors (one topic each)."""
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.full(V, 0.1), size=K).T  # V x K
    A[:K] = 0.0
    A[np.arange(K), np.arange(K)] = 0.05
    A /= A.sum(axis=0)
    theta = rng.dirichlet(np.full(K, 0.3), size=n_docs)
    X = np.stack([rng.multinomial(length, p) for p in theta @ A.T]).astype(float)
    return sp.csr_matrix(X), A, theta


@pytest.fixture(scope="module")
def corpus():
    return _lda(6000)


def _state(X):
    s = CoOccurrence(X.shape[1])
    s.update(X)
    return s


def _l1(A, components):
    cost = np.abs(A[:, :, None] - components.T[:, None, :]).sum(axis=0)
    r, c = linear_sum_assignment(cost)
    return cost[r, c].mean()


@pytest.mark.parametrize("recover", ["L2", "KL"])
def test_recovers_the_generating_topics(corpus, recover):
    X, A, _ = corpus
    model = Topics.from_state(_state(X), n_components=K, recover=recover)
    assert len(set(model.anchors_.tolist())) == K
    np.testing.assert_allclose(model.components_.sum(axis=1), 1.0, rtol=1e-9)
    assert _l1(A, model.components_) < 0.1


def test_random_projection_recovers_the_topics(corpus):
    X, A, _ = corpus
    model = Topics.from_state(_state(X), n_components=K, projection_dim=20)
    assert _l1(A, model.components_) < 0.1


def test_error_falls_with_corpus_size():
    small, A, _ = _lda(600, seed=1)
    big, _, _ = _lda(6000, seed=1)
    errs = [_l1(A, Topics.from_state(_state(X), n_components=K).components_) for X in (small, big)]
    assert errs[1] < errs[0]


def test_transform_is_the_maximum_likelihood_mixture(corpus):
    X, _, _ = corpus
    model = Topics.from_state(_state(X), n_components=K)
    theta = model.transform(X[:3])
    B = model.components_.T
    for x, t in zip(X[:3].toarray(), theta, strict=True):
        nz = x > 0

        def nll(z, x=x, nz=nz):
            p = np.exp(z) / np.exp(z).sum()
            return -(x[nz] * np.log(B[nz] @ p)).sum()

        best = minimize(nll, np.zeros(K), method="BFGS", options={"gtol": 1e-10})
        ref = np.exp(best.x) / np.exp(best.x).sum()
        assert nll(np.log(np.maximum(t, 1e-300))) <= best.fun + 1e-4
        np.testing.assert_allclose(t, ref, atol=2e-2)


def test_held_out_metrics_equal_numpy_on_the_held_out_documents(corpus):
    X, _, _ = corpus
    train, held = _state(X[:5000]), _state(X[5000:])
    model = Topics.from_state(train, n_components=K)
    Xh = X[5000:].toarray()
    B = (Xh > 0).astype(float)
    coh = []
    for row in model.components_:
        top = np.argsort(-row, kind="stable")[:10]
        total = 0.0
        for m in range(1, 10):
            for ll in range(m):
                both = (B[:, top[m]] * B[:, top[ll]]).sum()
                total += np.log((both + 1.0) / (B[:, top[ll]].sum() + 1.0))
        coh.append(total)
    assert model.held_out_score(train, held, "coherence") == pytest.approx(np.mean(coh), 1e-10)
    # the pair distribution of each held-out document, summed, scored under the model
    H = np.zeros((V, V))
    for x in Xh:
        n = x.sum()
        H += (np.outer(x, x) - np.diag(x)) / (n * (n - 1))
    Qt = train.pairs / train.pairs.sum()
    u = Qt.sum(axis=1)
    A = model.components_.T
    M = A @ model.topic_pairs_ @ A.T * Qt.sum()  # every word is kept here (min_df=1)
    M = (1 - SMOOTHING) * M + SMOOTHING * np.outer(u, u)
    seen = np.ix_(u > 0, u > 0)  # words the training fold saw in a pair
    ref = (H[seen] * np.log(M[seen])).sum() / H[seen].sum()
    got = model.held_out_score(train, held, "pair_log_likelihood")
    assert got == pytest.approx(ref, rel=1e-10)
    one = Topics.from_state(train, n_components=1).held_out_score(
        train, held, "pair_log_likelihood"
    )
    assert got > one  # the true number of topics predicts held-out pairs better than one


def test_bad_input_is_named():
    X = np.zeros((6, 5))
    X[0, 0] = 1.0
    X[1, 1] = 1.0
    s = _state(X)
    assert (s.n_empty, s.n_short) == (4, 2)
    with pytest.raises(ValueError, match=r"documents of 2 or more words.*4 empty, 2 of one word"):
        Topics.from_state(s, n_components=1)
    X[2, :3] = [2.0, 1.0, 1.0]
    X[3, 2:4] = 1.0
    s = _state(X)
    with pytest.raises(ValueError, match=r"vocabulary after pruning.*n_components=5 and 4 words"):
        Topics.from_state(s, n_components=5)  # word 4 is never in a document
    with pytest.raises(ValueError, match=r"n_components.*6.*n_features"):
        Topics.from_state(s, n_components=6)
    with pytest.raises(
        ValueError, match=r"after pruning must hold 2 or more words.*min_df=3 keeps 0"
    ):
        Topics.from_state(s, n_components=1, min_df=3)
    model = Topics.from_state(s, n_components=2)
    assert (model.n_empty_documents_, model.n_short_documents_) == (2, 2)


def test_tune_topics_by_coherence_one_pass(corpus, tmp_path):
    X, _, _ = corpus
    src = st.from_arrays(X[:3000])
    result = st.tune(
        src, ["topics"], n_trials=4, cv=2, metric="coherence", storage=None, cache_dir=tmp_path
    )
    trials = result.trials
    assert trials["validation"].str.contains("UMass coherence").all()
    assert result.metric == "coherence"
    assert result.best_model.components_.shape[1] == V
    states = st.compute_states(src, ["topics"], folds=2)
    model = get_algorithm("topics").finalize(states.total("cooccurrence"), {"n_components": 3})
    assert model.transform(X[:2]).shape == (2, 3)


def test_pair_likelihood_with_pruned_words_equals_numpy(corpus):
    """With ``min_df`` pruning: pairs of kept words under the model (scaled to the kept
    words' share of the training pairs), pairs touching a pruned word at the training fold's
    own frequency, every pair smoothed; numpy on the whole pair matrices."""
    X, _, _ = corpus
    train, held = _state(X[:5000]), _state(X[5000:])
    model = Topics.from_state(train, n_components=K, min_df=1200)
    kept = model.vocabulary_
    assert 10 < len(kept) < V
    Qt = train.pairs / train.pairs.sum()
    u = Qt.sum(axis=1)
    M = Qt.copy()  # pairs touching a pruned word
    A = model.components_[:, kept].T
    M[np.ix_(kept, kept)] = A @ model.topic_pairs_ @ A.T * Qt[np.ix_(kept, kept)].sum()
    M = (1 - SMOOTHING) * M + SMOOTHING * np.outer(u, u)
    H = held.pairs
    seen = np.ix_(u > 0, u > 0)
    ref = (H[seen] * np.log(M[seen])).sum() / H[seen].sum()
    got = model.held_out_score(train, held, "pair_log_likelihood")
    assert got == pytest.approx(ref, rel=1e-10)


def test_held_out_pairs_are_read_once_per_unordered_pair(corpus):
    """The held-out ``Q`` and the model's ``A R A^T`` are symmetric: the memoized held-out
    pairs hold each unordered pair once (with both orders' weight), half of the entries."""
    from statetune.algorithms.topics import _HeldPairs

    X, _, _ = corpus
    train, held = _state(X[:5000]), _state(X[5000:])
    kept = Topics.from_state(train, n_components=K).vocabulary_
    pairs = _HeldPairs.of(train, held, kept)
    assert len(kept) > V - 3  # min_df=1: the words the training fold saw in a pair
    H = held.pairs[np.ix_(kept, kept)]
    assert pairs.h.size == np.count_nonzero(np.triu(H)) < np.count_nonzero(H)
    assert pairs.h.sum() == pytest.approx(H.sum(), rel=1e-12)
