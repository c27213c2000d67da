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
