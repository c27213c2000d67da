"""Reusable contract checks (DESIGN.md "Contracts"), run over every registered state and algorithm.

Each ``assert_*`` function raises ``AssertionError`` with a message saying which law broke.
Tests call them directly and from hypothesis strategies (``tests/test_contracts.py``); a
later algorithm passes the same checks just by being registered.

Series algorithms (state kind ``"lagged_moments"``) take ``(X, y, w)`` as ``(exog, values,
series ids)``: :func:`data_for` returns interleaved series (series take no sample weights, so
the third item holds the ids), states are updated with ``update(y, exog, series, time)``
(``time`` = the global row position), chunk invariance splits the rows anywhere, and the merge
laws are the order rule ("b continues a": consecutive segments merged in order equal the
whole, associatively; merged out of order they raise ``SeriesOrderError``) plus
commutativity of states of disjoint series.

Features on very different scales: :func:`assert_accurate_on_scaled_features` compares a
finalizer, on all rows and per training fold, with an independent reference in standardized
units; every registered algorithm has a reference in :data:`SCALED_FEATURE_REFERENCES` or a
reason in :data:`SCALED_FEATURE_EXEMPT` (see :mod:`statetune._testing_scaled`).

Example
-------
>>> import numpy as np
>>> from statetune.testing import assert_chunk_invariant, make_regression_data
>>> X, y, w = make_regression_data(100, 3, seed=0)
>>> assert_chunk_invariant("ridge", X, y, None, cuts=[10, 55])
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from statetune._testing_scaled import (
    SCALED_FEATURE_EXEMPT,
    SCALED_FEATURE_REFERENCES,
    ScaledCase,
    assert_accurate_on_scaled_features,
    make_scaled_case,
    scaled_feature_errors,
)
from statetune.algorithms import (
    CategoricalParam,
    FloatParam,
    IntParam,
    available_algorithms,
    get_algorithm,
)
from statetune.states import ClassCounts, SeriesOrderError, state_from_arrays

__all__ = [
    "SCALED_FEATURE_EXEMPT",
    "SCALED_FEATURE_REFERENCES",
    "ScaledCase",
    "assert_accurate_on_scaled_features",
    "assert_associative",
    "assert_chunk_invariant",
    "assert_empty_state_raises",
    "assert_finalize_pure",
    "assert_merge_laws",
    "assert_round_trip",
    "assert_search_space_finalizes",
    "assert_subtract_inverts_merge",
    "check_algorithm",
    "check_registry",
    "data_for",
    "make_classification_data",
    "npz_round_trip",
    "make_count_data",
    "make_regression_data",
    "make_scaled_case",
    "make_series_data",
    "random_params",
    "scaled_feature_errors",
    "state_digest",
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


def _is_series(algorithm: str) -> bool:
    return not get_algorithm(algorithm).model.for_rows  # forecasters learn from series only


def data_for(
    algorithm: str, n: int, d: int, *, seed: int = 0, weighted: bool = False
) -> tuple[np.ndarray, Any, Any]:
    """Data an algorithm can be fitted on: counts for count models, labels for classifiers,
    interleaved series ``(exog with d columns, values, series ids)`` for series models
    (``weighted`` is ignored: series take no weights), else a regression."""
    if _is_series(algorithm):
        return make_series_data(n, d, seed=seed)
    if issubclass(get_algorithm(algorithm).model.state_class, ClassCounts):
        return make_count_data(n, d, seed=seed, weighted=weighted)
    if get_algorithm(algorithm).task == "classification":
        return make_classification_data(n, d, seed=seed, weighted=weighted)
    return make_regression_data(n, d, seed=seed, weighted=weighted)


def _new_state(algorithm: str, d: int, has_target: bool) -> Any:
    return get_algorithm(algorithm).make_state(d, has_target)


def _fill(
    algorithm: str, X: np.ndarray, y: Any, w: Any, cuts: Sequence[int] = (), start: int = 0
) -> Any:
    """A state updated with the rows in batches split at ``cuts``; for series, ``w`` holds the
    ids and the times are the rows' global positions ``start, start + 1, ...``."""
    state = _new_state(algorithm, X.shape[1], y is not None)
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    for a, b in itertools.pairwise(bounds):
        if _is_series(algorithm):
            state.update(
                y[a:b],
                X[a:b] if X.shape[1] else None,
                series=w[a:b],
                time=np.arange(start + a, start + b, dtype=np.int64),
            )
        else:
            state.update(X[a:b], None if y is None else y[a:b], None if w is None else w[a:b])
    return state


def state_digest(state: Any) -> str:
    """A hash of the state's header and arrays: equal digests mean byte-identical states."""
    header, arrays = state.to_arrays()
    h = hashlib.sha256(repr(sorted(header.items())).encode())
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()


def assert_chunk_invariant(
    algorithm: str, X: np.ndarray, y: Any, w: Any, cuts: Sequence[int], rtol: float = 1e-10
) -> None:
    """Updating in one batch or in batches split at ``cuts`` gives the same state."""
    whole = _fill(algorithm, X, y, w)
    pieces = _fill(algorithm, X, y, w, cuts)
    assert whole.allclose(pieces, rtol), f"chunk invariance broke for cuts {list(cuts)}"


def assert_merge_laws(
    algorithm: str, X: np.ndarray, y: Any, w: Any, cuts: Sequence[int], rtol: float = 1e-10
) -> None:
    """merge(u(A), u(B)) == u(A u B); merging is commutative and associative.

    For series: the order rule instead of commutativity (see the module docstring)."""
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    parts = [
        _fill(
            algorithm, X[a:b], None if y is None else y[a:b], None if w is None else w[a:b], (), a
        )
        for a, b in itertools.pairwise(bounds)
    ]
    if _is_series(algorithm):
        _assert_series_merge_laws(algorithm, X, y, w, parts, rtol)
        return
    whole = _fill(algorithm, X, y, w)
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    assert left.allclose(whole, rtol), "merge(u(A), u(B)) != u(A u B)"
    right = parts[-1].copy()
    for p in reversed(parts[:-1]):
        right.merge(p)
    assert right.allclose(whole, rtol), "merge is not commutative"
    assert_associative(parts, rtol)
    empty = _new_state(algorithm, X.shape[1], y is not None)
    e = whole.copy()
    e.merge(empty)
    assert e.allclose(whole, rtol), "merging an empty state changed the state"


def _assert_series_merge_laws(
    algorithm: str, X: np.ndarray, y: Any, ids: Any, parts: Sequence[Any], rtol: float
) -> None:
    """Order rule: consecutive segments merged in order (associatively) equal the whole and,
    out of order, raise ``SeriesOrderError``; states of disjoint series commute."""
    whole = _fill(algorithm, X, y, ids)
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    assert left.allclose(whole, rtol), "merge of consecutive segments != the whole series"
    assert_associative(parts, rtol)
    for a, b in itertools.pairwise(parts):
        if set(a.series_ids.tolist()) & set(b.series_ids.tolist()):
            try:
                b.copy().merge(a)
            except SeriesOrderError:
                pass
            else:
                raise AssertionError("merging segments out of time order did not raise")
            break
    keys = np.unique(ids)
    by_series = []
    for k in keys:
        rows = np.flatnonzero(ids == k)
        one = _new_state(algorithm, X.shape[1], True)
        one.update(y[rows], X[rows] if X.shape[1] else None, series=ids[rows], time=rows)
        by_series.append(one)
    for order in (by_series, by_series[::-1]):
        acc = _new_state(algorithm, X.shape[1], True)
        for one in order:
            acc.merge(one)
        assert acc.allclose(whole, rtol), "merge of disjoint series is not commutative"
    for side in ("left", "right"):
        e = _new_state(algorithm, X.shape[1], True)
        if side == "left":
            e.merge(whole)
        else:
            e = whole.copy()
            e.merge(_new_state(algorithm, X.shape[1], True))
        assert e.allclose(whole, rtol), "merging an empty state changed the state"


def assert_associative(parts: Sequence[Any], rtol: float = 1e-10) -> None:
    """``a.merge(b.merge(c)) == (a.merge(b)).merge(c)`` for the first three states (no-op for
    fewer); the inputs are not changed."""
    if len(parts) < 3:
        return
    bc = parts[1].copy()
    bc.merge(parts[2])
    a_bc = parts[0].copy()
    a_bc.merge(bc)
    ab_c = parts[0].copy()
    ab_c.merge(parts[1])
    ab_c.merge(parts[2])
    assert a_bc.allclose(ab_c, rtol), "merge is not associative"


def assert_subtract_inverts_merge(
    algorithm: str, X: np.ndarray, y: Any, w: Any, cut: int, rtol: float = 1e-8
) -> None:
    """subtract(u(B)) from u(A u B) gives u(A), for states that offer ``subtract``."""
    whole = _fill(algorithm, X, y, w)
    if not hasattr(whole, "subtract"):
        return
    b = _fill(
        algorithm, X[cut:], None if y is None else y[cut:], None if w is None else w[cut:], (), cut
    )
    a = _fill(algorithm, X[:cut], None if y is None else y[:cut], None if w is None else w[:cut])
    if not hasattr(whole, "comoment"):
        whole.subtract(b)
        assert whole.allclose(a, 1e-6), "subtract did not undo merge"
        return
    scale = np.sqrt(np.abs(np.diagonal(whole.comoment))) + 1e-300
    whole.subtract(b)
    assert whole.n_rows == a.n_rows, "subtract miscounted rows"
    # Subtraction cancels: judge the error against the scale of the state subtracted from.
    err_c = np.abs(whole.comoment - a.comoment) / np.outer(scale, scale)
    err_m = np.abs(a.mean_offset(whole)) * np.sqrt(whole.weight_sum + b.weight_sum) / scale
    assert err_c.max() <= rtol and err_m.max() <= rtol, "subtract did not undo merge"


def npz_round_trip(state: Any) -> Any:
    """The state after ``to_arrays`` -> a real ``.npz`` (no pickle) and a JSON header ->
    ``from_arrays``; also checks that no array is an object array."""
    import io
    import json

    header, arrays = state.to_arrays()
    assert all(a.dtype != object for a in arrays.values()), "object arrays need pickle"
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        loaded = {k: npz[k] for k in npz.files}
    return state_from_arrays(json.loads(json.dumps(header)), loaded)


def assert_round_trip(state: Any) -> None:
    """to_arrays/from_arrays (through a real .npz without pickle) gives an equal state."""
    back = npz_round_trip(state)
    assert state_digest(back) == state_digest(state), "round trip changed the state"


def _grid_points(space: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    """Corners plus random points of a search space."""
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
    return _grid_points(space, 1, seed)[-1]


def assert_search_space_finalizes(
    algorithm: str, state: Any, n_points: int = 8, seed: int = 0
) -> None:
    """Every point of ``search_space(state)`` (corners and random points) finalizes."""
    alg = get_algorithm(algorithm)
    space = alg.search_space(state)
    for params in _grid_points(space, n_points, seed):
        for name, value in params.items():
            assert space[name].contains(value), f"{name}={value} outside its own space"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings at extreme corners
            model = alg.finalize(state, params)
        assert hasattr(model, "n_features_in_"), f"{algorithm} model lacks n_features_in_"


def assert_finalize_pure(algorithm: str, state: Any, params: dict[str, Any]) -> None:
    """Finalize leaves the state byte-identical; the same params give the same model."""
    alg = get_algorithm(algorithm)
    before = state_digest(state)
    m1 = alg.finalize(state, params)
    m2 = alg.finalize(state, params)
    assert state_digest(state) == before, f"finalize of {algorithm} changed the state"
    for attr in ("coef_", "components_", "intercept_"):
        if hasattr(m1, attr):
            assert np.array_equal(getattr(m1, attr), getattr(m2, attr)), f"{attr} not repeatable"


def assert_empty_state_raises(algorithm: str, d: int, has_target: bool) -> None:
    """Finalizing from a state that saw no rows raises a ValueError that says so."""
    alg = get_algorithm(algorithm)
    empty = alg.make_state(d, has_target)
    try:
        alg.finalize(empty, {})
    except ValueError as err:
        assert "empty" in str(err), f"unclear error for an empty state: {err}"
    else:
        raise AssertionError(f"{algorithm} finalized from an empty state")


def check_algorithm(algorithm: str, seed: int = 0) -> None:
    """Every contract of DESIGN.md for one registered algorithm (and its state), and accuracy
    on features of very different scales (:func:`assert_accurate_on_scaled_features`, with
    default hyperparameters) unless :data:`SCALED_FEATURE_EXEMPT` says why not."""
    alg = get_algorithm(algorithm)
    X, y, w = data_for(algorithm, 300, 5, seed=seed, weighted=True)
    y_or_none = y if alg.needs_target else None
    cuts = [1, 77, 150, 299]
    assert_chunk_invariant(algorithm, X, y_or_none, w, cuts)
    assert_merge_laws(algorithm, X, y_or_none, w, cuts)
    assert_subtract_inverts_merge(algorithm, X, y_or_none, w, 120)
    state = _fill(algorithm, X, y_or_none, w)
    assert_round_trip(state)
    assert_search_space_finalizes(algorithm, state, seed=seed)
    space = alg.search_space(state)
    assert_finalize_pure(algorithm, state, _grid_points(space, 1, seed)[-1])
    assert_empty_state_raises(algorithm, X.shape[1], y_or_none is not None)
    if algorithm not in SCALED_FEATURE_EXEMPT:  # a new algorithm needs a reference or a reason
        case = make_scaled_case(
            algorithm,
            240,
            4,
            log10_scales=[-3.0, 4.0, 12.0, 0.0],
            offsets=[0.0, 1e9, 0.0, -1e6],
            y_log10_scale=9.0,
            y_offset=1e6,
            seed=seed,
            weighted=True,
        )
        assert_accurate_on_scaled_features(algorithm, case, {})


def check_registry() -> list[str]:
    """Run :func:`check_algorithm` over every registered algorithm; returns the names."""
    names = available_algorithms()
    for name in names:
        check_algorithm(name)
    return names
