"""ClassCounts against numpy on all rows; merge/chunk laws with hypothesis; round trip;
sparse input equals dense; bad values named and the state untouched."""

from __future__ import annotations

import io
import itertools
import json
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from statetune.states import NonFiniteError, state_from_arrays
from statetune.states.class_counts import ClassCounts, NegativeCountError
from statetune.testing import assert_associative, assert_round_trip, state_digest

LABELS = {
    "int": np.array([-3, 0, 7, 12, 40]),
    "str": np.array(["ham", "spam", "eggs", "toast", "tea"]),
    "bool": np.array([False, True]),
    "float": np.array([-1.0, 1.0, 3.0]),  # integral floats (fractional ones are refused)
}


def make_counts(n, d, *, seed=0, labels="int", n_classes=5, weighted=False):
    """Poisson counts with class-dependent rates (about half the entries zero)."""
    rng = np.random.default_rng(seed)
    pool = LABELS[labels][:n_classes]
    code = rng.integers(0, len(pool), size=n)
    rates = rng.uniform(0.0, 2.0, size=(len(pool), d))
    X = rng.poisson(rates[code]).astype(np.float64)
    w = rng.uniform(0.0, 3.0, size=n) if weighted else None
    return X, pool[code], w


def reference(X, y, w=None):
    """Per-class sums by boolean masks, one class at a time."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    w = np.ones(len(y)) if w is None else w
    classes = np.unique(y)
    cc = np.array([w[y == c].sum() for c in classes])
    fc = np.array([w[y == c] @ X[y == c] for c in classes])
    df = np.array([w[y == c] @ (X[y == c] > 0) for c in classes])
    return classes, cc, fc, df


def assert_matches(state, X, y, w=None, rtol=1e-12):
    classes, cc, fc, df = reference(X, y, w)
    np.testing.assert_array_equal(state.classes, classes)
    assert state.n_rows == len(y)
    np.testing.assert_allclose(state.weight_sum, cc.sum(), rtol=rtol)
    np.testing.assert_allclose(state.class_count, cc, rtol=rtol, atol=0)
    np.testing.assert_allclose(state.feature_count, fc, rtol=rtol, atol=0)
    np.testing.assert_allclose(state.doc_freq, df, rtol=rtol, atol=0)


def filled(X, y, w=None, cuts=()):
    s = ClassCounts(X.shape[1])
    bounds = [0, *sorted({c for c in cuts if 0 < c < X.shape[0]}), X.shape[0]]
    for a, b in itertools.pairwise(bounds):
        s.update(X[a:b], y[a:b], None if w is None else w[a:b])
    return s


@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_matches_numpy_on_all_rows(labels, weighted, sparse):
    X, y, w = make_counts(20_000, 30, seed=1, labels=labels, weighted=weighted)
    s = ClassCounts(30)
    s.update(sp.csr_array(X) if sparse else X, y, w)
    assert_matches(s, X, y, w)
    assert s.classes.dtype == (np.int64 if labels == "int" else np.dtype("<U5"))


def test_blocks_of_a_large_batch_and_strided_views():
    """More rows than one block; a strided row view (as the pass hands each fold) is read."""
    X, y, w = make_counts(20_000, 4, seed=2, weighted=True)
    s = ClassCounts(4)
    s.update(X[1::3], y[1::3], w[1::3])
    assert_matches(s, X[1::3], y[1::3], w[1::3])


@given(
    n=st.integers(1, 60),
    d=st.integers(1, 4),
    labels=st.sampled_from(["int", "str", "bool", "float"]),
    n_classes=st.integers(1, 5),
    cuts=st.lists(st.integers(1, 59), max_size=5),
    weighted=st.booleans(),
    sparse=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_merge_and_chunk_laws(n, d, labels, n_classes, cuts, weighted, sparse, seed):
    X, y, w = make_counts(n, d, seed=seed, labels=labels, n_classes=n_classes, weighted=weighted)
    Xin = sp.csr_array(X) if sparse else X
    whole = filled(Xin, y, w)
    assert_matches(whole, X, y, w)
    # chunk invariance
    assert filled(Xin, y, w, cuts).allclose(whole)
    # merge: parts may miss classes; the union is rebuilt whatever the order
    bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
    parts = [
        filled(Xin[a:b], y[a:b], None if w is None else w[a:b])
        for a, b in itertools.pairwise(bounds)
    ]
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    assert left.allclose(whole)
    right = parts[-1].copy()
    for p in reversed(parts[:-1]):
        right.merge(p)
    assert right.allclose(whole)
    assert_associative(parts)
    # merging an empty state, or into one, changes nothing
    e = whole.copy()
    e.merge(ClassCounts(d))
    assert e.allclose(whole)
    e = ClassCounts(d)
    e.merge(whole)
    assert e.allclose(whole)
    assert_round_trip(whole)


def test_classes_unseen_by_one_side_are_united():
    X = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    a, b = ClassCounts(2), ClassCounts(2)
    a.update(X[:2], ["b", "d"])
    b.update(X[2:], ["a"])
    c = ClassCounts(2)
    c.update(X[:0], np.array([], dtype=str))  # an empty batch changes nothing
    a.merge(b)
    a.merge(c)
    assert a.classes.tolist() == ["a", "b", "d"]
    np.testing.assert_array_equal(a.feature_count, [[3.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(a.doc_freq, [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(a.class_count, [1.0, 1.0, 1.0])


def test_integer_and_float_labels_unite_but_strings_and_numbers_do_not():
    a, b = ClassCounts(1), ClassCounts(1)
    a.update(np.ones((2, 1)), np.array([1, 3]))
    b.update(np.ones((2, 1)), np.array([1.0, 2.0]))
    a.merge(b)
    assert a.classes.tolist() == [1.0, 2.0, 3.0]
    assert a.class_count.tolist() == [2.0, 1.0, 1.0]
    s = ClassCounts(1)
    s.update(np.ones((1, 1)), ["x"])
    before = state_digest(s)
    with pytest.raises(TypeError, match="all strings or all numbers"):
        s.merge(a)
    with pytest.raises(TypeError, match="all strings or all numbers"):
        s.update(np.ones((1, 1)), [4])
    with pytest.raises(TypeError, match="all strings or all numbers"):
        s.update(np.ones((2, 1)), np.array(["x", 4], dtype=object))
    assert state_digest(s) == before


def test_object_labels_from_pandas_like_input():
    s = ClassCounts(1)
    s.update(np.ones((3, 1)), np.array(["b", "a", "b"], dtype=object))
    assert s.classes.dtype.kind == "U" and s.classes.tolist() == ["a", "b"]
    t = ClassCounts(1)
    t.update(np.ones((2, 1)), np.array([2, 1], dtype=object))
    assert t.classes.dtype == np.int64
    with pytest.raises(NonFiniteError, match="must be present, but row 0 has none"):
        ClassCounts(1).update(np.ones((2, 1)), np.array([None, 1], dtype=object))
    with pytest.raises(ValueError, match=r"must be discrete, but row 1 holds 2\.5"):
        ClassCounts(1).update(np.ones((2, 1)), np.array([1.0, 2.5]))


@pytest.mark.parametrize("labels", ["int", "str", "bool", "float"])
def test_round_trip_through_npz_without_pickle(labels):
    X, y, w = make_counts(200, 3, labels=labels, weighted=True)
    s = ClassCounts(3)
    s.update(X, y, w)
    header, arrays = s.to_arrays()
    text = json.dumps(header)  # the header is plain JSON
    assert all(a.dtype.kind != "O" for a in arrays.values())
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        back = state_from_arrays(json.loads(text), {k: npz[k] for k in npz.files})
    assert state_digest(back) == state_digest(s)
    assert back.allclose(s, rtol=0.0)
    assert back.classes.dtype == s.classes.dtype
    assert_round_trip(ClassCounts(3))  # the empty state too


def test_from_arrays_refuses_object_labels_and_bad_shapes():
    s = ClassCounts(2)
    s.update(np.ones((2, 2)), ["a", "b"])
    header, arrays = s.to_arrays()
    with pytest.raises(ValueError, match="unicode array, but got dtype object"):
        ClassCounts.from_arrays(header, {**arrays, "classes": arrays["classes"].astype(object)})
    with pytest.raises(ValueError, match="must have shapes"):
        ClassCounts.from_arrays(header, {**arrays, "doc_freq": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="sorted and unique"):
        ClassCounts.from_arrays(header, {**arrays, "classes": np.array(["b", "a"])})


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array", "csc_matrix", "coo_array"])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_equals_dense(fmt, weighted):
    X, y, w = make_counts(3_000, 12, seed=3, labels="str", weighted=weighted)
    X[X < 2] = 0.0  # sparser
    dense, sparse = ClassCounts(12), ClassCounts(12)
    dense.update(X, y, w)
    sparse.update(getattr(sp, fmt)(X), y, w)
    assert sparse.allclose(dense, rtol=1e-13)
    ints = ClassCounts(12)
    ints.update(sp.csr_array(X.astype(np.int32)), y, w)
    assert ints.allclose(dense, rtol=1e-13)


def test_sparse_duplicates_and_explicit_zeros():
    """A non-canonical CSR (a duplicate entry, a stored zero) counts like its dense form."""
    data = np.array([1.0, 2.0, 0.0, 3.0])
    indices = np.array([0, 0, 1, 1])
    indptr = np.array([0, 2, 4])
    X = sp.csr_matrix((data, indices, indptr), shape=(2, 2))
    s = ClassCounts(2)
    s.update(X, [0, 1])
    np.testing.assert_array_equal(s.feature_count, [[3.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(s.doc_freq, [[1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize("sparse", [False, True])
def test_negative_value_named_and_state_untouched(sparse):
    X, y, _ = make_counts(50, 4, seed=5)
    s = ClassCounts(4)
    s.update(X, y)
    before = state_digest(s)
    bad = X.copy()
    bad[37, 2] = -1.5
    with pytest.raises(NegativeCountError, match=r"column 2 holds -1.5 at row 37") as err:
        s.update(sp.csr_array(bad) if sparse else bad, y)
    assert isinstance(err.value, ValueError)
    assert "Negative values in data" in str(err.value) and "`X >= 0` must hold" in str(err.value)
    assert (err.value.row, err.value.column) == (37, 2)
    assert state_digest(s) == before


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_value_named_and_state_untouched(sparse, value):
    X, y, _ = make_counts(9_000, 3, seed=6)
    s = ClassCounts(3)
    s.update(X[:10], y[:10])
    before = state_digest(s)
    bad = X.copy()
    bad[8_500, 1] = value  # in the second block of a dense batch: the first was reduced already
    with pytest.raises(NonFiniteError, match=rf"column 1 holds {value} at row 8500") as err:
        s.update(sp.csr_array(bad) if sparse else bad, y)
    assert (err.value.row, err.value.column) == (8_500, 1)
    assert state_digest(s) == before


def test_first_bad_entry_is_reported():
    X = np.ones((4, 3))
    X[2, 0] = np.nan
    X[1, 2] = -1.0
    with pytest.raises(NegativeCountError, match=r"column 2 holds -1\.0 at row 1"):
        ClassCounts(3).update(X, [0, 1, 0, 1])


def test_bad_weights_labels_and_shapes():
    s = ClassCounts(2)
    X = np.ones((3, 2))
    with pytest.raises(
        NonFiniteError, match=r"Sample weights must be finite and >= 0, but got -1.0 at row 1"
    ) as err:
        s.update(X, [0, 1, 0], [1.0, -1.0, 1.0])
    assert err.value.column == "sample_weight"
    with pytest.raises(NonFiniteError, match="got nan at row 2"):
        s.update(X, [0, 1, 0], [1.0, 1.0, np.nan])
    with pytest.raises(NonFiniteError, match="Class labels must be present, but row 1") as err:
        s.update(X, [0.0, np.nan, 1.0])
    assert err.value.column == "target"
    with pytest.raises(ValueError, match="`y` is required"):
        s.update(X)
    with pytest.raises(ValueError, match="must have 2 columns"):
        s.update(np.ones((3, 3)), [0, 1, 0])
    with pytest.raises(ValueError, match="1-dimensional with 3 rows"):
        s.update(X, [0, 1])
    with pytest.raises(TypeError, match="must be numeric"):
        s.update(np.array([["a", "b"]]), [0])
    assert s.n_rows == 0 and s.n_classes == 0
    with pytest.raises(ValueError, match="`has_target` must be True"):
        ClassCounts(2, has_target=False)
    with pytest.raises(ValueError, match="`n_features >= 1` must hold"):
        ClassCounts(0)
    with pytest.raises(ValueError, match="share parameters"):
        s.merge(ClassCounts(3))
    with pytest.raises(TypeError, match="ClassCounts state"):
        s.merge(object())


def test_zero_weight_rows_keep_their_class():
    """As scikit-learn's ``classes_``: a label whose rows all weigh 0 is still a class."""
    s = ClassCounts(1)
    s.update(np.ones((3, 1)), ["a", "b", "b"], [0.0, 1.0, 2.0])
    assert s.classes.tolist() == ["a", "b"]
    assert s.class_count.tolist() == [0.0, 3.0]
    assert s.n_rows == 3 and s.weight_sum == 3.0


def test_add_classes_and_derived_memo():
    s = ClassCounts(2)
    s.update(np.ones((2, 2)), [3, 1])
    calls = []
    assert s.derived("k", lambda: calls.append(1) or 42) == 42
    assert s.derived("k", lambda: calls.append(1) or 0) == 42 and len(calls) == 1
    s.add_classes([2, 5])
    assert s.classes.tolist() == [1, 2, 3, 5]
    assert s.class_count.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert s.derived("k", lambda: 7) == 7  # the memo was dropped on change
    back = pickle.loads(pickle.dumps(s))
    assert back.allclose(s) and back._derived == {}


def test_read_only_views_and_independent_copies():
    s = ClassCounts(2)
    s.update(np.ones((2, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="read-only"):
        s.feature_count[0, 0] = 5.0
    c = s.copy()
    c.update(np.ones((1, 2)), ["a"])
    assert s.class_count.tolist() == [1.0, 1.0] and c.class_count.tolist() == [2.0, 1.0]
    assert not c.allclose(s)
    assert "n_classes=2" in repr(s)
