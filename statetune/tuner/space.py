"""The joint Optuna search space of a study: the ``algorithm`` choice and each one's parameters.

Built from the parameters each algorithm declares (:mod:`statetune.algorithms.params`).

Parameter names are stable: whatever the algorithm list, every trial has the categorical
``"algorithm"`` (its choices are the tuned algorithms; one choice when one algorithm is tuned)
and each parameter is named ``"<algorithm>:<param>"`` (Optuna needs one distribution per
name across a study, and two algorithms may give ``alpha`` different ranges). So
``study.enqueue_trial({"algorithm": "ridge", "ridge:alpha": 1.0})`` and a ``GridSampler`` grid
such as ``{"algorithm": ["ridge"], "ridge:alpha": [0.1, 1.0]}`` mean the same with one
algorithm or several. Overrides are checked against the state by finalizing at their bounds.

Example
-------
>>> import numpy as np, statetune as st
>>> from statetune.tuner.space import build_space
>>> s = st.compute_states(st.from_arrays(np.random.default_rng(0).normal(size=(50, 3)), np.arange(50.0)), ["ridge"], folds=2)
>>> sorted(build_space(s, ["ridge"], None)["ridge"])
['alpha', 'fit_intercept']
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from statetune.algorithms import CategoricalParam, FloatParam, IntParam, get_algorithm
from statetune.validation import StateSet

__all__ = [
    "ALGORITHM_PARAM",
    "build_space",
    "param_name",
    "params_in_space",
    "split_params",
    "to_optuna",
]

ALGORITHM_PARAM = "algorithm"


def param_name(algorithm: str, param: str) -> str:
    """The Optuna parameter name of ``param`` of ``algorithm``: ``"<algorithm>:<param>"``."""
    return f"{algorithm}:{param}"


def split_params(params: Mapping[str, Any], default_algorithm: str) -> tuple[str, dict[str, Any]]:
    """Optuna trial params back to ``(algorithm, {param: value})`` (plain names, of studies
    made before names were stable, are kept as they are)."""
    algorithm = str(params.get(ALGORITHM_PARAM, default_algorithm))
    prefix = f"{algorithm}:"
    out = {}
    for k, v in params.items():
        if k == ALGORITHM_PARAM:
            continue
        if ":" in k:
            if k.startswith(prefix):
                out[k[len(prefix) :]] = v
        else:
            out[k] = v
    return algorithm, out


def params_in_space(params: Mapping[str, Any], spaces: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether Optuna trial ``params`` are a point of ``spaces``: one of its algorithms, every
    parameter of that algorithm's space set and inside its distribution, and no other.

    A study resumed in another search space keeps its older trials; only those inside the
    current space count toward ``n_trials`` and give the best trial.
    """
    alg = params.get(ALGORITHM_PARAM)
    if not isinstance(alg, str) or alg not in spaces:
        return False
    space = spaces[alg]
    names = {param_name(alg, p): dist for p, dist in space.items()}
    if set(params) != set(names) | {ALGORITHM_PARAM}:
        return False
    return all(dist.contains(params[n]) for n, dist in names.items())


def _from_optuna(dist: Any) -> Any:
    """Accept our Param types or Optuna distributions in overrides."""
    if isinstance(dist, FloatParam | IntParam | CategoricalParam):
        return dist
    import optuna.distributions as od

    if isinstance(dist, od.FloatDistribution | od.IntDistribution) and dist.step not in (None, 1):
        raise ValueError(
            f"Search-space distributions must have no step (statetune samples continuous or "
            f"unit-step ranges), but got {dist!r}; list the values with CategoricalDistribution."
        )
    if isinstance(dist, od.FloatDistribution):
        return FloatParam(dist.low, dist.high, log=dist.log)
    if isinstance(dist, od.IntDistribution):
        return IntParam(dist.low, dist.high, log=dist.log)
    if isinstance(dist, od.CategoricalDistribution):
        return CategoricalParam(tuple(dist.choices))
    raise TypeError(
        f"A search-space entry must be an Optuna distribution or a statetune Param, but got {dist!r}."
    )


def _check_override(states: StateSet, algorithm: str, name: str, dist: Any) -> None:
    """Finalize at the override's extremes on the total state: a bound the state cannot serve
    (``n_components`` above the feature count, a negative ``alpha``) fails here, by name."""
    alg = get_algorithm(algorithm)
    valid = set(alg.model().get_params())
    if name not in valid:
        raise ValueError(
            f"`search_space[{algorithm!r}]` must name hyperparameters of {algorithm} "
            f"({sorted(valid)}), but got {name!r}."
        )
    points = dist.choices if isinstance(dist, CategoricalParam) else (dist.low, dist.high)
    total = states.total(states.model_slot(algorithm))
    for value in points:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                alg.finalize(total, {name: value})
        except np.linalg.LinAlgError:
            continue  # numerically singular at this point: a failed trial, not a bad bound
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"`search_space[{algorithm!r}][{name!r}]` must stay within what the states can "
                f"serve, but {name}={value!r} fails: {err}"
            ) from None


def build_space(
    states: StateSet,
    algorithms: Sequence[str],
    overrides: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, dict[str, Any]]:
    """Per-algorithm spaces (our Param types), defaults bounded by the state plus overrides."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(algorithms))
    if unknown:
        raise ValueError(
            f"`search_space` keys must be tuned algorithms ({list(algorithms)}), but got {unknown}."
        )
    spaces = {}
    for name in algorithms:
        space = dict(states.search_space(name))
        for param, dist in (overrides.get(name) or {}).items():
            dist = _from_optuna(dist)
            _check_override(states, name, param, dist)
            space[param] = dist
        spaces[name] = space
    return spaces


def to_optuna(spaces: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The flat Optuna distributions of a study over ``spaces``: ``"algorithm"`` and every
    ``"<algorithm>:<param>"``."""
    from optuna.distributions import CategoricalDistribution

    out: dict[str, Any] = {ALGORITHM_PARAM: CategoricalDistribution(list(spaces))}
    for alg, space in spaces.items():
        for param, dist in space.items():
            out[param_name(alg, param)] = dist.to_optuna()
    return out
