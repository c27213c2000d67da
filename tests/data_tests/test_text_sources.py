"""``st.from_text``: documents tokenized by scikit-learn's CountVectorizer into a sparse source.

Documents are docstrings of installed scikit-learn modules (shipped text; nothing downloads).
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

import statetune as st
from statetune.states import CoOccurrence


@pytest.fixture(scope="module")
def frame():
    import sklearn.cluster
    import sklearn.linear_model

    rows = []
    for module in (sklearn.linear_model, sklearn.cluster):
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 200:
                rows.append({"body": doc, "module": module.__name__.rsplit(".", 1)[-1]})
    rows.append({"body": "", "module": "cluster"})  # an empty document
    rows.append({"body": None, "module": "cluster"})  # a missing one reads as empty
    return pd.DataFrame(rows)


def test_bag_of_words_equals_count_vectorizer(frame):
    src = st.from_text(frame, text="body", target="module", max_features=500)
    ref = CountVectorizer(max_features=500, stop_words="english")
    X = ref.fit_transform(frame["body"].fillna(""))
    assert sp.issparse(src.X)
    assert list(src.schema.features) == list(ref.get_feature_names_out())
    assert (src.X != X).nnz == 0
    assert src.schema.target == "module"


def test_naive_bayes_from_text_equals_sklearn(frame):
    src = st.from_text(frame, text="body", target="module", max_features=300)
    model = st.compute_states(src, ["multinomial_nb"], folds=2).finalize("multinomial_nb")
    ref = MultinomialNB().fit(src.X.toarray(), frame["module"])
    np.testing.assert_allclose(model.feature_log_prob_, ref.feature_log_prob_, rtol=1e-10)


def test_empty_documents_are_counted_by_the_topic_state(frame):
    src = st.from_text(frame, text="body", max_features=300)
    total = st.compute_states(src, ["topics"], folds=2).total("cooccurrence")
    lengths = np.asarray(src.X.sum(axis=1)).ravel()
    assert total.n_empty == int((lengths == 0).sum()) >= 2
    assert total.n_short == int((lengths == 1).sum())
    model = st.finalize("topics", st.compute_states(src, ["topics"], folds=2), n_components=5)
    assert model.components_.shape == (5, 300)
    assert model.n_empty_documents_ == total.n_empty
    theta = model.transform(src.vectorizer.transform(["linear regression with a penalty"]))
    np.testing.assert_allclose(theta.sum(axis=1), 1.0)


def test_folder_of_txt_files_and_fixed_vocabulary(tmp_path, frame):
    texts = frame["body"].dropna().tolist()[:20]
    for i, t in enumerate(texts):
        (tmp_path / f"doc{i:03d}.txt").write_text(t, encoding="utf-8")
    src = st.from_text(tmp_path, max_features=100)
    ref = CountVectorizer(max_features=100, stop_words="english").fit(texts)
    assert src.vocabulary == list(ref.get_feature_names_out())
    more = st.from_text(["new words and regression"], vocabulary=src.vocabulary)
    assert more.vocabulary == src.vocabulary
    state = CoOccurrence(len(src.vocabulary))
    state.update(src.X)
    assert state.n_rows == 20


def test_bad_documents_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"row 1 of the documents holds int"):
        st.from_text(["fine text", 3])
    with pytest.raises(ValueError, match=r"must hold words to count.*none left after tokenizing"):
        st.from_text(["the and of", "a an"])
    with pytest.raises(ValueError, match=r"\.txt files.*has none"):
        st.from_text(tmp_path)
    with pytest.raises(ValueError, match=r"text column 'body'"):
        st.from_text(pd.DataFrame({"x": ["a"]}), text="body")
