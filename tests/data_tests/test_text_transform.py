"""A topic model from a text source takes raw documents in ``transform``, tokenized exactly as
scikit-learn's ``CountVectorizer`` of the source does (``src.vectorizer.transform`` + the
bag-of-words path is the reference), also after a save/load round trip; a model without a
tokenizer refuses raw text by name.

Documents are docstrings of installed scikit-learn modules (shipped text; nothing downloads).
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.algorithms.topics import RawTextError
from statetune.data.vocabulary import UnsavedTokenizerError

NEW = [
    "Fit the linear model with coordinate descent and an L1 penalty.",
    "Cluster the samples by k-means; return the labels.",
    "",
    "regression regression penalty",
]


@pytest.fixture(scope="module")
def docs():
    import sklearn.cluster
    import sklearn.linear_model

    out = []
    for module in (sklearn.linear_model, sklearn.cluster):
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 200:
                out.append(doc)
    return out


def test_raw_documents_are_tokenized_like_the_source(docs, tmp_path):
    src = st.from_text(docs, max_features=300, ngram_range=(1, 2))
    states = st.compute_states(src, ["topics"], folds=2)
    model = st.finalize("topics", states, n_components=4)
    ref = model.transform(src.vectorizer.transform(NEW))
    np.testing.assert_array_equal(model.transform(NEW), ref)
    np.testing.assert_array_equal(model.transform(np.array(NEW)), ref)
    series = pd.Series([*NEW, None], name="body")  # a missing document reads as empty
    np.testing.assert_array_equal(model.transform(series)[: len(NEW)], ref)
    np.testing.assert_allclose(model.transform(series)[-1], 0.25)
    np.testing.assert_array_equal(model.transform(src.X[:3]), model.transform(docs[:3]))
    st.save_model(tmp_path, "topics", states, {"n_components": 4})
    loaded = st.load_model(tmp_path)  # tokenizer rebuilt from model.json
    np.testing.assert_array_equal(loaded.transform(NEW), ref)
    with pytest.raises(TypeError, match="single string"):
        model.transform(NEW[0])


def test_raw_text_without_a_tokenizer_is_named(docs):
    src = st.from_text(docs, max_features=200)
    states = st.compute_states(st.from_arrays(src.X), ["topics"], folds=2)
    model = st.finalize("topics", states, n_components=3)
    assert model.transform(src.vectorizer.transform(NEW)).shape == (len(NEW), 3)
    with pytest.raises(RawTextError, match=r"tokenizer of a text source.*200 columns"):
        model.transform(NEW)


def test_a_callable_tokenizer_serves_the_session_but_is_not_saved(docs, tmp_path):
    src = st.from_text(docs, max_features=200, analyzer=str.split, stop_words=None)
    states = st.compute_states(src, ["topics"], folds=2)
    model = st.finalize("topics", states, n_components=3)
    ref = model.transform(src.vectorizer.transform(NEW))
    np.testing.assert_array_equal(model.transform(NEW), ref)
    st.save_model(tmp_path, "topics", states, {"n_components": 3})
    loaded = st.load_model(tmp_path)
    np.testing.assert_array_equal(loaded.transform(src.vectorizer.transform(NEW)), ref)
    with pytest.raises(UnsavedTokenizerError, match=r"\['analyzer'\] were Python callables"):
        loaded.transform(NEW)
