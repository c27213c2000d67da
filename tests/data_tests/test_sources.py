"""Every source yields the same states as the arrays it holds; schema and content errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import statetune as st
from statetune.testing import make_regression_data

N, D = 20_000, 5


@pytest.fixture(scope="module")
def frame():
    X, y, w = make_regression_data(N, D, seed=2, weighted=True)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(D)])
    df["target"] = y
    df["w"] = w
    return df


@pytest.fixture(scope="module")
def reference(frame):
    X = frame[[f"f{i}" for i in range(D)]].to_numpy()
    return st.compute_states(
        st.from_arrays(X, frame["target"].to_numpy(), frame["w"].to_numpy()), ["ridge"], folds=4
    )


def assert_same(a, b):
    assert a.n_rows == b.n_rows
    for s1, s2 in zip(a.states_of("moments"), b.states_of("moments"), strict=True):
        assert s1.allclose(s2, 1e-10)


def test_pandas(frame, reference):
    got = st.compute_states(st.from_pandas(frame, target="target", weight="w"), ["ridge"], folds=4)
    assert_same(got, reference)
    assert got.schema.features == tuple(f"f{i}" for i in range(D))
    model = st.finalize("ridge", got, alpha=1.0)
    assert list(model.feature_names_in_) == list(got.schema.features)
    model.predict(frame[list(got.schema.features)])


@pytest.mark.parametrize("n_files", [1, 3])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_parquet_files_and_row_groups(tmp_path, frame, reference, n_files, n_jobs):
    cuts = np.linspace(0, N, n_files + 1).astype(int)
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        pq.write_table(
            pa.Table.from_pandas(frame.iloc[a:b], preserve_index=False),
            tmp_path / f"part-{i}.parquet",
            row_group_size=3_000,
        )
    src = st.from_parquet(tmp_path, target="target", weight="w")
    assert len(src.partitions()) > n_files  # row groups are partitions
    got = st.compute_states(src, ["ridge"], folds=4, n_jobs=n_jobs)
    assert_same(got, reference)
    assert src.fingerprint() == st.from_parquet(tmp_path, target="target", weight="w").fingerprint()


def test_csv_files(tmp_path, frame, reference):
    frame.iloc[:7_000].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[7_000:].to_csv(tmp_path / "b.csv", index=False)
    got = st.compute_states(st.from_csv(tmp_path, target="target", weight="w"), ["ridge"], folds=4)
    assert_same(got, reference)


def test_batches(frame, reference):
    X = frame[[f"f{i}" for i in range(D)]].to_numpy()
    y, w = frame["target"].to_numpy(), frame["w"].to_numpy()
    batches = ((X[a : a + 3_333], y[a : a + 3_333], w[a : a + 3_333]) for a in range(0, N, 3_333))
    assert_same(st.compute_states(st.from_batches(batches), ["ridge"], folds=4), reference)
    frames = (frame.iloc[a : a + 5_000] for a in range(0, N, 5_000))
    got = st.compute_states(
        st.from_batches(frames, target="target", weight="w"), ["ridge"], folds=4
    )
    assert_same(got, reference)


def test_batches_read_once_unless_callable(frame):
    X = frame[["f0", "f1"]].to_numpy()
    src = st.from_batches(iter([(X, X[:, 0])]))
    st.compute_states(src, ["ridge"], folds=2)
    with pytest.raises(ValueError, match="can be read once"):
        st.compute_states(src, ["ridge"], folds=2)
    again = st.from_batches(lambda: iter([(X, X[:, 0])]))
    a = st.compute_states(again, ["ridge"], folds=2)
    b = st.compute_states(again, ["ridge"], folds=2)
    assert_same(a, b)


# ---------------------------------------------------------------- errors


def write_parquet(path, df):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda d: d.assign(extra=1.0),
            r"No columns may be added after the first chunk, but file .*b.parquet.* adds \['extra'\]",
        ),
        (
            lambda d: d.drop(columns=["f1"]),
            r"Every feature column of the first chunk must be present, but file .*b.parquet.* lacks \['f1'\]",
        ),
        (
            lambda d: d[["f1", "f0", "f2", "f3", "f4", "target", "w"]],
            r"must keep the order of the first chunk",
        ),
        (
            lambda d: d.astype({"f2": "float32"}),
            r"Column 'f2' must keep its dtype float64, but file .*b.parquet.* has it as float32",
        ),
        (
            lambda d: d.drop(columns=["target"]),
            r"The target column 'target' must exist in every file",
        ),
    ],
)
def test_parquet_schema_changes_between_files(tmp_path, frame, change, match):
    write_parquet(tmp_path / "a.parquet", frame.iloc[:100])
    write_parquet(tmp_path / "b.parquet", change(frame.iloc[100:200]))
    with pytest.raises(ValueError, match=match):
        st.compute_states(
            st.from_parquet(tmp_path, target="target", weight="w"), ["ridge"], folds=2
        )


def test_csv_errors(tmp_path, frame):
    bad = frame.iloc[:200].copy()
    bad["f3"] = bad["f3"].astype(object)
    bad.loc[150, "f3"] = "oops"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(
        TypeError,
        match=r"Column 'f3' must be numeric, but file .*bad.csv' holds 'oops' at data row 150",
    ):
        st.compute_states(st.from_csv(tmp_path / "bad.csv", target="target"), ["ridge"], folds=2)
    frame.iloc[:50].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[50:100].drop(columns=["f0"]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(ValueError, match=r"lacks \['f0'\]"):
        st.compute_states(
            st.from_csv([tmp_path / "a.csv", tmp_path / "b.csv"], target="target"),
            ["ridge"],
            folds=2,
        )
    nan = frame.iloc[:100].copy()
    nan.loc[42, "f1"] = np.nan
    nan.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(
        ValueError,
        match=r"Column 'f1' must be finite, but holds nan at row 42 of the source \(file .*nan.csv",
    ):
        st.compute_states(st.from_csv(tmp_path / "nan.csv", target="target"), ["ridge"], folds=2)


def test_missing_columns_empty_sources_and_types(tmp_path, frame):
    with pytest.raises(
        ValueError, match=r"The target column 'nope' must exist, but the source has only \['f0'"
    ):
        st.from_pandas(frame, target="nope")
    with pytest.raises(ValueError, match="DataFrame is empty"):
        st.from_pandas(frame.iloc[:0], target="target")
    with pytest.raises(
        TypeError,
        match=r"Column 'when' must be numeric \(or boolean\), but the DataFrame has it as",
    ):
        st.from_pandas(frame.assign(when=pd.Timestamp("2020-01-01")), target="target")
    with pytest.raises(ValueError, match="`X` is empty"):
        st.from_arrays(np.empty((0, 3)))
    with pytest.raises(ValueError, match="iterable is empty"):
        st.from_batches([])
    with pytest.raises(FileNotFoundError, match="must exist"):
        st.from_parquet(tmp_path / "none.parquet")
    write_parquet(tmp_path / "empty.parquet", frame.iloc[:0])
    with pytest.raises(ValueError, match="must hold at least one row"):
        st.compute_states(st.from_parquet(tmp_path / "empty.parquet", target="target"), ["ridge"])
    with pytest.raises(ValueError, match=r"batch 1 has 3"):
        st.compute_states(st.from_batches([np.ones((5, 2)), np.ones((5, 3))]), ["pca"], folds=2)
    with pytest.raises(ValueError, match=r"Column 'y' must be 1-dimensional with 4 rows"):
        st.from_arrays(np.ones((4, 2)), np.ones(5))


def test_nullable_and_bool_columns(frame):
    df = frame.iloc[:100][["f0", "target"]].copy()
    df["flag"] = df["f0"] > 0
    df["count"] = pd.array(np.arange(100), dtype="Int64")
    got = st.compute_states(st.from_pandas(df, target="target"), ["ridge"], folds=2)
    assert got.n_rows == 100
    df.loc[5, "count"] = pd.NA  # a missing value: imputed fold by fold (test_table_preprocessing)
    src = st.from_pandas(df, target="target")
    assert src.schema.preprocessing["missing"] == ["count"]
    with pytest.raises(ValueError, match=r"Column 'count' must be finite, but holds nan at row 5"):
        X = df.drop(columns="target").to_numpy(dtype=float, na_value=np.nan)
        st.compute_states(
            st.from_arrays(X, df["target"], feature_names=["f0", "flag", "count"]),
            ["ridge"],
            folds=2,
        )


def test_negative_weight_named(frame):
    df = frame.iloc[:100].copy()
    df.loc[10, "w"] = -1.0
    with pytest.raises(
        ValueError,
        match=r"Column 'w' \(sample weights\) must be finite and >= 0, but holds -1.0 at row 10",
    ):
        st.compute_states(st.from_pandas(df, target="target", weight="w"), ["ridge"], folds=2)
