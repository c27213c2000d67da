"""One trial: sample an algorithm and its parameters (Optuna suggest calls), then run the fold
loop of :mod:`statetune.validation.scoring` with Optuna reports and pruning.

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

from statetune.algorithms import CategoricalParam, FloatParam, IntParam
from statetune.tuner.space import ALGORITHM_PARAM, param_name
from statetune.validation import StateSet
from statetune.validation.scoring import evaluate as validation_evaluate

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
    """The fold loop of :func:`statetune.validation.scoring.evaluate` for one Optuna trial:
    reports the running mean after each fold, records how the scores were computed
    (``validation`` attribute: held-out state or held-out sample) and raises
    ``optuna.TrialPruned`` when the pruner says so."""
    if trial is None:
        return validation_evaluate(states, algorithm, params, metric)
    n_folds = states.n_folds

    def report(k: int, running: float, how: str) -> None:
        if k == 0:
            trial.set_user_attr("validation", how)
        trial.report(running, step=k)
        if k + 1 < n_folds and trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned after fold {k}")

    return validation_evaluate(states, algorithm, params, metric, report)
