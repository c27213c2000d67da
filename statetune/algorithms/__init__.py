"""Finalizers: models computed from states, one family per file, plus the registry.

Example
-------
>>> from statetune.algorithms import available_algorithms
>>> available_algorithms()[:6]
['ols', 'ridge', 'lasso', 'elastic_net', 'pca', 'pcr']
"""

from __future__ import annotations

from statetune.algorithms.algorithm import Algorithm
from statetune.algorithms.autoregressive import AutoRegressive
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
from statetune.algorithms.naive_bayes_counts import BernoulliNB, ComplementNB, MultinomialNB
from statetune.algorithms.params import CategoricalParam, FloatParam, IntParam, Param
from statetune.algorithms.pcr import PCR
from statetune.algorithms.registry import (
    available_algorithms,
    get_algorithm,
    register_algorithm,
)
from statetune.algorithms.ridge_classifier import RidgeClassifier
from statetune.algorithms.sparse_linear import ElasticNet, Lasso
from statetune.algorithms.topics import Topics

__all__ = [
    "PCA",
    "BernoulliNB",
    "ComplementNB",
    "MultinomialNB",
    "PCR",
    "Algorithm",
    "AutoRegressive",
    "CategoricalParam",
    "ElasticNet",
    "FloatParam",
    "GaussianNB",
    "IntParam",
    "IsolationForest",
    "KMeans",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "Lasso",
    "LinearDiscriminantAnalysis",
    "LinearLearner",
    "LinearLearnerRegressor",
    "LinearRegression",
    "Param",
    "QuadraticDiscriminantAnalysis",
    "Ridge",
    "RidgeClassifier",
    "Topics",
    "available_algorithms",
    "get_algorithm",
    "register_algorithm",
]
