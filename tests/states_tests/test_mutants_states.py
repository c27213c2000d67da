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
