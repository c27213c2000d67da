"""Tests written for surviving mutants of states/ (issue 17, ``make mutation``).

Each test names the behaviour a mutant broke without a test failing; references are numpy on
all rows or the documented contract, never the state under test."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.states._base import NonFiniteError, check_sample_weight

# -- states/_base.py: sample-weight validation ---------------------------------------------


def test_sample_weight_column_vector_is_flattened():
    w = np.array([[1.0], [0.0], [2.5]])
    out = check_sample_weight(w, 3)
    assert out is not None and out.shape == (3,)
    assert out.tolist() == [1.0, 0.0, 2.5]


@pytest.mark.parametrize("shape", [(3, 2), (2,), (4,), (1, 3)])
def test_sample_weight_of_the_wrong_shape_is_refused(shape):
    with pytest.raises(ValueError, match="1-dimensional with 3 rows"):
        check_sample_weight(np.ones(shape), 3)


def test_sample_weight_accepts_bools_and_zeros_refuses_text():
    assert check_sample_weight(np.array([True, False]), 2).tolist() == [1.0, 0.0]
    assert check_sample_weight([0, 0, 3], 3).tolist() == [0.0, 0.0, 3.0]
    with pytest.raises(TypeError, match="numeric"):
        check_sample_weight(np.array(["a", "b"]), 2)


@pytest.mark.parametrize("bad", [-1e-300, -1.0, np.nan, np.inf])
def test_negative_or_non_finite_weight_names_its_row(bad):
    w = np.array([1.0, 0.0, bad, 2.0])
    with pytest.raises(NonFiniteError, match="at row 2") as info:
        check_sample_weight(w, 4)
    assert info.value.row == 2 and info.value.column == "sample_weight"
    assert "finite and >= 0" in str(info.value)


# -- states/_labels.py -------------------------------------------------------------------------


def test_labels_as_a_column_vector_are_flattened():
    from statetune.states._labels import as_labels

    y = np.array([[3], [1], [3]])
    assert as_labels(y, 3).tolist() == [3, 1, 3]
    assert as_labels(np.array([["b"], ["a"]]), 2).tolist() == ["b", "a"]
    with pytest.raises(ValueError, match="1-dimensional with 3 rows"):
        as_labels(np.ones((3, 2)), 3)


# -- states/spec.py ------------------------------------------------------------------------------


def test_state_spec_round_trips_and_reports_capabilities():
    from statetune.states import Moments, Reservoir
    from statetune.states.capabilities import Ordered, Sampling, Subtractable
    from statetune.states.spec import StateSpec

    spec = StateSpec.of("moments", n_features=np.int64(3), has_target=True)
    assert spec.params == (("has_target", True), ("n_features", 3))
    assert type(dict(spec.params)["n_features"]) is int  # numpy scalar made plain
    assert spec.to_json() == {"kind": "moments", "params": {"has_target": True, "n_features": 3}}
    assert StateSpec.from_json(spec.to_json()) == spec
    assert StateSpec.for_state(Moments(3)) == spec
    assert spec.state_class is Moments
    built = spec.build()
    assert isinstance(built, Moments) and built.n_features == 3
    assert spec.has(Subtractable) is True
    assert spec.has(Sampling) is False and spec.has(Ordered) is False
    assert StateSpec.for_state(Reservoir(2, size=5)).has(Sampling) is True
    assert StateSpec.of("moments", x=None, v=[1, 2]).params == (("v", (1, 2)), ("x", None))
    with pytest.raises(TypeError, match="JSON scalars"):
        StateSpec.of("moments", x={"a": 1})


# -- states/target_summary.py: against numpy on all rows -------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_target_summary_updates_and_merges_equal_numpy(weighted):
    from statetune.states import TargetSummary

    rng = np.random.default_rng(4)
    y = 1e6 + rng.normal(size=500) * np.linspace(0.5, 3.0, 500)
    w = rng.uniform(0.1, 4.0, size=500) if weighted else np.ones(500)
    parts = []
    for lo, hi in [(0, 7), (7, 260), (260, 500)]:
        s = TargetSummary(2)
        s.update(np.zeros((hi - lo, 2)), y[lo:hi], w[lo:hi] if weighted else None)
        parts.append(s)
    s = parts[0]
    s.update(np.zeros((0, 2)), y[:0], w[:0] if weighted else None)  # empty batch: no change
    s.merge(parts[1])
    s.merge(parts[2])
    mean = np.average(y - 1e6, weights=w) + 1e6
    assert s.n_rows == 500
    assert s.weight_sum == pytest.approx(w.sum(), rel=1e-13)
    assert s.mean == pytest.approx(mean, rel=1e-15)
    assert s.m2 == pytest.approx(np.sum(w * (y - mean) ** 2), rel=1e-9)
    one = TargetSummary(2)
    one.update(np.zeros((500, 2)), y, w if weighted else None)
    assert one.allclose(s) and s.allclose(one)
    moved = TargetSummary(2)
    moved.update(np.zeros((500, 2)), y + 1.0, w if weighted else None)
    assert not moved.allclose(s)


def test_target_summary_class_weights_union_equals_numpy():
    from statetune.states import TargetSummary

    rng = np.random.default_rng(5)
    y = rng.choice(np.array(["a", "b", "c", "d"]), size=300)
    w = rng.uniform(0.1, 2.0, size=300)
    a, b = TargetSummary(labels=True), TargetSummary(labels=True)
    a.update(None, y[:100][y[:100] != "d"], w[:100][y[:100] != "d"])
    b.update(None, y[100:][y[100:] != "a"], w[100:][y[100:] != "a"])
    a.merge(b)
    keep = np.r_[y[:100] != "d", y[100:] != "a"]
    assert a.classes.tolist() == ["a", "b", "c", "d"]
    ref = [w[keep & (y == c)].sum() for c in "abcd"]
    np.testing.assert_allclose(a.class_weights, ref, rtol=1e-13)
    assert a.n_rows == int(keep.sum())


# -- states/class_counts.py: against numpy on all rows ---------------------------------------


def _class_counts_reference(X, y, w):
    classes = np.unique(y)
    cc = np.array([w[y == c].sum() for c in classes])
    fc = np.array([(w[y == c, None] * X[y == c]).sum(axis=0) for c in classes])
    df = np.array([(w[y == c, None] * (X[y == c] > 0)).sum(axis=0) for c in classes])
    return classes, cc, fc, df


@pytest.mark.parametrize("sparse", [False, True])
def test_class_counts_batches_of_one_row_and_fractional_counts_equal_numpy(sparse):
    import scipy.sparse as sps

    from statetune.states import ClassCounts

    rng = np.random.default_rng(6)
    X = rng.integers(0, 3, size=(40, 5)).astype(np.float64)
    X[::3, 1] = 0.5  # counts between 0 and 1 still count as present
    y = rng.integers(0, 3, size=40)
    w = rng.uniform(0.2, 2.0, size=40)
    s = ClassCounts(5)
    for lo, hi in [(0, 1), (1, 2), (2, 25), (25, 40)]:
        Xb = sps.csr_array(X[lo:hi]) if sparse else X[lo:hi]
        s.update(Xb, y[lo:hi], w[lo:hi])
    classes, cc, fc, df = _class_counts_reference(X, y, w)
    assert s.classes.tolist() == classes.tolist() and s.n_rows == 40
    np.testing.assert_allclose(s.class_count, cc, rtol=1e-13)
    np.testing.assert_allclose(s.feature_count, fc, rtol=1e-13)
    np.testing.assert_allclose(s.doc_freq, df, rtol=1e-13)
    back = ClassCounts.from_arrays(*s.to_arrays())
    assert back.n_rows == 40 and back.weight_sum == pytest.approx(w.sum(), rel=1e-13)
    assert back.allclose(s)


def test_class_counts_with_text_and_number_labels_are_not_close():
    from statetune.states import ClassCounts

    X = np.ones((2, 1))
    a, b = ClassCounts(1), ClassCounts(1)
    a.update(X, np.array(["1", "2"]))
    b.update(X, np.array([1, 2]))
    assert not a.allclose(b) and not b.allclose(a)
    c = ClassCounts(1)
    c.update(X, np.array(["1", "2"]))
    assert a.allclose(c)
    d = ClassCounts(1)
    d.update(X, np.array([1, 3]))  # same counts, another class
    assert not b.allclose(d) and not d.allclose(b)


# -- states/class_moments.py ---------------------------------------------------------------------


@pytest.mark.parametrize("bad_row", [17_000, 8_192 + 5])
def test_class_moments_weighted_nan_in_a_later_block_names_its_row(bad_row):
    from statetune.states import ClassMoments
    from statetune.states.class_moments import BLOCK_ROWS

    rng = np.random.default_rng(12)
    n = 20_000
    assert n > 2 * BLOCK_ROWS
    X = rng.normal(size=(n, 2))
    y = rng.integers(0, 3, size=n)
    X[bad_row, 1] = np.nan
    s = ClassMoments(2)
    with pytest.raises(NonFiniteError) as info:
        s.update(X, y, rng.uniform(0.5, 1.5, size=n))
    assert info.value.row == bad_row and info.value.column == 1
    assert f"row {bad_row}" in str(info.value)
    assert s.classes.size == 0  # nothing committed


def test_class_moments_round_trip_and_refuses_a_missing_class_state():
    from statetune.states import ClassMoments

    rng = np.random.default_rng(13)
    s = ClassMoments(2)
    s.update(rng.normal(size=(50, 2)), rng.integers(0, 3, size=50), rng.uniform(size=50))
    header, arrays = s.to_arrays()
    back = ClassMoments.from_arrays(header, arrays)
    assert back.allclose(s) and back.classes.tolist() == s.classes.tolist()
    for m, ref in zip(back.per_class, s.per_class, strict=True):
        assert m.n_rows == ref.n_rows and m.weight_sum == ref.weight_sum
    header = {**header, "per_class": header["per_class"][:-1]}
    with pytest.raises(ValueError, match="one state per class"):
        ClassMoments.from_arrays(header, arrays)


# -- states/_series_records.py: lag rows against a loop over numpy ------------------------------


@pytest.mark.parametrize(("P", "n_before", "n"), [(1, 0, 5), (1, 1, 3), (3, 2, 6), (3, 0, 2)])
def test_lag_rows_equal_a_loop(P, n_before, n):
    from statetune.states._series_records import lag_rows

    rng = np.random.default_rng(P + n)
    before, values = rng.normal(size=n_before), rng.normal(size=n)
    exog = rng.normal(size=(n, 2))
    X, y = lag_rows(before, values, exog, P)
    s = np.concatenate([before, values])
    rows = list(range(P, s.size))  # positions with P predecessors
    ref_X = [[s[t - k] for k in range(1, P + 1)] + list(exog[t - n_before]) for t in rows]
    assert X.shape == (len(rows), P + 2)
    np.testing.assert_array_equal(X, np.array(ref_X).reshape(len(rows), P + 2))
    np.testing.assert_array_equal(y, s[rows])


# -- states/moments.py ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["feature", "target"])
def test_moments_nan_in_the_first_row_is_named_as_a_nan(where):
    from statetune.states import Moments

    X = np.arange(12.0).reshape(4, 3)
    y = np.arange(4.0)
    if where == "feature":
        X[0, 2] = np.nan
    else:
        y[0] = np.nan
    s = Moments(3)
    with pytest.raises(NonFiniteError) as info:
        s.update(X, y)
    if where == "feature":
        assert "Features must be finite, but column 2 holds nan at row 0" in str(info.value)
        assert info.value.column == 2
    else:
        assert "The target must be finite, but holds nan at row 0" in str(info.value)
        assert info.value.column == "target"
    assert info.value.row == 0 and s.n_rows == 0


# -- states/reservoir.py ---------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_reservoir_counts_every_offered_row_and_weight(weighted):
    from statetune.states import Reservoir

    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 2))
    y = rng.normal(size=300)
    w = rng.uniform(0.5, 2.0, size=300) if weighted else None
    r = Reservoir(2, size=50, seed=3)
    for lo, hi in [(0, 10), (10, 200), (200, 300)]:
        r.update(X[lo:hi], y[lo:hi], None if w is None else w[lo:hi], positions=np.arange(lo, hi))
    assert r.n_rows == 300
    assert r.weight_sum == pytest.approx(300.0 if w is None else w.sum(), rel=1e-13)
    assert r.X.shape == (50, 2) and len(np.unique(r.positions)) == 50
    np.testing.assert_array_equal(r.X, X[r.positions])
    np.testing.assert_array_equal(r.y, y[r.positions])
