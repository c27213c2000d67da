"""Classification metrics on held-out rows, computed with numpy directly (no input checks).

Each equals scikit-learn's metric of the same name on the same inputs (``accuracy_score``,
``balanced_accuracy_score``, ``log_loss(labels=classes)``, ``roc_auc_score`` and
``roc_auc_score(multi_class="ovr", average="macro")``), ties and sample weights included: the
tests compare them to 1e-12. They skip scikit-learn's validation (``check_array``,
``type_of_target``, parameter validation), which costs milliseconds per call, because the
callers hand them arrays they made themselves: a fold is scored once per trial, so the checks
would run once per trial per fold.

ROC AUC is rank-based: with the held-out rows grouped by equal score, the area under
scikit-learn's (trapezoidal) ROC curve is ``sum_g P_g (N_below_g + N_g / 2) / (P N)``, where
``P_g`` and ``N_g`` are the positive and negative weights of group ``g`` and ``N_below_g`` the
negative weight scored lower: a positive and a negative with the same score count one half.

Example
-------
>>> import numpy as np
>>> from statetune.algorithms._label_metrics import binary_roc_auc
>>> binary_roc_auc(np.array([False, True, False, True]), np.array([0.1, 0.4, 0.4, 0.8]))
0.875
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "LABEL_METRICS",
    "UnseenClassError",
    "accuracy",
    "balanced_accuracy",
    "binary_roc_auc",
    "class_index",
    "label_score",
    "log_loss",
    "roc_auc_ovr",
]

#: Metrics of predicted labels or probabilities on held-out rows.
LABEL_METRICS = ("accuracy", "balanced_accuracy", "log_loss", "roc_auc", "roc_auc_ovr")

_ALTERNATIVES = (
    "use `roc_auc_ovr` (one-vs-rest macro ROC AUC, as scikit-learn's "
    "roc_auc_score(multi_class='ovr')), `log_loss`, `balanced_accuracy` or `accuracy`"
)


def _weights(w: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n) if w is None else np.asarray(w, dtype=np.float64)


def accuracy(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None = None) -> float:
    """Weighted share of rows predicted right (``accuracy_score``)."""
    return float(np.average(np.asarray(pred) == np.asarray(y), weights=w))


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean over the classes with held-out weight of their weighted recall
    (``balanced_accuracy_score``: a class only predicted, or of zero weight, is left out)."""
    y = np.asarray(y)
    w = _weights(w, len(y))
    labels, inv = np.unique(y, return_inverse=True)
    total = np.bincount(inv, weights=w, minlength=len(labels))
    hit = np.bincount(inv, weights=w * (np.asarray(pred) == y), minlength=len(labels))
    keep = total != 0
    return float(np.mean(hit[keep] / total[keep]))


class UnseenClassError(ValueError):
    """Held-out rows hold a class the training rows lack (scoring a fold names the fold)."""


def class_index(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Index of each label of ``y`` in the sorted ``classes``; a label not among them raises."""
    y = np.asarray(y)
    if len(classes) > 1 and not np.all(classes[1:] > classes[:-1]):  # not sorted: by lookup
        where = {c: i for i, c in enumerate(classes.tolist())}
        idx = np.array([where.get(v, 0) for v in y.tolist()], dtype=np.intp)
    else:
        idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    bad = classes[idx] != y
    if np.any(bad):
        unseen = np.unique(y[bad])
        raise UnseenClassError(
            f"Held-out classes must have been seen in training, but {unseen[:5].tolist()} were not."
        )
    return idx


def log_loss(
    y: np.ndarray, proba: np.ndarray, classes: np.ndarray, w: np.ndarray | None = None
) -> float:
    """Weighted mean of ``-log p(true class)``, ``p`` clipped to ``[eps, 1 - eps]``
    (``log_loss(labels=classes)``)."""
    idx = class_index(y, classes)
    eps = np.finfo(np.float64).eps
    p = np.clip(proba[np.arange(len(idx)), idx], eps, 1 - eps)
    return float(np.average(-np.log(p), weights=w))


def binary_roc_auc(
    positive: np.ndarray, score: np.ndarray, w: np.ndarray | None = None, what: str = "roc_auc"
) -> float:
    """Area under the ROC curve of ``score`` for the rows where ``positive`` is True
    (``roc_auc_score(positive, score, sample_weight=w)``, ties counting one half)."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    if not np.all(np.isfinite(score)):
        raise ValueError(f"`{what}` needs finite scores, but some are NaN or infinite.")
    w = _weights(w, len(score))
    order = np.argsort(score)  # any order within a group of equal scores: groups are summed
    s, ww, pos = score[order], w[order], positive[order]
    last = np.append(np.flatnonzero(s[1:] != s[:-1]), len(s) - 1)  # end of each score group
    cum_pos = np.cumsum(np.where(pos, ww, 0.0))[last]
    cum_neg = np.cumsum(np.where(pos, 0.0, ww))[last]
    P, N = cum_pos[-1], cum_neg[-1]
    if not (P > 0 and N > 0):
        raise ValueError(
            f"`{what}` needs held-out rows (of positive weight) of both classes, but only "
            f"{'positive' if P > 0 else 'negative'} ones are there."
        )
    pos_g = np.diff(cum_pos, prepend=0.0)
    neg_g = np.diff(cum_neg, prepend=0.0)
    return float(np.sum(pos_g * (cum_neg - 0.5 * neg_g)) / (P * N))


def roc_auc_ovr(
    y: np.ndarray, proba: np.ndarray, classes: np.ndarray, w: np.ndarray | None = None
) -> float:
    """Unweighted mean over classes of the ROC AUC of class ``c`` against the rest, scored by
    ``proba[:, c]`` (``roc_auc_score(y, proba, multi_class="ovr", average="macro")``).

    Every class must be in ``y``: scikit-learn raises when one is absent, and so does this,
    naming the absent classes.
    """
    idx = class_index(y, classes)
    counts = np.bincount(idx, minlength=len(classes))
    if np.any(counts == 0):
        absent = classes[counts == 0]
        raise ValueError(
            "`roc_auc_ovr` needs every class in the held-out rows (scikit-learn's "
            "roc_auc_score raises too), but class(es) "
            f"{absent[:5].tolist()} of {len(classes)} are absent from the {len(idx)} held-out "
            "rows; use fewer folds, more rows, or `log_loss`."
        )
    return float(
        np.mean(
            [
                binary_roc_auc(idx == c, proba[:, c], w, what="roc_auc_ovr")
                for c in range(len(classes))
            ]
        )
    )


def label_score(
    metric: str,
    y: np.ndarray,
    w: np.ndarray | None,
    classes: np.ndarray,
    predict: Callable[[], np.ndarray],
    proba: Callable[[], np.ndarray] | None,
    model: str,
) -> float:
    """``metric`` of a classifier on held-out rows ``y`` (weights ``w``), from its predicted
    labels (``predict()``) or class probabilities (``proba()``, None when it has none; for
    ``roc_auc`` it may give the decision value of ``classes[1]`` as a 1-d array)."""
    if len(y) == 0:
        raise ValueError("The held-out sample must hold rows to score, but it is empty.")
    if metric == "accuracy":
        return accuracy(y, predict(), w)
    if metric == "balanced_accuracy":
        return balanced_accuracy(y, predict(), w)
    if metric not in LABEL_METRICS:
        raise ValueError(f"`metric` must be one of {', '.join(LABEL_METRICS)}, but got {metric!r}.")
    if metric == "roc_auc" and len(classes) != 2:
        raise ValueError(
            f"`roc_auc` needs a binary target, but there are {len(classes)} classes; "
            f"{_ALTERNATIVES}."
        )
    if proba is None:
        raise ValueError(f"`{metric}` needs predict_proba, which {model} lacks.")
    if metric == "roc_auc":
        idx = class_index(y, classes)
        if np.all(idx == idx[0]):
            raise ValueError("`roc_auc` needs both classes in the held-out sample, but it has one.")
        p = proba()
        return binary_roc_auc(idx == 1, p if p.ndim == 1 else p[:, 1], w)
    if metric == "log_loss":
        class_index(y, classes)  # unseen labels raise before predict_proba runs
        return log_loss(y, proba(), classes, w)
    class_index(y, classes)
    return roc_auc_ovr(y, proba(), classes, w)
