"""The registry: what users type (``"ridge"``) mapped to a model class and its state.

Example
-------
>>> from statetune.algorithms import get_algorithm
>>> get_algorithm("ridge").state_kind
'moments'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms.decomposition import PCA
from statetune.algorithms.discriminant import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from statetune.algorithms.gaussian_nb import GaussianNB
from statetune.algorithms.linear import LinearRegression, Ridge
from statetune.algorithms.pcr import PCR
from statetune.algorithms.ridge_classifier import RidgeClassifier
from statetune.algorithms.space import Param
from statetune.algorithms.sparse_linear import ElasticNet, Lasso

__all__ = ["Algorithm", "available_algorithms", "get_algorithm", "register_algorithm"]


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

    def make_state(self, n_features: int, has_target: bool) -> Any:
        """An empty state of the kind this algorithm finalizes from."""
        return self.model.make_state(n_features, has_target)

    def search_space(self, state: Any) -> dict[str, Param]:
        """Optuna-style distributions, bounded by what ``state`` can serve."""
        return self.model.search_space(state)

    def finalize(self, state: Any, params: dict[str, Any], feature_names: Any = None) -> Any:
        """A fitted model from ``state`` alone; ``state`` is not changed."""
        unknown = sorted(set(params) - set(self.model().get_params()))
        if unknown:
            raise ValueError(
                f"`params` must be hyperparameters of {self.name} "
                f"({sorted(self.model().get_params())}), but got unknown {unknown}."
            )
        return self.model.from_state(state, feature_names, **{**params, **self.fixed_params})


_REGISTRY: dict[str, Algorithm] = {}


def register_algorithm(algorithm: Algorithm) -> Algorithm:
    """Add an algorithm under its name (later issues register more)."""
    _REGISTRY[algorithm.name] = algorithm
    return algorithm


def get_algorithm(name: str) -> Algorithm:
    """The algorithm registered under ``name``; the error lists the available ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"`algorithm` must be one of {available_algorithms()}, but got {name!r}."
        ) from None


def available_algorithms() -> list[str]:
    """Registered names, in registration order."""
    return list(_REGISTRY)


for _alg in (
    Algorithm("ols", LinearRegression, "regression", "ordinary least squares"),
    Algorithm("ridge", Ridge, "regression", "ridge regression (L2)"),
    Algorithm("lasso", Lasso, "regression", "lasso (L1), coordinate descent on the Gram matrix"),
    Algorithm("elastic_net", ElasticNet, "regression", "elastic net (L1 + L2)"),
    Algorithm("pca", PCA, "decomposition", "principal component analysis"),
    Algorithm("pcr", PCR, "regression", "principal component regression (PCA + ridge)"),
    Algorithm("lda", LinearDiscriminantAnalysis, "classification", "linear discriminant analysis"),
    Algorithm(
        "qda", QuadraticDiscriminantAnalysis, "classification", "quadratic discriminant analysis"
    ),
    Algorithm("gaussian_nb", GaussianNB, "classification", "Gaussian naive Bayes"),
    Algorithm(
        "ridge_classifier", RidgeClassifier, "classification", "one-vs-rest ridge classification"
    ),
):
    register_algorithm(_alg)
