"""The classifiers' fast held-out-sample scoring equals scoring their ``predict`` output, and
its memo (kept in the sample) follows the training state and the sample."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.algorithms import get_algorithm
from statetune.states import ClassMoments, Reservoir
from statetune.validation.sample_metrics import sample_score

PARAMS = {
    "lda": [{"shrinkage": 0.0}, {"shrinkage": 0.4}],
    "qda": [{"reg_param": 0.0}, {"reg_param": 0.3}],
    "gaussian_nb": [{"var_smoothing": 1e-9}, {"var_smoothing": 1e-2}],
    "ridge_classifier": [
        {"alpha": 1.0, "fit_intercept": True},
        {"alpha": 10.0, "fit_intercept": False},
    ],
}


def _data(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    X = rng.standard_normal((n, 4)) * (1 + y[:, None]) + y[:, None] * 0.7 + 5.0
    return X, y


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_fast_sample_score_equals_predict(name, k):
    X, y = _data(3000, k, seed=k)
    train = ClassMoments(4)
    train.update(X[:2000], y[:2000])
    held = Reservoir(4, size=500, seed=1)
    held.update(X[2000:], y[2000:])
    alg = get_algorithm(name)
    metrics = ["accuracy", "balanced_accuracy", "log_loss"] + (["roc_auc"] if k == 2 else [])
    for params in PARAMS[name]:
        model = alg.finalize(train, params, None)
        for metric in metrics:
            if metric == "log_loss" and not hasattr(model, "predict_proba"):
                continue
            want = sample_score(model, held.X, held.y, held.w, metric)
            assert model.sample_score(None, held, metric) == pytest.approx(want, rel=1e-12)
        # the fast path predicts exactly what predict does
        assert np.array_equal(model._sample_predict(held), model.predict(held.X))


def test_memo_follows_training_state_and_sample():
    X, y = _data(3000, 3, seed=5)
    held = Reservoir(4, size=400, seed=2)
    held.update(X[2000:2500], y[2000:2500])
    qda = get_algorithm("qda")
    a, b = ClassMoments(4), ClassMoments(4)
    a.update(X[:1000], y[:1000])
    b.update(X[1000:2000], y[1000:2000])
    for state in (a, b, a):
        model = qda.finalize(state, {"reg_param": 0.1}, None)
        assert np.array_equal(model._sample_predict(held), model.predict(held.X))
    held.update(X[2500:], y[2500:])  # the sample changes: its memo is dropped
    assert held.derived(("classifier_memo", "qda_rotated_squares"), dict) == {}
    model = qda.finalize(b, {"reg_param": 0.1}, None)
    assert np.array_equal(model._sample_predict(held), model.predict(held.X))
