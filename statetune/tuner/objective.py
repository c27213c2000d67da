"""One trial: sample an algorithm and its parameters, finalize per fold, score held-out states.

Each fold's running mean is reported with ``trial.report`` so Optuna pruners (the default
``MedianPruner`` among them) can stop a bad trial after its first folds.

Example
-------
>>> import numpy as np, statetune as st
>>> from statetune.tuner.objective import evaluate
>>> X = np.random.default_rng(0).normal(size=(60, 2)); y = X[:, 0]
>>> s = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
>>> value, folds = evaluate(s, "ridge", {"alpha": 1e-9}, "r2")
>>> round(value, 6)
1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from statetune.algorithms import CategoricalParam, FloatParam, IntParam
from statetune.engine import StateSet
from statetune.tuner.space import ALGORITHM_PARAM, param_name

__all__ = ["evaluate", "sample"]


def sample(trial: Any, spaces: Mapping[str, Mapping[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Draw ``(algorithm, params)`` for ``trial`` (suggest calls run the sampler)."""
    names = list(spaces)
    multi = len(names) > 1
    alg = trial.suggest_categorical(ALGORITHM_PARAM, names) if multi else names[0]
    params: dict[str, Any] = {}
    for p, dist in spaces[alg].items():
        name = param_name(alg, p, multi)
        if isinstance(dist, FloatParam):
            params[p] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        elif isinstance(dist, IntParam):
            params[p] = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        elif isinstance(dist, CategoricalParam):
            params[p] = trial.suggest_categorical(name, list(dist.choices))
        else:  # pragma: no cover - build_space converts every entry
            raise TypeError(f"unsupported distribution {dist!r}")
    return alg, params


def evaluate(
    states: StateSet,
    algorithm: str,
    params: Mapping[str, Any],
    metric: str,
    trial: Any = None,
) -> tuple[float, list[float]]:
    """Mean held-out score over the folds, and the per-fold scores.

    With a ``trial``, reports the running mean after each fold, records how the scores were
    computed (``validation`` attribute: held-out state or held-out sample) and raises
    ``optuna.TrialPruned`` when the pruner says so.
    """
    scores: list[float] = []
    for k in range(states.n_folds):
        # numpy's error state is per thread (warnings filters are not): numerical trouble in a
        # trial raises FloatingPointError and fails that trial only.
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            score, how = states.score_fold(algorithm, params, metric, k)
        if not np.isfinite(score):
            raise FloatingPointError(f"fold {k} scored {score}")
        scores.append(score)
        if trial is not None:
            if k == 0:
                trial.set_user_attr("validation", how)
            trial.report(float(np.mean(scores)), step=k)
            if k + 1 < states.n_folds and trial.should_prune():
                import optuna

                raise optuna.TrialPruned(f"pruned after fold {k}")
    return float(np.mean(scores)), scores
