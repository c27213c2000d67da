"""What the classifiers finalized from ``ClassMoments`` share: checks, priors, and the exact
held-out Gaussian log-likelihood.

For a generative model with class priors ``pi_c`` and Gaussians ``N(mu_c, Sigma_c)``, the mean
held-out ``log p(x, y)`` needs only each held-out class's weight ``W_c``, mean and co-moments:
``sum_c W_c (log pi_c - d/2 log 2 pi - 1/2 log|Sigma_c|) - 1/2 tr(Sigma_c^-1 S_c)`` over ``W``,
with ``S_c`` the held-out scatter about the *training* mean ``mu_c``.

Example
-------
>>> from statetune.algorithms._classifier import CLASSIFIER_MAXIMIZE
>>> CLASSIFIER_MAXIMIZE["log_loss"]
False
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._label_metrics import LABEL_METRICS, UnseenClassError, label_score
from statetune.algorithms._linear_metrics import unknown_metric
from statetune.states import ClassMoments

__all__ = [
    "check_labels_among",
    "CLASSIFIER_MAXIMIZE",
    "SAMPLE_MEMO_BYTES",
    "SAMPLE_METRICS",
    "ClassMomentsEstimator",
    "check_priors",
    "linear_sample_decision",
    "linear_sample_predict",
    "normalized_log_proba",
    "sample_memo",
    "softmax",
]

#: Bytes one algorithm may memoize in one held-out sample (trials reuse them); above this,
#: the same quantities are recomputed per trial instead.
SAMPLE_MEMO_BYTES = 256 * 2**20

#: Metrics scored on a bounded held-out sample of rows (they need predictions row by row).
SAMPLE_METRICS = LABEL_METRICS
CLASSIFIER_MAXIMIZE = {
    "log_likelihood": True,
    "accuracy": True,
    "balanced_accuracy": True,
    "log_loss": False,
    "roc_auc": True,
    "roc_auc_ovr": True,
}


def check_labels_among(y: Any, classes: Any) -> None:
    """``partial_fit``'s ``classes`` (as scikit-learn's): every label of ``y`` must be one."""
    if classes is None:
        return
    unknown = np.setdiff1d(np.unique(np.asarray(y)), np.asarray(classes))
    if unknown.size:
        raise ValueError(
            f"`y` labels must be among `classes` ({np.asarray(classes).tolist()}), but "
            f"got {unknown.tolist()}."
        )


def check_priors(priors: Any, n_classes: int) -> np.ndarray | None:
    """``None`` or a probability vector with one entry per class."""
    if priors is None:
        return None
    p = np.asarray(priors, dtype=np.float64)
    if p.shape != (n_classes,) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-5:
        raise ValueError(
            f"`priors` must be {n_classes} non-negative numbers summing to 1 (one per class), "
            f"but got {priors!r}."
        )
    return p


def sample_memo(held_sample: Any, name: str, train: Any, nbytes: int, build: Any) -> Any:
    """``build()``, memoized in ``held_sample`` under ``name`` for the training state ``train``
    (what the result depends on besides the sample's rows: quantities of the model that no
    hyperparameter changes, such as class means and rotations). One entry per name is kept
    (one training state meets each held-out fold); results above :data:`SAMPLE_MEMO_BYTES` are
    not kept.

    The entry is tied to a token memoized in ``train`` (``train.derived``), which a state drops
    whenever it changes (update, merge): a checked identity instead of a digest of the model's
    arrays, which cost more than the rest of a trial's scoring (0.34 ms per fold for QDA's two
    85 x 85 rotations)."""
    if nbytes > SAMPLE_MEMO_BYTES:
        return build()
    token = train.derived(("sample_memo_token", name), object)
    memo = held_sample.derived(("classifier_memo", name), dict)
    entry = memo.get("entry")
    if entry is not None and entry[0] is token:
        return entry[1]
    value = build()  # threads may build twice; each returns its own result
    memo["entry"] = (token, value)
    return value


def linear_sample_decision(model: Any, X: np.ndarray) -> np.ndarray:
    """``X coef^T + intercept`` on a plain array (no validation), one column per coefficient
    row (scikit-learn's ``decision_function`` before it drops a single column)."""
    scores = X @ np.ascontiguousarray(model.coef_.T)  # contiguous: measured 3x faster
    scores += model.intercept_
    return np.asarray(scores)


def linear_sample_predict(model: Any, X: np.ndarray) -> np.ndarray:
    """scikit-learn's ``LinearClassifierMixin.predict`` on a plain array (no validation)."""
    scores = linear_sample_decision(model, X)
    if scores.shape[1] == 1:
        indices = (scores[:, 0] > 0).astype(np.intp)
    else:
        indices = scores.argmax(axis=1)
    return np.asarray(model.classes_.take(indices))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, as ``sklearn.utils.extmath.softmax`` (in place on ``scores``)."""
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


def normalized_log_proba(decision: np.ndarray) -> np.ndarray:
    """``exp`` of scikit-learn's discriminant ``predict_log_proba``: the log posterior
    ``decision`` (rows x classes) shifted by its row maximum and normalized."""
    log_likelihood = decision - decision.max(axis=1)[:, np.newaxis]
    log_proba = log_likelihood - np.log(np.exp(log_likelihood).sum(axis=1)[:, np.newaxis])
    return np.asarray(np.exp(log_proba))


class ClassMomentsEstimator(StateEstimator):
    """Base of classifiers finalized from :class:`~statetune.states.ClassMoments`."""

    state_class: ClassVar[type[Any]] = ClassMoments
    state_kind: ClassVar[str] = "class_moments"
    y_numeric: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = ("log_likelihood", *SAMPLE_METRICS)
    sample_metrics: ClassVar[tuple[str, ...]] = SAMPLE_METRICS
    maximize: ClassVar[dict[str, bool]] = CLASSIFIER_MAXIMIZE
    classes_: np.ndarray

    @classmethod
    def make_state(cls, n_features: int, has_target: bool) -> ClassMoments:
        return ClassMoments(n_features, has_target)

    @staticmethod
    def _check_classes(state: ClassMoments, name: str) -> None:
        weighted = [
            c
            for c, m in zip(state.classes.tolist(), state.per_class, strict=True)
            if m.weight_sum > 0
        ]
        if len(weighted) < 2:
            raise ValueError(
                f"{name} needs at least 2 classes with positive weight, but the state has one "
                f"class: {weighted or state.classes.tolist()}."
            )

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64)
        check_classification_targets(y)
        return X, y

    def partial_fit(  # type: ignore[override]
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> Any:
        """Update the state with one more batch, then finalize; ``classes`` (optional) lists
        the labels allowed, as in scikit-learn."""
        check_labels_among(y, classes)
        return super().partial_fit(X, y, sample_weight)

    def sample_score(self, train_sample: Any, held_sample: Any, metric: str) -> float:
        """``metric`` on the held-out sample (a reservoir), weighted by its sample weights.

        Predictions and probabilities come from :meth:`_sample_predict` and
        :meth:`_sample_proba`, which models speed up with quantities of the sample's rows that
        no hyperparameter changes, memoized in the sample (``held_sample.derived``); the metric
        is computed by :mod:`statetune.algorithms._label_metrics` (numpy, equal to
        scikit-learn's, without its per-call input checks); ``train_sample`` is unused.
        """
        if metric not in SAMPLE_METRICS:
            raise unknown_metric(type(self).__name__, metric, self.metrics)
        y = held_sample.y
        if y is None:
            raise ValueError("The held-out sample must hold rows to score, but it is empty.")
        return label_score(
            metric,
            y,
            held_sample.w,
            self.classes_,
            lambda: self._sample_predict(held_sample),
            (lambda: self._sample_proba(held_sample)) if hasattr(self, "predict_proba") else None,
            type(self).__name__,
        )

    def _sample_rows(self, held_sample: Any) -> Any:
        """The sample's rows as ``predict`` takes them (a frame when fitted with names)."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return held_sample.X
        import pandas as pd

        return pd.DataFrame(held_sample.X, columns=list(names))

    def _sample_predict(self, held_sample: Any) -> np.ndarray:
        """Predicted labels of the held-out sample's rows (``predict``, unless overridden)."""
        return np.asarray(cast(Any, self).predict(self._sample_rows(held_sample)))

    def _sample_proba(self, held_sample: Any) -> np.ndarray:
        """Class probabilities of the held-out sample's rows (``predict_proba``, unless
        overridden)."""
        return np.asarray(cast(Any, self).predict_proba(self._sample_rows(held_sample)))

    def _class_gaussians(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Per class: (mean, precision matrix, log-determinant of the covariance)."""
        raise NotImplementedError  # pragma: no cover - generative models override

    def _log_priors(self) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        if metric != "log_likelihood":
            if metric in SAMPLE_METRICS:
                raise ValueError(
                    f"{metric!r} needs predictions on held-out rows: it is scored on the held-out "
                    "sample (a reservoir state), not on the held-out moments."
                )
            raise unknown_metric(type(self).__name__, metric, self.metrics)
        if held.weight_sum <= 0:
            raise ValueError("`held-out weight > 0` must hold to score, but the fold is empty.")
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        gaussians = self._class_gaussians()
        log_prior = self._log_priors()
        d = held.n_features
        total = 0.0
        for c, m in zip(held.classes.tolist(), held.per_class, strict=True):
            if m.weight_sum == 0:
                continue
            if c not in index:
                raise UnseenClassError(
                    f"Held-out classes must have been seen in training, but class {c!r} was not."
                )
            i = index[c]
            mean, prec, logdet = gaussians[i]
            delta = m.mean - mean
            scatter = np.asarray(m.comoment) + m.weight_sum * np.outer(delta, delta)
            quad = float(np.sum(prec * scatter))
            total += (
                m.weight_sum * (log_prior[i] - 0.5 * (d * np.log(2 * np.pi) + logdet)) - 0.5 * quad
            )
        return total / held.weight_sum
