"""What a trial costs on small data: the per-trial path scores folds without scikit-learn's
metric functions or input checks, and the quantities that no hyperparameter changes (class
eigendecompositions, pooled class covariances, per-row squares of the held-out sample) are
built once per fold, not once per trial."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

import statetune as st
from statetune.algorithms import discriminant, gaussian_nb

ALGORITHMS = ["lda", "qda", "gaussian_nb", "ridge_classifier"]


def _refuse(*args, **kwargs):
    raise AssertionError("scikit-learn's metric or input check was called on the trial path")


def _block_sklearn_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.discriminant_analysis
    import sklearn.linear_model._base
    import sklearn.metrics
    import sklearn.metrics._classification
    import sklearn.metrics._ranking
    import sklearn.naive_bayes
    import sklearn.utils.validation

    for name in ("roc_auc_score", "log_loss", "accuracy_score", "balanced_accuracy_score"):
        monkeypatch.setattr(sklearn.metrics, name, _refuse)
    for module in (
        sklearn.metrics._ranking,
        sklearn.metrics._classification,
        sklearn.utils.validation,
    ):
        monkeypatch.setattr(module, "check_array", _refuse)
    for module in (
        sklearn.discriminant_analysis,
        sklearn.naive_bayes,
        sklearn.linear_model._base,
    ):
        monkeypatch.setattr(module, "validate_data", _refuse)


@pytest.mark.parametrize(
    ("loader", "metric"),
    [
        (load_breast_cancer, "roc_auc"),
        (load_breast_cancer, "log_loss"),
        (load_breast_cancer, "balanced_accuracy"),
        (load_wine, "roc_auc_ovr"),
        (load_wine, "accuracy"),
    ],
)
def test_tune_scores_without_sklearn_metrics_or_input_checks(monkeypatch, loader, metric):
    X, y = loader(return_X_y=True)
    states = st.compute_states(st.from_arrays(X, y), ALGORITHMS, folds=3, metrics=[metric])
    _block_sklearn_checks(monkeypatch)
    result = st.tune(
        states,
        ALGORITHMS,
        n_trials=24,
        cv=3,
        metric=metric,
        storage="memory",
        pruner=optuna.pruners.NopPruner(),
    )
    trials = result.study.get_trials(deepcopy=False)
    reasons = [t.user_attrs.get("fail_reason") for t in trials if t.user_attrs.get("fail_reason")]
    assert not any("scikit-learn's metric" in r for r in reasons), reasons
    assert any(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert np.isfinite(result.best_value)
    for name in ALGORITHMS:  # every algorithm, whatever the sampler drew
        params = {"reg_param": 0.5} if name == "qda" else {}  # breast cancer: rank-deficient
        assert np.isfinite(states.validation_score(name, params, metric))


def test_fold_invariant_quantities_are_built_once_per_fold(monkeypatch):
    X, y = load_wine(return_X_y=True)
    states = st.compute_states(st.from_arrays(X, y), ALGORITHMS, folds=3)
    calls = {"class_eigh": 0, "pooled_cov": 0, "pencil_eigh": 0, "nb_squares": 0}

    def counting(key, fn):
        def wrapped(*args, **kwargs):
            calls[key] += 1
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(
        discriminant, "_class_eigh", counting("class_eigh", discriminant._class_eigh)
    )
    monkeypatch.setattr(
        discriminant, "_pooled_class_cov", counting("pooled_cov", discriminant._pooled_class_cov)
    )
    monkeypatch.setattr(
        discriminant.linalg, "eigh", counting("pencil_eigh", discriminant.linalg.eigh)
    )
    real_memo = gaussian_nb.sample_memo

    def memo(held, name, train, nbytes, build):
        return real_memo(held, name, train, nbytes, counting("nb_squares", build))

    monkeypatch.setattr(gaussian_nb, "sample_memo", memo)
    n_trials = 6
    for t in range(n_trials):
        states.validation_score("qda", {"reg_param": 0.1 + 0.1 * t}, "roc_auc_ovr")
        states.validation_score("lda", {"shrinkage": 0.1 * t}, "log_loss")
        states.validation_score("gaussian_nb", {"var_smoothing": 10.0 ** -(t + 3)}, "accuracy")
    n_folds, n_classes = 3, 3
    assert calls["class_eigh"] == n_folds * n_classes  # QDA: one per class per fold
    assert calls["pooled_cov"] == n_folds  # LDA: one pooled covariance per fold
    assert calls["pencil_eigh"] == 0  # LDA scores through a Cholesky factor only
    assert calls["nb_squares"] == n_folds  # GaussianNB: squares of each held-out sample once
    # the eigen solver's attributes still exist, computed when read
    model = states.finalize("lda", {"shrinkage": 0.3})
    assert model.scalings_.shape == (X.shape[1], X.shape[1])
    assert calls["pencil_eigh"] == 1
