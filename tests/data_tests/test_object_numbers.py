"""An object column holding only numbers (a numeric column that picked up None, JSON or SQL
values) is encoded one level per value, with a warning naming it and the conversion; text
categories are not warned about."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

import statetune as st
from statetune.data.encoding import NumbersAsLevelsWarning


def _frame() -> pd.DataFrame:
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    return X.assign(y=y)


def test_numbers_with_object_dtype_are_named():
    df = _frame()
    df["age"] = df["age"].astype(object)
    df.loc[0, "age"] = None
    levels = df["age"].nunique()
    with pytest.warns(NumbersAsLevelsWarning, match=rf"'age'.*{levels} levels.*pd.to_numeric"):
        src = st.from_pandas(df, target="y")
    assert src.schema.encoding is not None  # still encoded as asked: the user decides


def test_text_categories_and_numbers_give_no_warning():
    df = _frame()
    df["sex"] = df["sex"].map({1.0: "F", 2.0: "M"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbersAsLevelsWarning)
        st.from_pandas(df, target="y")
        st.from_pandas(_frame(), target="y")
