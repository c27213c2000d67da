"""CSV rows are read as written: no column is ever taken as the index, and a row whose field
count differs from the header's is refused with its file and physical line (issue 9, item 3).

The reference is the file's text itself: each test builds the file line by line and knows
which line holds which row, so the line an error must name is counted independently of the
reader (physical lines: quoted line breaks and blank lines count, the header is line 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import statetune as st
import statetune.data.csv as csv_source
from statetune.cli import main
from statetune.data.frames import read_frame


@pytest.fixture(params=["c", "python"])
def engine(request, monkeypatch):
    """Both parsers pandas can use read the same way (the source pins the C parser)."""
    monkeypatch.setattr(csv_source, "ENGINE", request.param)
    return request.param


def write(path, lines, end="\n"):
    path.write_text(end.join(lines) + end)
    return path


def read_all(src):
    """Every row the source yields, as (X, y) arrays, through its chunked partitions."""
    Xs, ys = [], []
    for part in src.partitions():
        for chunk in part.chunks(src.schema):
            Xs.append(chunk.X)
            ys.append(chunk.y)
    return np.vstack(Xs), np.concatenate(ys)


def test_one_field_more_in_every_row_is_refused_not_shifted(tmp_path, engine):
    """The issue's example: pandas took `1` as the index and trained on (37.5 -> 3)."""
    path = write(tmp_path / "shifted.csv", ["a0,y", "1,037.5,3", "2,1.5,4", "3,2.5,5", "4,3,1"])
    with pytest.raises(ValueError, match=r"header \(2\), but file .*shifted.csv' has 3 at line 2"):
        st.compute_states(st.from_csv(path, target="y"), ["ols"], folds=2)


@pytest.mark.parametrize(
    ("rows", "bad_line", "n_fields"),
    [
        (["1,2", "2,1.5,4", "3,4"], 3, 3),  # a field more in a later row
        (["1,2", "2,1.5,4,5", "3,4"], 3, 4),  # two more
        (["1,2", "3,4", "5,6,"], 4, 3),  # a trailing comma
        (["1,2", "2", "3,4"], 3, 1),  # a field missing: pandas pads it with NaN
        (["1", "2,3", "3,4"], 2, 1),  # the first data row short
        (["1,2,9", "2,3", "3,4"], 2, 3),  # the first data row long: pandas drops the 9s
    ],
)
def test_field_count_differs_from_header(tmp_path, engine, rows, bad_line, n_fields):
    path = write(tmp_path / "rows.csv", ["a,y", *rows])
    pattern = rf"as many fields as the header \(2\), but file .*rows.csv' has {n_fields} at line {bad_line}"
    with pytest.raises(ValueError, match=pattern):
        st.compute_states(st.from_csv(path, target="y"), ["ols"], folds=2)


def test_missing_last_field_is_not_mistaken_for_a_short_row(tmp_path, engine):
    """An empty last field is a missing value (reported as not finite), not a short row."""
    path = write(tmp_path / "empty_value.csv", ["a,y", "1,2", "2,", "3,4", "4,5"])
    with pytest.raises(ValueError, match=r"Column 'y' must be finite, but holds nan at row 1"):
        st.compute_states(st.from_csv(path, target="y"), ["ols"], folds=2)


def test_bad_row_at_a_chunk_boundary(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(csv_source, "CHUNK_ROWS", 4)
    lines = ["a,b,y"] + [f"{i},{i % 3},{2 * i}" for i in range(12)]
    for bad_row, text in [(4, "9,9,9,9"), (8, "9,9"), (11, "9")]:
        broken = list(lines)
        broken[1 + bad_row] = text
        path = write(tmp_path / f"chunks{bad_row}.csv", broken)
        n = len(text.split(","))
        with pytest.raises(
            ValueError, match=rf"has {n} at line {bad_row + 2} \(data row {bad_row}\)"
        ):
            st.compute_states(st.from_csv(path, target="y"), ["ols"], folds=2)


def test_quoted_commas_and_line_breaks_still_read_and_lines_count_physically(tmp_path, engine):
    lines = [
        "x,species",
        '1.5,"setosa, short"',
        '2.5,"versi',  # a label with a line break: one row over two lines
        'color"',
        "",  # a blank line: skipped, but it is a line
        '3.5,"vir""ginica"',
        "4.5,setosa",
    ]
    path = write(tmp_path / "quoted.csv", lines)
    src = st.from_csv(path, target="species")
    X, y = read_all(src)
    np.testing.assert_array_equal(X[:, 0], [1.5, 2.5, 3.5, 4.5])
    assert y.tolist() == ["setosa, short", "versi\ncolor", 'vir"ginica', "setosa"]
    bad = write(tmp_path / "quoted_bad.csv", [*lines, "5.5,setosa,extra"])
    with pytest.raises(ValueError, match=r"quoted_bad.csv' has 3 at line 8 \(data row 4\)"):
        st.compute_states(st.from_csv(bad, target="species"), ["lda"], folds=2)


def test_windows_and_old_mac_line_ends(tmp_path, engine):
    for end in ("\r\n", "\r"):
        path = write(tmp_path / "ends.csv", ["a,y", "1,2", "3,4", "5", "7,8"], end=end)
        with pytest.raises(ValueError, match=r"has 1 at line 4"):
            st.compute_states(st.from_csv(path, target="y"), ["ols"], folds=2)


# ---------------------------------------------------------------- property: any layout


@hs.composite
def csv_files(draw):
    """A CSV text with numeric features, a quoted text label (commas, quotes, line breaks),
    blank lines, maybe one row with a wrong field count; and where that row starts."""
    d = draw(hs.integers(1, 3))
    n = draw(hs.integers(1, 30))
    label_first = draw(hs.booleans())
    header = (
        ["label", *(f"f{j}" for j in range(d))]
        if label_first
        else [
            *(f"f{j}" for j in range(d)),
            "label",
        ]
    )
    values = draw(
        hs.lists(hs.lists(hs.integers(-50, 50), min_size=d, max_size=d), min_size=n, max_size=n)
    )
    labels = draw(
        hs.lists(
            hs.text(alphabet='ab ,\n"', min_size=1, max_size=6).filter(lambda s: s.strip()),
            min_size=n,
            max_size=n,
        )
    )
    bad = draw(hs.none() | hs.tuples(hs.integers(0, n - 1), hs.sampled_from([-1, 1, 2])))
    blanks = draw(hs.lists(hs.sampled_from(["", "  ", "\t"]), min_size=n, max_size=n))
    blank_at = draw(hs.lists(hs.booleans(), min_size=n, max_size=n))
    lines = [",".join(header)]
    bad_line = None
    for i in range(n):
        label = '"' + labels[i].replace('"', '""') + '"'
        fields = [str(v) for v in values[i]]
        fields = [label, *fields] if label_first else [*fields, label]
        if bad is not None and bad[0] == i:
            bad_line = sum(line.count("\n") + 1 for line in lines) + 1
            fields = fields[:-1] if bad[1] < 0 else fields + ["7"] * bad[1]
        lines.append(",".join(fields))
        if blank_at[i] and i < n - 1:
            lines.append(blanks[i])
    chunk = draw(hs.integers(1, 8))
    return "\n".join(lines) + "\n", np.array(values, dtype=float), labels, bad, bad_line, chunk


@settings(max_examples=60, deadline=None)
@given(case=csv_files(), engine_name=hs.sampled_from(["c", "python"]))
def test_any_layout_reads_every_row_or_names_the_bad_line(tmp_path_factory, case, engine_name):
    text, values, labels, bad, bad_line, chunk = case
    path = tmp_path_factory.mktemp("prop") / "data.csv"
    path.write_text(text)
    old = csv_source.ENGINE, csv_source.CHUNK_ROWS, csv_source.SAMPLE_ROWS
    csv_source.ENGINE, csv_source.CHUNK_ROWS, csv_source.SAMPLE_ROWS = engine_name, chunk, chunk
    try:
        if bad is None:
            X, y = read_all(st.from_csv(path, target="label"))
            np.testing.assert_array_equal(X, values)
            assert y.tolist() == labels
        else:
            n_fields = values.shape[1] + 1 + bad[1]
            with pytest.raises(ValueError, match=rf"has {n_fields} at line {bad_line} "):
                read_all(st.from_csv(path, target="label"))
    finally:
        csv_source.ENGINE, csv_source.CHUNK_ROWS, csv_source.SAMPLE_ROWS = old


# ---------------------------------------------------------------- predict reads by the same rule


def test_predict_refuses_a_shifted_file_instead_of_predicting_from_wrong_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": X @ [1.0, -2.0]})
    df.to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "res"
    args = ["tune", str(tmp_path / "train.csv"), "--target", "y", "--algorithms", "ols"]
    args += ["--trials", "2", "--storage", "memory", "--no-cache", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    shifted = tmp_path / "new.csv"  # an id in front of every row, but not in the header
    write(shifted, ["a,b", *(f"{i},{a},{b}" for i, (a, b) in enumerate(X[:5]))])
    code = main(
        ["predict", str(out / "best_model"), str(shifted), "--out", str(tmp_path / "p.csv")]
    )
    assert code == 1
    assert "new.csv' has 3 at line 2" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    df[["a", "b"]].iloc[:5].to_csv(good, index=False)
    assert read_frame(good).shape == (5, 2)
