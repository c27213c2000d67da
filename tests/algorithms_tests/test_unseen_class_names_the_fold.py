"""A class held only by one fold cannot be scored there (no training row holds it): the error
names the fold, for every kind of classifier scorer (moments, counts, class prior, sample)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_wine

import statetune as st
from statetune.engine.folds import FoldConfig


def _wine_with_a_class_in_one_fold():
    X, y = load_wine(return_X_y=True)
    labels = np.array(["barolo", "grignolino", "barbera"])[y].astype(object)
    fold = FoldConfig(5, 0).assign(0, len(y))
    rows = np.flatnonzero(fold == 3)[:4]
    labels[rows] = "nebbiolo"  # four rows, all in fold 3
    return X, labels.astype(str)


@pytest.mark.parametrize(
    ("algorithm", "metric"),
    [
        ("lda", "log_loss"),
        ("gaussian_nb", "log_loss"),
        ("multinomial_nb", "log_loss"),
        ("baseline", "accuracy"),
    ],
)
def test_the_fold_is_named(algorithm, metric):
    X, y = _wine_with_a_class_in_one_fold()
    states = st.compute_states(st.from_arrays(X, y), [algorithm], folds=5)
    with pytest.raises(ValueError, match=r"seen in training.*nebbiolo.*in fold 3 only"):
        states.fold_scores(algorithm, metric=metric)
