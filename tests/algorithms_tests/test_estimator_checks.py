"""Every model class is a scikit-learn estimator: the full estimator check suite passes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from statetune.algorithms import PCA, PCR, ElasticNet, Lasso, LinearRegression, Ridge
from statetune.testing import make_regression_data


@parametrize_with_checks([LinearRegression(), Ridge(), Lasso(), ElasticNet(), PCA(), PCR()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


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
