"""Data the contract checks fit on (re-exported by :mod:`statetune.testing`): generated rows
that suit each registered algorithm, states filled from them in chunks, and points of search
spaces.

What an algorithm is fitted on is read from its model class, not its name: models that learn
from series only (not ``for_rows``) get interleaved series ``(exog, values, series ids)``,
count models (``features_are_counts``) Poisson counts, classifiers string labels, the rest
(``task`` "regression" or "any") a regression.

Example
-------
>>> from statetune._testing_data import data_for
>>> X, y, w = data_for("multinomial_nb", 5, 3, seed=0)
>>> bool((X == X.round()).all()), y.dtype.kind
(True, 'U')
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from statetune.algorithms import CategoricalParam, FloatParam, IntParam, get_algorithm
from statetune.states.capabilities import Sampling

__all__ = [
    "data_for",
    "fill_state",
    "grid_points",
    "is_series",
    "make_classification_data",
    "make_count_data",
    "make_regression_data",
    "make_series_data",
    "new_state",
    "random_params",
]


def make_regression_data(
    n: int, d: int, *, seed: int = 0, weighted: bool = False, offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Correlated features, a linear target with noise, optional weights and column offset."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    X = rng.normal(size=(n, d)) @ A + offset
    y = (X - offset) @ rng.normal(size=d) + 0.5 * rng.normal(size=n) + 3.0
    w = rng.uniform(0.1, 3.0, size=n) if weighted else None
    return X, y, w


def make_classification_data(
    n: int, d: int, *, seed: int = 0, weighted: bool = False, n_classes: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gaussian classes with distinct means and covariances; string labels ``"c0", "c1", ...``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=n)
    labels[: min(n, n_classes)] = np.arange(min(n, n_classes))  # every class present
    means = rng.normal(scale=2.0, size=(n_classes, d))
    scales = rng.uniform(0.5, 2.0, size=(n_classes, d))
    X = means[labels] + rng.normal(size=(n, d)) * scales[labels]
    y = np.array([f"c{k}" for k in range(n_classes)])[labels]
    w = rng.uniform(0.1, 3.0, size=n) if weighted else None
    return X, y, w


def make_count_data(
    n: int, d: int, *, seed: int = 0, weighted: bool = False, n_classes: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Poisson word counts whose rates depend on the class; string labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=n)
    labels[: min(n, n_classes)] = np.arange(min(n, n_classes))
    rates = rng.gamma(1.0, 2.0, size=(n_classes, d))
    X = rng.poisson(rates[labels]).astype(np.float64)
    y = np.array([f"c{k}" for k in range(n_classes)])[labels]
    w = rng.uniform(0.1, 3.0, size=n) if weighted else None
    return X, y, w


def make_series_data(
    n: int, n_exog: int = 0, *, seed: int = 0, n_series: int = 3, offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(exog, y, ids)``: ``n_series`` AR(2) series (plus a linear effect of ``n_exog``
    exogenous columns) interleaved at random, each in time order; ``offset`` is added to all
    values."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n_series, size=n)
    exog = rng.normal(size=(n, n_exog))
    effect = exog @ rng.normal(size=n_exog)
    y = np.empty(n)
    for k in range(n_series):
        rows = np.flatnonzero(ids == k)
        z = np.zeros(len(rows))
        e = rng.normal(size=len(rows))
        for t in range(len(rows)):
            z[t] = e[t] + (0.5 * z[t - 1] if t >= 1 else 0.0) - (0.3 * z[t - 2] if t >= 2 else 0.0)
        y[rows] = z + 2.0 * k + effect[rows] + offset
    return exog, y, ids


def is_series(algorithm: str) -> bool:
    """True when the algorithm learns from series only (its model is not ``for_rows``)."""
    return not get_algorithm(algorithm).model.for_rows


def data_for(
    algorithm: str, n: int, d: int, *, seed: int = 0, weighted: bool = False
) -> tuple[np.ndarray, Any, Any]:
    """Data an algorithm can be fitted on: counts for count models, labels for classifiers,
    interleaved series ``(exog with d columns, values, series ids)`` for series models
    (``weighted`` is ignored: series take no weights), else a regression."""
    if is_series(algorithm):
        return make_series_data(n, d, seed=seed)
    if get_algorithm(algorithm).model.features_are_counts:
        return make_count_data(n, d, seed=seed, weighted=weighted)
    if get_algorithm(algorithm).task == "classification":
        return make_classification_data(n, d, seed=seed, weighted=weighted)
    return make_regression_data(n, d, seed=seed, weighted=weighted)


def new_state(algorithm: str, d: int, has_target: bool) -> Any:
    """The empty state ``algorithm`` finalizes from."""
    return get_algorithm(algorithm).make_state(d, has_target)


def fill_state(
    algorithm: str, X: np.ndarray, y: Any, w: Any, cuts: Sequence[int] = (), start: int = 0
) -> Any:
    """A state updated with the rows in batches split at ``cuts``; for series, ``w`` holds the
    ids and the times are the rows' global positions ``start, start + 1, ...``; a ``Sampling``
    state gets those positions too (its sample is keyed by them)."""
    state = new_state(algorithm, X.shape[1], y is not None)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    for a, b in itertools.pairwise(bounds):
        if is_series(algorithm):
            state.update(
                y[a:b],
                X[a:b] if X.shape[1] else None,
                series=w[a:b],
                time=np.arange(start + a, start + b, dtype=np.int64),
            )
        elif isinstance(state, Sampling):  # a sample keys rows by their global positions
            state.update(
                X[a:b],
                None if y is None else y[a:b],
                None if w is None else w[a:b],
                positions=np.arange(start + a, start + b, dtype=np.int64),
            )
        else:
            state.update(X[a:b], None if y is None else y[a:b], None if w is None else w[a:b])
    return state


def grid_points(space: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    """The two corners plus ``n`` random points of a search space."""
    rng = np.random.default_rng(seed)
    points: list[dict[str, Any]] = []
    for corner in (0, 1):
        p = {}
        for name, dist in space.items():
            if isinstance(dist, CategoricalParam):
                p[name] = dist.choices[corner % len(dist.choices)]
            else:
                p[name] = dist.low if corner == 0 else dist.high
        points.append(p)
    for _ in range(n):
        p = {}
        for name, dist in space.items():
            if isinstance(dist, CategoricalParam):
                p[name] = dist.choices[rng.integers(len(dist.choices))]
            elif isinstance(dist, IntParam):
                p[name] = int(rng.integers(dist.low, dist.high + 1))
            elif isinstance(dist, FloatParam):
                u = rng.uniform()
                if dist.log:
                    p[name] = float(np.exp(np.log(dist.low) + u * np.log(dist.high / dist.low)))
                else:
                    p[name] = float(dist.low + u * (dist.high - dist.low))
        points.append(p)
    return points


def random_params(space: dict[str, Any], seed: int) -> dict[str, Any]:
    """One random point of a search space (log-uniform where the parameter is)."""
    return grid_points(space, 1, seed)[-1]
