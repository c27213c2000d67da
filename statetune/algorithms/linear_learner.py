"""``linear_learner``: one member of a :class:`~statetune.states.LinearBank`, chosen by its
hyperparameters (the regressor of a continuous target is
:mod:`~statetune.algorithms.linear_learner_regressor`).

The pass trains every member of the bank's grid (``loss x alpha x l1 x eta0``) side by side,
per fold; finalizing reads one member's coefficients (no training), so a trial costs
microseconds and the search space is the bank's grid (categoricals: a value outside the grid
is refused, naming the grid). ``average`` picks the Polyak average of the member's iterates
(True, the better one after a single pass) or its last iterate.

The model has the surface of scikit-learn's linear classifiers (``coef_``, ``intercept_``,
``classes_``, ``decision_function``, ``predict``, ``predict_proba``, ``score``):

- ``predict_proba``: the softmax of the scores for ``loss="logistic"`` (the sigmoid of the
  decision for two classes), which is what the member was trained to predict; for ``hinge``
  and ``squared`` members, **Platt scaling** ``sigmoid(a * decision + b)`` fitted on the
  state's held-out score sketch (the out-of-fold scores of the member, see
  :class:`~statetune.states.LinearBank`), per class with more than two classes (class ``c``'s
  score against the rest, then normalized over the classes, as scikit-learn's
  ``CalibratedClassifierCV(method="sigmoid")`` does); ``calibration_`` holds ``(a, b)`` per
  row (one row for two classes), so ``log_loss`` is that of calibrated probabilities; without
  a sketch (no folds) or a class missing from it, scikit-learn's one-vs-rest logistic of the
  decision values, normalized (``_predict_proba_lr``: not calibrated; ``calibration_`` is
  None);
- ``threshold`` (binary only; a hyperparameter): a row is predicted ``classes_[1]`` when
  ``sigmoid(decision) >= threshold``; 0.5 is scikit-learn's rule (decision > 0). It is not in
  the default search space (it changes no metric but ``f1``, ``accuracy`` and
  ``balanced_accuracy``, and would only dilute the search for the others): to tune it for F1
  (of ``classes_[1]``, on the held-out sample), add it, e.g.
  ``st.tune(src, ["linear_learner"], metric="f1", search_space={"linear_learner":
  {"threshold": optuna.distributions.FloatDistribution(0.05, 0.95)}})``; or, for a chosen
  model, :meth:`LinearLearner.best_f1_threshold` finds the best threshold on given held-out
  rows in one sweep. ``threshold="f1"`` takes the threshold of the best F1 on the state's
  held-out score sketch instead (out-of-fold scores, no held-out sample needed; exact at the
  sketch's bin edges ``i / score_bins``); ``threshold_`` holds the value used;
- ``metric="precision_at_recall"``: the best precision among the thresholds whose recall of
  ``classes_[1]`` is at least ``target_recall`` (a parameter, default 0.9), computed from fold
  ``k``'s held-out score sketch (bank ``k``'s scores of fold ``k``'s rows, see
  :class:`~statetune.states.LinearBank`), not from the held-out sample; within
  :meth:`~statetune.states.score_sketch.ScoreSketch.precision_bound` of every cut's best.

Every other metric is scored on the held-out sample of rows (the pass's ``held_out_sample`` role):
the training state of fold ``k`` is bank ``k`` (trained without fold ``k``'s rows) and the
sample's rows of fold ``k`` are scored with it.

Example
-------
>>> from sklearn.datasets import load_breast_cancer
>>> from statetune.states import LinearBank
>>> from statetune.algorithms.linear_learner import LinearLearner
>>> X, y = load_breast_cancer(return_X_y=True)
>>> bank = LinearBank(30)
>>> for epoch in range(3):
...     bank.update(X, y)
>>> model = LinearLearner.from_state(bank, loss="logistic", alpha=1e-3)
>>> bool(model.score(X, y) > 0.93)
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

from statetune.algorithms._classifier import CLASSIFIER_MAXIMIZE, check_labels_among, softmax
from statetune.algorithms._label_metrics import LABEL_METRICS, class_index, label_score
from statetune.algorithms._linear_member import BankMember
from statetune.algorithms.references import QualityBound
from statetune.states.linear_bank import LinearBank

__all__ = [
    "LINEAR_LEARNER_METRICS",
    "LINEAR_LEARNER_SAMPLE_METRICS",
    "LinearLearner",
    "f1_score",
]

LINEAR_LEARNER_SAMPLE_METRICS = ("accuracy", *[m for m in LABEL_METRICS if m != "accuracy"], "f1")
LINEAR_LEARNER_METRICS = (*LINEAR_LEARNER_SAMPLE_METRICS, "precision_at_recall")


def f1_score(y_pos: np.ndarray, pred_pos: np.ndarray, w: np.ndarray | None = None) -> float:
    """Weighted F1 of the positive class (scikit-learn's ``f1_score``; 0 with no positives)."""
    w = np.ones(len(y_pos)) if w is None else np.asarray(w, dtype=np.float64)
    tp = float(w[y_pos & pred_pos].sum())
    denom = float(w[y_pos].sum() + w[pred_pos].sum())
    return 0.0 if denom == 0 else 2.0 * tp / denom


def _log_loss_estimate(model: Any, X: Any, y: Any) -> float:
    from sklearn.metrics import log_loss

    return float(log_loss(y, model.predict_proba(X), labels=model.classes_))


def _reference(params: dict[str, Any], state: Any) -> Any:
    """scikit-learn's LogisticRegression on standardized features with the member's L2
    penalty: ``alpha / 2 ||w||^2`` per unit of mean loss is ``C = 1 / (alpha * n)``; with two
    classes ``C = 2 / (alpha * n)`` (the bank's two softmax columns ``w_0 = -w_1`` are both
    penalized, so the decision ``w = w_1 - w_0`` carries ``alpha / 4 ||w||^2``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    alpha = float(params.get("alpha", 1e-4))
    C = (2.0 if len(state.classes) == 2 else 1.0) / (alpha * max(state.weight_sum, 1.0))
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))


class LinearLearner(BankMember, LinearClassifierMixin, BaseEstimator):
    """A linear classifier finalized from one member of a :class:`LinearBank` (see the module
    docstring)."""

    state_class = LinearBank
    state_kind = "linear_bank"
    y_numeric: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = LINEAR_LEARNER_METRICS
    sample_metrics: ClassVar[tuple[str, ...]] = LINEAR_LEARNER_SAMPLE_METRICS
    maximize: ClassVar[dict[str, bool]] = {
        **CLASSIFIER_MAXIMIZE,
        "f1": True,
        "precision_at_recall": True,
    }

    reference = QualityBound(
        _reference,
        loss=_log_loss_estimate,
        max_ratio=1.3,
        scaled=(
            "the bank standardizes features by their exact running moments and stores raw "
            "coefficients; SGD converges to the L2-penalized optimum only approximately, which "
            "the quality bound against scikit-learn's LogisticRegression on all rows measures"
        ),
        params=({"loss": "logistic", "alpha": 1e-2, "eta0": 0.5},),
    )
    expected_failed_checks: ClassVar[dict[str, str]] = {}

    classes_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray

    def __init__(
        self,
        loss: str = "logistic",
        alpha: float = 1e-4,
        l1: float = 0.0,
        eta0: float = 0.5,
        average: bool = True,
        threshold: float | str = 0.5,
        target_recall: float = 0.9,
    ) -> None:
        self.loss = loss
        self.alpha = alpha
        self.l1 = l1
        self.eta0 = eta0
        self.average = average
        self.threshold = threshold
        self.target_recall = target_recall

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        X, y = super()._validate(X, y, reset)
        check_classification_targets(y)
        return X, y

    def partial_fit(  # type: ignore[override]
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> Any:
        """Update the bank with one more batch of rows (more SGD steps of the same models),
        then finalize; ``classes`` (optional) lists the labels allowed, as in scikit-learn."""
        check_labels_among(y, classes)
        return super().partial_fit(X, y, sample_weight)

    def _check_hyperparameters(self, state: LinearBank) -> None:
        self._check_member(state)
        if len(state.classes) < 2:
            raise ValueError(
                f"`classes >= 2` must hold to finalize LinearLearner, but the state saw "
                f"{len(state.classes)} class ({state.classes.tolist()})."
            )
        t = self.threshold
        number = not isinstance(t, bool) and isinstance(t, int | float | np.number)
        if not (number and 0 < t < 1) and t != "f1":  # type: ignore[operator]
            raise ValueError(f'`threshold` must be a number in (0, 1) or "f1", but got {t!r}.')
        r = self.target_recall
        if isinstance(r, bool) or not isinstance(r, int | float | np.number) or not 0 < r <= 1:
            raise ValueError(f"`target_recall` must be a number in (0, 1], but got {r!r}.")
        if len(state.classes) > 2 and t != 0.5:
            raise ValueError(
                f"`threshold` applies to two classes only, but the state has "
                f"{len(state.classes)}; leave threshold=0.5."
            )

    def _finalize(self, state: LinearBank) -> None:
        W, b = state.coefficients(self._member, bool(self.average))
        self.classes_ = state.classes.copy()
        if len(self.classes_) == 2:
            self.coef_ = (W[:, 1] - W[:, 0])[None, :]
            self.intercept_ = np.array([b[1] - b[0]])
        else:
            self.coef_ = np.ascontiguousarray(W.T)
            self.intercept_ = b.copy()
        self.n_iter_ = int(state._flushed().steps[-1])
        self.threshold_ = self.threshold
        self.calibration_: np.ndarray | None = None
        C = len(self.classes_)
        n_sides = 1 if C == 2 else C  # the decision, or each class against the rest
        sides = [state.score_sketch(self._member, bool(self.average), c) for c in range(n_sides)]
        whole = all(bool((sk.counts.sum(axis=1) > 0).all()) for sk in sides)
        if self.loss != "logistic" and whole:  # Platt scaling per side (class)
            self.calibration_ = np.array([sk.platt() for sk in sides])
        if C != 2:
            return
        sketch = sides[0]
        has_both = whole
        if self.threshold == "f1":
            if not has_both:
                raise ValueError(
                    'threshold="f1" is tuned on the held-out score sketch, which must hold '
                    "scores of both classes, but this state's is empty (it needs folds > 1 and "
                    "two classes) or holds one class."
                )
            self.threshold_ = sketch.best_f1()[0]

    # -- predictions ---------------------------------------------------------------------
    def _cut(self) -> float:
        return 0.0 if self.threshold_ == 0.5 else float(logit(self.threshold_))

    def _predict_scores(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1 or scores.shape[1] == 1:
            s = scores.reshape(-1)
            pos = s > 0 if self.threshold_ == 0.5 else s >= self._cut()
            return np.asarray(self.classes_[pos.astype(np.intp)])
        return np.asarray(self.classes_[scores.argmax(axis=1)])

    def predict(self, X: Any) -> np.ndarray:
        """The class of each row (binary: ``classes_[1]`` where ``sigmoid(decision) >=
        threshold``; at 0.5, scikit-learn's ``decision > 0``)."""
        return self._predict_scores(np.asarray(self.decision_function(X)))

    def _proba_scores(self, scores: np.ndarray) -> np.ndarray:
        if self.loss == "logistic":
            if scores.ndim == 1:
                p = expit(scores)
                return np.column_stack([1.0 - p, p])
            return softmax(scores.copy())
        a, b = (1.0, 0.0) if self.calibration_ is None else self.calibration_.T
        if scores.ndim == 1:
            p = expit(a * scores + b)
            return np.column_stack([1.0 - p, p])
        prob = expit(a * scores + b)  # one-vs-rest, then normalized
        prob /= prob.sum(axis=1, keepdims=True)
        return np.asarray(prob)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (see the module docstring for what they mean per loss)."""
        return self._proba_scores(np.asarray(self.decision_function(X)))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def best_f1_threshold(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The ``threshold`` maximizing the F1 of ``classes_[1]`` on rows ``(X, y)`` (binary
        only): one sort of the decision values and a sweep over every cut."""
        if len(self.classes_) != 2:
            raise ValueError(
                f"F1 thresholds need two classes, but the model has {len(self.classes_)}."
            )
        s = np.asarray(self.decision_function(X)).reshape(-1)
        pos = class_index(np.asarray(y), self.classes_) == 1
        w = np.ones(len(s)) if sample_weight is None else np.asarray(sample_weight, float)
        order = np.argsort(-s, kind="stable")
        s, pos, w = s[order], pos[order], w[order]
        tp = np.cumsum(w * pos)
        predicted = np.cumsum(w)
        last = np.r_[s[1:] != s[:-1], True]  # cut after each distinct score
        f1 = 2.0 * tp / (predicted + float(w[pos].sum()))
        f1 = np.where(last, f1, -1.0)
        i = int(np.argmax(f1))
        cut = s[i] if i + 1 == len(s) else 0.5 * (s[i] + s[i + 1])
        return float(np.clip(expit(cut), 1e-12, 1 - 1e-12))

    # -- scoring (the search space: the bank's grid, BankMember) ---------------------
    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        """``precision_at_recall`` from fold ``k``'s held-out score sketch (``held``: the
        held-out view of the bank); every other metric is scored on the held-out sample."""
        if metric != "precision_at_recall":
            return super().held_out_score(train, held, metric)  # raises: sample metrics only
        if len(self.classes_) != 2:
            raise ValueError(
                f"`precision_at_recall` needs two classes, but there are {len(self.classes_)}."
            )
        sketch = held.score_sketch(self._member, bool(self.average))
        return sketch.precision_at_recall(float(self.target_recall))[1]

    def validation_note(self, metric: str) -> str:
        """How a metric scored from the held-out state is computed."""
        return (
            f"held-out score sketch (bank k's scores of fold k's rows, {metric} at recall >= "
            f"{self.target_recall} from fixed bins)"
        )

    def sample_score(self, train_sample: Any, sample: Any, metric: str) -> float:
        """``metric`` on the held-out sample's rows; a label the model never saw is named."""
        if metric not in LINEAR_LEARNER_SAMPLE_METRICS:
            raise ValueError(
                f"`metric` must be one of {', '.join(LINEAR_LEARNER_SAMPLE_METRICS)} on the "
                f"held-out sample, but got {metric!r}."
            )
        X, y, w = np.asarray(sample.X), np.asarray(sample.y), np.asarray(sample.w)
        if len(y) == 0:
            raise ValueError("The held-out sample must hold rows to score, but it is empty.")
        self.check_labels(y)
        scores = X @ self.coef_.T + self.intercept_
        scores = scores[:, 0] if scores.shape[1] == 1 else scores
        if metric == "f1":
            if len(self.classes_) != 2:
                raise ValueError(
                    f"`f1` needs two classes, but there are {len(self.classes_)}; use "
                    "balanced_accuracy or accuracy."
                )
            pos = class_index(y, self.classes_) == 1
            pred = self._predict_scores(scores) == self.classes_[1]
            return f1_score(pos, pred, w)
        return label_score(
            metric,
            y,
            w,
            self.classes_,
            lambda: self._predict_scores(scores),
            lambda: self._proba_scores(scores),
            type(self).__name__,
        )

    def check_labels(self, y: Any) -> None:
        """Raise, naming it, when ``y`` holds a label the model never saw in training."""
        y = np.asarray(y)
        seen = np.isin(y, self.classes_)
        if not seen.all():
            r = int(np.flatnonzero(~seen)[0])
            known = self.classes_.tolist()
            shown = f"{known}" if len(known) <= 10 else f"{len(known)} classes: {known[:5]} ..."
            hint = (
                "; a numeric target of many values is a regression target: tune "
                "linear_learner_regressor"
                if len(known) > 20 and np.issubdtype(self.classes_.dtype, np.number)
                else ""
            )
            raise ValueError(
                f"Labels to score must have been seen in training ({shown}), "
                f"but row {r} holds {y[r].item()!r}{hint}."
            )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags
