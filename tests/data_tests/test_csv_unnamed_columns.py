"""A CSV header that leaves a column without a name (pandas' ``to_csv`` with its default
``index=True``, R's ``write.csv``) is read as before, with a warning that names the column
and says it is usually a row index: as a feature, predictions depended on row numbers."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

import statetune as st
from statetune.data.csv import UnnamedColumnWarning


def _diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def test_a_written_pandas_index_is_named_as_one(tmp_path):
    path = tmp_path / "diabetes.csv"
    _diabetes().to_csv(path)  # index=True, pandas' default
    with pytest.warns(UnnamedColumnWarning, match=r"diabetes\.csv.*column 1.*row index"):
        src = st.from_csv(path, target="target")
    assert src.schema.features[0] == "Unnamed: 0"  # read as before: the user decides


def test_an_r_style_header_too(tmp_path):
    path = tmp_path / "r.csv"
    frame = _diabetes().head(50)
    body = frame.to_csv(index=False, header=False).splitlines()
    header = '"",' + ",".join(f'"{c}"' for c in frame.columns)
    path.write_text("\n".join([header, *(f'"{i + 1}",{row}' for i, row in enumerate(body))]))
    with pytest.warns(UnnamedColumnWarning, match=r"row index"):
        st.from_csv(path, target="target")


def test_an_unnamed_middle_column_is_named_without_the_index_hint(tmp_path):
    path = tmp_path / "mid.csv"
    frame = _diabetes().head(50).rename(columns={"bmi": ""})
    frame.to_csv(path, index=False)
    with pytest.warns(UnnamedColumnWarning, match=r"column 3 .*name it in the header") as seen:
        st.from_csv(path, target="target")
    assert "row index" not in str(seen[0].message)


def test_a_file_written_without_its_index_gives_no_warning(tmp_path):
    path = tmp_path / "clean.csv"
    _diabetes().to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnnamedColumnWarning)
        assert st.from_csv(path, target="target").schema.features[0] == "age"


@pytest.mark.parametrize(("sep", "what"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_otherwise_is_named_as_such(tmp_path, sep, what):
    path = tmp_path / "semi.csv"
    _diabetes().head(30).to_csv(path, index=False, sep=sep)
    with pytest.raises(ValueError, match=rf"target column 'target' must exist.*by {what}"):
        st.from_csv(path, target="target")
