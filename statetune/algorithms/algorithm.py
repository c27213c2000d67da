"""``Algorithm``: a registry entry: a model class, its task, and how it finalizes from a state.

Example
-------
>>> from statetune.algorithms.algorithm import Algorithm
>>> from statetune.algorithms.linear import Ridge
>>> Algorithm("ridge", Ridge, "regression", "ridge regression").state_kind
'moments'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms.params import Param
from statetune.data.schema import Schema
from statetune.states.spec import StateSpec

__all__ = ["Algorithm"]


_HYPERPARAMETERS: dict[type, frozenset[str]] = {}


def _hyperparameters(model: type[StateEstimator]) -> frozenset[str]:
    """The model's hyperparameter names (``get_params`` reads its ``__init__`` signature with
    ``inspect``: memoized, since every fold of every trial checks them)."""
    names = _HYPERPARAMETERS.get(model)
    if names is None:
        names = _HYPERPARAMETERS[model] = frozenset(model().get_params())
    return names


@dataclass(frozen=True)
class Algorithm:
    """A finalizer: the state it needs, its search space, and ``finalize(state, params)``."""

    name: str
    model: type[StateEstimator]
    task: str
    description: str
    fixed_params: dict[str, Any] = field(default_factory=dict)

    @property
    def state_kind(self) -> str:
        return self.model.state_kind

    @property
    def needs_target(self) -> bool:
        return self.model.needs_target

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.model.metrics

    @property
    def default_metric(self) -> str:
        return self.model.metrics[0]

    def maximize(self, metric: str) -> bool:
        """True when larger values of ``metric`` are better."""
        return self.model.maximize[metric]

    @property
    def sample_metrics(self) -> tuple[str, ...]:
        """Metrics scored on a held-out sample of rows (they need row-by-row predictions)."""
        return self.model.sample_metrics

    def make_state(self, n_features: int, has_target: bool) -> Any:
        """An empty state of the kind this algorithm finalizes from."""
        return self.model.make_state(n_features, has_target)

    def state_spec(self, schema: Schema, **state_params: Any) -> StateSpec:
        """The spec of the state this algorithm finalizes from on data of ``schema``
        (``state_params``: its own state parameters, e.g. ``max_lag`` for forecasters)."""
        return self.model.state_spec(schema, **state_params)

    def accepts(self, spec: StateSpec) -> bool:
        """Whether a state of ``spec`` serves this algorithm."""
        return self.model.accepts(spec)

    def search_space(self, state: Any) -> dict[str, Param]:
        """Optuna-style distributions, bounded by what ``state`` can serve."""
        return self.model.search_space(state)

    def finalize(self, state: Any, params: dict[str, Any], feature_names: Any = None) -> Any:
        """A fitted model from ``state`` alone; ``state`` is not changed."""
        names = _hyperparameters(self.model)
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(
                f"`params` must be hyperparameters of {self.name} ({sorted(names)}), but got "
                f"unknown {unknown}."
            )
        return self.model.from_state(state, feature_names, **{**params, **self.fixed_params})
