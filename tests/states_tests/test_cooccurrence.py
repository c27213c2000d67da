"""``CoOccurrence``: the sums of Arora et al. (2013) against numpy on every document."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import statetune as st
from statetune.states import CoOccurrence
from statetune.testing import assert_round_trip


def _reference(X, w):
    """Q, term counts, document counts and co-document counts, one document at a time."""
    V = X.shape[1]
    Q, D = np.zeros((V, V)), np.zeros((V, V))
    for x, wd in zip(X, w, strict=True):
        n = x.sum()
        b = (x > 0).astype(float)
        D += wd * np.outer(b, b)
        if n >= 2:
            Q += wd * (np.outer(x, x) - np.diag(x)) / (n * (n - 1))
    return Q, X.T @ w, (X > 0).T.astype(float) @ w, D


def _docs(seed=0, n=300, V=12):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 9, n)  # some empty, some of one word
    X = np.stack([rng.multinomial(m, rng.dirichlet(np.ones(V) * 0.3)) for m in lengths])
    return X.astype(float), rng.uniform(0.2, 3.0, n)


@pytest.mark.parametrize("sparse", [False, True])
def test_sums_equal_numpy_document_by_document(sparse):
    X, w = _docs()
    s = CoOccurrence(X.shape[1])
    for a, b in ((0, 77), (77, 200), (200, 300)):
        s.update(sp.csr_matrix(X[a:b]) if sparse else X[a:b], None, w[a:b])
    Q, terms, docs, D = _reference(X, w)
    np.testing.assert_allclose(s.pairs, Q, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s.term_count, terms, rtol=1e-12)
    np.testing.assert_allclose(s.doc_freq, docs, rtol=1e-12)
    np.testing.assert_allclose(s.codoc, D, rtol=1e-12)
    lengths = X.sum(axis=1)
    assert s.n_rows == len(X)
    assert s.n_empty == int((lengths == 0).sum()) > 0
    assert s.n_short == int((lengths == 1).sum()) > 0
    np.testing.assert_allclose(s.pair_weight, w[lengths >= 2].sum(), rtol=1e-12)
    np.testing.assert_allclose(s.weight_sum, w.sum(), rtol=1e-12)
    # each document of two words or more adds one unit of pair mass (times its weight)
    np.testing.assert_allclose(s.pairs.sum(), w[lengths >= 2].sum(), rtol=1e-12)


def test_merge_subtract_and_round_trip():
    X, w = _docs(1)
    a, b, whole = CoOccurrence(12), CoOccurrence(12), CoOccurrence(12)
    a.update(X[:100], None, w[:100])
    b.update(X[100:], None, w[100:])
    whole.update(X, None, w)
    merged = b.copy()
    merged.merge(a)
    assert merged.allclose(whole, rtol=1e-12)
    merged.subtract(a)
    assert merged.allclose(b, rtol=1e-9)
    assert_round_trip(whole)


def test_vocabulary_above_vocab_max_is_refused():
    with pytest.raises(ValueError, match=r"n_features <= vocab_max.*n_features=50, vocab_max=40"):
        CoOccurrence(50, vocab_max=40)


def test_state_params_reach_the_state_through_compute_states():
    X, _ = _docs(2)
    states = st.compute_states(
        st.from_arrays(X), ["topics"], folds=2, state_params={"topics": {"vocab_max": 20}}
    )
    assert states.total("cooccurrence").vocab_max == 20


def test_planning_the_pass_builds_no_state(monkeypatch):
    """The pass's spec is checked without a state (two V x V arrays: 64 MB at V = 2,000);
    the pass builds one per fold, and bad state parameters are still refused by name."""
    import statetune.states.cooccurrence as co

    X, _ = _docs(2)
    whole = CoOccurrence(X.shape[1])
    whole.update(X)
    built: list[int] = []
    init = co.CoOccurrence.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        init(self, *args, **kwargs)

    monkeypatch.setattr(co.CoOccurrence, "__init__", counted)
    states = st.compute_states(st.from_arrays(X), ["topics"], folds=3)
    assert len(built) == 3
    assert states.total("cooccurrence").allclose(whole)
    with pytest.raises(ValueError, match=r"n_features <= vocab_max.*vocab_max=5"):
        st.compute_states(
            st.from_arrays(X), ["topics"], folds=2, state_params={"topics": {"vocab_max": 5}}
        )


@pytest.mark.parametrize(("value", "what"), [(-1.0, "must hold non-negative"), (np.nan, "finite")])
def test_bad_counts_are_refused_naming_the_row(value, what):
    X, _ = _docs(3, n=40)
    X[17, 4] = value
    src = st.from_arrays(X) if np.isfinite(value) else None
    if src is None:
        with pytest.raises(ValueError, match=rf"{what}.*row 17"):
            st.compute_states(st.from_arrays(sp.csr_matrix(X)), ["topics"], folds=2)
        return
    with pytest.raises(ValueError, match=rf"{what}.*row 17"):
        st.compute_states(src, ["topics"], folds=2)


@pytest.mark.parametrize("budget", [0, 1, 100])
def test_a_batch_is_multiplied_a_block_of_words_at_a_time(monkeypatch, budget):
    """The scratch product of a batch stays within ``BLOCK_ENTRIES`` (one scratch for the
    whole batch was up to ``V^2`` entries on fresh pages each batch; a word whose own row
    exceeds the budget is a block alone), and the blocks change no bit of the sums: the same
    as one block, and as numpy."""
    import statetune.states.cooccurrence as co

    assert co.csr_matmat is not None
    X, w = _docs(6, n=300, V=40)
    whole = CoOccurrence(40)
    whole.update(sp.csr_matrix(X), None, w)
    sizes: list[int] = []
    kernel = co.csr_matmat

    def recorded(*args):
        sizes.append(args[-1].size)  # the scratch values
        return kernel(*args)

    monkeypatch.setattr(co, "csr_matmat", recorded)
    monkeypatch.setattr(co, "BLOCK_ENTRIES", budget)
    blocked = CoOccurrence(40)
    blocked.update(sp.csr_matrix(X), None, w)
    assert len(sizes) > 2 * 5 and max(sizes) <= max(budget, 40)
    np.testing.assert_array_equal(blocked.pairs, whole.pairs)
    np.testing.assert_array_equal(blocked.codoc, whole.codoc)
    Q, _, _, D = _reference(X, w)
    np.testing.assert_allclose(blocked.pairs, Q, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(blocked.codoc, D, rtol=1e-12)


@pytest.mark.parametrize(
    "X",
    [
        np.zeros((0, 5)),  # no documents
        np.zeros((4, 5)),  # documents without words
        np.array([[3.0], [0.0], [1.0]]),  # one word (V = 1)
        np.array([[0.0, 7.0, 0.0, 0.0, 0.0]]),  # one document of one repeated word
    ],
    ids=["no rows", "no words", "V=1", "one word repeated"],
)
@pytest.mark.parametrize("budget", [0, 1])
def test_degenerate_batches_by_blocks_equal_numpy(monkeypatch, X, budget):
    import statetune.states.cooccurrence as co

    monkeypatch.setattr(co, "BLOCK_ENTRIES", budget)
    s = CoOccurrence(X.shape[1])
    s.update(sp.csr_matrix(X))
    Q, _, _, D = _reference(X, np.ones(len(X)))
    np.testing.assert_allclose(s.pairs, Q, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s.codoc, D, rtol=1e-12)
    assert s.n_rows == len(X)


def test_topics_spec_equals_the_spec_of_a_built_state():
    """``Topics.state_spec`` checks the parameters without a state, and gives the spec (or the
    error) that building the state gives."""
    from statetune.algorithms.topics import Topics
    from statetune.data.schema import Schema
    from statetune.states.spec import StateSpec

    schema = st.compute_states(st.from_arrays(_docs(1, n=50, V=8)[0]), ["topics"]).schema
    assert isinstance(schema, Schema)
    for params in ({}, {"vocab_max": 8}, {"vocab_max": np.int64(9)}, {"vocab_max": 9.0}):
        built = StateSpec.for_state(CoOccurrence(8, **params))
        assert Topics.state_spec(schema, **params) == built
    for params, error in (({"vocab_max": 5}, ValueError), ({"vocab_max": 0}, ValueError)):
        with pytest.raises(error) as planned:
            Topics.state_spec(schema, **params)
        with pytest.raises(error) as made:
            CoOccurrence(8, **params)
        assert str(planned.value) == str(made.value)


def test_scipy_kernels_and_public_operators_give_the_same_sums(monkeypatch):
    """``update`` by scipy's kernels (in place) equals ``update`` by the public operators
    (the path taken when scipy lacks them), bit for bit, and both equal numpy."""
    import statetune.states.cooccurrence as co

    assert co.csr_matmat is not None  # this scipy's kernels passed the import-time check
    X, w = _docs(5, n=400, V=30)
    fast = CoOccurrence(30)
    for a, b in ((0, 150), (150, 400)):
        fast.update(sp.csr_matrix(X[a:b]), None, w[a:b])
    monkeypatch.setattr(co, "csr_matmat", None)
    public = CoOccurrence(30)
    for a, b in ((0, 150), (150, 400)):
        public.update(sp.csr_matrix(X[a:b]), None, w[a:b])
    np.testing.assert_array_equal(fast.pairs, public.pairs)
    np.testing.assert_array_equal(fast.codoc, public.codoc)
    Q, _, _, D = _reference(X, w)
    np.testing.assert_allclose(public.pairs, Q, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(public.codoc, D, rtol=1e-12)


def test_kernels_that_disagree_or_raise_are_not_used(monkeypatch):
    """The import-time check of scipy's private kernels: a kernel with another signature (it
    raises) or another result makes ``update`` take the public operators."""
    import statetune.states.cooccurrence as co

    assert co._kernels_agree()

    def moved(*args):
        raise TypeError("csr_matmat() takes 9 arguments")

    monkeypatch.setattr(co, "csr_matmat", moved)
    assert not co._kernels_agree()
    monkeypatch.undo()
    real = co.csr_todense

    def halved(n_row, n_col, p, j, x, out):
        real(n_row, n_col, p, j, x / 2.0, out)

    monkeypatch.setattr(co, "csr_todense", halved)
    assert not co._kernels_agree()
