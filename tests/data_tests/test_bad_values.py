"""Bad values are named by their FIRST row and their column (issue 9, item 10): NaN and
infinity, negative weights, values whose squares overflow float64; duplicate DataFrame
columns are refused by name; a failed pass leaves states and the cache as they were.

The reference for "first" is numpy on all rows (the first row holding a bad value), not the
order in which the pass updates its folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import statetune as st
from statetune.states import Moments, NonFiniteError
from tests.fold_rule import reference_folds


def frame_of(X, y, w=None):
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df["y"] = y
    if w is not None:
        df["w"] = w
    return df


def make_source(kind, X, y, w, folder, group):
    """The same rows as row-major arrays, row-major batches or columnar Parquet row groups."""
    if kind == "arrays":
        return st.from_arrays(X, y, w)
    if kind == "batches":
        cuts = range(0, len(X), group)
        return st.from_batches(
            [
                (X[a : a + group], y[a : a + group]) + (() if w is None else (w[a : a + group],))
                for a in cuts
            ]
        )
    path = folder / "data.parquet"
    pq.write_table(
        pa.Table.from_pandas(frame_of(X, y, w), preserve_index=False), path, row_group_size=group
    )
    return st.from_parquet(path, target="y", weight=None if w is None else "w")


def column_name(kind, col):
    if kind == "parquet":
        return {"target": "y", "weight": "w"}.get(col, f"f{col}")
    return {"target": "y", "weight": "sample_weight"}.get(col, f"x{col}")


@hs.composite
def bad_tables(draw):
    n = draw(hs.integers(8, 400))
    d = draw(hs.integers(1, 4))
    weighted = draw(hs.booleans())
    rng = np.random.default_rng(draw(hs.integers(0, 2**16)))
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n) if weighted else None
    columns = list(range(d)) + ["target"] + (["weight"] if weighted else [])
    cells = draw(
        hs.lists(
            hs.tuples(
                hs.integers(0, n - 1),
                hs.sampled_from(columns),
                hs.sampled_from([np.nan, np.inf, -np.inf, -1.0]),
            ),
            min_size=1,
            max_size=5,
        )
    )
    bad = []
    for r, c, v in cells:
        if v == -1.0 and c != "weight":
            continue  # a negative value is bad only as a weight
        if c == "target":
            y[r] = v
        elif c == "weight":
            w[r] = v  # type: ignore[index]
        else:
            X[r, c] = v
        bad.append((r, columns.index(c), c))
    if not bad:
        X[cells[0][0], 0] = np.nan
        bad.append((cells[0][0], 0, 0))
    r, _, c = min(bad)
    return X, y, w, r, c


@settings(max_examples=50, deadline=None)
@given(
    case=bad_tables(),
    folds=hs.integers(2, 5),
    kind=hs.sampled_from(["arrays", "batches", "parquet"]),
    group=hs.integers(3, 150),
)
def test_the_first_bad_row_is_named_whatever_fold_holds_it(
    tmp_path_factory, case, folds, kind, group
):
    X, y, w, row, col = case
    src = make_source(kind, X, y, w, tmp_path_factory.mktemp("bad"), group)
    name = column_name(kind, col)
    with pytest.raises(ValueError, match=rf"Column '{name}' .*at row {row} of the source"):
        st.compute_states(src, ["ols"], folds=folds)


def test_nan_in_a_later_fold_before_one_in_fold_0():
    """The example of the issue: the pass updates fold 0's rows first; the first NaN is not
    there, so the pass used to name a later row."""
    n, K = 100, 3
    fold = reference_folds(K, 0, 0, n)
    first = int(np.flatnonzero(fold != 0)[0])  # the first row outside fold 0
    later = int(np.flatnonzero((fold == 0) & (np.arange(n) > first))[0])
    X = np.random.default_rng(0).normal(size=(n, 3))
    X[first, 2] = np.nan
    X[later, 0] = np.nan
    with pytest.raises(
        ValueError, match=rf"Column 'x2' must be finite, but holds nan at row {first} "
    ):
        st.compute_states(st.from_arrays(X, X[:, 1]), ["ridge"], folds=K)


@pytest.mark.parametrize("kind", ["arrays", "parquet"])
def test_overflow_names_the_column_and_first_row(tmp_path, kind):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 3))
    y = X.sum(axis=1)
    X[301, 0] = 1e200  # its square overflows float64
    X[123, 2] = -3e160
    X[400, 1] = 1e300
    with np.errstate(over="ignore"):
        first = int(np.flatnonzero(np.isinf(X**2).any(axis=1))[0])
    assert first == 123
    src = make_source(kind, X, y, None, tmp_path, 64)
    name = column_name(kind, 2)
    with pytest.raises(
        ValueError,
        match=rf"Column '{name}' must keep the state's sums within float64, but they overflow at row 123 .*where it holds -3e\+160",
    ):
        st.compute_states(src, ["ols"], folds=4)


def test_values_that_parse_as_infinity_are_named(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,y\n1,2,3\n4,5,6\n7,1e309,9\n1,1e308,2\n")
    with pytest.raises(ValueError, match=r"Column 'b' must be finite, but holds inf at row 2 "):
        st.compute_states(st.from_csv(path, target="y"), ["ols"], folds=2)


def test_moments_refuse_a_batch_that_overflows_against_earlier_rows():
    """Each block is finite, the combination is not (it used to be stored as inf)."""
    m = Moments(2, has_target=False)
    m.update(np.zeros((10, 2)))
    before = m.to_arrays()
    X = np.zeros((10, 2))
    X[6, 1] = 1e200
    with pytest.raises(NonFiniteError, match=r"column 1 overflows float64 at row 6") as info:
        m.update(X)
    assert (info.value.row, info.value.column) == (6, 1)
    after = m.to_arrays()
    assert before[0] == after[0]
    for key, arr in before[1].items():
        np.testing.assert_array_equal(after[1][key], arr)
    fresh = Moments(1, has_target=False)
    with pytest.raises(NonFiniteError, match=r"at row 8192"):
        fresh.update(np.r_[np.zeros(8192), np.full(8192, 1e200)][:, None])  # two blocks


def test_duplicate_dataframe_columns_are_refused_by_name():
    df = pd.DataFrame(np.ones((4, 3)), columns=["a", "b", "a"])
    df["y"] = 1.0
    with pytest.raises(
        ValueError, match=r"Column names must be unique, but the DataFrame has 'a' twice"
    ):
        st.from_pandas(df, target="y")
    with pytest.raises(ValueError, match=r"has 'a' twice"):
        st.from_batches([df], target="y")


def test_a_failed_update_changes_neither_the_states_nor_the_cache(tmp_path):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(1_000, 3))
    y = X @ [1.0, 2.0, 3.0]
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=4)
    kept = [s.to_arrays() for s in states.states_of("moments")]
    bad = X.copy()
    bad[700, 1] = np.nan
    with pytest.raises(ValueError, match=r"holds nan at row 1700 "):  # after the 1,000 rows
        st.update(states, st.from_arrays(bad, y))
    for s, (header, arrays) in zip(states.states_of("moments"), kept, strict=True):
        assert s.to_arrays()[0] == header
        for key, arr in arrays.items():
            np.testing.assert_array_equal(s.to_arrays()[1][key], arr)
    data = tmp_path / "data"
    data.mkdir()
    frame_of(X, y).to_csv(data / "a.csv", index=False)
    cache = st.StateCache(tmp_path / "cache")
    st.compute_states(st.from_csv(data, target="y"), ["ridge"], folds=4, cache=cache)
    before = {p: p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    frame_of(bad, y).to_csv(data / "b.csv", index=False)
    with pytest.raises(ValueError, match=r"holds nan at row 1700 "):
        st.compute_states(st.from_csv(data, target="y"), ["ridge"], folds=4, cache=cache)
    after = {p: p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    assert {p: b for p, b in after.items() if p in before} == before
    assert not [p for p in after if p not in before and p.suffix == ".npz"]
