"""The registry: what users type (``"ridge"``) mapped to a model class and its state.

Some names stand for one algorithm per task (:data:`ALIASES`): ``knn`` is ``knn_regressor``
on a numeric target and ``knn_classifier`` on class labels (:func:`resolve_algorithm`, which
:func:`statetune.tune` applies to the names it is given). ``linear_learner`` is not an alias:
it is the classifier it has always been (on 0/1 codes too, which are a numeric target), and
the regressor is ``linear_learner_regressor``. Like every classifier here it refuses a target
of non-integer numbers ("tune a regressor instead"); an integer-valued target is taken as
classes, as scikit-learn's classifiers take it.

Example
-------
>>> from statetune.algorithms import get_algorithm
>>> get_algorithm("ridge").state_kind
'moments'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statetune.algorithms.algorithm import Algorithm
from statetune.algorithms.autoregressive import AutoRegressive
from statetune.algorithms.baseline import Baseline
from statetune.algorithms.decomposition import PCA
from statetune.algorithms.discriminant import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from statetune.algorithms.gaussian_nb import GaussianNB
from statetune.algorithms.isolation_forest import IsolationForest
from statetune.algorithms.kmeans import KMeans
from statetune.algorithms.knn import KNeighborsClassifier, KNeighborsRegressor
from statetune.algorithms.linear import LinearRegression, Ridge
from statetune.algorithms.linear_learner import LinearLearner
from statetune.algorithms.linear_learner_regressor import LinearLearnerRegressor
from statetune.algorithms.naive_bayes_counts import ALGORITHMS as COUNT_NB_ALGORITHMS
from statetune.algorithms.pcr import PCR
from statetune.algorithms.ridge_classifier import RidgeClassifier
from statetune.algorithms.sparse_linear import ElasticNet, Lasso
from statetune.algorithms.topics import Topics
from statetune.data.schema import Schema

__all__ = [
    "ALIASES",
    "Algorithm",
    "available_algorithms",
    "get_algorithm",
    "register_algorithm",
    "resolve_algorithm",
    "resolve_keys",
]

#: Names that stand for one algorithm per task: ``(for a numeric target, for class labels)``.
ALIASES: dict[str, tuple[str, str]] = {
    "knn": ("knn_regressor", "knn_classifier"),
}


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


def resolve_algorithm(name: str, schema: Schema) -> str:
    """The registry name ``name`` stands for on data of ``schema``: an alias (:data:`ALIASES`)
    becomes its classifier when the target holds class labels, else its regressor; any other
    name is returned as it is.

    Example
    -------
    >>> resolve_algorithm("knn", Schema(features=("a",), dtypes=("float64",), target="y"))
    'knn_regressor'
    """
    choices = ALIASES.get(name) if isinstance(name, str) else None
    if choices is None:
        return name
    regressor, classifier = choices
    return classifier if schema.target_is_labels else regressor


def resolve_keys(given: Any, schema: Schema) -> Any:
    """A mapping keyed by algorithm names (``search_space``, ``state_params``) with its aliases
    resolved by :func:`resolve_algorithm`; anything else is returned as it is."""
    if not isinstance(given, Mapping):
        return given
    return {resolve_algorithm(k, schema): v for k, v in given.items()}


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

register_algorithm(Algorithm("baseline", Baseline, "any", "mean, class prior or naive forecast"))

for _alg in COUNT_NB_ALGORITHMS:
    register_algorithm(_alg)

register_algorithm(
    Algorithm(
        "autoregressive",
        AutoRegressive,
        "forecasting",
        "autoregression AR(p) of the d-times differenced series (seasonal lag, exogenous columns)",
    )
)

register_algorithm(
    Algorithm(
        "kmeans", KMeans, "cluster", "k-means from a mergeable coreset (sensitivity sampling)"
    )
)

for _alg in (
    Algorithm(
        "knn_classifier",
        KNeighborsClassifier,
        "classification",
        "k-nearest neighbours classification from a mergeable sample (any k <= k_max)",
    ),
    Algorithm(
        "knn_regressor",
        KNeighborsRegressor,
        "regression",
        "k-nearest neighbours regression from a mergeable sample (any k <= k_max)",
    ),
):
    register_algorithm(_alg)
register_algorithm(
    Algorithm(
        "linear_learner",
        LinearLearner,
        "classification",
        "a bank of linear classifiers (logistic, hinge, squared; L2, L1, step) by SGD in one pass",
    )
)
register_algorithm(
    Algorithm(
        "linear_learner_regressor",
        LinearLearnerRegressor,
        "regression",
        "a bank of linear regressors (squared, absolute, huber; L2, L1, step) by SGD in one pass",
    )
)
register_algorithm(
    Algorithm(
        "topics",
        Topics,
        "decomposition",
        "topic model by anchor words (Arora et al. 2013) on word co-occurrence, any n_components",
    )
)
register_algorithm(
    Algorithm(
        "isolation_forest",
        IsolationForest,
        "anomaly",
        "isolation forest (scikit-learn's) fitted on a mergeable uniform sample of the rows",
    )
)
