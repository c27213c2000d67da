"""``knn_classifier`` on a continuous target is refused by name, as ``lda`` and scikit-learn's
``KNeighborsClassifier`` refuse it (it built 77 "classes" of statsmodels' ``fair`` affairs
and reported an accuracy); integral float labels stay classes."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.datasets as smd
from sklearn.neighbors import KNeighborsClassifier

import statetune as st


def _fair():
    df = smd.fair.load_pandas().data
    return df.drop(columns="affairs").to_numpy(float), df["affairs"].to_numpy(float)


def test_a_continuous_target_is_refused_naming_the_regressor():
    X, y = _fair()
    states = st.compute_states(st.from_arrays(X, y), ["knn_classifier"], folds=3)
    with pytest.raises(ValueError, match=r"discrete.*continuous target.*knn_regressor"):
        st.finalize("knn_classifier", states)
    with pytest.raises(ValueError, match=r"discrete"):
        states.validation_score("knn_classifier", {"n_neighbors": 5}, metric="accuracy")
    with pytest.raises(ValueError, match=r"continuous"):
        KNeighborsClassifier().fit(X, y)  # the reference refuses it too


def test_integral_float_labels_are_classes_as_in_scikit_learn():
    X, y = _fair()
    labels = (y > 0).astype(float)  # 0.0 / 1.0
    states = st.compute_states(st.from_arrays(X, labels), ["knn_classifier"], folds=3)
    model = st.finalize("knn_classifier", states, n_neighbors=5)
    assert model.classes_.tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(
        model.predict(X[:200]), KNeighborsClassifier(5).fit(X, labels).predict(X[:200])
    )
