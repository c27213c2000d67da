"""Values that float64 would change silently are refused by column and row: integer targets
beyond +-2**53 (distinct 17-digit ids became one class) and time or duration feature columns
(read as nanosecond integers: a coefficient of 3.5e-19, then a crash in ``predict``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

import statetune as st

IDS = np.array([7, 90071992547409931, 90071992547409932], dtype=np.int64)


def _iris_ids():
    X, y = load_iris(return_X_y=True)
    return X, IDS[y]


def test_integer_ids_beyond_float64_are_refused_from_arrays():
    X, y = _iris_ids()
    with pytest.raises(ValueError, match=r"within \+-2\*\*53.*90071992547409931 at row 50"):
        st.compute_states(st.from_arrays(X, y), ["lda"], folds=5)


def test_nullable_and_unsigned_integer_targets_too():
    X, y = _iris_ids()
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["y"] = pd.array(y, dtype="Int64")
    with pytest.raises(ValueError, match=r"'y'.*within \+-2\*\*53.*at row 50"):
        st.compute_states(st.from_pandas(frame, target="y"), ["lda"], folds=5)
    frame["y"] = y.astype(np.uint64)
    with pytest.raises(ValueError, match=r"within \+-2\*\*53.*at row 50"):
        st.compute_states(st.from_pandas(frame, target="y"), ["lda"], folds=5)


def test_from_a_csv_file_the_file_is_named(tmp_path):
    X, y = _iris_ids()
    path = tmp_path / "accounts.csv"
    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"accounts\.csv.*90071992547409931"):
        st.compute_states(st.from_csv(path, target="y"), ["lda"], folds=5)


def test_the_same_ids_as_strings_are_three_classes_as_in_scikit_learn():
    X, y = _iris_ids()
    labels = y.astype(str)
    model = st.finalize("lda", st.compute_states(st.from_arrays(X, labels), ["lda"], folds=5))
    ref = LinearDiscriminantAnalysis(solver="eigen").fit(X, labels)
    assert model.classes_.tolist() == ref.classes_.tolist() == sorted(set(labels))
    np.testing.assert_array_equal(model.predict(X), ref.predict(X))


def test_integers_within_float64_stay_numbers():
    X, _ = load_iris(return_X_y=True)
    y = np.arange(len(X), dtype=np.int64) + 2**53 - len(X)  # the largest allowed at the end
    s = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5)
    assert s.n_rows == len(X)


@pytest.mark.parametrize(
    "column",
    [
        pd.to_timedelta(np.arange(150), unit="D"),
        pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(150), unit="D"),
    ],
    ids=["duration", "time"],
)
def test_time_and_duration_features_are_refused_by_name(column):
    X, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(married_for=np.asarray(column), y=y)
    with pytest.raises(TypeError, match=r"'married_for' must be numeric.*total_seconds"):
        st.compute_states(st.from_pandas(frame, target="y"), ["ridge"], folds=5)


def test_from_arrays_names_the_text_column_of_a_dataframe():
    """statsmodels' grunfeld through from_arrays: the error names 'firm' (not 'X') and the
    source that encodes it."""
    import statsmodels.datasets as smd

    g = smd.grunfeld.load_pandas().data
    with pytest.raises(TypeError, match=r"Column 'firm' of `X` must be numeric.*from_pandas"):
        st.from_arrays(g.drop(columns="invest"), g["invest"])


def test_parquet_category_and_duration_columns_are_named(tmp_path):
    X, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    cat = frame.assign(kind=pd.Categorical(np.where(y > 0, "p", "q")))
    cat.to_parquet(tmp_path / "cat.parquet", index=False)
    with pytest.raises(TypeError, match=r"'kind'.*holds categories.*from_pandas"):
        st.from_parquet(tmp_path / "cat.parquet", target="y")
    dur = frame.assign(wait=pd.to_timedelta(np.arange(150), unit="s"))
    dur.to_parquet(tmp_path / "dur.parquet", index=False)
    with pytest.raises(TypeError, match=r"'wait' must be numeric.*total_seconds"):
        st.from_parquet(tmp_path / "dur.parquet", target="y")
