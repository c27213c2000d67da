"""``subtract`` undoes a merge exactly or changes nothing: all or nothing on a bad operand,
and the accumulation shift survives when only zero-weight rows remain.

References: a state built directly from the rows that remain.
"""

from __future__ import annotations

import numpy as np
import pytest

from statetune.states import ClassMoments, Moments
from statetune.testing import make_classification_data


def test_class_moments_subtract_is_all_or_nothing():
    X, y, _ = make_classification_data(100, 2, seed=0)
    a = ClassMoments(2)
    a.update(X, y)
    other = ClassMoments(2)
    other.update(X[:10], np.where(np.arange(10) < 5, y[:10], "unknown"))
    before = [m.n_rows for m in a.per_class]
    with pytest.raises(ValueError, match="subset"):
        a.subtract(other)
    assert [m.n_rows for m in a.per_class] == before


def test_moments_subtract_keeps_shift_when_only_zero_weight_rows_remain():
    X = 1e9 + 1e-2 * np.random.default_rng(0).normal(size=(100, 1))
    y = X[:, 0].copy()
    w = np.ones(100)
    w[:3] = 0.0
    s, part = Moments(1), Moments(1)
    s.update(X, y, w)
    part.update(X[3:], y[3:], w[3:])
    s.subtract(part)
    s.update(X, y)
    ref = Moments(1)
    ref.update(X[:3], y[:3], w[:3])
    ref.update(X, y)
    assert s.allclose(ref, 1e-10)
