"""Tests for the survivors of a fresh mutation sample over ``algorithms/_scaled_solve.py``
(issue 17: ``run.py --sample 16 --skip 8``): the minimum-norm solve on the smallest and the
emptiest systems, against ``numpy.linalg.lstsq``."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.algorithms._scaled_solve import equilibrate, min_norm_solve, pinv_factor


@pytest.mark.parametrize(
    "A",
    [
        np.array([[4.0]]),  # one feature: rank 1
        np.array([[0.0]]),  # one constant feature: rank 0
        np.zeros((3, 3)),  # every feature constant: nothing active
        np.array([[2.0, 0.0, 2.0], [0.0, 0.0, 0.0], [2.0, 0.0, 2.0]]),  # a duplicate and a zero
    ],
)
def test_min_norm_solve_matches_lstsq_on_degenerate_systems(A):
    b = A @ np.arange(1.0, A.shape[0] + 1.0)  # in the range of A, as X^T y is of X^T X
    eq = equilibrate(A)
    x = min_norm_solve(eq, pinv_factor(eq), b)
    ref = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-14)


def _regression_states(algorithm: str):
    from sklearn.datasets import make_regression

    import statetune as st

    X, y = make_regression(500, 8, noise=5.0, random_state=0)
    return st.compute_states(st.from_arrays(X, y * 1e4), [algorithm], folds=1)


def test_lasso_warns_only_when_max_iter_stops_it_short_of_the_relative_gap():
    """Converging on the last allowed sweep is converged (the gap is judged relative to y'y,
    as scikit-learn does: here it is ~1e7 in absolute terms); one sweep fewer warns."""
    import warnings

    import statetune as st

    states = _regression_states("lasso")
    n = st.finalize("lasso", states, alpha=10.0, max_iter=10_000).n_iter_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st.finalize("lasso", states, alpha=10.0, max_iter=n)
    with pytest.warns(Warning, match="stopped at max_iter"):
        st.finalize("lasso", states, alpha=10.0, max_iter=n - 1)


def test_pcr_refuses_a_negative_alpha():
    import statetune as st

    with pytest.raises(ValueError, match=r"`0 <= alpha` must hold, but got alpha=-1.0"):
        st.finalize("pcr", _regression_states("pcr"), alpha=-1.0)


def test_pcr_transform_of_a_table_equals_the_sklearn_pipelines_scores():
    """PCR on a table (a categorical column one-hot encoded in the model) scores rows as
    ``Pipeline([ColumnTransformer([OneHotEncoder]), PCA])`` does (up to each component's sign;
    the scores do not depend on the encoded columns' order)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    import statetune as st

    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n) * 3 + 1,
            "c": pd.Categorical(rng.choice(list("xyz"), n)),
            "y": rng.normal(size=n),
        }
    )
    X = df.drop(columns="y")
    model = st.finalize(
        "pcr", st.compute_states(st.from_pandas(df, target="y"), ["pcr"], folds=1), n_components=3
    )
    ours = model.transform(X)
    encode = ColumnTransformer([("oh", OneHotEncoder(), ["c"])], remainder="passthrough")
    ref = make_pipeline(encode, PCA(3)).fit(X).transform(X)
    np.testing.assert_allclose(np.abs(ours), np.abs(ref), atol=1e-10)


def test_pca_singular_values_equal_sklearns_on_real_data():
    """``singular_values_`` (the centred data's, as scikit-learn reports them), on a shipped
    table, with every other spectrum attribute alongside."""
    from sklearn.datasets import load_diabetes
    from sklearn.decomposition import PCA

    import statetune as st

    X, y = load_diabetes(return_X_y=True)
    model = st.finalize(
        "pca", st.compute_states(st.from_arrays(X, y), ["pca"], folds=1), n_components=4
    )
    ref = PCA(4).fit(X)
    np.testing.assert_allclose(model.singular_values_, ref.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(model.explained_variance_, ref.explained_variance_, rtol=1e-10)


def test_gaussian_nb_logsumexp_equals_scipys_with_tied_maxima():
    """Rows whose maximum is tied (two or three classes equally likely) and rows with -inf."""
    from scipy.special import logsumexp

    from statetune.algorithms.gaussian_nb import _logsumexp_rows

    a = np.array(
        [
            [0.0, 0.0, -1.0],
            [5.0, 5.0, 5.0],
            [-3.0, 2.0, 2.0],
            [1.0, -np.inf, 0.5],
            [700.0, 700.0, 1.0],
        ]
    )
    np.testing.assert_allclose(_logsumexp_rows(a), logsumexp(a, axis=1), rtol=1e-14)


def test_autoregressive_refuses_differencing_beyond_two():
    import statetune as st
    from statetune.algorithms.autoregressive import AutoRegressive

    y = np.sin(np.arange(200.0) / 5.0) + np.arange(200.0) / 50.0
    states = st.compute_states(st.from_series(y), ["autoregressive"], folds=2)
    st.finalize("autoregressive", states, p=2, d=2)
    with pytest.raises(ValueError, match=r"`0 <= d <= 2` must hold, but got d=3"):
        st.finalize("autoregressive", states, p=2, d=3)
    assert AutoRegressive(d=3).d == 3  # the check is at finalize, not construction


@pytest.mark.parametrize(("max_lag", "lags"), [(3, None), (5, (1, 4)), (8, (1, 4, 7))])
def test_naive_forecast_tunes_lag_among_the_seasonal_periods_the_state_holds(max_lag, lags):
    import statetune as st

    y = np.sin(np.arange(300.0) / 3.0)
    states = st.compute_states(st.from_series(y), ["baseline"], folds=2, max_lag=max_lag)
    space = states.search_space("baseline")
    assert (space["lag"].choices if lags else space) == (lags if lags else {})


def test_baseline_r2_of_a_constant_target_follows_sklearns_convention():
    """A constant target, predicted exactly by its mean: R^2 is 1 (scikit-learn's r2_score of
    a constant y predicted exactly), not 1 - 0/0."""
    from sklearn.metrics import r2_score

    import statetune as st

    X = np.random.default_rng(0).normal(size=(300, 3))
    y = np.full(300, 3.0)
    states = st.compute_states(st.from_arrays(X, y), ["baseline"], folds=3)
    assert states.validation_score("baseline", {}, "r2") == r2_score(y[:100], y[:100]) == 1.0


def test_count_nb_refuses_a_held_out_fold_whose_weights_are_all_zero():
    """Rows but no weight in the held-out fold: no mean likelihood to report (0/0)."""
    from statetune.algorithms.naive_bayes_counts import MultinomialNB
    from statetune.states import ClassCounts

    rng = np.random.default_rng(0)
    X, y = rng.poisson(2.0, size=(60, 5)).astype(float), np.arange(60) % 2
    train, held = ClassCounts(5), ClassCounts(5)
    train.update(X, y)
    held.update(X[:10], y[:10], sample_weight=np.zeros(10))
    model = MultinomialNB.from_state(train)
    assert held.n_rows == 10 and held.weight_sum == 0.0
    with pytest.raises(ValueError, match="`held-out weight > 0` must hold"):
        model.held_out_score(train, held, "log_likelihood")


def test_difference_matrix_takes_an_int_p_as_the_lags_one_to_p():
    from statetune.algorithms._lag_algebra import difference_matrix
    from statetune.states.lagged_moments import LaggedMoments

    s = LaggedMoments(max_lag=4)
    for d in (0, 1):
        np.testing.assert_array_equal(
            difference_matrix(s, 3, d=d), difference_matrix(s, [1, 2, 3], d=d)
        )
    assert difference_matrix(s, 2, d=0).shape == (3, 5)  # y_{t-1}, y_{t-2}, y_t of 4 lags + y


def test_forecast_refuses_more_than_a_billion_steps():
    import statetune as st

    y = np.sin(np.arange(200.0) / 5.0)
    model = st.finalize(
        "autoregressive", st.compute_states(st.from_series(y), ["autoregressive"], folds=2), p=2
    )
    with pytest.raises(ValueError, match="steps"):
        model.forecast(steps=10**9 + 1)


def test_ridge_classifier_sample_proba_is_uniform_where_every_class_underflows():
    # Without an intercept the one-vs-rest decision values need not sum to -1 (with one they
    # do: the targets of a row sum to 2 - K), so a far row can score below -745 for every
    # class: expit gives 0 for all, and scikit-learn's _predict_proba_lr makes that row
    # uniform. The held-out sample path must do the same, not divide by zero.
    import statetune as st
    from statetune.algorithms.ridge_classifier import RidgeClassifier

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 5))
    y = np.argmax(X[:, :3] + 0.3 * rng.normal(size=(300, 3)), axis=1)
    states = st.compute_states(st.from_arrays(X, y), ["ridge_classifier"], folds=3)
    model = st.finalize("ridge_classifier", states, alpha=1.0, fit_intercept=False)
    assert isinstance(model, RidgeClassifier)
    far = np.linalg.lstsq(model.coef_, np.full(3, -1_000.0), rcond=None)[0]
    rows = np.vstack([X[:4], far, 2 * far])
    assert (model.decision_function(rows[4:]) < -745).all()

    class Held:
        pass

    held = Held()
    held.X = rows
    got = model._sample_proba(held)
    want = model.predict_proba(rows)  # scikit-learn's _predict_proba_lr
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got[4:], 1 / 3)
