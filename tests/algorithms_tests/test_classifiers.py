"""LDA, QDA, Gaussian NB and ridge classification from class moments equal scikit-learn's
estimators (the references their model classes declare, read through the registry)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

import statetune as st
from statetune.testing import make_classification_data, reference_estimator
from tests.fold_rule import reference_folds


def offsets():
    X, y, _ = make_classification_data(5_000, 4, seed=3)
    return X * 1e-2 + 1e6, y  # large offset, small spread: the moments keep the digits


def digits_pca():
    X, y = load_digits(return_X_y=True)
    return X[:, X.std(axis=0) > 1.0], y  # drop near-constant pixels (QDA needs full rank)


DATA = {
    "iris": lambda: load_iris(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "digits": digits_pca,
}


def states(X, y, algorithms):
    return st.compute_states(st.from_arrays(X, y), algorithms, folds=3)


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize(
    ("solver", "shrinkage"), [("lsqr", None), ("lsqr", 0.2), ("eigen", None), ("eigen", 0.7)]
)
def test_lda(data, solver, shrinkage):
    X, y = DATA[data]()
    model = st.finalize("lda", states(X, y, ["lda"]), solver=solver, shrinkage=shrinkage)
    ref = reference_estimator("lda", {"solver": solver, "shrinkage": shrinkage}).fit(X, y)
    assert rel(model.predict_proba(X), ref.predict_proba(X)) < 1e-8
    np.testing.assert_array_equal(model.classes_, ref.classes_)


@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("reg_param", [0.0, 0.05, 0.5])
def test_qda(data, reg_param):
    X, y = DATA[data]()
    try:
        ref = reference_estimator("qda", {"reg_param": reg_param}).fit(X, y)
    except np.linalg.LinAlgError:  # scikit-learn refuses: so must we, saying what would fix it
        with pytest.raises(np.linalg.LinAlgError, match="reg_param >= "):
            st.finalize("qda", states(X, y, ["qda"]), reg_param=reg_param)
        return
    model = st.finalize("qda", states(X, y, ["qda"]), reg_param=reg_param)
    assert rel(model.predict_proba(X), ref.predict_proba(X)) < 1e-8


@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("var_smoothing", [1e-9, 1e-3])
def test_gaussian_nb_weighted_and_not(data, var_smoothing):
    """Weights are frequency weights: weight 3 equals the row seen three times. (scikit-learn
    takes var_smoothing's scale from the unweighted variance, which breaks that equivalence, so
    the weighted reference is scikit-learn on repeated rows.)"""
    X, y = DATA[data]()
    w = np.random.default_rng(0).integers(1, 4, size=len(y)).astype(float)
    for weights in (None, w):
        s = st.compute_states(st.from_arrays(X, y, weights), ["gaussian_nb"], folds=3)
        model = st.finalize("gaussian_nb", s, var_smoothing=var_smoothing)
        reps = np.ones(len(y), dtype=int) if weights is None else weights.astype(int)
        ref = reference_estimator("gaussian_nb", {"var_smoothing": var_smoothing}).fit(
            np.repeat(X, reps, axis=0), np.repeat(y, reps)
        )
        assert rel(model.predict_proba(X), ref.predict_proba(X)) < 1e-8


@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("alpha", [1e-3, 1.0, 100.0])
def test_ridge_classifier(data, alpha):
    X, y = DATA[data]()
    model = st.finalize("ridge_classifier", states(X, y, ["ridge_classifier"]), alpha=alpha)
    ref = reference_estimator("ridge_classifier", {"alpha": alpha}).fit(X, y)
    scale = np.abs(ref.decision_function(X)).max()
    assert np.abs(model.decision_function(X) - ref.decision_function(X)).max() < 1e-8 * scale
    assert (model.predict(X) == ref.predict(X)).mean() > 0.999
    np.testing.assert_allclose(
        model.predict_proba(X), ref._predict_proba_lr(X), rtol=1e-6, atol=1e-9
    )


def test_large_offsets_keep_the_class_statistics_exact():
    """At a 1e6 offset with spread 1e-2 predictions cancel catastrophically in any affine model,
    scikit-learn's included; the statistics themselves must keep their digits. The exact reference
    is scikit-learn on X - 1e6 (an exact subtraction)."""
    X, y = offsets()
    s = states(X, y, ["lda", "qda", "gaussian_nb"])
    Xs = X - 1e6
    lda = st.finalize("lda", s, shrinkage=0.1)
    ref = reference_estimator("lda", {"solver": "lsqr", "shrinkage": 0.1}).fit(Xs, y)
    assert rel(lda.covariance_, ref.covariance_) < 1e-8
    assert rel(lda.means_ - 1e6, ref.means_) < 1e-6  # means_ are rounded at 1e6 (ulp 1.2e-10)
    qda = st.finalize("qda", s, reg_param=0.0, store_covariance=True, tol=1e-9)
    qref = reference_estimator("qda", {"store_covariance": True, "tol": 1e-9}).fit(Xs, y)
    for a, b in zip(qda.covariance_, qref.covariance_, strict=True):
        assert rel(a, b) < 1e-8
    gnb = st.finalize("gaussian_nb", s, var_smoothing=0.0)
    gref = reference_estimator("gaussian_nb", {"var_smoothing": 0.0}).fit(Xs, y)
    assert rel(gnb.var_, gref.var_) < 1e-8


def _sklearn_gaussians(name, params, X, y):
    """Per class (in sorted label order): prior, mean and covariance of scikit-learn's
    estimator fitted on the rows (the model's own Gaussians are not the reference)."""
    if name == "qda":
        ref = reference_estimator(name, {**params, "store_covariance": True}).fit(X, y)
        return ref.priors_, ref.means_, list(ref.covariance_)
    ref = reference_estimator(name, params).fit(X, y)
    if name == "lda":
        return ref.priors_, ref.means_, [ref.covariance_] * len(ref.classes_)
    return ref.class_prior_, ref.theta_, [np.diag(v) for v in ref.var_]


def test_held_out_log_likelihood_equals_row_by_row():
    X, y, _ = make_classification_data(3_000, 4, seed=5)
    s = st.compute_states(st.from_arrays(X, y), ["lda", "qda", "gaussian_nb"], folds=3)
    fold = reference_folds(3, 0, 0, len(y))
    from scipy.stats import multivariate_normal

    for name in ("lda", "qda", "gaussian_nb"):
        params = {"reg_param": 0.1} if name == "qda" else {}
        ours = s.fold_scores(name, params, "log_likelihood")
        for k in range(3):
            Xt, yt = X[fold != k], y[fold != k]
            priors, means, covs = _sklearn_gaussians(name, params, Xt, yt)
            idx = {c: i for i, c in enumerate(np.unique(yt))}
            rows = [
                np.log(priors[idx[c]]) + multivariate_normal(means[idx[c]], covs[idx[c]]).logpdf(x)
                for x, c in zip(X[fold == k], y[fold == k], strict=True)
            ]
            assert ours[k] == pytest.approx(np.mean(rows), rel=1e-8)


def test_sample_metrics_and_how_they_were_computed():
    data = load_iris(as_frame=True).frame
    data["target"] = data["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    s = st.compute_states(
        st.from_pandas(data, target="target"), ["lda", "ridge_classifier"], folds=5
    )
    assert {(sl.role, sl.spec.kind) for sl in s.fold_states} == {
        ("model", "class_moments"),
        ("held_out_sample", "reservoir"),
    }
    score, how = s.score_fold("lda", {}, "accuracy", 0)
    assert how == f"held-out sample of {s.held_out('reservoir', 0).n_rows} rows"  # all rows fit
    _, exact = s.score_fold("lda", {}, "log_likelihood", 0)
    assert exact == "held-out state (exact)"
    # with every held-out row in the sample, accuracy equals scoring the held-out rows
    fold = reference_folds(5, 0, 0, len(data))
    X, y = data.drop(columns="target").to_numpy(), data["target"].to_numpy()
    ref = reference_estimator("lda", {"solver": "lsqr"}).fit(X[fold != 0], y[fold != 0])
    assert score == pytest.approx((ref.predict(X[fold == 0]) == y[fold == 0]).mean())


def test_tune_classifiers_end_to_end():
    X, y = load_breast_cancer(return_X_y=True)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["diagnosis"] = np.where(y == 1, "benign", "malignant")
    r = st.tune(
        st.from_pandas(df, target="diagnosis"),
        ["lda", "qda", "gaussian_nb", "ridge_classifier"],
        n_trials=24,
        cv=4,
        metric="log_loss",
        storage="memory",
    )
    assert r.best_value < 0.2
    done = r.study.trials[0]
    assert done.user_attrs["validation"].startswith("held-out sample of")
    assert r.best_model.predict(df.drop(columns="diagnosis").iloc[:3]).dtype.kind == "U"
    auc = st.tune(
        st.from_pandas(df, target="diagnosis"),
        ["lda", "ridge_classifier"],
        n_trials=6,
        cv=4,
        metric="roc_auc",
        storage="memory",
    )
    assert auc.best_value > 0.95


@pytest.mark.parametrize(
    ("case", "match"),
    [
        (
            "single_class",
            r"needs at least 2 classes with positive weight, but the state has one class: \['a'\]",
        ),
        (
            "tiny_class",
            r"class 'b' must have full rank, but its 2 rows span fewer than the 3 features; reg_param >= ",
        ),
        (
            "one_row_class",
            r"Every class needs at least 2 rows for its covariance, but class 'b' has 1",
        ),
        (
            "regressor_on_labels",
            r"'ridge' needs a numeric target, but column 'y' holds class labels",
        ),
        (
            "missing_label",
            r"Column 'y' must hold a class label in every row, but array has none at row 4",
        ),
        ("continuous", r"Column 'y' must hold discrete class labels, but holds .* at row 0 of"),
    ],
)
def test_bad_input(case, match):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.array(["a"] * 40)
    if case == "single_class":
        with pytest.raises(ValueError, match=match):
            st.finalize("lda", states(X, y, ["lda"]))
    elif case in ("tiny_class", "one_row_class"):
        y[: 2 if case == "tiny_class" else 1] = "b"
        with pytest.raises((ValueError, np.linalg.LinAlgError), match=match):
            st.finalize("qda", states(X, y, ["qda"]))
    elif case == "regressor_on_labels":
        with pytest.raises(ValueError, match=match):
            states(X, y, ["ridge"])
    elif case == "missing_label":
        df = pd.DataFrame(X, columns=list("abc"))
        df["y"] = pd.Series(["x", "z"] * 20, dtype=object)
        df.loc[4, "y"] = None
        with pytest.raises(ValueError, match=match):
            st.from_arrays(X, df["y"])
        # a DataFrame source drops the row instead, and counts it
        assert (
            st.from_pandas(df, target="y").schema.preprocessing["dropped_rows_missing_target"] == 1
        )
    else:
        with pytest.raises(ValueError, match=match):
            states(X, rng.normal(size=40), ["lda"])


def test_weighted_batch_of_several_blocks_equals_sklearn():
    """40,000 weighted rows in two folds: each fold's update takes 20,000 rows at once, several
    gathered blocks of rows (class moments sort each block by class). The reference is
    scikit-learn on the rows repeated by their integer weights (LDA and QDA take no weights;
    for Gaussian NB this also keeps var_smoothing's scale comparable), plus GaussianNB's own
    sample_weight for the class means."""
    from statetune.states.moments import BLOCK_ROWS

    X, y, _ = make_classification_data(40_000, 4, seed=8)
    w = np.random.default_rng(8).integers(1, 4, size=len(y)).astype(float)
    s = st.compute_states(st.from_arrays(X, y, w), ["lda", "qda", "gaussian_nb"], folds=2)
    assert min(s.held_out("class_moments", k).n_rows for k in range(2)) > 2 * BLOCK_ROWS
    Xr, yr = np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int))
    Xt = X[:2_000]

    gnb = st.finalize("gaussian_nb", s, var_smoothing=1e-9)
    gref = reference_estimator("gaussian_nb", {"var_smoothing": 1e-9}).fit(Xr, yr)
    assert rel(gnb.theta_, gref.theta_) < 1e-10
    assert rel(gnb.var_, gref.var_) < 1e-10
    assert rel(gnb.class_prior_, gref.class_prior_) < 1e-12
    assert rel(gnb.predict_proba(Xt), gref.predict_proba(Xt)) < 1e-8
    wref = reference_estimator("gaussian_nb", {}).fit(X, y, sample_weight=w)
    assert rel(gnb.theta_, wref.theta_) < 1e-10

    lda = st.finalize("lda", s, solver="lsqr", shrinkage=None)
    lref = reference_estimator("lda", {"solver": "lsqr"}).fit(Xr, yr)
    assert rel(lda.means_, lref.means_) < 1e-10
    assert rel(lda.covariance_, lref.covariance_) < 1e-10
    assert rel(lda.predict_proba(Xt), lref.predict_proba(Xt)) < 1e-8

    qda = st.finalize("qda", s, reg_param=0.0, store_covariance=True)
    qref = reference_estimator("qda", {"store_covariance": True}).fit(Xr, yr)
    for a, b in zip(qda.covariance_, qref.covariance_, strict=True):
        assert rel(a, b) < 1e-10
    assert rel(qda.means_, qref.means_) < 1e-10
    assert rel(qda.predict_proba(Xt), qref.predict_proba(Xt)) < 1e-8
