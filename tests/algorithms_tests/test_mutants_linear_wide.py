"""Tests for the survivors of the 20-mutants-per-module run over ``algorithms/linear.py``
(issue 17, ``make mutation``). References: numpy on all rows, scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import linear_model
from sklearn.datasets import load_diabetes

import statetune as st
from statetune.algorithms.linear import Ridge, alpha_range
from statetune.states import Moments


def _data():
    """A constant feature (scatter exactly 0), one with scatter ~1e-4 (below 1) and one ~1e4."""
    rng = np.random.default_rng(0)
    n = 100
    X = np.c_[np.full(n, 4.0), rng.normal(size=n) * 1e-3, rng.normal(size=n) * 10.0]
    y = X[:, 1] * 50.0 + X[:, 2] + rng.normal(size=n)
    return X, y


def test_alpha_range_spans_the_nonzero_feature_scatters():
    """``alpha_range`` runs from 1e-6 x the smallest non-zero scatter ``sum (x - mean)^2`` to
    1e2 x the largest, rounded out to powers of ten; a constant feature (scatter 0) takes no
    part, and a scatter below 1 counts like any other."""
    X, y = _data()
    state = Moments(3)
    state.update(X, y)
    scatter = ((X - X.mean(axis=0)) ** 2).sum(axis=0)  # numpy on all rows
    assert scatter[0] == 0.0 and 0 < scatter[1] < 1 < scatter[2]
    low = 10.0 ** np.floor(np.log10(1e-6 * scatter[1]))
    high = 10.0 ** np.ceil(np.log10(1e2 * scatter[2]))
    assert alpha_range(state) == (low, high)
    space = Ridge.search_space(state)["alpha"]
    assert (space.low, space.high, space.log) == (low, high, True)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ols_singular_values_equal_sklearn(fit_intercept):
    """``LinearRegression.singular_`` are the singular values of the (centered) design, as
    scikit-learn's."""
    X, y = load_diabetes(return_X_y=True)
    X = X * np.array([1.0, 10.0, 0.1, 1.0, 5.0, 1.0, 1.0, 2.0, 1.0, 0.5])
    states = st.compute_states(st.from_arrays(X, y), ["ols"], folds=3)
    ours = st.finalize("ols", states, fit_intercept=fit_intercept)
    ref = linear_model.LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(np.sort(ours.singular_), np.sort(ref.singular_), rtol=1e-8)


def test_ridge_alpha_zero_on_full_rank_data_equals_linear_regression():
    """alpha=0 is refused only when X^T X is singular; full-rank data (diabetes) gives
    scikit-learn's LinearRegression, with and without intercept."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    import statetune as st

    X, y = load_diabetes(return_X_y=True)
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=2)
    for fi in (True, False):
        model = st.finalize("ridge", states, alpha=0.0, fit_intercept=fi)
        ref = LinearRegression(fit_intercept=fi).fit(X, y)
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-9)
        np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-9, atol=1e-9)


def test_linear_models_declare_and_enforce_a_single_target_and_dense_input():
    """The moments hold one target column of dense rows: the scikit-learn tags say
    single-output and no sparse input (so those checks are not claimed), a 2-column y is
    refused, and a sparse X is refused, as the tags say."""
    import scipy.sparse as sp

    import statetune as st

    X = np.random.default_rng(0).normal(size=(40, 3))
    for name in ("ridge", "ols"):
        model = st.finalize(name, st.compute_states(st.from_arrays(X, X[:, 0]), [name], folds=2))
        assert model.__sklearn_tags__().target_tags.multi_output is False
        assert model.__sklearn_tags__().input_tags.sparse is False
        with pytest.raises(ValueError):
            type(model)().fit(X, np.c_[X[:, 0], X[:, 1]])
        with pytest.raises((TypeError, ValueError)):
            type(model)().fit(sp.csr_matrix(X), X[:, 0])
