"""Metrics checked before any work: one every tuned algorithm computes, in one direction, and
one that applies to the target (``roc_auc`` needs two classes).

:func:`resolve_metric` runs before the pass (names only); :func:`check_metric_applies` runs
as soon as states exist (before the first trial): the class labels are in the states.
:func:`check_metric_fits_source` runs before the pass too: a metric that needs a label column
(an anomaly detector's ``roc_auc``) on a source without one is refused; once states exist,
the labels it reads (the held-out sample's) must be 0/1.

Example
-------
>>> import numpy as np, statetune as st
>>> from statetune.tuner.metrics_check import check_metric_applies, resolve_metric
>>> resolve_metric(["lda", "gaussian_nb"], None)
('log_likelihood', True)
>>> s = st.compute_states(st.from_arrays(np.eye(6), np.arange(6) % 3), ["lda"], folds=2)
>>> check_metric_applies(s, ["lda"], "roc_auc")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: `metric='roc_auc'` needs a binary target, but the target has 3 classes ([0.0, 1.0, 2.0]); ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from statetune.algorithms import get_algorithm
from statetune.validation import StateSet

__all__ = ["BINARY_METRICS", "check_metric_applies", "check_metric_fits_source", "resolve_metric"]

#: Metrics defined for a two-class target only.
BINARY_METRICS = ("roc_auc",)


def resolve_metric(algorithms: Sequence[str], metric: str | None) -> tuple[str, bool]:
    """``(metric, maximize)``: the given metric, or the first every algorithm computes; it
    must be one every algorithm computes."""
    algs = [get_algorithm(a) for a in algorithms]
    if metric is None:  # the first metric every algorithm can compute
        common = [m for m in algs[0].metrics if all(m in a.metrics for a in algs)]
        metric = common[0] if common else algs[0].default_metric
    for a in algs:
        if metric not in a.metrics:
            raise ValueError(
                f"`metric` must be one every tuned algorithm can compute, but {a.name!r} cannot "
                f"compute {metric!r} (it offers {', '.join(a.metrics)})."
            )
    directions = {a.maximize(metric) for a in algs}
    return metric, directions.pop()


def _label_metric_owners(algorithms: Sequence[str], metric: str) -> list[str]:
    """Algorithms for which ``metric`` reads a 0/1 label column (anomaly detectors' ROC AUC)."""
    return [a for a in algorithms if metric in getattr(get_algorithm(a).model, "label_metrics", ())]


def check_metric_fits_source(algorithms: Sequence[str], metric: str, has_target: bool) -> None:
    """Refuse, before the pass, a metric that needs a label column on a source without one
    (``roc_auc`` of an isolation forest on unlabeled rows), naming the metrics that fit."""
    owners = _label_metric_owners(algorithms, metric)
    if owners and not has_target:
        model = get_algorithm(owners[0]).model
        free = [m for m in model.metrics if m not in getattr(model, "label_metrics", ())]
        raise ValueError(
            f"`metric={metric!r}` of {owners[0]!r} needs a label column (1 = anomaly, "
            f"0 = normal), but the source has no target; pass target=... (the label column) "
            f"or use a metric of the scores alone ({', '.join(free)})."
        )


def _check_anomaly_labels(states: StateSet, algorithms: Sequence[str], metric: str) -> None:
    """The held-out sample's labels are 0/1 (each fold's, as the metric reads them)."""
    from statetune.algorithms._anomaly_metrics import check_anomaly_labels

    if not _label_metric_owners(algorithms, metric):
        return
    slot = states.sample_slot()
    if slot is None:
        return  # scoring says the sample is missing
    check_anomaly_labels(states.total(slot).y, metric, "the label column (in the held-out sample)")


def _classes(states: StateSet, algorithms: Sequence[str]) -> list[Any] | None:
    """The class labels the states saw (from a class-conditional state), if any."""
    for a in algorithms:
        total = states.total(states.model_slot(a))
        classes = getattr(total, "classes", None)
        if classes is not None:
            return list(np.asarray(classes).tolist())
    return None


def check_metric_applies(states: StateSet, algorithms: Sequence[str], metric: str) -> None:
    """Refuse, before any trial, a metric the target cannot have (``roc_auc`` of a target
    without exactly two classes; an anomaly detector's ``roc_auc`` of labels other than 0/1),
    naming the metrics every tuned algorithm offers instead."""
    _check_anomaly_labels(states, algorithms, metric)
    if metric not in BINARY_METRICS:
        return
    classes = _classes(states, algorithms)
    if classes is None or len(classes) == 2:
        return
    algs = [get_algorithm(a) for a in algorithms]
    offered = [
        m for m in algs[0].metrics if m not in BINARY_METRICS and all(m in a.metrics for a in algs)
    ]
    offered.sort(key=lambda m: not m.startswith(metric))  # e.g. roc_auc_ovr first
    shown = classes if len(classes) <= 10 else [*classes[:10], "..."]
    raise ValueError(
        f"`metric={metric!r}` needs a binary target, but the target has {len(classes)} "
        f"classes ({shown}); use one of {', '.join(offered)}."
    )
