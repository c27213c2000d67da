"""The fold loop: finalize an algorithm on each fold's training state, score it on the
held-out state (or sample), and report the running mean after each fold.

The tuner runs this loop for every trial (its ``report`` hands the running mean to Optuna's
pruner); :meth:`StateSet.validation_score` is the same mean without reports.

Example
-------
>>> import numpy as np, statetune as st
>>> from statetune.validation.scoring import evaluate
>>> X = np.random.default_rng(0).normal(size=(60, 2)); y = X[:, 0]
>>> s = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
>>> value, folds = evaluate(s, "ridge", {"alpha": 1e-9}, "r2")
>>> round(value, 6)
1.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from statetune.validation.stateset import StateSet

__all__ = ["Report", "evaluate"]

#: ``report(k, running_mean, how)`` after fold ``k`` (``how``: held-out state or sample); it may
#: raise to stop the loop (a pruned trial).
Report = Callable[[int, float, str], Any]


def evaluate(
    states: StateSet,
    algorithm: str,
    params: Mapping[str, Any],
    metric: str,
    report: Report | None = None,
) -> tuple[float, list[float]]:
    """Mean held-out score over the folds, and the per-fold scores.

    Numerical trouble (overflow, division by zero, an invalid value, a score that is not
    finite) raises ``FloatingPointError``: numpy's error state is per thread, so it fails
    this evaluation only.
    """
    scores: list[float] = []
    for k in range(states.n_folds):
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            score, how = states.score_fold(algorithm, params, metric, k)
        if not np.isfinite(score):
            raise FloatingPointError(f"fold {k} scored {score}")
        scores.append(score)
        if report is not None:
            report(k, float(np.mean(scores)), how)
    return float(np.mean(scores)), scores
