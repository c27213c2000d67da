"""Series id and time columns in sources; labels of one kind; header-only CSV files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import statetune as st


def test_a_header_only_csv_between_files_is_skipped(tmp_path):
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})
    a.to_csv(tmp_path / "a.csv", index=False)
    a.iloc[:0].to_csv(tmp_path / "b.csv", index=False)
    a.to_csv(tmp_path / "c.csv", index=False)
    states = st.compute_states(st.from_csv(tmp_path, target="y"), ["ridge"], folds=2)
    assert states.n_rows == 100


def test_mixed_string_and_number_labels_are_refused_by_row():
    df = pd.DataFrame({"x": np.arange(4.0), "y": pd.Series(["a", 1, "b", 2], dtype=object)})
    with pytest.raises(TypeError, match=r"Column 'y' must hold class labels of one kind.*row 1"):
        st.from_pandas(df, target="y")


def test_date_strings_in_one_format_and_a_stray_format_named_by_row(tmp_path):
    df = pd.DataFrame({"d": ["01/02/2020", "01/03/2020", "2020-13-01"], "v": [1.0, 2.0, 3.0]})
    df.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(ValueError, match=r"Column 'd' must hold times.*'2020-13-01' at row 2"):
        st.compute_states(st.from_csv(tmp_path / "a.csv", target="v", time="d"), ["autoregressive"])
