"""DESIGN.md contracts over every registered algorithm (statetune.testing), with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statetune.algorithms import available_algorithms, get_algorithm
from statetune.testing import (
    assert_chunk_invariant,
    assert_merge_laws,
    check_algorithm,
    data_for,
    make_regression_data,
)


@pytest.mark.parametrize("name", available_algorithms())
def test_every_registered_algorithm_passes_contracts(name):
    # scikit-learn's estimator checks run per check in algorithms_tests/test_estimator_checks.py
    check_algorithm(name, estimator_checks=False)


@pytest.mark.parametrize("name", available_algorithms())
@given(
    n=st.integers(3, 200),
    cuts=st.lists(st.integers(1, 199), max_size=4),
    weighted=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_merge_and_chunk_laws_hold_for_every_state(name, n, cuts, weighted, seed):
    X, y, w = data_for(name, n, 4, seed=seed, weighted=weighted)
    y = y if get_algorithm(name).needs_target else None
    cuts = [c for c in cuts if c < n]
    assert_chunk_invariant(name, X, y, w, cuts)
    assert_merge_laws(name, X, y, w, cuts)


def test_contract_checks_can_fail():
    """A state that drops rows must be caught: the checks are not vacuous."""
    import numpy as np

    from statetune.states import Moments

    class Lossy(Moments):
        def update(self, X, y=None, sample_weight=None):  # forgets the first row of each batch
            super().update(np.asarray(X)[1:], None if y is None else np.asarray(y)[1:])

    X, y, _ = make_regression_data(50, 2)
    a, b = Lossy(2), Lossy(2)
    a.update(X, y)
    b.update(X[:20], y[:20])
    b.update(X[20:], y[20:])
    assert not a.allclose(b)


def test_series_contract_checks_can_fail():
    """A series state that drops the rows straddling a merge or a batch boundary is caught."""
    import numpy as np

    from statetune.algorithms import AutoRegressive
    from statetune.algorithms.registry import _REGISTRY, Algorithm, register_algorithm
    from statetune.states import LaggedMoments, Moments
    from statetune.testing import make_series_data

    class NoStraddle(LaggedMoments):
        def straddle(self, other):
            return Moments(self.n_features)

    class Forgetful(LaggedMoments):
        def update(self, y, exog=None, series=None, time=None):
            super().update(y, exog, series, time)
            for s in self._series.values():  # forget the tail: the next batch starts afresh
                s.tail = s.tail[:0]

    exog, y, ids = make_series_data(120, 1, seed=3)
    for state_cls, check in (
        (NoStraddle, lambda: assert_merge_laws("lossy_ar", exog, y, ids, [40, 80])),
        (Forgetful, lambda: assert_chunk_invariant("lossy_ar", exog, y, ids, [40, 80])),
    ):

        class Lossy(AutoRegressive):
            @classmethod
            def make_state(cls, n_features=0, has_target=True, *, max_lag=8, _c=state_cls):
                return _c(max_lag, n_exog=n_features)

        register_algorithm(Algorithm("lossy_ar", Lossy, "forecasting", "test double"))
        try:
            with pytest.raises(AssertionError):
                check()
        finally:
            del _REGISTRY["lossy_ar"]
    assert np.isfinite(y).all()
