"""Every registered model class is a scikit-learn estimator: scikit-learn's full estimator
check suite runs over the registry (statetune.testing), with the failures each model class
declares expected (``expected_failed_checks``, with reasons) marked as such, and the models
that cannot be checked at all reported as skipped with the reason their class declares."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from statetune.algorithms import PCA, PCR, ElasticNet, Ridge, available_algorithms
from statetune.testing import (
    estimator_check_instance,
    estimator_checks_exempt,
    make_regression_data,
)

CHECKED = [n for n in available_algorithms() if estimator_checks_exempt(n) is None]
EXEMPT = [n for n in available_algorithms() if estimator_checks_exempt(n) is not None]

# strict: an expected failure that starts passing must have its declaration removed
_STRICT = (
    {"xfail_strict": True}
    if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters
    else {}
)


@parametrize_with_checks(
    [estimator_check_instance(n) for n in CHECKED],
    expected_failed_checks=lambda estimator: dict(type(estimator).expected_failed_checks),
    **_STRICT,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", EXEMPT)
def test_models_exempt_from_the_estimator_checks_say_why(name):
    pytest.skip(f"{name}: {estimator_checks_exempt(name)}")


def test_every_registered_algorithm_is_checked_or_says_why():
    """The parametrization above comes from the registry: every algorithm is in it, or its
    model class declares (non-empty) why the checks cannot run."""
    assert sorted(CHECKED + EXEMPT) == sorted(available_algorithms())
    assert all(estimator_checks_exempt(n).strip() for n in EXEMPT)
    assert {type(estimator_check_instance(n)).__name__ for n in CHECKED} >= {
        "LinearDiscriminantAnalysis",
        "MultinomialNB",
        "RidgeClassifier",
    }  # the classifiers and naive Bayes, once missing from this file, are in


@pytest.mark.parametrize("model", [Ridge(alpha=0.3), ElasticNet(alpha=0.01), PCA(2), PCR(3, 1.0)])
def test_partial_fit_equals_fit(model):
    X, y, _ = make_regression_data(1_000, 5, seed=4)
    full = clone(model).fit(X, y)
    inc = clone(model)
    for a in range(0, 1_000, 230):
        inc.partial_fit(X[a : a + 230], y[a : a + 230])
    attr = "components_" if isinstance(model, PCA) else "coef_"
    np.testing.assert_allclose(getattr(inc, attr), getattr(full, attr), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        inc.predict(X[:5]) if hasattr(inc, "predict") else 0,
        full.predict(X[:5]) if hasattr(full, "predict") else 0,
        rtol=1e-9,
    )


def test_partial_fit_on_finalized_model_does_not_touch_shared_state():
    import statetune as st

    X, y, _ = make_regression_data(500, 3)
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=2)
    total = states.total("moments")
    n_before = total.n_rows
    model = st.finalize("ridge", states, alpha=1.0)
    model.partial_fit(X[:10], y[:10])
    assert total.n_rows == n_before
    assert model.state_.n_rows == n_before + 10
