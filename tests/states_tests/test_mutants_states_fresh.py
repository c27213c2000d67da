"""Tests for the survivors of a fresh mutation sample (issue 17: ``run.py --sample 40 --skip 30``
over ``states/moments.py``): behaviour a mutant broke without a test failing. References are
arithmetic done here by hand, not the state under test."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.states import Moments
from statetune.states._base import NonFiniteError


def test_allclose_tells_apart_two_single_row_states():
    """One row each, same counts and parameters, different values: not close (a state of one
    row has no spread, so only the means can differ, and they do)."""
    a, b = Moments(2), Moments(2)
    a.update(np.array([[1.0, 2.0]]), np.array([3.0]))
    b.update(np.array([[1.0, 5.0]]), np.array([3.0]))
    assert not a.allclose(b)
    assert a.allclose(a.copy())


def test_allclose_compares_comoments_to_rtol_not_to_one():
    """Same weight and mean (0), co-moments 2 and 2(1 + 1e-6)^2: apart at rtol 1e-10, within
    1e-5 of each other."""
    a, b = Moments(1, has_target=False), Moments(1, has_target=False)
    a.update(np.array([[-1.0], [1.0]]))
    b.update(np.array([[-1.000001], [1.000001]]))
    assert not a.allclose(b, 1e-10)
    assert a.allclose(b, 1e-5)


def test_overflow_is_located_from_the_states_own_mean():
    """Rows 1.0e154 and 1.2e154 seen (mean 1.1e154), then -3.5e153 twice: centred on 1.1e154 the
    first new row's square is 2.1e308 (overflows), centred anywhere near 0.9e154 it is 1.6e308
    and only the second row overflows. The error names row 0 and the state keeps its 2 rows."""
    m = Moments(1, has_target=False)
    m.update(np.array([[1.0e154], [1.2e154]]))
    with pytest.raises(NonFiniteError, match=r"column 0 overflows float64 at row 0 "):
        m.update(np.array([[-0.35e154], [-0.35e154]]))
    assert m.n_rows == 2


# -- a fresh sample of 8 per module over the other states/ modules (--sample 16 --skip 8) ----


def test_state_arrays_handed_out_are_read_only():
    """``shift``, ``mean_from_shift``, ``comoment`` are views of the state's own arrays: a write must be refused, or
    a user's in-place edit would change every model finalized afterwards."""
    m = Moments(2)
    m.update(np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([1.0, 0.0]))
    for arr in (m.shift, m.mean_from_shift, m.comoment):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 99.0
    assert m.comoment[0, 0] == 2.0  # (1 - 2)^2 + (3 - 2)^2


def test_object_labels_nan_is_missing_and_floats_are_labels():
    from statetune.states._labels import as_labels

    with pytest.raises(NonFiniteError, match="row 1 has none"):
        as_labels(np.array(["a", np.nan, "b"], dtype=object), 3)
    assert as_labels(np.array([1.0, 2.0, 1.0], dtype=object), 3).tolist() == [1.0, 2.0, 1.0]


def test_reservoir_without_positions_numbers_rows_in_the_order_seen():
    """Chunks offered without positions are rows 0, 1, 2, ... in order: the sample equals the
    one given those positions explicitly, however the rows are chunked."""
    from statetune.states import Reservoir

    X = np.arange(400.0).reshape(200, 2)
    y = np.arange(200.0)
    implicit, explicit = Reservoir(2, size=16, seed=3), Reservoir(2, size=16, seed=3)
    for a, b in [(0, 70), (70, 71), (71, 200)]:
        implicit.update(X[a:b], y[a:b])
    explicit.update(X, y, positions=np.arange(200))
    assert sorted(implicit.y.tolist()) == sorted(explicit.y.tolist())
    assert len(set(implicit.y.tolist())) == 16


def test_reservoir_without_target_ignores_labels_it_is_given():
    """The pass hands a source's labels to every state; a targetless sample (isolation
    forest's, k-means') keeps the rows and no target."""
    from statetune.states import Reservoir

    a, b = Reservoir(2, has_target=False, size=4), Reservoir(2, has_target=False, size=4)
    X = np.arange(20.0).reshape(10, 2)
    a.update(X, np.arange(10.0))
    b.update(X)
    assert a.y is None and a.n_rows == 10
    np.testing.assert_array_equal(a.X, b.X)


def test_class_counts_file_with_repeated_classes_is_refused():
    from statetune.states import ClassCounts

    s = ClassCounts(3)
    s.update(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [3.0, 1.0, 0.0]]), np.array([0, 1, 1]))
    header, arrays = s.to_arrays()
    ClassCounts.from_arrays(header, arrays)  # the file as written reads back
    arrays["classes"] = np.array([1, 1])
    with pytest.raises(ValueError, match="sorted and unique"):
        ClassCounts.from_arrays(header, arrays)


def test_spec_key_is_a_short_stable_hash_of_the_spec():
    from statetune.states.spec import StateSpec

    a = StateSpec.of("moments", n_features=3, has_target=True)
    b = StateSpec.of("moments", has_target=True, n_features=3)
    c = StateSpec.of("moments", n_features=4, has_target=True)
    assert a.key() == b.key() and isinstance(a.key(), str)
    assert len(a.key()) == 12 and int(a.key(), 16) >= 0  # 6 bytes as hex
    assert a.key() != c.key()
    assert StateSpec.from_json(a.to_json()).key() == a.key()


def test_spec_reads_as_kind_and_sorted_params():
    from statetune.states.spec import StateSpec

    spec = StateSpec.of("reservoir", size=50, n_features=2, has_target=True, seed=1)
    assert str(spec) == "reservoir(has_target=True, n_features=2, seed=1, size=50)"
