"""Count-based naive Bayes from ClassCounts: equal to scikit-learn (the reference each model
class declares) fitted on all rows, exact held-out log-likelihood, and the DESIGN.md contracts
(scikit-learn's estimator checks run over the registry in test_estimator_checks.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as hst
from sklearn.base import clone
from sklearn.datasets import load_digits

from statetune.algorithms import registry
from statetune.algorithms.naive_bayes_counts import (
    ALGORITHMS,
    BernoulliNB,
    ComplementNB,
    MultinomialNB,
)
from statetune.states.class_counts import ClassCounts
from statetune.testing import (
    assert_chunk_invariant,
    assert_empty_state_raises,
    assert_finalize_pure,
    assert_merge_laws,
    assert_round_trip,
    assert_search_space_finalizes,
    reference_estimator,
    state_digest,
)

OURS = {"multinomial_nb": MultinomialNB, "complement_nb": ComplementNB, "bernoulli_nb": BernoulliNB}
NAME = {model: name for name, model in OURS.items()}


def sklearn_ref(model, **params):
    """The scikit-learn estimator the model class declares as its reference (unfitted)."""
    return reference_estimator(NAME[model], params)


NAMES = list(OURS)
GENERATIVE = [MultinomialNB, BernoulliNB]


@pytest.fixture
def registered(monkeypatch):
    """The three algorithms registered for one test (the registry is restored afterwards)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    for alg in ALGORITHMS:
        registry.register_algorithm(alg)


def bag_of_words(n=1_500, d=40, *, seed=0, weighted=False):
    """Poisson word counts, 5 string classes with their own word rates, many zeros."""
    rng = np.random.default_rng(seed)
    classes = np.array(["arts", "business", "health", "science", "sports"])
    code = rng.integers(0, 5, size=n)
    rates = rng.gamma(0.3, 2.0, size=(5, d))
    X = rng.poisson(rates[code]).astype(np.float64)
    w = rng.uniform(0.0, 3.0, size=n) if weighted else None
    return X, classes[code], w


def digits(weighted=False):
    X, y = load_digits(return_X_y=True)
    w = np.random.default_rng(1).uniform(0.0, 2.0, size=len(y)) if weighted else None
    return X, y, w


def state_of(X, y, w=None, n_chunks=3):
    """A state built in chunks and merged (as a pass would), not in one update."""
    parts = np.array_split(np.arange(X.shape[0]), n_chunks)
    total = ClassCounts(X.shape[1])
    for idx in parts:
        s = ClassCounts(X.shape[1])
        s.update(X[idx], y[idx], None if w is None else w[idx])
        total.merge(s)
    return total


def rel_diff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    fin = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), fin) and np.array_equal(a[~fin], b[~fin])
    return float(np.max(np.abs(a[fin] - b[fin]) / np.maximum(np.abs(b[fin]), 1e-300), initial=0))


PARAMS = {
    MultinomialNB: [{}, {"alpha": 0.01, "fit_prior": False}, {"alpha": 3.0}],
    ComplementNB: [{}, {"alpha": 0.05, "norm": True}, {"alpha": 2.0, "fit_prior": False}],
    BernoulliNB: [{}, {"alpha": 0.02, "fit_prior": False}, {"alpha": 5.0}],
}
ATTRS = ["class_count_", "feature_count_", "class_log_prior_", "feature_log_prob_"]


@pytest.mark.parametrize("data", ["bag_of_words", "digits"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("model", [MultinomialNB, ComplementNB, BernoulliNB])
def test_equals_sklearn_on_all_rows(data, weighted, sparse, model):
    X, y, w = bag_of_words(weighted=weighted) if data == "bag_of_words" else digits(weighted)
    Xin = sp.csr_array(X) if sparse else X
    state = state_of(Xin, y, w)
    for params in PARAMS[model]:
        ours = model.from_state(state, **params)
        ref = sklearn_ref(model, **params).fit(Xin, y, sample_weight=w)
        np.testing.assert_array_equal(ours.classes_, ref.classes_)
        assert ours.classes_.dtype.kind == ref.classes_.dtype.kind
        assert ours.n_features_in_ == ref.n_features_in_
        for attr in ATTRS + (["feature_all_"] if model is ComplementNB else []):
            assert rel_diff(getattr(ours, attr), getattr(ref, attr)) <= 1e-10, attr
        assert rel_diff(ours.predict_proba(Xin), ref.predict_proba(Xin)) <= 1e-8
        assert rel_diff(ours.predict_log_proba(Xin), ref.predict_log_proba(Xin)) <= 1e-8
        np.testing.assert_array_equal(ours.predict(Xin), ref.predict(Xin))
        assert ours.score(Xin, y, sample_weight=w) == ref.score(Xin, y, sample_weight=w)


@pytest.mark.parametrize("model", [MultinomialNB, ComplementNB, BernoulliNB])
def test_fit_partial_fit_and_class_prior_equal_sklearn(model):
    X, y, w = bag_of_words(600, 10, seed=3, weighted=True)
    prior = [0.1, 0.2, 0.3, 0.15, 0.25]
    ours = model(alpha=0.5, class_prior=prior).fit(sp.csr_matrix(X), y, sample_weight=w)
    ref = sklearn_ref(model, alpha=0.5, class_prior=prior).fit(X, y, sample_weight=w)
    assert rel_diff(ours.predict_proba(X), ref.predict_proba(X)) <= 1e-8
    inc = model(alpha=0.5)
    for a in range(0, 600, 170):
        inc.partial_fit(
            X[a : a + 170], y[a : a + 170], classes=np.unique(y), sample_weight=w[a : a + 170]
        )
    full = sklearn_ref(model, alpha=0.5).fit(X, y, sample_weight=w)
    assert rel_diff(inc.predict_proba(X), full.predict_proba(X)) <= 1e-8


def test_partial_fit_classes_before_rows_and_shared_state():
    X, y, _ = bag_of_words(100, 5, seed=4)
    m = MultinomialNB().partial_fit(X[y == "arts"], y[y == "arts"], classes=np.unique(y))
    assert m.classes_.tolist() == sorted(set(y)) and m.class_count_[1:].sum() == 0
    with pytest.raises(ValueError, match=r"`y` labels must be among `classes`"):
        MultinomialNB().partial_fit(X, y, classes=["arts", "health"])
    state = state_of(X, y)
    before = state_digest(state)
    shared = MultinomialNB.from_state(state)
    shared.partial_fit(X[:10], y[:10])
    assert state_digest(state) == before and shared.state_.n_rows == 110


def test_force_alpha_false_floors_alpha_like_sklearn():
    X, y, _ = bag_of_words(300, 6, seed=5)
    with pytest.warns(UserWarning, match="alpha too small"):
        ours = MultinomialNB(alpha=0.0, force_alpha=False).fit(X, y)
    with pytest.warns(UserWarning, match="alpha too small"):
        ref = sklearn_ref(MultinomialNB, alpha=0.0, force_alpha=False).fit(X, y)
    assert rel_diff(ours.feature_log_prob_, ref.feature_log_prob_) <= 1e-12


# ---------------------------------------------------------------------------- held-out score
def row_by_row_log_likelihood(model, X, y, w):
    """Weighted mean of ``predict_joint_log_proba`` at each row's own class."""
    jll = model.predict_joint_log_proba(X)
    col = np.searchsorted(model.classes_, y)
    w = np.ones(len(y)) if w is None else w
    return float(w @ jll[np.arange(len(y)), col] / w.sum())


@pytest.mark.parametrize("data", ["bag_of_words", "digits"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("model", GENERATIVE)
def test_held_out_log_likelihood_equals_row_by_row(data, weighted, model):
    X, y, w = bag_of_words(weighted=weighted) if data == "bag_of_words" else digits(weighted)
    held = np.arange(len(y)) % 4 == 1
    w_tr, w_he = (None, None) if w is None else (w[~held], w[held])
    train = state_of(X[~held], y[~held], w_tr)
    held_state = state_of(sp.csr_array(X[held]), y[held], w_he)
    for params in [{}, {"alpha": 0.01, "fit_prior": False}, {"alpha": 7.0}]:
        m = model.from_state(train, **params)
        score = m.held_out_score(train, held_state, "log_likelihood")
        expected = row_by_row_log_likelihood(m, X[held], y[held], w_he)
        assert np.isfinite(score)
        assert abs(score - expected) <= 1e-10 * abs(expected)


def test_held_out_log_likelihood_edge_cases():
    X, y, _ = bag_of_words(400, 8, seed=6)
    train = state_of(X[:300], y[:300])
    m = MultinomialNB().fit(X[:300], y[:300])
    # a held-out class whose rows all weigh 0 is ignored, a class unseen in training is not
    held = ClassCounts(8)
    held.update(X[300:], y[300:])
    held.update(X[:2], ["zoology", "zoology"], [0.0, 0.0])
    expected = row_by_row_log_likelihood(m, X[300:], y[300:], None)
    assert abs(m.held_out_score(train, held, "log_likelihood") - expected) <= 1e-10 * abs(expected)
    held.update(X[:1], ["zoology"])
    with pytest.raises(ValueError, match="class 'zoology' was not"):
        m.held_out_score(train, held, "log_likelihood")
    with pytest.raises(ValueError, match="the fold is empty"):
        m.held_out_score(train, ClassCounts(8), "log_likelihood")
    with pytest.raises(ValueError, match=r"`metric` must be one MultinomialNB can compute"):
        m.held_out_score(train, held, "accuracy")
    with pytest.raises(ValueError, match="no generative likelihood"):
        ComplementNB().fit(X, y).held_out_score(train, held, "log_likelihood")
    # alpha = 0: a word unseen in training has log p = -inf; rows using it score -inf, and
    # rows not using it count 0 * log 0 as 0 (scikit-learn's matrix product gives nan there)
    X_tr = X[:300].copy()
    X_tr[:, 0] = 0.0
    zero = MultinomialNB(alpha=0.0).fit(X_tr, y[:300])
    col = np.searchsorted(zero.classes_, y[300:])
    flp = zero.feature_log_prob_[col]
    assert np.isinf(flp[:, 0]).all() and X[300:, 0].any()
    with np.errstate(all="ignore"):
        rows = zero.class_log_prior_[col] + np.where(X[300:] > 0, X[300:] * flp, 0.0).sum(axis=1)
    assert zero.held_out_score(zero.state_, state_of(X[300:], y[300:]), "log_likelihood") == -np.inf
    unused = X[300:, 0] == 0
    expected = rows[unused].mean()
    score = zero.held_out_score(
        zero.state_, state_of(X[300:][unused], y[300:][unused]), "log_likelihood"
    )
    assert np.isfinite(expected) and abs(score - expected) <= 1e-10 * abs(expected)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("model", [MultinomialNB, ComplementNB, BernoulliNB])
def test_bad_hyperparameters_and_states(model):
    X, y, _ = bag_of_words(100, 4, seed=7)
    state = state_of(X, y)
    cases = [
        ({"alpha": -1}, ValueError, r"`0 <= alpha` must hold, but got alpha=-1\."),
        ({"alpha": "big"}, TypeError, r"`alpha` must be a real number"),
        ({"fit_prior": "yes"}, TypeError, r"`fit_prior` must be True or False"),
        (
            {"class_prior": [0.5, 0.5]},
            ValueError,
            r"`len\(class_prior\) == n_classes` must hold, but got len\(class_prior\)=2, n_classes=5",
        ),
        (
            {"class_prior": [0.2] * 4 + [0.3]},
            ValueError,
            r"`sum\(class_prior\) == 1` must hold, but got sum\(class_prior\)=1.1",
        ),
        ({"class_prior": [1.2, -0.2, 0, 0, 0]}, ValueError, r"`class_prior >= 0` must hold"),
    ]
    for params, err, match in cases:
        with pytest.raises(err, match=match):
            model.from_state(state, **params)
    one = ClassCounts(4)
    one.update(X[:3], ["only", "only", "only"])
    with pytest.raises(
        ValueError, match=r"at least 2 classes\), but the state holds one class: 'only'"
    ):
        model.from_state(one)
    with pytest.raises(ValueError, match="empty"):
        model.from_state(ClassCounts(4))
    with pytest.raises(TypeError, match="must be a ClassCounts state"):
        from statetune.states import Moments

        model.from_state(Moments(4))
    with pytest.raises(ValueError, match="Negative values in data"):
        model().fit(X - 1.0, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        model().fit(X, np.linspace(0, 1, len(y)))


def test_finalize_is_silent_at_the_search_space_corners():
    """The tuner turns RuntimeWarnings into errors: no log-of-zero warnings may escape."""
    X, y, w = bag_of_words(300, 30, seed=8, weighted=True)
    X[:, :5] = 0.0  # words nobody used
    state = state_of(X, y, w)
    for model in OURS.values():
        for alpha in (1e-3, 10.0, 0.0):
            for fit_prior in (True, False):
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)
                    m = model.from_state(state, alpha=alpha, fit_prior=fit_prior)
                    if model is not ComplementNB and alpha > 0:
                        assert np.isfinite(m.held_out_score(state, state, "log_likelihood"))
                with warnings.catch_warnings():  # scikit-learn may warn (log of zero) here
                    warnings.simplefilter("ignore")
                    ref = sklearn_ref(model, alpha=alpha, fit_prior=fit_prior).fit(
                        X, y, sample_weight=w
                    )
                for attr in ("class_log_prior_", "feature_log_prob_"):
                    assert rel_diff(getattr(m, attr), getattr(ref, attr)) <= 1e-10, (
                        model.__name__,
                        alpha,
                        fit_prior,
                        attr,
                    )


def test_search_spaces_and_algorithm_entries():
    state = state_of(*bag_of_words(50, 3)[:2])
    for name, model in OURS.items():
        space = model.search_space(state)
        assert space["alpha"].low == 1e-3 and space["alpha"].high == 10 and space["alpha"].log
        assert space["fit_prior"].choices == (True, False)
        assert ("norm" in space) == (model is ComplementNB)
        alg = next(a for a in ALGORITHMS if a.name == name)
        assert alg.model is model and alg.task == "classification"
        assert alg.state_kind == "class_counts"
        assert alg.default_metric == ("accuracy" if model is ComplementNB else "log_likelihood")
        assert alg.maximize("accuracy") is True
    assert ComplementNB.search_space(state)["norm"].choices == (False, True)
    assert "binarize" not in BernoulliNB().get_params() and BernoulliNB.binarize == 0.0


# ---------------------------------------------------------------------------- contracts
@pytest.mark.parametrize("name", NAMES)
def test_contracts_with_count_data(registered, name):
    X, y, w = bag_of_words(300, 6, seed=9, weighted=True)
    cuts = [1, 77, 150, 299]
    assert_chunk_invariant(name, X, y, w, cuts)
    assert_merge_laws(name, X, y, w, cuts)
    state = registry.get_algorithm(name).make_state(6, True)
    state.update(X, y, w)
    assert_round_trip(state)
    assert_search_space_finalizes(name, state)
    assert_finalize_pure(name, state, {"alpha": 0.3, "fit_prior": False})
    assert_empty_state_raises(name, 6, True)
    with pytest.raises(ValueError, match="must be hyperparameters of"):
        registry.get_algorithm(name).finalize(state, {"binarize": 0.5})


@given(
    name=hst.sampled_from(NAMES),
    n=hst.integers(3, 120),
    cuts=hst.lists(hst.integers(1, 119), max_size=4),
    weighted=hst.booleans(),
    seed=hst.integers(0, 10_000),
)
def test_merge_and_chunk_laws_hypothesis(name, n, cuts, weighted, seed):
    saved = dict(registry._REGISTRY)
    try:
        for alg in ALGORITHMS:
            registry.register_algorithm(alg)
        X, y, w = bag_of_words(n, 3, seed=seed, weighted=weighted)
        cuts = [c for c in cuts if c < n]
        assert_chunk_invariant(name, X, y, w, cuts)
        assert_merge_laws(name, X, y, w, cuts)
    finally:
        registry._REGISTRY.clear()
        registry._REGISTRY.update(saved)


# ---------------------------------------------------------------------------- scikit-learn
def test_clone_and_repr():
    m = ComplementNB(alpha=0.2, norm=True)
    assert clone(m).get_params() == m.get_params()
    assert repr(m) == "ComplementNB(alpha=0.2, norm=True)"
