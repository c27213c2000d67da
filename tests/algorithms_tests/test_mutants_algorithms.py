"""Tests written for surviving mutants of the solving code of algorithms/ (issue 17,
``make mutation``). References: numpy on all rows, scikit-learn; never the model under test."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st

RTOL = 1e-8


def states_for(X, y, w=None, algorithms=("ridge",)):
    return st.compute_states(st.from_arrays(X, y, w), list(algorithms), folds=3)


# -- algorithms/linear.py: ridge's fallback when X^T X + alpha I is singular in float64 -----


@pytest.mark.parametrize("alpha", [1e-30, 1e-20])
def test_ridge_with_alpha_below_rounding_on_a_duplicated_column_is_min_norm(alpha):
    """A column repeated exactly makes ``X^T X`` singular and ``alpha`` below its rounding
    leaves it so: the answer is the minimum-norm least-squares solution (``lstsq``), which
    splits the coefficient equally between the two copies. (scikit-learn's Ridge is no
    reference here: its Cholesky succeeds on the rounded matrix and gives +-1.8e14.)"""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X = np.c_[X, X[:, 0]]
    y = X @ np.array([1.0, 2.0, 3.0, 0.5]) + rng.normal(size=200)
    model = st.finalize("ridge", states_for(X, y), alpha=alpha, fit_intercept=False)
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(model.coef_, ref, rtol=RTOL, atol=RTOL * np.abs(ref).max())
    assert model.coef_[0] == pytest.approx(model.coef_[3], rel=RTOL)


# -- algorithms/_scaled_solve.py: the helpers on their own, against numpy ---------------------


def _spd(d, seed, scales):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(5 * d, d)) * scales
    return Z.T @ Z


@pytest.mark.parametrize("d", [1, 3, 6])
def test_scaled_inverse_logdet_equals_numpy(d):
    from statetune.algorithms._scaled_solve import scaled_inverse_logdet

    A = _spd(d, d, np.logspace(-3, 3, d))
    out = scaled_inverse_logdet(A)
    assert out is not None
    inv, logdet = out
    np.testing.assert_allclose(inv, inv.T, rtol=0, atol=0)  # exactly symmetric
    ref = np.linalg.inv(A)
    np.testing.assert_allclose(inv, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
    sign, ref_logdet = np.linalg.slogdet(A)
    assert sign == 1.0 and logdet == pytest.approx(ref_logdet, rel=1e-10, abs=1e-10)


def test_scaled_inverse_logdet_refuses_singular_and_zero_columns():
    from statetune.algorithms._scaled_solve import scaled_inverse_logdet

    A = _spd(3, 1, np.ones(3))
    B = np.zeros((4, 4))
    B[:3, :3] = A
    assert scaled_inverse_logdet(B) is None  # a zero column
    v = np.array([1.0, 2.0, 3.0])
    assert scaled_inverse_logdet(np.outer(v, v)) is None  # rank one


@pytest.mark.parametrize("rank_deficient", [False, True])
def test_psd_solve_equals_lstsq(rank_deficient):
    from statetune.algorithms._scaled_solve import psd_solve

    rng = np.random.default_rng(5)
    Z = rng.normal(size=(40, 4)) * np.array([1e-2, 1.0, 1e2, 3.0])
    if rank_deficient:
        Z = np.c_[Z, Z[:, 1] + Z[:, 3], np.zeros(40)]
    A = Z.T @ Z
    b = Z.T @ rng.normal(size=40)
    ref = np.linalg.pinv(A, rcond=1e-12) @ b
    np.testing.assert_allclose(psd_solve(A, b), ref, rtol=1e-7, atol=1e-9 * np.abs(ref).max())


# -- algorithms/_graded_eigh.py: against numpy's eigh ------------------------------------------


@pytest.mark.parametrize("case", ["full", "rank_deficient", "zero_columns"])
def test_graded_eigh_equals_numpy(case):
    from statetune.algorithms._graded_eigh import graded_eigh

    rng = np.random.default_rng(3)
    Z = rng.normal(size=(60, 5)) * np.array([1e-3, 1.0, 1e3, 2.0, 0.5])
    if case != "full":
        Z = np.c_[Z[:, :4], Z[:, 1] - 2.0 * Z[:, 3]]  # rank 4 of 5
    if case == "zero_columns":
        Z = np.c_[np.zeros(60), Z, np.zeros(60)]
    C = Z.T @ Z
    lam, V, rank = graded_eigh(C)
    ref = np.linalg.eigvalsh(C)[::-1]
    assert rank == np.linalg.matrix_rank(Z)
    np.testing.assert_allclose(lam[:rank], ref[:rank], rtol=1e-9)
    assert (lam[rank:] == 0.0).all()
    np.testing.assert_allclose(V.T @ V, np.eye(C.shape[0]), atol=1e-10)
    np.testing.assert_allclose(C @ V[:, :rank], V[:, :rank] * lam[:rank], rtol=1e-7, atol=1e-7)
    null = V[:, rank:]
    np.testing.assert_allclose(Z @ null, 0.0, atol=1e-9 * np.abs(Z).max())


# -- algorithms/_eigen.py: the covariance eigendecomposition against scikit-learn's PCA ---------


def test_covariance_eigh_equals_sklearn_pca():
    from sklearn.datasets import load_diabetes
    from sklearn.decomposition import PCA

    from statetune.algorithms._eigen import covariance_eigh
    from statetune.states import Moments

    X = load_diabetes().data * np.array([1.0, 10.0, 0.1, 1.0, 3.0, 1.0, 1.0, 0.5, 2.0, 1.0])
    s = Moments(X.shape[1], has_target=False)
    s.update(X[:200])
    s.update(X[200:])  # a merge of updates, like a pass
    lam, comps, rank = covariance_eigh(s)
    ref = PCA(svd_solver="full").fit(X)
    assert rank == X.shape[1]
    np.testing.assert_allclose(lam, ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(comps, ref.components_, atol=1e-8)


# -- algorithms/decomposition.py: PCA's held-out scores against scikit-learn ------------------


@pytest.mark.parametrize("k", [1, 3])
def test_pca_held_out_scores_equal_sklearn(k):
    from sklearn.decomposition import PCA as SkPCA

    from statetune.algorithms import PCA
    from statetune.states import Moments

    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4)) + np.array([5.0, -2.0, 0.0, 1e3])
    Xtr, Xte = X[:300], X[300:] + 0.3  # the held rows sit off the train mean
    train, held = Moments(4, has_target=False), Moments(4, has_target=False)
    train.update(Xtr)
    held.update(Xte)
    model = PCA(n_components=k).fit(Xtr)
    ref = SkPCA(n_components=k, svd_solver="full").fit(Xtr)
    got = model.held_out_score(train, held, "log_likelihood")
    assert got == pytest.approx(ref.score(Xte), rel=1e-9)
    sq = ((Xte - ref.inverse_transform(ref.transform(Xte))) ** 2).sum(axis=1)
    got = model.held_out_score(train, held, "reconstruction_error")
    assert got == pytest.approx(sq.mean(), rel=1e-8)
    total = ((Xte - Xte.mean(axis=0)) ** 2).sum()
    got = model.held_out_score(train, held, "explained_variance")
    assert got == pytest.approx(1.0 - sq.sum() / total, rel=1e-8)


# -- algorithms/autoregressive.py ----------------------------------------------------------------


def test_autoregressive_make_state_checks_max_lag():
    from statetune.algorithms import AutoRegressive

    s = AutoRegressive.make_state(2, max_lag=1)
    assert s.max_lag == 1 and s.n_exog == 2
    assert AutoRegressive.make_state(max_lag=np.int64(3)).max_lag == 3
    with pytest.raises(ValueError, match="max_lag >= 1"):
        AutoRegressive.make_state(max_lag=0)
    for bad in (True, 2.0, "3"):
        with pytest.raises(TypeError, match="must be an integer"):
            AutoRegressive.make_state(max_lag=bad)


# -- every estimator of the solving modules: parameters kept, bad flags refused ------------------

_NON_DEFAULT = {
    "LinearRegression": {"fit_intercept": False},
    "Ridge": {"alpha": 2.5, "fit_intercept": False},
    "Lasso": {"alpha": 0.3, "fit_intercept": False, "max_iter": 77, "tol": 1e-6},
    "ElasticNet": {"alpha": 0.3, "l1_ratio": 0.2, "fit_intercept": False, "tol": 1e-6},
    "RidgeClassifier": {"alpha": 2.5, "fit_intercept": False},
    "GaussianNB": {"var_smoothing": 1e-5},
    "MultinomialNB": {"alpha": 0.5, "fit_prior": False},
    "ComplementNB": {"alpha": 0.5, "norm": True},
    "BernoulliNB": {"alpha": 0.5, "force_alpha": False},
    "PCR": {"n_components": 2, "alpha": 0.1},
    "PCA": {"n_components": 2, "whiten": True},
}


@pytest.mark.parametrize("name", sorted(_NON_DEFAULT))
def test_estimators_keep_their_parameters(name):
    """scikit-learn's contract: ``__init__`` stores each parameter unchanged (``get_params``,
    ``clone`` and the tuner read them back)."""
    from sklearn.base import clone

    import statetune.algorithms as algorithms

    params = _NON_DEFAULT[name]
    est = getattr(algorithms, name)(**params)
    got = est.get_params()
    assert {k: got[k] for k in params} == params
    again = clone(est).get_params()
    assert {k: again[k] for k in params} == params


@pytest.mark.parametrize("name", ["LinearRegression", "Ridge", "Lasso", "RidgeClassifier"])
def test_fit_intercept_must_be_a_bool(name):
    import statetune.algorithms as algorithms

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = rng.integers(0, 2, size=30) if name == "RidgeClassifier" else rng.normal(size=30)
    with pytest.raises(TypeError, match="`fit_intercept` must be True or False"):
        getattr(algorithms, name)(fit_intercept="no").fit(X, y)


# -- algorithms/pcr.py -------------------------------------------------------------------------


def test_pcr_scores_coef_is_the_regression_on_the_component_scores():
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LinearRegression

    from statetune.algorithms import PCR

    rng = np.random.default_rng(21)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4)) + 3.0
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(size=300)
    model = PCR(n_components=2).fit(X, y)
    pca = PCA(n_components=2, svd_solver="full").fit(X)
    ref = LinearRegression().fit(pca.transform(X), y)
    np.testing.assert_allclose(model.scores_coef_, ref.coef_, rtol=1e-8)
    np.testing.assert_allclose(model.coef_, pca.components_.T @ ref.coef_, rtol=1e-8)


def test_pcr_transform_equals_sklearn_pca():
    from sklearn.decomposition import PCA

    from statetune.algorithms import PCR

    rng = np.random.default_rng(22)
    X = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3)) - 7.0
    y = rng.normal(size=200)
    model = PCR(n_components=2).fit(X, y)
    ref = PCA(n_components=2, svd_solver="full").fit(X)
    np.testing.assert_allclose(model.transform(X[:20]), ref.transform(X[:20]), atol=1e-9)


# -- algorithms/ridge_classifier.py ----------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_classifier_with_small_weights_equals_sklearn(fit_intercept):
    """Each class's weight below 1 (weights are relative): offsets must still be used."""
    from sklearn.linear_model import RidgeClassifier as SkRidgeClassifier

    from statetune.algorithms import RidgeClassifier

    rng = np.random.default_rng(23)
    y = rng.integers(0, 3, size=60)
    X = rng.normal(size=(60, 3)) + 2.0 * y[:, None] + 1.0
    w = rng.uniform(0.001, 0.01, size=60)
    params = {"alpha": 0.01, "fit_intercept": fit_intercept}
    model = RidgeClassifier(**params).fit(X, y, sample_weight=w)
    ref = SkRidgeClassifier(**params, solver="cholesky").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-7, atol=1e-9)


# -- algorithms/baseline.py: the naive forecast refuses a window with nothing to score ---------


def test_naive_forecast_refuses_a_held_window_without_lag_rows():
    from statetune.algorithms import get_algorithm
    from statetune.states import LaggedMoments

    rng = np.random.default_rng(0)
    train = LaggedMoments(3)
    train.update(rng.normal(size=50).cumsum(), series=np.zeros(50, dtype=int))
    held = LaggedMoments(3)  # a new series with fewer values than max_lag: no lag row
    held.update(np.array([1.0, 2.0]), series=np.ones(2, dtype=int))
    model = get_algorithm("baseline").finalize(train, {"lag": 1}, None)
    with pytest.raises(ValueError, match="max_lag predecessors to score, but it holds none"):
        model.held_out_score(train, held, "mse")
    # the same series continued: its two values have predecessors in the train state
    cont = LaggedMoments(3)
    cont.update(np.array([1.0, 2.0]), series=np.zeros(2, dtype=int))
    tail = train.tail(0)
    want = np.mean((np.array([1.0, 2.0]) - np.array([tail[-1], 1.0])) ** 2)
    assert model.held_out_score(train, cont, "mse") == pytest.approx(want, rel=1e-12)


# -- algorithms/naive_bayes_counts.py: alpha at the floor is kept without a warning (as sklearn) --


@pytest.mark.parametrize("name", ["MultinomialNB", "ComplementNB", "BernoulliNB"])
def test_count_nb_alpha_at_the_floor_does_not_warn(name):
    import warnings

    from sklearn import naive_bayes

    import statetune.algorithms as algorithms

    rng = np.random.default_rng(2)
    X = rng.integers(0, 4, size=(40, 3)).astype(float)
    y = rng.integers(0, 2, size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = getattr(naive_bayes, name)(alpha=1e-10, force_alpha=False).fit(X, y)
        model = getattr(algorithms, name)(alpha=1e-10, force_alpha=False).fit(X, y)
    np.testing.assert_allclose(model.feature_log_prob_, ref.feature_log_prob_, rtol=1e-10)
    with pytest.warns(UserWarning, match="alpha too small"):
        getattr(algorithms, name)(alpha=1e-11, force_alpha=False).fit(X, y)


# -- algorithms/sparse_linear.py: the convergence warning, as scikit-learn's -------------------


@pytest.mark.parametrize("y_scale", [1e-3, 1.0, 1e3])
def test_lasso_warns_when_it_stops_at_max_iter_as_sklearn(y_scale):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso as SkLasso

    from statetune.algorithms import Lasso

    rng = np.random.default_rng(31)
    X = rng.normal(size=(200, 6))
    X[:, 1] = X[:, 0] + 0.01 * rng.normal(size=200)  # correlated: slow to converge
    y = y_scale * (X @ np.array([1.0, 1.0, -2.0, 0.5, 0.0, 0.3]) + 0.1 * rng.normal(size=200))
    params = {"alpha": 1e-4 * y_scale, "max_iter": 2, "tol": 1e-6}
    with pytest.warns(ConvergenceWarning):
        SkLasso(**params).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="stopped at max_iter=2"):
        Lasso(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        Lasso(**{**params, "max_iter": 100_000, "tol": 1e-4}).fit(X, y)


def test_a_lasso_at_max_iter_warns_once_not_twice():
    """scikit-learn's kernel warns too; only statetune's warning (max_iter, gap and tol, at
    the caller's line) reaches a user with the default filters (a fresh interpreter)."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from statetune.algorithms import Lasso\n"
        "rng = np.random.default_rng(31); X = rng.normal(size=(200, 6)); y = X @ np.ones(6)\n"
        "Lasso(alpha=1e-4, max_iter=2, tol=1e-6).fit(X, y)\n"
    )
    err = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stderr
    assert err.count("ConvergenceWarning") == 1, err
    assert "stopped at max_iter=2" in err
