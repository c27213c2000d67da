"""linear_learner: a bank member against scikit-learn's LogisticRegression on all rows, the
scikit-learn surface of its predictions, the F1 threshold, validation on the held-out sample
through bank k, st.tune over the bank's grid, and bad input named."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import FloatDistribution
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, log_loss, precision_recall_curve

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.algorithms.linear_learner import LinearLearner
from statetune.states import LinearBank


def _logistic_table(n, d=5, seed=0):
    """Generated: rows from a logistic model with known coefficients."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(0.5, 3.0, d) + np.arange(d)
    beta = rng.normal(size=d)
    p = expit((X - np.arange(d)) @ beta + 0.3)
    return X, np.where(rng.uniform(size=n) < p, "yes", "no")


def test_one_pass_matches_logistic_regression_on_a_large_table():
    """On 40,000 generated rows one pass of the logistic member is within 0.5 accuracy
    points and 2% log loss of scikit-learn's LogisticRegression fitted on all rows."""
    X, y = _logistic_table(40_000)
    Xt, yt = _logistic_table(10_000, seed=1)
    bank = LinearBank(5, loss=["logistic"], alpha=[1e-5], eta0=[0.05, 0.5], batch_size=64)
    bank.update(X, y)
    model = LinearLearner.from_state(bank, loss="logistic", alpha=1e-5, eta0=0.5)
    ref = LogisticRegression(C=1e4, max_iter=1000).fit(X, y)
    assert model.score(Xt, yt) >= ref.score(Xt, yt) - 0.005
    ours, theirs = log_loss(yt, model.predict_proba(Xt)), log_loss(yt, ref.predict_proba(Xt))
    assert ours <= 1.02 * theirs, (ours, theirs)


def test_prediction_surface_is_scikit_learns():
    """Given our coefficients, scikit-learn's LogisticRegression predicts the same classes and
    probabilities (multinomial softmax; sigmoid for two classes)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y3 = np.array(["p", "q", "r"])[np.argmax(X[:, :3] + 0.3 * rng.normal(size=(600, 3)), 1)]
    for y in (y3, np.where(X[:, 0] > 0, 1, 0)):
        bank = LinearBank(4, alpha=[1e-4], eta0=[0.5])
        bank.update(X, y)
        for loss in ("logistic", "hinge", "squared"):
            model = LinearLearner.from_state(bank, loss=loss)
            ref = LogisticRegression()
            ref.coef_, ref.intercept_, ref.classes_ = model.coef_, model.intercept_, model.classes_
            assert np.array_equal(model.predict(X), ref.predict(X))
            np.testing.assert_allclose(model.decision_function(X), ref.decision_function(X))
            if loss == "logistic":
                np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X))
            proba = model.predict_proba(X)
            np.testing.assert_allclose(proba.sum(axis=1), 1.0)
            assert model.score(X, y) > 0.85


def test_f1_threshold():
    """best_f1_threshold maximizes scikit-learn's f1_score over every cut; the threshold
    hyperparameter moves predictions as ``sigmoid(decision) >= threshold``."""
    X, y = load_breast_cancer(return_X_y=True)
    bank = LinearBank(30, loss=["logistic"], alpha=[1e-3], eta0=[0.5])
    bank.update(X[::2], y[::2])
    model = LinearLearner.from_state(bank, loss="logistic", alpha=1e-3)
    Xh, yh = X[1::2], y[1::2]
    t = model.best_f1_threshold(Xh, yh)
    s = model.decision_function(Xh)
    prec, rec, _ = precision_recall_curve(yh, s)  # every cut, scikit-learn's counting
    brute = np.nanmax(2 * prec * rec / (prec + rec))
    tuned = LinearLearner.from_state(bank, loss="logistic", alpha=1e-3, threshold=t)
    assert f1_score(yh, tuned.predict(Xh)) == pytest.approx(brute, abs=1e-12)
    assert np.array_equal(tuned.predict(Xh), (expit(s) >= t).astype(int))
    # sample_score's f1 is scikit-learn's f1 of classes_[1], weighted
    w = np.linspace(0.5, 2.0, len(yh))
    sample = type("S", (), {"X": Xh, "y": yh, "w": w})()
    got = tuned.sample_score(None, sample, "f1")
    assert got == pytest.approx(f1_score(yh, tuned.predict(Xh), sample_weight=w), abs=1e-12)


def test_validation_uses_bank_k_on_fold_k_sample_and_tune_searches_the_grid():
    X, y = load_breast_cancer(return_X_y=True)
    grid = {"loss": ["logistic", "hinge"], "alpha": [1e-4, 1e-2], "eta0": [0.5]}
    src = st.from_arrays(X, y)
    states = st.compute_states(
        src,
        ["linear_learner"],
        folds=3,
        state_params={"linear_learner": grid},
    )
    params = {"loss": "hinge", "alpha": 1e-2, "eta0": 0.5}
    slot, sample_slot = states.model_slot("linear_learner"), states.sample_slot()
    for k in range(3):
        model = LinearLearner.from_state(states.train(slot, k).fold_view(None), **params)
        held = states.held_out(sample_slot, k)
        expect = np.mean(model.predict(held.X) == held.y)
        got, how = states.score_fold("linear_learner", params, "accuracy", k)
        assert got == pytest.approx(expect) and "held-out sample" in how
    assert states.validation_score("linear_learner", params, "accuracy") > 0.85
    space = get_algorithm("linear_learner").search_space(states.total(slot))
    assert space["alpha"].choices == (1e-4, 1e-2) and "threshold" not in space
    result = st.tune(
        states, ["linear_learner"], n_trials=6, cv=3, metric="log_loss", storage="memory"
    )
    best = result.best_params
    assert best["loss"] in grid["loss"] and best["alpha"] in grid["alpha"]
    assert result.best_model.score(X, y) > 0.85
    f1 = st.tune(
        states,
        ["linear_learner"],
        n_trials=6,
        cv=3,
        metric="f1",
        storage="memory",
        search_space={"linear_learner": {"threshold": FloatDistribution(0.05, 0.95)}},
    )
    assert 0.05 <= f1.best_params["threshold"] <= 0.95 and f1.best_value > 0.85


def test_bad_input_is_named():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="grid must not be empty, but `alpha`"):
        st.compute_states(
            st.from_arrays(X, y), ["linear_learner"], state_params={"linear_learner": {"alpha": []}}
        )
    with pytest.raises(ValueError, match="`eta0` values must be finite and > 0"):
        st.compute_states(
            st.from_arrays(X, y), ["linear_learner"], state_params={"linear_learner": {"eta0": [0]}}
        )
    bank = LinearBank(30)
    bank.update(X, y)
    with pytest.raises(ValueError, match=r"name a member of the bank's grid .*alpha=0.5"):
        LinearLearner.from_state(bank, alpha=0.5)
    with pytest.raises(ValueError, match="`threshold` must be a number in"):
        LinearLearner.from_state(bank, threshold=1.5)
    model = LinearLearner.from_state(bank)
    sample = type("S", (), {"X": X[:3], "y": np.array([0, 7, 1]), "w": np.ones(3)})()
    with pytest.raises(ValueError, match=r"seen in training .* row 1 holds 7"):
        model.sample_score(None, sample, "accuracy")
    one = LinearBank(30)
    one.update(X[:5], np.zeros(5))
    with pytest.raises(ValueError, match="`classes >= 2` must hold"):
        LinearLearner.from_state(one)
    with pytest.raises(ValueError, match="empty"):
        LinearLearner.from_state(LinearBank(30))


def test_label_unseen_by_a_training_fold_is_named_at_validation():
    """A class present only in fold k's rows: bank k never saw it, scoring fold k names it."""
    X, y = load_breast_cancer(return_X_y=True)
    y = y.astype(str)
    y[10] = "rare"
    states = st.compute_states(st.from_arrays(X, y), ["linear_learner"], folds=3)
    with pytest.raises(ValueError, match=r"seen in training .*'rare'"):
        states.fold_scores("linear_learner", {}, "accuracy")


def test_bank_states_round_trip_through_the_state_cache(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    first = st.compute_states(st.from_arrays(X, y), ["linear_learner"], folds=3, cache=tmp_path)
    again = st.compute_states(st.from_arrays(X, y), ["linear_learner"], folds=3, cache=tmp_path)
    assert "0 rows read" in str(again.cache_report)
    slot = first.model_slot("linear_learner")
    assert first.total(slot).allclose(again.total(slot))
    params = {"loss": "hinge", "alpha": 1e-3}
    assert np.array_equal(
        first.fold_scores("linear_learner", params, "log_loss"),
        again.fold_scores("linear_learner", params, "log_loss"),
    )
