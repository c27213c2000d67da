"""Topic models for any number of topics from one :class:`~statetune.states.CoOccurrence` state.

The anchor-words method (Arora, Ge, Halpern, Mimno, Moitra, Sontag, Wu, Zhu, ICML 2013) needs
only the word co-occurrence matrix ``Q``, a sum over documents: one pass gives every fold's
state, and each trial (``n_components``, pruning, anchor threshold) finalizes in milliseconds
to a second, where variational LDA (scikit-learn's ``LatentDirichletAllocation``) rereads the
corpus for every iteration and every number of topics. Finalize:

1. keeps the words with ``doc_freq >= min_df`` that occur in some document of two words or
   more (scikit-learn's ``min_df`` from the state's counts: an integer is a count of
   documents, weighted; a float in (0, 1) a share of them);
2. row-normalizes ``Q`` on those words (``Qbar[w] = p(w2 | w1 = w)``) and picks
   ``n_components`` anchor words among the words with ``doc_freq >= anchor_threshold`` (the
   paper's threshold: rare words make noisy rows that look extreme; default: 0.5% of the
   documents, lowered to keep ``n_components`` candidates) by the paper's fast Gram-Schmidt (``projection_dim``: on a Gaussian random projection of the rows);
3. recovers ``p(topic | word)`` by RecoverL2 (default) or RecoverKL
   (:mod:`statetune.algorithms._anchor_words`: written here, no well-kept package offers it),
   then ``components_[k, w] = p(word w | topic k)`` by Bayes' rule with ``p(w)`` from ``Q``.

``components_`` is the topic-word matrix of scikit-learn's LDA (here normalized: each row sums
to 1; pruned words get 0); ``transform(X)`` gives each document's topic proportions (the
maximum-likelihood mixture of the topics for its words, by EM); ``topic_pairs_`` is the
topic-topic co-occurrence ``R`` (``Q ~ A R A^T``).

Held-out metrics, both from the held-out fold's state (no documents reread):

- ``pair_log_likelihood``: mean log-probability of the held-out documents' word pairs (each
  document's pair distribution, as in ``Q``) under the model's pair distribution
  ``A R A^T`` on the kept words. To compare models of different ``min_df``, pairs that touch a
  pruned word are scored with the training fold's own pair frequencies, and every pair is
  smoothed by ``1e-3`` of the training unigram product (pairs never seen in training are not
  impossible). Held-out words the training fold never saw in a pair are left out (the same for
  every trial of a fold).
- ``coherence``: UMass coherence (Mimno et al. 2011) of each topic's 10 most probable words,
  averaged over topics: ``sum_{l < m} log((D(w_m, w_l) + 1) / (D(w_l) + 1))`` from the held-out
  fold's document and co-document counts (``+ 1`` in the denominator too: a held-out fold may
  lack a top word).

Example
-------
>>> import numpy as np
>>> from statetune.states.cooccurrence import CoOccurrence
>>> from statetune.algorithms.topics import Topics
>>> rng = np.random.default_rng(0)
>>> A = np.zeros((6, 2)); A[:3, 0] = A[3:, 1] = 1 / 3
>>> X = np.stack([rng.multinomial(20, A[:, rng.integers(2)]) for _ in range(400)])
>>> s = CoOccurrence(6); s.update(X)
>>> model = Topics.from_state(s, n_components=2)
>>> np.round(np.sort(model.components_[:, 0]), 1).tolist()
[0.0, 0.3]
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from statetune.algorithms._anchor_words import AnchorPath, doc_topics, recover_kl, recover_l2
from statetune.algorithms._checks import check_int_range
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms.params import FloatParam, IntParam, Param
from statetune.algorithms.references import NoReference
from statetune.data.schema import Schema
from statetune.data.text import raw_documents
from statetune.data.vocabulary import TextVocabulary
from statetune.states._base import readonly
from statetune.states._small_pages import small_pages
from statetune.states.cooccurrence import CoOccurrence
from statetune.states.spec import StateSpec

__all__ = ["TOPIC_METRICS", "RawTextError", "Topics", "umass_coherence"]

TOPIC_METRICS = ("pair_log_likelihood", "coherence")
#: Most probable words of a topic that UMass coherence reads.
TOP_WORDS = 10
#: Weight of the training unigram product mixed into the pair model (smoothing).
SMOOTHING = 1e-3
#: Share of the documents an anchor word must occur in by default (``anchor_threshold=None``).
AUTO_ANCHOR_SHARE = 0.005
#: Search ranges of ``min_df`` and ``anchor_threshold``: shares of the documents.
MIN_DF_RANGE = (1e-4, 1e-2)
ANCHOR_RANGE = (1e-4, 2e-2)
#: Largest ``n_components`` the search space offers.
MAX_TOPICS = 50
_RECOVERY = ("L2", "KL")
#: Vocabularies (``min_df`` prunings) whose ``Qbar`` a state keeps for later trials, and
#: anchor paths (anchor thresholds, projections) kept per vocabulary.
_MEMO_VOCABULARIES = 3
_MEMO_PATHS = 8
_MEMO_LOCK = threading.Lock()
#: Rows of ``A R A^T`` computed at a time when scoring (a small buffer, no V x V array).
_ROWS = 128


class RawTextError(TypeError):
    """Raw documents given to a topic model that has no tokenizer (not from a text source)."""


def _one_blas_thread() -> Any:
    """BLAS limited to one thread: the recovery's products are small (V x k, k x k) and run
    hundreds of times; on a busy machine, threads of OpenBLAS waiting for cores made them
    ten times slower (measured: 30 s against 3 s for V = 2,000, k = 20, load 17 on 2 cores).
    The loaded libraries are looked up once (a lookup per trial cost 17 ms)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER: Any = None


def _check_documents(name: str, value: Any) -> None:
    """An integer >= 1 (documents) or a float in (0, 1) (a share of them)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"`{name}` must be a number, but got {value!r}.")
    if isinstance(value, float | np.floating):
        if not 0 < value < 1:
            raise ValueError(
                f"`{name}` must be an integer >= 1 (documents) or a float in (0, 1) (a share "
                f"of them), but got {value!r}."
            )
    elif value < 1:
        raise ValueError(f"`{name}` must be >= 1 as a count of documents, but got {value!r}.")


def umass_coherence(
    components: np.ndarray, codoc: np.ndarray, doc_freq: np.ndarray, top: int = TOP_WORDS
) -> float:
    """Mean UMass coherence of the topics (rows of ``components``) from document counts:
    over each topic's ``top`` most probable words (those of positive probability, ties by
    word index), ``sum_{l < m} log((D(w_m, w_l) + 1) / (D(w_l) + 1))``; topics of fewer than
    2 words are left out."""
    top = min(top, components.shape[1])
    words = np.argsort(-components, axis=1, kind="stable")[:, :top]
    n = np.minimum(top, (components > 0).sum(axis=1))
    hi, lo = np.triu_indices(top, k=1)  # position hi ranks above position lo
    wl, wm = words[:, hi], words[:, lo]
    terms = np.log((codoc[wm, wl] + 1.0) / (doc_freq[wl] + 1.0))
    scores = np.where(lo[None, :] < n[:, None], terms, 0.0).sum(axis=1)[n >= 2]
    if not scores.size:
        raise ValueError("Coherence needs a topic with 2 or more words, but no topic has them.")
    return float(np.mean(scores))


def _digest(a: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest()


class _Words:
    """``Qbar`` and ``p`` of a state on the kept words, and the anchor paths on them: what
    every trial of one vocabulary shares (memoized on the state, which drops it on any change;
    finalize reads it and never writes the state's arrays)."""

    def __init__(self, state: CoOccurrence, kept: np.ndarray) -> None:
        if len(kept) == state.n_features:  # every word kept: no copy of Q
            rows = state.derived("pair_mass", lambda: state.pairs.sum(axis=1))
            Qbar = state.pairs / rows[:, None]
        else:
            Qbar = state.pairs[np.ix_(kept, kept)]
            rows = Qbar.sum(axis=1)
            Qbar /= rows[:, None]
        #: Sum of ``Q`` over pairs of kept words (``p``'s normalizer).
        self.kept_total = float(rows.sum())
        self.p = rows / self.kept_total
        self.Qbar = readonly(Qbar)
        self._paths: OrderedDict[tuple[Any, ...], AnchorPath] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, candidates: np.ndarray, projection_dim: int | None, seed: int) -> AnchorPath:
        """The anchor path among ``candidates`` (shared by every ``n_components``)."""
        key = (_digest(candidates), projection_dim, seed if projection_dim is not None else 0)
        with self._lock:
            if key not in self._paths:
                self._paths[key] = AnchorPath(self.Qbar, candidates, projection_dim, seed)
                while len(self._paths) > _MEMO_PATHS:
                    self._paths.popitem(last=False)
            self._paths.move_to_end(key)
            return self._paths[key]


def _restricted(state: CoOccurrence, kept: np.ndarray) -> _Words:
    """The state's :class:`_Words` on ``kept``, built once (the last few vocabularies kept)."""
    key = _digest(kept)
    with _MEMO_LOCK:
        memo = state.derived("topic_words", OrderedDict)
        found = memo.get(key)
        if found is not None:
            memo.move_to_end(key)
            return found
    made = _Words(state, kept)  # outside the lock: two threads may both build; one is kept
    with _MEMO_LOCK:
        words = memo.setdefault(key, made)
        while len(memo) > _MEMO_VOCABULARIES:
            memo.popitem(last=False)
        return words


class Topics(StateEstimator, TransformerMixin, BaseEstimator):
    """Anchor-words topic model (Arora et al. 2013) for any ``n_components`` from one state."""

    state_class = CoOccurrence
    state_kind = "cooccurrence"
    needs_target = False
    features_are_counts = True
    metrics = TOPIC_METRICS
    maximize: ClassVar[dict[str, bool]] = {"pair_log_likelihood": True, "coherence": True}

    reference = NoReference(
        "no scikit-learn or statsmodels estimator recovers topics by anchor words (their LDA "
        "is variational Bayes, another estimator); recovery is measured against the known "
        "topics of corpora drawn from an LDA model (tests/algorithms_tests/test_topics.py, "
        "experiments/topics_quality.py)"
    )
    estimator_checks_exempt = (
        "anchor words are distinct words of the vocabulary, so n_components <= the words "
        "that occur in documents of two words or more: scikit-learn's checks fit 10 default "
        "topics on 1-5 columns of random reals, which no vocabulary of theirs can hold"
    )

    def __init__(
        self,
        n_components: int = 10,
        *,
        min_df: float = 1,
        anchor_threshold: float | None = None,
        recover: str = "L2",
        projection_dim: int | None = None,
        max_iter: int = 500,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.min_df = min_df
        self.anchor_threshold = anchor_threshold
        self.recover = recover
        self.projection_dim = projection_dim
        self.max_iter = max_iter
        self.random_state = random_state

    @classmethod
    def make_state(cls, n_features: int, has_target: bool, **state_params: Any) -> Any:
        """A co-occurrence state (any target the source has is ignored)."""
        return CoOccurrence(n_features, **state_params)

    @classmethod
    def state_spec(cls, schema: Schema, **state_params: Any) -> StateSpec:
        """The co-occurrence spec, its parameters checked without building the state (two
        ``V x V`` arrays of zeros, 64 MB at V = 2,000: free while the allocator maps new
        pages, but zeroed by it when it reuses memory, as in a process that ran a study)."""
        if schema.encoded:
            return super().state_spec(schema, **state_params)  # refused, by name
        params = CoOccurrence.checked_params(schema.n_features, **state_params)
        return StateSpec.of(CoOccurrence.kind, **params)

    # -- finalize ---------------------------------------------------------------------
    @staticmethod
    def _documents(value: float, state: CoOccurrence) -> float:
        """A document threshold: an integer count, or a float in (0, 1) as a share."""
        if isinstance(value, float | np.floating) and 0 < value < 1:
            return float(value) * state.weight_sum
        return float(value)

    def _vocabulary(self, state: CoOccurrence, min_df: float) -> np.ndarray:
        """Words kept: ``doc_freq >= min_df`` and some mass in ``Q`` (a pair)."""
        mass = state.derived("pair_mass", lambda: state.pairs.sum(axis=1))
        return np.flatnonzero((state.doc_freq >= self._documents(min_df, state)) & (mass > 0))

    def _threshold(self, state: CoOccurrence) -> float:
        """``anchor_threshold``, or by default (None) 0.5% of the documents (at least 1), but
        never so high that fewer than ``n_components`` kept words qualify."""
        if self.anchor_threshold is not None:
            return self._documents(self.anchor_threshold, state)
        kept = self._vocabulary(state, self.min_df)
        df = np.sort(state.doc_freq[kept])[::-1]
        k = min(int(self.n_components), len(df))
        cap = float(df[k - 1]) if k else 1.0
        return max(1.0, min(AUTO_ANCHOR_SHARE * state.weight_sum, cap))

    def _check_hyperparameters(self, state: CoOccurrence) -> None:
        if state.weight_sum <= 0 or state.pair_weight <= 0:
            raise ValueError(
                f"Topics need documents of 2 or more words, but none of the {state.n_rows} "
                f"documents has them ({state.n_empty} empty, {state.n_short} of one word)."
            )
        check_int_range(
            "n_components", self.n_components, 1, state.n_features, high_name="n_features"
        )
        _check_documents("min_df", self.min_df)
        if self.anchor_threshold is not None:
            _check_documents("anchor_threshold", self.anchor_threshold)
        check_int_range("max_iter", self.max_iter, 1, 1_000_000)
        if self.projection_dim is not None:
            check_int_range("projection_dim", self.projection_dim, 1, 1_000_000)
        if self.recover not in _RECOVERY:
            raise ValueError(f"`recover` must be one of {_RECOVERY}, but got {self.recover!r}.")
        kept = self._vocabulary(state, self.min_df)
        if len(kept) < 2:
            raise ValueError(
                f"The vocabulary after pruning must hold 2 or more words, but min_df="
                f"{self.min_df} keeps {len(kept)} of {state.n_features} words; lower min_df."
            )
        if self.n_components > len(kept):
            raise ValueError(
                f"`n_components <= vocabulary after pruning` must hold, but got n_components="
                f"{self.n_components} and {len(kept)} words kept (min_df={self.min_df}, of "
                f"{state.n_features})."
            )
        candidates = int((state.doc_freq[kept] >= self._threshold(state)).sum())
        if self.n_components > candidates:
            raise ValueError(
                f"`n_components <= anchor candidates` must hold, but got n_components="
                f"{self.n_components} and {candidates} words with doc_freq >= "
                f"anchor_threshold={self._threshold(state)}; lower anchor_threshold."
            )

    def _finalize(self, state: CoOccurrence) -> None:
        with _one_blas_thread(), small_pages():  # V x V temporaries: see small_pages
            self._recover(state)

    def _recover(self, state: CoOccurrence) -> None:
        kept = self._vocabulary(state, self.min_df)
        words = _restricted(state, kept)
        cand = np.flatnonzero(state.doc_freq[kept] >= self._threshold(state))
        path = words.path(cand, self.projection_dim, int(self.random_state))
        anchors = path.anchors(self.n_components)
        if self.recover == "L2":
            C = recover_l2(words.Qbar, anchors, self.max_iter, cross=path.cross(self.n_components))
        else:
            C = recover_kl(words.Qbar, anchors, self.max_iter)
        A = C * words.p[:, None]
        A /= np.maximum(A.sum(axis=0, keepdims=True), np.finfo(np.float64).tiny)
        Ap = np.linalg.pinv(A)
        R = np.maximum(((Ap * words.p) @ words.Qbar) @ Ap.T, 0.0)  # Ap Q Ap^T, Q = p * Qbar
        R = (R + R.T) / 2.0
        R /= max(float(R.sum()), np.finfo(np.float64).tiny)
        comp = np.zeros((self.n_components, state.n_features))
        comp[:, kept] = A.T
        self.components_ = comp
        self.topic_pairs_ = R
        self.anchors_ = kept[anchors]
        self.vocabulary_ = kept
        self.n_documents_ = state.n_rows
        self.n_empty_documents_ = state.n_empty
        self.n_short_documents_ = state.n_short

    @classmethod
    def from_state(cls, state: Any, feature_names: Any = None, **params: Any) -> Any:
        """Finalize from ``state``; from a text source's states (``feature_names`` its
        :class:`~statetune.data.vocabulary.TextVocabulary`) the model also keeps the words'
        tokenizer, so :meth:`transform` takes raw documents."""
        model: Any = super().from_state(state, feature_names, **params)
        model.text_vocabulary_ = (
            feature_names if isinstance(feature_names, TextVocabulary) else None
        )
        return model

    # -- use ------------------------------------------------------------------------------
    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[Any, Any]:
        return validate_data(self, X, reset=reset, accept_sparse="csr", dtype=np.float64), None

    def _term_counts(self, X: Any) -> Any:
        """Raw documents tokenized as the text source was; term counts as they are."""
        docs = raw_documents(X)
        if docs is None:
            return X
        words = getattr(self, "text_vocabulary_", None)
        if words is None:
            raise RawTextError(
                "Raw documents need the tokenizer of a text source, but this model was "
                f"finalized from states of a source without one ({self.n_features_in_} columns "
                "of term counts, e.g. st.from_arrays(csr)); pass term counts (a bag-of-words "
                "matrix with those columns), or build the source with st.from_text."
            )
        return words.vectorizer().transform(docs)

    def transform(self, X: Any) -> np.ndarray:
        """Topic proportions (n_documents x n_components) of documents: term counts (a
        bag-of-words matrix over the model's words), or raw documents (strings, a pandas
        Series of them) when the model comes from a text source (``st.from_text``)."""
        check_is_fitted(self, "components_")
        X = self._term_counts(X)
        if sp.issparse(X):  # a bag-of-words has no column names to check against the words
            X = check_array(X, accept_sparse="csr", dtype=np.float64)
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"`X` must have {self.n_features_in_} columns (the words the model was "
                    f"finalized on), but got {X.shape[1]}."
                )
        else:
            X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=np.float64)
        with _one_blas_thread():
            return doc_topics(X, self.components_.T)

    def pair_model(self) -> np.ndarray:
        """``A R A^T`` on the kept words: the model's distribution of word pairs."""
        A = self.components_[:, self.vocabulary_].T
        out: np.ndarray = A @ self.topic_pairs_ @ A.T
        return out

    # -- validation ------------------------------------------------------------------------
    @classmethod
    def search_space(cls, state: CoOccurrence) -> dict[str, Param]:
        """``min_df`` and ``anchor_threshold`` as shares of the documents (fixed ranges), and
        ``n_components`` up to 50 or the words that pass the highest of both thresholds."""
        mass = state.pairs.sum(axis=1) if state.n_rows else np.zeros(state.n_features)
        top = max(MIN_DF_RANGE[1], ANCHOR_RANGE[1]) * state.weight_sum
        words = int(((state.doc_freq >= top) & (mass > 0)).sum())
        k_hi = max(1, min(MAX_TOPICS, words))
        return {
            "n_components": IntParam(min(2, k_hi), k_hi),
            "min_df": FloatParam(*MIN_DF_RANGE, log=True),
            "anchor_threshold": FloatParam(*ANCHOR_RANGE, log=True),
        }

    def held_out_score(self, train: CoOccurrence, held: CoOccurrence, metric: str) -> float:
        if metric not in TOPIC_METRICS:
            raise ValueError(
                f"`metric` must be one of {TOPIC_METRICS} for Topics, but got {metric!r}."
            )
        if held.pair_weight <= 0:
            raise ValueError(
                f"Scoring needs held-out documents of 2 or more words, but the fold's "
                f"{held.n_rows} documents have none ({held.n_empty} empty, {held.n_short} of "
                "one word)."
            )
        if metric == "coherence":
            return umass_coherence(self.components_, held.codoc, held.doc_freq)
        with _one_blas_thread(), small_pages():
            return self._pair_log_likelihood(train, held)

    @staticmethod
    def validation_note(metric: str) -> str:
        """What ``metric`` measures, for the trials table's ``validation`` column."""
        if metric == "coherence":
            return f"held-out state: UMass coherence of the top {TOP_WORDS} words per topic"
        return "held-out state: log-likelihood per word pair of the held-out documents"

    def _pair_log_likelihood(self, train: CoOccurrence, held: CoOccurrence) -> float:
        """The dense ``sum(H * log(M)) / sum(H)`` over the held-out pairs only (the nonzero
        entries of the held-out ``Q``, each unordered pair once: both are symmetric): what
        does not depend on the model (the entries, the smoothing, the pairs touching a pruned
        word) is memoized per training and held-out state and vocabulary; a trial computes
        ``A R A^T`` at the kept words' entries."""
        kept = self.vocabulary_
        pairs = _HeldPairs.of(train, held, kept)
        A = self.components_[:, kept].T
        G = A @ self.topic_pairs_
        M = np.empty(len(pairs.h))  # A R A^T at the entries, a block of rows at a time
        for lo, hi, start, stop in pairs.blocks:
            M[start:stop] = (G[lo:hi] @ A[lo:].T).reshape(-1)[pairs.local[start:stop]]
        M *= (1.0 - SMOOTHING) * pairs.share
        M += pairs.smooth
        np.maximum(M, np.finfo(np.float64).tiny, out=M)
        return float((pairs.h @ np.log(M, out=M) + pairs.outside) / pairs.total)


class _HeldPairs:
    """The held-out pairs as the pair log-likelihood reads them, for one training state, one
    held-out state and one vocabulary (see ``Topics._pair_log_likelihood``)."""

    def __init__(self, train: CoOccurrence, held: CoOccurrence, kept: np.ndarray) -> None:
        mass = train.derived("pair_mass", lambda: train.pairs.sum(axis=1))
        total_t = float(mass.sum())
        u = mass / total_t
        # Q and A R A^T are symmetric: each unordered pair {r, c} once (r <= c), weighted by
        # H[r, c] + H[c, r], is the same sum over half the entries
        r, c, h = held.derived("pair_upper_entries", lambda: _upper_entries(held.pairs))
        seen = u > 0  # words the training fold saw in a pair
        sel = seen[r] & seen[c]
        r, c, h = r[sel], c[sel], h[sel]
        self.total = float(h.sum())
        if self.total <= 0:
            raise ValueError(
                "Scoring needs held-out word pairs among the training fold's words, but the "
                "held-out documents share none with it."
            )
        where = np.full(len(u), -1)
        where[kept] = np.arange(len(kept))
        rk, ck = where[r], where[c]
        inside = (rk >= 0) & (ck >= 0)
        smooth = SMOOTHING * u[r] * u[c]
        out = ~inside  # pairs touching a pruned word: the training fold's own frequency
        ro, co = r[out], c[out]
        own = (train.pairs[ro, co] + train.pairs[co, ro]) / 2.0
        M_out = (1.0 - SMOOTHING) * own / total_t + smooth[out]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            logs = np.log(np.maximum(M_out, np.finfo(np.float64).tiny))
        self.outside = float(h[out] @ logs)
        rk, ck = rk[inside], ck[inside]  # sorted by row, rk <= ck (kept ascends)
        n = len(kept)
        edges = np.arange(0, n + _ROWS, _ROWS).clip(max=n)
        cuts = np.searchsorted(rk, edges)
        self.blocks = [
            (int(edges[i]), int(edges[i + 1]), int(cuts[i]), int(cuts[i + 1]))
            for i in range(len(edges) - 1)
        ]
        # block [lo, hi) of rows holds columns lo.. (the upper triangle and the diagonal)
        lo = np.repeat(edges[:-1], np.diff(cuts))
        self.local = (rk - lo) * (n - lo) + (ck - lo)
        self.h = h[inside]
        self.smooth = smooth[inside]
        self.share = _block_sum(train.pairs, kept) / total_t

    @classmethod
    def of(cls, train: CoOccurrence, held: CoOccurrence, kept: np.ndarray) -> _HeldPairs:
        """Memoized on ``train`` (the last few held-out states and vocabularies), keyed by a
        token of ``held``'s memo, which ``held`` replaces on any change."""
        token = held.derived("memo_token", object)
        key = ("held_pairs", id(token), _digest(kept))
        with _MEMO_LOCK:
            memo = train.derived("topic_held_pairs", OrderedDict)
            found = memo.get(key)
            if found is not None and found[0] is token:
                memo.move_to_end(key)
                return found[1]
        made = cls(train, held, kept)
        with _MEMO_LOCK:
            memo[key] = (token, made)  # the token is kept alive: its id is not reused
            while len(memo) > _MEMO_VOCABULARIES:
                memo.popitem(last=False)
        return made


def _block_sum(Q: np.ndarray, kept: np.ndarray) -> float:
    """``Q[kept][:, kept].sum()`` without copying the block."""
    if len(kept) == Q.shape[0]:
        return float(Q.sum())
    mask = np.zeros(Q.shape[0])
    mask[kept] = 1.0
    return float((Q @ mask)[kept].sum())


def _upper_entries(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, columns, values)`` of the nonzero entries of ``Q + Q^T`` with ``row < column``,
    and of ``Q``'s diagonal (``row == column``): each unordered pair once, sorted by row; a
    block of rows at a time (no V x V temporary)."""
    V = Q.shape[0]
    rows, cols, vals = [], [], []
    for lo in range(0, V, _ROWS):
        hi = min(lo + _ROWS, V)
        block = Q[lo:hi, lo:] + Q[lo:, lo:hi].T
        d = np.arange(hi - lo)
        block[d, d] = Q[lo + d, lo + d]
        block[np.tril_indices(hi - lo, -1)] = 0.0
        r, c = np.nonzero(block)
        rows.append(r + lo)
        cols.append(c + lo)
        vals.append(block[r, c])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
