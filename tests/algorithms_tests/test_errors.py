"""Bad hyperparameters and states get clear errors naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.testing import make_regression_data


@pytest.fixture(scope="module")
def states():
    X, y, _ = make_regression_data(200, 4)
    return st.compute_states(st.from_arrays(X, y), ["ridge", "pca"], folds=2)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("ridge", {"alpha": -1.0}, r"`0 <= alpha` must hold, but got alpha=-1.0"),
        ("lasso", {"alpha": -0.5}, r"`0 <= alpha` must hold, but got alpha=-0.5"),
        ("elastic_net", {"l1_ratio": 1.5}, r"`0 <= l1_ratio <= 1` must hold, but got l1_ratio=1.5"),
        (
            "pca",
            {"n_components": 5},
            r"`1 <= n_components <= n_features` must hold, but got n_components=5, n_features=4",
        ),
        ("pcr", {"n_components": 9}, r"n_components=9, n_features=4"),
        ("pca", {"n_components": 0}, r"`1 <= n_components"),
        ("ridge", {"alpha": "big"}, r"`alpha` must be a real number, but got 'big'"),
        ("ridge", {"fit_intercept": "yes"}, r"`fit_intercept` must be True or False"),
        (
            "ridge",
            {"l1_ratio": 0.5},
            r"must be hyperparameters of ridge \(\['add_indicator', 'alpha', 'fit_intercept', 'min_frequency', 'standardize'\]\), but got unknown \['l1_ratio'\]",
        ),
    ],
)
def test_bad_hyperparameters(states, name, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        st.finalize(name, states, **params)


def test_singular_ridge_at_alpha_zero_but_ols_gives_min_norm():
    X, y, _ = make_regression_data(100, 3)
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # collinear column
    states = st.compute_states(st.from_arrays(X, y), ["ridge", "ols"], folds=2)
    with pytest.raises(np.linalg.LinAlgError, match="alpha=0 and X\\^T X is singular"):
        st.finalize("ridge", states, alpha=0.0)
    from sklearn.linear_model import LinearRegression

    ref = LinearRegression().fit(X, y)
    ours = st.finalize("ols", states)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8)
    assert ours.rank_ == 3


def test_empty_state_and_unknown_algorithm():
    alg = get_algorithm("ridge")
    with pytest.raises(
        ValueError, match="`n_rows >= 1` must hold to finalize Ridge, but the state is empty"
    ):
        alg.finalize(alg.make_state(3, True), {"alpha": 1.0})
    with pytest.raises(
        ValueError,
        match=r"`algorithm` must be one of \['ols', 'ridge', 'lasso', 'elastic_net', 'pca', 'pcr', .*\], but got 'svm'",
    ):
        st.finalize("svm", alg.make_state(3, True))


def test_target_needed(states):
    X, _, _ = make_regression_data(50, 3)
    unsup = st.compute_states(st.from_arrays(X), ["pca"], folds=2)
    with pytest.raises(ValueError, match="'ridge' needs a target, but the source has none"):
        st.finalize("ridge", unsup, alpha=1.0)


def test_search_space_bounded_by_state(states):
    space = states.search_space("pca")
    assert space["n_components"].high == 4
    # lasso shares the moments: its alpha range ends where every coefficient is zero
    lasso = states.search_space("lasso")
    top = lasso["alpha"].high
    assert np.all(st.finalize("lasso", states, alpha=top).coef_ == 0)
    assert np.any(st.finalize("lasso", states, alpha=top * 0.9).coef_ != 0)


@pytest.mark.parametrize("name", ["lasso", "elastic_net", "ridge", "pcr"])
def test_search_space_of_an_empty_state_is_a_default_range(name):
    """No rows yet (an empty fold, a pass stopped before any row): finite default bounds, as
    ridge has always given; lasso and elastic net divided by the zero weight."""
    from statetune.algorithms import get_algorithm
    from statetune.states import Moments

    space = get_algorithm(name).model.search_space(Moments(3, True))
    alpha = space["alpha"]
    assert 0 < alpha.low < alpha.high < float("inf")
