"""The numpy classification metrics equal scikit-learn's (ties and sample weights included), and
``roc_auc_ovr`` equals ``roc_auc_score(multi_class="ovr", average="macro")`` on real folds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.linear_model import RidgeClassifier
from sklearn.naive_bayes import GaussianNB

import statetune as st
from statetune.algorithms._label_metrics import (
    balanced_accuracy,
    binary_roc_auc,
    log_loss,
    roc_auc_ovr,
)


@st_.composite
def _scored_rows(draw):
    """Rows with few distinct (so tied) scores, 2..4 classes, weights with some zeros."""
    n = draw(st_.integers(4, 40))
    k = draw(st_.integers(2, 4))
    y = np.array(draw(st_.lists(st_.integers(0, k - 1), min_size=n, max_size=n)))
    raw = np.array(
        draw(
            st_.lists(st_.lists(st_.integers(1, 4), min_size=k, max_size=k), min_size=n, max_size=n)
        ),
        dtype=float,
    )
    proba = raw / raw.sum(axis=1, keepdims=True)
    weighted = draw(st_.booleans())
    w = None
    if weighted:
        w = np.array(
            draw(st_.lists(st_.sampled_from([0.0, 0.5, 1.0, 2.5]), min_size=n, max_size=n))
        )
    return y, proba, w, k


@settings(max_examples=150, deadline=None)
@given(_scored_rows())
def test_binary_auc_log_loss_and_balanced_accuracy_equal_sklearn(rows):
    y, proba, w, k = rows
    classes = np.arange(k)
    pos = y == 0
    weight = np.ones(len(y)) if w is None else w
    if weight[pos].sum() > 0 and weight[~pos].sum() > 0:
        want = skm.roc_auc_score(pos, proba[:, 0], sample_weight=w)
        assert binary_roc_auc(pos, proba[:, 0], w) == pytest.approx(want, abs=1e-12)
    if weight.sum() > 0:
        want = skm.log_loss(y, proba, sample_weight=w, labels=classes)
        assert log_loss(y, proba, classes, w) == pytest.approx(want, abs=1e-12)
        pred = proba.argmax(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # classes predicted but absent from y
            want = skm.balanced_accuracy_score(y, pred, sample_weight=w)
        assert balanced_accuracy(y, pred, w) == pytest.approx(want, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(_scored_rows())
def test_roc_auc_ovr_equals_sklearn_or_raises_like_it(rows):
    y, proba, w, k = rows
    classes = np.arange(k)
    weight = np.ones(len(y)) if w is None else w
    present = np.array([weight[y == c].sum() > 0 for c in classes])
    if k == 2:  # scikit-learn takes the positive column on two classes: the same AUC
        if present.all():
            want = skm.roc_auc_score(y, proba[:, 1], sample_weight=w)
            assert roc_auc_ovr(y, proba, classes, w) == pytest.approx(want, abs=1e-12)
        return
    if not np.isin(classes, y).all():
        # scikit-learn raises (given labels=, it warns and returns nan): statetune raises
        with pytest.raises(ValueError):
            skm.roc_auc_score(y, proba, multi_class="ovr", sample_weight=w)
        with pytest.raises(ValueError, match=r"roc_auc_ovr.*class\(es\)"):
            roc_auc_ovr(y, proba, classes, w)
        return
    if not present.all():
        return  # a class present with zero weight only: scikit-learn returns nan with a warning
    want = skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", sample_weight=w)
    assert roc_auc_ovr(y, proba, classes, w) == pytest.approx(want, abs=1e-12)


SKLEARN = {
    "lda": lambda p: LinearDiscriminantAnalysis(solver="eigen", **p),
    "qda": lambda p: QuadraticDiscriminantAnalysis(**p),
    "gaussian_nb": lambda p: GaussianNB(**p),
    "ridge_classifier": lambda p: RidgeClassifier(**p),
}
PARAMS = {
    "lda": {"shrinkage": 0.2},
    "qda": {"reg_param": 0.3},
    "gaussian_nb": {"var_smoothing": 1e-6},
    "ridge_classifier": {"alpha": 1.0},
}


def _sklearn_proba(name, model):
    if name == "ridge_classifier":  # scikit-learn's own normalized one-vs-rest logistic
        return model._predict_proba_lr
    return model.predict_proba


@pytest.mark.parametrize(
    ("loader", "names"),
    [
        (load_iris, ["lda", "qda", "gaussian_nb", "ridge_classifier"]),
        (load_wine, ["lda", "qda", "gaussian_nb", "ridge_classifier"]),
        (load_digits, ["lda", "gaussian_nb", "ridge_classifier"]),
    ],
)
def test_roc_auc_ovr_fold_scores_equal_sklearn_refit_per_fold(loader, names):
    """Each fold's statetune score equals scikit-learn fitted on the fold's training rows and
    scored with roc_auc_score(multi_class="ovr") on its held-out rows (every held-out row is
    in the sample at this size)."""
    X, y = loader(return_X_y=True)
    if loader is load_digits:
        X = X + np.random.default_rng(0).normal(scale=1e-3, size=X.shape)  # no constant pixels
    states = st.compute_states(st.from_arrays(X, y), names, folds=3, metrics=["roc_auc_ovr"])
    fold_ids = states.folds.assign(0, states.n_rows)
    for name in names:
        ours = states.fold_scores(name, PARAMS[name], "roc_auc_ovr")
        for k in range(3):
            tr, ho = fold_ids != k, fold_ids == k
            model = SKLEARN[name](PARAMS[name]).fit(X[tr], y[tr])
            want = skm.roc_auc_score(
                y[ho], _sklearn_proba(name, model)(X[ho]), multi_class="ovr", average="macro"
            )
            assert ours[k] == pytest.approx(want, abs=1e-12), (name, k)


def test_binary_roc_auc_unchanged_on_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    names = ["lda", "gaussian_nb", "ridge_classifier"]
    states = st.compute_states(st.from_arrays(X, y), names, folds=3, metrics=["roc_auc"])
    fold_ids = states.folds.assign(0, states.n_rows)
    for name in names:
        ours = states.fold_scores(name, PARAMS[name], "roc_auc")
        for k in range(3):
            tr, ho = fold_ids != k, fold_ids == k
            model = SKLEARN[name](PARAMS[name]).fit(X[tr], y[tr])
            want = skm.roc_auc_score(y[ho], _sklearn_proba(name, model)(X[ho])[:, 1])
            assert ours[k] == pytest.approx(want, abs=1e-12), (name, k)


def test_roc_auc_on_three_classes_names_roc_auc_ovr():
    X, y = load_wine(return_X_y=True)
    states = st.compute_states(st.from_arrays(X, y), ["lda"], folds=3)
    with pytest.raises(
        ValueError, match=r"`roc_auc` needs a binary target.*3 classes.*roc_auc_ovr"
    ):
        states.validation_score("lda", {"shrinkage": 0.1}, "roc_auc")
    assert "roc_auc_ovr" in st.algorithms.get_algorithm("lda").metrics


def test_roc_auc_ovr_on_a_fold_without_a_class_raises_naming_it():
    """scikit-learn raises when a held-out fold lacks a class; so does statetune, by name."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.repeat([0, 1, 2], 20)
    states = st.compute_states(st.from_arrays(X, y), ["gaussian_nb"], folds=3)
    fold_ids = states.folds.assign(0, states.n_rows)
    k = 0
    y2 = y.copy()
    y2[(fold_ids == k) & (y2 == 2)] = 1  # fold 0 holds no class 2
    states = st.compute_states(st.from_arrays(X, y2), ["gaussian_nb"], folds=3)
    with pytest.raises(ValueError):
        skm.roc_auc_score(
            y2[fold_ids == k], np.full(((fold_ids == k).sum(), 3), 1 / 3), multi_class="ovr"
        )
    with pytest.raises(ValueError, match=r"roc_auc_ovr.*class\(es\) \[2(\.0)?\] of 3 are absent"):
        states.score_fold("gaussian_nb", {}, "roc_auc_ovr", k)
