"""Sparse sources: ``st.from_arrays(csr, y)`` and sparse batches, never densified whole.

References are independent: scikit-learn's naive Bayes and cross-validation fitted on the dense
equivalent, numpy on all rows. The bag-of-words is built with scikit-learn's CountVectorizer
from the docstrings of installed scikit-learn modules (shipped text; nothing downloads).
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import naive_bayes
from sklearn.feature_extraction.text import CountVectorizer

import statetune as st
from statetune.data.arrays import DENSE_CHUNK_BYTES, chunk_rows


def _docstring_corpus():
    import sklearn.cluster
    import sklearn.decomposition
    import sklearn.linear_model

    docs, labels = [], []
    for module in (sklearn.linear_model, sklearn.cluster, sklearn.decomposition):
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 200:
                docs.append(doc)
                labels.append(module.__name__.rsplit(".", 1)[-1])
    return docs, np.array(labels)


@pytest.fixture(scope="module")
def bow():
    docs, y = _docstring_corpus()
    X = CountVectorizer(min_df=2).fit_transform(docs)
    return sp.csr_matrix(X), y


def test_from_arrays_keeps_csr_sparse_in_source_and_chunks(bow):
    X, y = bow
    src = st.from_arrays(X.tocsc(), y)
    assert sp.issparse(src.X) and src.X.format == "csr"
    chunk = next(src.partitions()[0].chunks(src.schema))
    assert sp.issparse(chunk.X)
    assert src.schema.n_features == X.shape[1]


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("multinomial_nb", naive_bayes.MultinomialNB(alpha=0.5)),
        ("complement_nb", naive_bayes.ComplementNB(alpha=0.5)),
        ("bernoulli_nb", naive_bayes.BernoulliNB(alpha=0.5)),
    ],
)
def test_count_nb_from_sparse_source_equals_sklearn_on_dense(bow, name, ref):
    X, y = bow
    states = st.compute_states(st.from_arrays(X, y), [name], folds=3)
    model = states.finalize(name, alpha=0.5)
    ref.fit(X.toarray(), y)
    np.testing.assert_allclose(model.feature_log_prob_, ref.feature_log_prob_, rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X.toarray()), rtol=1e-8)


def test_tune_count_nb_on_bag_of_words(bow):
    X, y = bow
    result = st.tune(
        st.from_arrays(X, y), ["multinomial_nb", "complement_nb", "bernoulli_nb"], n_trials=6
    )
    assert result.best_model.predict(X[:5]).shape == (5,)
    assert 0.3 < result.best_value <= 1.0


def test_dense_state_from_sparse_source_equals_dense_source(bow):
    X, _y = bow
    Xs = X[:, :40]
    ys = np.arange(Xs.shape[0], dtype=float)
    a = st.compute_states(st.from_arrays(Xs, ys), ["ridge"], folds=3)
    b = st.compute_states(st.from_arrays(Xs.toarray(), ys), ["ridge"], folds=3)
    ma, mb = a.finalize("ridge", alpha=1.0), b.finalize("ridge", alpha=1.0)
    np.testing.assert_allclose(ma.coef_, mb.coef_, rtol=1e-9, atol=1e-12)


def test_sparse_chunks_stay_within_the_dense_bound():
    rng = np.random.default_rng(0)
    rows_, cols = rng.integers(0, 3000, 600), rng.integers(0, 200_000, 600)
    wide = sp.csr_matrix((np.ones(600), (rows_, cols)), shape=(3000, 200_000))
    rows = chunk_rows(wide)
    assert rows * 200_000 * 8 <= DENSE_CHUNK_BYTES
    src = st.from_arrays(wide, np.zeros(3000))
    sizes = [len(c) for p in src.partitions() for c in p.chunks(src.schema)]
    assert sum(sizes) == 3000 and max(sizes) <= rows < 3000


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_value_in_sparse_matrix_is_refused_naming_row(bad):
    X = sp.lil_matrix((6, 4))
    X[1, 0] = 1.0
    X[4, 2] = bad
    with pytest.raises(ValueError, match=r"Column 'x2' must be finite.*row 4"):
        st.from_arrays(X.tocsr(), np.arange(6.0))
    batches = [(X.tocsr()[:3], np.zeros(3)), (X.tocsr()[3:], np.zeros(3))]
    with pytest.raises(ValueError, match=r"Column 'x2' must be finite.*row 1 of batch 1"):
        st.compute_states(st.from_batches(lambda: iter(batches)), ["ridge"], folds=2)


def test_negative_count_in_sparse_source_names_row():
    X = sp.csr_matrix(np.array([[1.0, 0], [0, 2.0], [3.0, 0], [0, -1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"non-negative counts.*row 3"):
        st.compute_states(st.from_arrays(X, ["a", "b", "a", "b", "a"]), ["multinomial_nb"], 2)


def test_sparse_batches_equal_one_sparse_array(bow):
    X, y = bow
    cuts = [0, 17, 60, X.shape[0]]
    batches = [(X[a:b], y[a:b]) for a, b in itertools.pairwise(cuts)]
    one = st.compute_states(st.from_arrays(X, y), ["multinomial_nb"], folds=3)
    many = st.compute_states(st.from_batches(batches), ["multinomial_nb"], folds=3)
    for k in range(3):
        assert one.train("class_counts", k).allclose(many.train("class_counts", k), rtol=1e-12)


def test_sparse_fingerprint_identifies_content_and_feeds_cache(bow, tmp_path):
    X, y = bow
    fp = st.from_arrays(X, y).fingerprint()
    assert fp == st.from_arrays(X.tocsc(), y).fingerprint()  # same rows, another layout
    changed = X.copy()
    changed.data[5] += 1.0
    assert st.from_arrays(changed, y).fingerprint() != fp
    cache = str(tmp_path / "cache")
    first = st.compute_states(st.from_arrays(X, y), ["multinomial_nb"], folds=2, cache=cache)
    again = st.compute_states(st.from_arrays(X, y), ["multinomial_nb"], folds=2, cache=cache)
    assert first.cache_report.rows_read == X.shape[0]
    assert again.cache_report.rows_read == 0
    assert again.lineage[0]["fingerprint"] == st.from_arrays(X, y).segments()[0].fingerprint
