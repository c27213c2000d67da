"""CSV files that cannot be read say which file and line, instead of a pandas traceback
(issue 9, item 10): parser errors, bytes that are not UTF-8, empty and header-only files,
duplicate column names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import statetune as st
import statetune.data.csv as csv_source


def build(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def states(path, target="y", algorithms=("ols",)):
    return st.compute_states(st.from_csv(path, target=target), list(algorithms), folds=2)


@pytest.mark.parametrize("engine", ["c", "python"])
def test_latin1_bytes_name_file_and_line(tmp_path, monkeypatch, engine):
    monkeypatch.setattr(csv_source, "ENGINE", engine)
    text = "city,x,y\n" + "".join(f"Oslo,{i},{i}\n" for i in range(300))
    data = text.encode() + "Malmö,1,2\n".encode("latin-1") + b"Oslo,3,4\n"
    path = build(tmp_path, "cities.csv", data)
    with pytest.raises(ValueError, match=r"cities.csv' must be UTF-8 text, but line 302 holds"):
        st.from_csv(path, target="y")


def test_undecodable_bytes_far_into_a_file_name_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_source, "CHUNK_ROWS", 1000)
    rows = "".join(f"{i},{i % 7}\n" for i in range(20_000))
    data = b"x,y\n" + rows.encode() + b"1,\xff\n" + b"2,3\n"
    path = build(tmp_path, "late.csv", data)
    with pytest.raises(
        ValueError, match=r"late.csv' must be UTF-8 text, but line 20002 holds the bytes b'\\xff'"
    ):
        states(path)


def test_zero_byte_and_blank_files(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"empty.csv' must start with a header row at line 1, but it is empty \(0 bytes\)",
    ):
        st.from_csv(build(tmp_path, "empty.csv", b""), target="y")
    with pytest.raises(
        ValueError, match=r"blank.csv' must start with a header row .* only blank lines"
    ):
        st.from_csv(build(tmp_path, "blank.csv", "\n  \n\n"), target="y")


def test_unclosed_quote_names_its_line(tmp_path):
    path = build(tmp_path, "quote.csv", 'x,y\n1,2\n3,4\n"5,6\n7,8\n')
    with pytest.raises(
        ValueError, match=r"quote.csv' a quote opened in the row at line 4 is never closed"
    ):
        states(path)


def test_header_only_file_says_no_rows_not_class_labels(tmp_path):
    path = build(tmp_path, "header.csv", "x1,x2,y\n")
    with pytest.raises(
        ValueError, match=r"at least one data row, but file .*header.csv' holds only a header"
    ):
        states(path)
    with pytest.raises(ValueError, match=r"at least one data row"):
        st.compute_states(st.from_csv(path), ["pca"], folds=2)


def test_header_only_first_file_does_not_make_the_target_labels(tmp_path):
    """The target's kind comes from the first file with rows."""
    build(tmp_path, "a_empty.csv", "x,y\n")
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    pd.DataFrame({"x": x, "y": 3.0 * x + 1.0}).to_csv(tmp_path / "b_rows.csv", index=False)
    src = st.from_csv(tmp_path, target="y")
    assert src.schema.target_kind == "numeric"
    model = st.finalize("ols", st.compute_states(src, ["ols"], folds=2))
    np.testing.assert_allclose([model.coef_[0], model.intercept_], [3.0, 1.0], rtol=1e-10)


def test_duplicate_header_names_are_refused_not_renamed(tmp_path):
    """pandas reads `a,a` as columns `a` and `a.1` without a word."""
    path = build(tmp_path, "dup.csv", "a,b,a,y\n1,2,3,4\n5,6,7,8\n9,1,2,3\n")
    with pytest.raises(
        ValueError, match=r"dup.csv' names 'a' twice in its header \(line 1, fields 1 and 3\)"
    ):
        st.from_csv(path, target="y")


def test_non_numeric_value_names_file_row_and_line(tmp_path):
    path = build(tmp_path, "text.csv", 'x,label\n1,"two\nlines"\n\n2,c\noops,d\n5,c\n')
    with pytest.raises(TypeError, match=r"text.csv' holds 'oops' at data row 2 \(line 6\)"):
        states(path, target="label", algorithms=["lda"])
