"""A value that is not a class label is reported at its row of the source, through arrays,
DataFrames and CSV files alike (it was the row within a fold's strided slice: row 24 for
row 123 with 5 folds)."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_iris

import statetune as st

ROW = 123


def _iris_with_a_fraction():
    X, y = load_iris(return_X_y=True)
    y = y.astype(float)
    y[ROW] = 1.5
    return X, y


@pytest.mark.parametrize("algorithm", ["lda", "gaussian_nb", "multinomial_nb"])
@pytest.mark.parametrize("kind", ["arrays", "pandas", "csv"])
def test_the_source_row_is_named(tmp_path, kind, algorithm):
    X, y = _iris_with_a_fraction()
    if kind == "arrays":
        src = st.from_arrays(X, y)
    else:
        frame = pd.DataFrame(X, columns=list("abcd")).assign(species=y)
        if kind == "pandas":
            src = st.from_pandas(frame, target="species")
        else:
            frame.to_csv(tmp_path / "iris.csv", index=False)
            src = st.from_csv(tmp_path / "iris.csv", target="species")
    with pytest.raises(
        ValueError, match=rf"must hold discrete class labels, but holds 1.5 at row {ROW} of"
    ):
        st.compute_states(src, [algorithm], folds=5)


def test_a_stratified_sample_names_the_source_row_too():
    X, y = _iris_with_a_fraction()
    with pytest.raises(ValueError, match=rf"stratify=True.*holds 1.5 at row {ROW} of the source"):
        st.compute_states(
            st.from_arrays(X, y),
            ["knn_classifier"],
            folds=5,
            state_params={"knn_classifier": {"stratify": True}},
        )


def test_a_later_row_in_an_earlier_fold_is_not_reported_first():
    """Two bad rows in different folds: the first in the source is named."""
    X, y = _iris_with_a_fraction()
    y[140] = 2.5
    with pytest.raises(ValueError, match=rf"holds 1.5 at row {ROW} of"):
        st.compute_states(st.from_arrays(X, y), ["lda"], folds=5)
