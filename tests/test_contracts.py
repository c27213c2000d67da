"""DESIGN.md contracts over every registered algorithm (statetune.testing), with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statetune.algorithms import MultinomialNB, Ridge, available_algorithms, get_algorithm
from statetune.algorithms.registry import _REGISTRY, Algorithm, register_algorithm
from statetune.states import Moments
from statetune.states._base import _REGISTRY as state_registry
from statetune.states.capabilities import Subtractable
from statetune.states.class_counts import ClassCounts
from statetune.testing import (
    assert_chunk_invariant,
    assert_empty_state_raises,
    assert_equals_reference,
    assert_finalize_pure,
    assert_merge_laws,
    assert_round_trip,
    assert_search_space_finalizes,
    assert_subtract_inverts_merge,
    check_algorithm,
    data_for,
    fill_state,
    make_count_data,
    make_regression_data,
    new_state,
)


@pytest.mark.parametrize("name", available_algorithms())
def test_every_registered_algorithm_passes_contracts(name):
    # scikit-learn's estimator checks run per check in algorithms_tests/test_estimator_checks.py
    skipped = check_algorithm(name, estimator_checks=False)
    assert set(skipped) <= {"subtract"}, skipped  # the only law a state may lack, with a reason


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


# ------------------------------------------------ the checks are not vacuous: broken doubles
class _Lossy(Moments):
    def update(self, X, y=None, sample_weight=None):  # forgets the first row of each batch
        w = None if sample_weight is None else np.asarray(sample_weight)[1:]
        super().update(np.asarray(X)[1:], None if y is None else np.asarray(y)[1:], w)


class _KeepsClass(Moments):
    def copy(self):  # Moments.copy returns a plain Moments: keep the double's class
        new = type(self)(self.n_features, self.has_target)
        new._n_rows, new._weight = self._n_rows, self._weight
        new._shift, new._mean, new._com = self._shift.copy(), self._mean.copy(), self._com.copy()
        return new


class _MergesTwice(_KeepsClass):
    def merge(self, other):  # counts the other side twice
        super().merge(other)
        super().merge(other)


class _DropsSmallerSide(_KeepsClass):
    def merge(self, other):  # keeps the larger state, as a buggy "max" merge would
        if other.n_rows > self.n_rows:
            super().merge(other)


class _SubtractsApproximately(_KeepsClass):
    def subtract(self, other):  # right rows and means, co-moments 1e-6 off
        super().subtract(other)
        self._com = self._com * (1.0 + 1e-6)


class _RoundsOnLoad(Moments):
    kind = "rounds_on_load"  # registered as a state kind for the test only

    @classmethod
    def from_arrays(cls, header, arrays):  # loads the co-moments rounded to float32
        new = super().from_arrays(header, arrays)
        new._com = new._com.astype(np.float32).astype(np.float64)
        return new


def _ridge_double(state_cls=Moments, **overrides):
    body = {"state_class": state_cls, "reference": Ridge.reference, **overrides}
    return type("BrokenRidge", (Ridge,), body)


def _nan_coef(self, state):
    Ridge._finalize(self, state)
    self.coef_ = self.coef_.copy()
    self.coef_[0] = np.nan


def _touches_state(self, state):
    Ridge._finalize(self, state)
    state._com = state._com * (1.0 + 1e-12)


def _off_by_1e6(self, state):
    Ridge._finalize(self, state)
    self.coef_ = self.coef_ * (1.0 + 1e-6)


def _finalizes_empty(self, state, shared):
    if state.n_rows == 0:
        self.coef_, self.intercept_ = np.zeros(state.n_features), 0.0
        return
    Ridge._fit_from(self, state, shared)


def _data():
    return make_regression_data(300, 3, seed=2, weighted=True)


def _fill(name):
    X, y, w = _data()
    return fill_state(name, X, y, w)


BROKEN = {
    "chunk invariance": (
        _ridge_double(_Lossy),
        lambda n: assert_chunk_invariant(n, *_data(), [1, 77, 150]),
    ),
    "merge counts a side twice": (
        _ridge_double(_MergesTwice),
        lambda n: assert_merge_laws(n, *_data(), [1, 77, 150]),
    ),
    "merge drops the smaller side": (
        _ridge_double(_DropsSmallerSide),
        lambda n: assert_merge_laws(n, *_data(), [1, 77, 150]),
    ),
    "subtract": (
        _ridge_double(_SubtractsApproximately),
        lambda n: assert_subtract_inverts_merge(n, *_data(), 120),
    ),
    "round trip": (_ridge_double(_RoundsOnLoad), lambda n: assert_round_trip(_fill(n))),
    "finite fitted values": (
        _ridge_double(_finalize=_nan_coef),
        lambda n: assert_search_space_finalizes(n, _fill(n), X=_data()[0][:20]),
    ),
    "finalize is pure": (
        _ridge_double(_finalize=_touches_state),
        lambda n: assert_finalize_pure(n, _fill(n), {"alpha": 1.0}),
    ),
    "empty state raises": (
        _ridge_double(_fit_from=_finalizes_empty),
        lambda n: assert_empty_state_raises(n, 3, True),
    ),
    "exactness": (
        _ridge_double(_finalize=_off_by_1e6),
        lambda n: assert_equals_reference(n, seed=0),
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_contract_check_rejects_a_broken_double(case, monkeypatch):
    """Each check passes on ridge and fails on a test double broken in the one way that check
    is about: the checks are not vacuous."""
    monkeypatch.setitem(state_registry, _RoundsOnLoad.kind, _RoundsOnLoad)
    model, check = BROKEN[case]
    register_algorithm(Algorithm("broken_ridge", model, "regression", "test double"))
    register_algorithm(Algorithm("sound_ridge", Ridge, "regression", "control"))
    try:
        check("sound_ridge")  # the same check on the sound model passes
        with pytest.raises(AssertionError):
            check("broken_ridge")
    finally:
        del _REGISTRY["broken_ridge"], _REGISTRY["sound_ridge"]


def test_laws_that_do_not_apply_are_reported_with_a_reason():
    """check_algorithm returns the laws it could not check, with why; a state that has
    subtract() but does not declare Subtractable is refused instead of silently skipped."""
    for name in available_algorithms():
        skipped = check_algorithm(name, estimator_checks=False)
        state = new_state(name, 2, get_algorithm(name).needs_target)
        assert set(skipped) <= {"subtract"}
        assert ("subtract" in skipped) == (not isinstance(state, Subtractable)), name
        if skipped:
            assert type(state).__name__ in skipped["subtract"]

    class Undeclared(ClassCounts):
        def subtract(self, other):
            pass

    cls = type("UndeclaredNB", (MultinomialNB,), {"state_class": Undeclared})
    cls.make_state = classmethod(lambda c, d, has_target: Undeclared(d))
    register_algorithm(Algorithm("undeclared_nb", cls, "classification", "test double"))
    try:
        X, y, w = make_count_data(100, 3, seed=1, weighted=True)
        with pytest.raises(AssertionError, match="does not declare Subtractable"):
            assert_subtract_inverts_merge("undeclared_nb", X, y, w, 40)
    finally:
        del _REGISTRY["undeclared_nb"]


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
