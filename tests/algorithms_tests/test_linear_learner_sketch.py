"""linear_learner from the held-out score sketch: the bank records bank k's scores of fold k's
rows (checked against scores computed with numpy from bank k's own coefficients), the F1
threshold and precision at a target recall come from the sketch within its bin bound of
scikit-learn's every-cut optimum on all those held-out rows, hinge and squared members get
Platt-calibrated probabilities matching a sigmoid fitted on the same scores, and validation
and st.tune use the sketch without a held-out sample."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, log_loss, precision_recall_curve

import statetune as st
from statetune.algorithms.linear_learner import LinearLearner
from statetune.states import LinearBank

N, K, B, BINS = 3000, 3, 100, 256
GRID = {"loss": ["logistic", "hinge", "squared"], "alpha": [1e-4], "eta0": [0.5]}


def _table(n=N, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 3.0, 0.5, 2.0] + [0.0, 5.0, -1.0, 0.0]
    p = expit(X @ [1.0, -0.4, 2.0, 0.3] + 1.0)
    return X, np.where(rng.uniform(size=n) < p, "yes", "no")


def _two_epochs():
    """A bank of two epochs fed batch by batch in its last epoch: before each mini-batch, numpy
    scores the batch's rows of fold k with bank k's coefficients as they stand (what the bank
    must record). Returns the rows, folds, the bank and those scores per (member, average)."""
    X, y = _table()
    folds = np.arange(N) % K
    bank = LinearBank(4, **GRID, batch_size=B, epochs=2, score_bins=BINS)
    bank.update(X, y, folds=folds, n_folds=K)
    bank.next_epoch()
    scores = {(m, avg): np.empty(N) for m in range(bank.n_members) for avg in (False, True)}
    for a in range(0, N, B):
        rows = slice(a, a + B)
        for k in range(K):
            r = np.flatnonzero(folds[rows] == k) + a
            view = bank.fold_view(k)
            for (m, avg), s in scores.items():
                W, b = view.coefficients(m, avg)
                s[r] = X[r] @ (W[:, 1] - W[:, 0]) + (b[1] - b[0])
        bank.update(X[rows], y[rows], folds=folds[rows], n_folds=K)
    return X, y, folds, bank, scores


def test_the_bank_records_each_folds_scores_by_the_bank_that_never_saw_them():
    _, y, folds, bank, scores = _two_epochs()
    pos = y == "yes"
    edges = np.arange(BINS + 1) / BINS
    for m in range(bank.n_members):
        for avg in (False, True):
            s = scores[(m, avg)]
            for k in range(K):
                got = bank.held_view(k).score_sketch(m, avg).counts
                r = folds == k
                for label in (0, 1):
                    rows = r & (pos == bool(label))
                    expect = np.histogram(expit(s[rows]), edges)[0]
                    np.testing.assert_array_equal(got[label], expect)
            # the training view of fold k holds the other folds' scores, the total all of them
            assert bank.fold_view(0).score_sketch(m, avg).counts.sum() == (folds != 0).sum()
            assert bank.score_sketch(m, avg).counts.sum() == N


def test_f1_threshold_and_precision_at_recall_are_within_the_bin_bound_of_every_cut():
    X, y, folds, bank, scores = _two_epochs()
    pos = y == "yes"
    total = bank.fold_view(None)
    for m, member in enumerate(bank.members):
        s = scores[(m, True)]  # every row, out of fold
        model = LinearLearner.from_state(total, **member, threshold="f1", target_recall=0.8)
        prec, rec, _ = precision_recall_curve(pos, s)
        best = np.nanmax(2 * prec * rec / np.where(prec + rec > 0, prec + rec, 1.0))
        t = model.threshold_
        got = f1_score(pos, expit(s) >= t)
        sketch = total.score_sketch(m, True)
        assert 0 < t < 1 and -1e-12 <= best - got <= sketch.f1_bound()
        assert got == pytest.approx(sketch.best_f1()[1], abs=1e-12)
        assert np.array_equal(model.predict(X) == "yes", expit(model.decision_function(X)) >= t)
        # precision at recall >= 0.8 of fold 1, from its held-out view, as validation does
        r = folds == 1
        p1, r1, _ = precision_recall_curve(pos[r], s[r])
        held = bank.held_view(1)
        fold_model = LinearLearner.from_state(bank.fold_view(1), **member, target_recall=0.8)
        ours = fold_model.held_out_score(None, held, "precision_at_recall")
        bound = held.score_sketch(m, True).precision_bound(0.8)
        assert -1e-12 <= p1[r1 >= 0.8].max() - ours <= bound


def test_hinge_and_squared_members_get_platt_probabilities():
    """The sigmoid fitted on the sketch matches an unpenalized logistic regression on the exact
    out-of-fold scores (CalibratedClassifierCV(method="sigmoid") with ensemble=False, without
    its target smoothing) to 0.02 in probability, over the scores' range."""
    X, y, _, bank, scores = _two_epochs()
    total = bank.fold_view(None)
    for m, member in enumerate(bank.members):
        model = LinearLearner.from_state(total, **member)
        if member["loss"] == "logistic":
            assert model.calibration_ is None
            continue
        s = scores[(m, True)]
        ref = LogisticRegression(C=np.inf).fit(s[:, None], y == "yes")
        d = model.decision_function(X)
        ours = model.predict_proba(X)[:, 1]
        theirs = ref.predict_proba(d[:, None])[:, 1]
        assert model.calibration_ is not None
        assert np.abs(ours - theirs).max() < 0.02, member
        assert np.isfinite(log_loss(y, model.predict_proba(X)))


def test_validation_and_tune_use_the_sketch_without_a_held_out_sample():
    X, y = load_breast_cancer(return_X_y=True)
    src = st.from_arrays(X, y)
    params = {"linear_learner": {"epochs": 2, "loss": ["logistic", "hinge"], "alpha": [1e-3]}}
    states = st.compute_states(
        src,
        ["linear_learner"],
        folds=3,
        metrics=["precision_at_recall"],
        state_params=params,
    )
    assert states.sample_slot() is None
    member = {"loss": "hinge", "alpha": 1e-3, "eta0": 0.5, "target_recall": 0.95}
    score, how = states.score_fold("linear_learner", member, "precision_at_recall", 0)
    assert "held-out score sketch" in how and 0.9 < score <= 1.0
    result = st.tune(
        states,
        ["linear_learner"],
        n_trials=4,
        cv=3,
        metric="precision_at_recall",
        storage="memory",
    )
    assert 0.9 < result.best_value <= 1.0
    model = states.finalize("linear_learner", {"loss": "hinge", "alpha": 1e-3, "threshold": "f1"})
    assert 0 < model.threshold_ < 1 and f1_score(y, model.predict(X)) > 0.9


def test_bad_input_is_named():
    X, y = _table(300)
    plain = LinearBank(4, **GRID)
    plain.update(X, y)  # no folds: no held-out scores
    with pytest.raises(ValueError, match='threshold="f1" is tuned on the held-out score sketch'):
        LinearLearner.from_state(plain, threshold="f1")
    with pytest.raises(ValueError, match=r"`threshold` must be a number in \(0, 1\) or \"f1\""):
        LinearLearner.from_state(plain, threshold="f2")
    with pytest.raises(ValueError, match=r"`target_recall` must be a number in \(0, 1\]"):
        LinearLearner.from_state(plain, target_recall=1.5)
    with pytest.raises(ValueError, match="score_bins >= 2"):
        LinearBank(4, score_bins=1)
    assert LinearLearner.from_state(plain, loss="hinge").calibration_ is None


def test_three_classes_get_a_sketch_and_a_platt_sigmoid_per_class():
    """With three classes the bank records each class's score against the rest (checked against
    numpy's scores from bank k's coefficients, replayed batch by batch), and hinge and squared
    members' probabilities are per-class sigmoids fitted on those scores, normalized: they match
    unpenalized logistic regressions on the exact out-of-fold scores, normalized the same way
    (CalibratedClassifierCV(method="sigmoid", ensemble=False) in spirit), to 0.02."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N, 4)) * [1.0, 3.0, 0.5, 2.0]
    logits = X @ rng.normal(size=(4, 3)) + 0.5 * rng.normal(size=(N, 3))
    y = np.array(["p", "q", "r"])[logits.argmax(axis=1)]
    folds = np.arange(N) % K
    bank = LinearBank(4, **GRID, batch_size=B, epochs=2, score_bins=BINS)
    bank.update(X, y, folds=folds, n_folds=K)
    bank.next_epoch()
    scores = {m: np.empty((N, 3)) for m in range(bank.n_members)}
    for a in range(0, N, B):
        rows = slice(a, a + B)
        for k in range(K):
            r = np.flatnonzero(folds[rows] == k) + a
            view = bank.fold_view(k)
            for m, s in scores.items():
                W, b = view.coefficients(m, True)
                s[r] = X[r] @ W + b
        bank.update(X[rows], y[rows], folds=folds[rows], n_folds=K)
    total = bank.fold_view(None)
    edges = np.arange(BINS + 1) / BINS
    for m, member in enumerate(bank.members):
        s = scores[m]
        for c, label in enumerate(["p", "q", "r"]):
            got = total.score_sketch(m, True, c).counts
            for positive in (0, 1):
                rows = (y == label) == bool(positive)
                expect = np.histogram(expit(s[rows, c]), edges)[0]
                np.testing.assert_array_equal(got[positive], expect)
        model = LinearLearner.from_state(total, **member)
        if member["loss"] == "logistic":
            assert model.calibration_ is None
            continue
        assert model.calibration_.shape == (3, 2)
        d = model.decision_function(X)
        theirs = np.column_stack(
            [
                LogisticRegression(C=np.inf)
                .fit(s[:, [c]], y == label)
                .predict_proba(d[:, [c]])[:, 1]
                for c, label in enumerate(["p", "q", "r"])
            ]
        )
        theirs /= theirs.sum(axis=1, keepdims=True)
        assert np.abs(model.predict_proba(X) - theirs).max() < 0.02, member
