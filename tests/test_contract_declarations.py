"""The contract suite completes itself from the registry: a model class registered without an
independent reference fails it with a message saying what to declare; once it declares one,
the whole suite (state laws, exactness against that reference, scikit-learn's estimator
checks) runs on it with no list of names to edit. Also: quality bounds, NoReference, and
expected estimator-check failures are read from the model class and enforced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from statetune.algorithms import Ridge, available_algorithms
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._linear_metrics import (
    REGRESSION_MAXIMIZE,
    REGRESSION_METRICS,
    linear_held_out_score,
)
from statetune.algorithms.references import NoReference, QualityBound, Reference
from statetune.algorithms.registry import _REGISTRY, Algorithm, register_algorithm
from statetune.testing import (
    assert_equals_reference,
    assert_quality_bound,
    check_algorithm,
    check_sklearn_estimator,
    declared_reference,
    quality_ratios,
)


class MeanRegressor(StateEstimator, RegressorMixin, BaseEstimator):
    """Predicts the (weighted) mean of the target: a complete model of ``Moments``, declaring
    no reference (as a new algorithm's author might forget to)."""

    metrics = REGRESSION_METRICS
    maximize = REGRESSION_MAXIMIZE
    intercept_: float

    def _check_hyperparameters(self, state: Any) -> None:
        pass

    def _finalize(self, state: Any) -> None:
        self.intercept_ = float(state.mean[-1])

    @classmethod
    def search_space(cls, state: Any) -> dict[str, Any]:
        return {}

    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        d = held.n_features
        return linear_held_out_score(np.zeros(d), self.intercept_, True, train, held, metric)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "intercept_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.full(X.shape[0], self.intercept_)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # a mean predictor, as DummyRegressor
        return tags


class DeclaredMean(MeanRegressor):
    reference = Reference(
        lambda params, state: DummyRegressor(strategy="mean"),
        compare=("predict",),
        scaled="a mean: nothing is solved, no scale to choose",
    )


class WrongMean(MeanRegressor):
    """Off by one: its declared reference must catch it."""

    reference = DeclaredMean.reference

    def _finalize(self, state: Any) -> None:
        self.intercept_ = float(state.mean[-1]) + 1.0


class CheckedMean(DeclaredMean):
    """Sets an attribute in ``__init__``, which one scikit-learn check forbids."""

    reference = DeclaredMean.reference

    def __init__(self) -> None:
        self.unused = None


@pytest.fixture
def register() -> Iterator[Any]:
    """Registers test doubles under throwaway names; the registry is restored afterwards."""
    added: list[str] = []

    def add(name: str, model: type, **kw: Any) -> str:
        register_algorithm(Algorithm(name, model, "regression", "test double", **kw))
        added.append(name)
        return name

    yield add
    for name in added:
        del _REGISTRY[name]


def test_an_algorithm_without_a_reference_fails_the_contract_suite(register):
    name = register("throwaway_mean", MeanRegressor)
    assert name in available_algorithms()
    with pytest.raises(AssertionError) as err:
        check_algorithm(name)
    message = str(err.value)
    assert "MeanRegressor" in message and "'throwaway_mean'" in message
    assert "must declare its independent reference" in message
    for what in ("Reference(", "QualityBound(", "NoReference("):
        assert what in message  # says what to declare


def test_an_inherited_reference_does_not_count(register):
    class RidgeFromASketch(Ridge):  # a new state, the old class's exactness claim
        pass

    name = register("throwaway_ridge", RidgeFromASketch)
    with pytest.raises(AssertionError, match="only inherits the one of Ridge"):
        declared_reference(name)


def test_once_declared_the_whole_suite_runs_on_the_new_algorithm(register):
    name = register("throwaway_declared_mean", DeclaredMean)
    check_algorithm(name)  # state laws, exactness, scikit-learn's estimator checks
    assert assert_equals_reference(name) == {"predict": pytest.approx(0.0, abs=1e-12)}


def test_the_declared_reference_catches_a_wrong_model(register):
    name = register("throwaway_wrong_mean", WrongMean)
    with pytest.raises(AssertionError, match=r"errors \{'predict': .*\} exceed rtol=1e-08"):
        assert_equals_reference(name)


def test_expected_estimator_check_failures_are_declared_on_the_model(register, monkeypatch):
    name = register("throwaway_checked_mean", CheckedMean)
    with pytest.raises(AssertionError, match="should not set any attribute apart from"):
        check_sklearn_estimator(name)
    reason = "test double: sets an attribute in __init__"
    monkeypatch.setattr(
        CheckedMean,
        "expected_failed_checks",
        {"check_no_attributes_set_in_init": reason},
        raising=False,
    )
    assert check_sklearn_estimator(name) is None


def test_an_exempt_model_reports_its_reason(register, monkeypatch):
    monkeypatch.setattr(DeclaredMean, "estimator_checks_exempt", "test double: no checks")
    name = register("throwaway_exempt_mean", DeclaredMean)
    assert check_sklearn_estimator(name) == "test double: no checks"


def _mse(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((model.predict(X) - y) ** 2))


def test_a_quality_bound_is_measured_and_enforced(register):
    class Approximate(MeanRegressor):  # "approximates" least squares by the mean
        reference: ClassVar[Any] = QualityBound(
            lambda params, state: LinearRegression(),
            loss=_mse,
            max_ratio=1.0 + 1e-9,
            scaled="approximate",
        )

    class Bounded(MeanRegressor):
        reference: ClassVar[Any] = QualityBound(
            lambda params, state: LinearRegression(),
            loss=_mse,
            max_ratio=1e6,
            scaled="approximate",
        )

    tight = register("throwaway_tight", Approximate)
    with pytest.raises(AssertionError, match="above the declared max_ratio"):
        check_algorithm(tight, estimator_checks=False)
    loose = register("throwaway_loose", Bounded)
    ratios = quality_ratios(loose)
    assert all(r > 2.0 for r in ratios)  # the mean is far worse than least squares here
    assert assert_quality_bound(loose) == ratios
    check_algorithm(loose, estimator_checks=False)


def test_no_reference_is_a_declared_reason(register):
    class Unreferenced(MeanRegressor):
        reference: ClassVar[Any] = NoReference("test double: nothing to compare with")

    name = register("throwaway_unreferenced", Unreferenced)
    assert declared_reference(name).reason == "test double: nothing to compare with"
    check_algorithm(name, estimator_checks=False)  # the other contracts still run
    with pytest.raises(AssertionError, match="declares NoReference, not a Reference"):
        assert_equals_reference(name)
