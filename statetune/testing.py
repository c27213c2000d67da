"""Reusable contract checks (docs/design.md, "Contracts"), run over every registered state and algorithm.

Each ``assert_*`` function raises ``AssertionError`` with a message saying which law broke.
Tests call them directly and from hypothesis strategies (``tests/test_contracts.py``); a
later algorithm passes the same checks just by being registered: everything algorithm-specific
is read from the registry and the model classes, never from a list of names here.

Series algorithms (their model learns from series only: not ``for_rows``) take ``(X, y, w)`` as
``(exog, values, series ids)``: :func:`data_for` returns interleaved series (series take no
sample weights, so the third item holds the ids), states are updated with
``update(y, exog, series, time)`` (``time`` = the global row position), chunk invariance splits
the rows anywhere, and the merge laws are the order rule ("b continues a": consecutive segments
merged in order equal the whole, associatively; merged out of order they raise
``SeriesOrderError``) plus commutativity of states of disjoint series.

Independent references: every model class declares the one it must match
(``reference``, see :mod:`statetune.algorithms.references`); a registered model without one
fails :func:`check_algorithm`, saying what to declare.

- exactness: :func:`assert_equals_reference` compares the finalized model with the declared
  scikit-learn (or statsmodels) estimator fitted on the same rows, on all rows and per
  training fold; an approximate state's model meets its declared quality bound instead
  (:func:`assert_quality_bound`); see :mod:`statetune._testing_reference`.
- features on very different scales: :func:`assert_accurate_on_scaled_features` compares a
  finalizer, on all rows and per training fold, with the accurate oracle its model declares
  (or the model declares why the check does not apply); see :mod:`statetune._testing_scaled`.
- scikit-learn's estimator checks: :func:`check_sklearn_estimator`, with the failures the
  model class declares expected (``expected_failed_checks``) or the reason they cannot run
  (``estimator_checks_exempt``).

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
from threadpoolctl import threadpool_limits

from statetune._testing_data import (
    data_for,
    fill_state,
    grid_points,
    is_series,
    make_classification_data,
    make_count_data,
    make_regression_data,
    make_series_data,
    new_state,
    random_params,
)
from statetune._testing_reference import (
    assert_equals_reference,
    assert_quality_bound,
    check_sklearn_estimator,
    declared_reference,
    estimator_check_instance,
    estimator_checks_exempt,
    quality_ratios,
    reference_errors,
    reference_estimator,
)
from statetune._testing_scaled import (
    ScaledCase,
    assert_accurate_on_scaled_features,
    make_scaled_case,
    scaled_feature_errors,
    scaled_reference,
)
from statetune.algorithms import available_algorithms, get_algorithm
from statetune.algorithms.references import NoReference, QualityBound, ScaledReference
from statetune.states import SeriesOrderError, state_from_arrays
from statetune.states.capabilities import AveragingMerge, Sampling, Subtractable

__all__ = [
    "assert_accurate_on_scaled_features",
    "assert_associative",
    "assert_chunk_invariant",
    "assert_empty_state_raises",
    "assert_equals_reference",
    "assert_finalize_pure",
    "assert_fitted_finite",
    "assert_merge_laws",
    "assert_merge_trees_within_bound",
    "assert_quality_bound",
    "assert_round_trip",
    "assert_search_space_finalizes",
    "assert_subtract_inverts_merge",
    "check_algorithm",
    "check_registry",
    "check_sklearn_estimator",
    "data_for",
    "declared_reference",
    "estimator_check_instance",
    "estimator_checks_exempt",
    "fill_state",
    "grid_points",
    "is_series",
    "make_classification_data",
    "make_count_data",
    "make_regression_data",
    "make_scaled_case",
    "make_series_data",
    "new_state",
    "npz_round_trip",
    "quality_ratios",
    "random_params",
    "reference_errors",
    "reference_estimator",
    "scaled_feature_errors",
    "scaled_reference",
    "ScaledCase",
    "state_digest",
]


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
    whole = fill_state(algorithm, X, y, w)
    pieces = fill_state(algorithm, X, y, w, cuts)
    assert whole.allclose(pieces, rtol), f"chunk invariance broke for cuts {list(cuts)}"


def assert_merge_laws(
    algorithm: str, X: np.ndarray, y: Any, w: Any, cuts: Sequence[int], rtol: float = 1e-10
) -> None:
    """merge(u(A), u(B)) == u(A u B); merging is commutative and associative.

    For series: the order rule instead of commutativity (see the module docstring)."""
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(X)), len(X)]
    parts = [
        fill_state(
            algorithm, X[a:b], None if y is None else y[a:b], None if w is None else w[a:b], (), a
        )
        for a, b in itertools.pairwise(bounds)
    ]
    if is_series(algorithm):
        _assert_series_merge_laws(algorithm, X, y, w, parts, rtol)
        return
    if isinstance(parts[0], AveragingMerge):
        _assert_averaging_merge_laws(algorithm, X, y, w, parts, rtol)
        return
    whole = fill_state(algorithm, X, y, w)
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    assert left.allclose(whole, rtol), "merge(u(A), u(B)) != u(A u B)"
    right = parts[-1].copy()
    for p in reversed(parts[:-1]):
        right.merge(p)
    assert right.allclose(whole, rtol), "merge is not commutative"
    assert_associative(parts, rtol)
    empty = new_state(algorithm, X.shape[1], y is not None)
    e = whole.copy()
    e.merge(empty)
    assert e.allclose(whole, rtol), "merging an empty state changed the state"


def _assert_series_merge_laws(
    algorithm: str, X: np.ndarray, y: Any, ids: Any, parts: Sequence[Any], rtol: float
) -> None:
    """Order rule: consecutive segments merged in order (associatively) equal the whole and,
    out of order, raise ``SeriesOrderError``; states of disjoint series commute."""
    whole = fill_state(algorithm, X, y, ids)
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
        one = new_state(algorithm, X.shape[1], True)
        one.update(y[rows], X[rows] if X.shape[1] else None, series=ids[rows], time=rows)
        by_series.append(one)
    for order in (by_series, by_series[::-1]):
        acc = new_state(algorithm, X.shape[1], True)
        for one in order:
            acc.merge(one)
        assert acc.allclose(whole, rtol), "merge of disjoint series is not commutative"
    for side in ("left", "right"):
        e = new_state(algorithm, X.shape[1], True)
        if side == "left":
            e.merge(whole)
        else:
            e = whole.copy()
            e.merge(new_state(algorithm, X.shape[1], True))
        assert e.allclose(whole, rtol), "merging an empty state changed the state"


def _assert_averaging_merge_laws(
    algorithm: str, X: np.ndarray, y: Any, w: Any, parts: Sequence[Any], rtol: float
) -> None:
    """The laws of a merge that averages models (``AveragingMerge``): not ``u(A u B)``, but
    commutative, associative (to ``rtol``, 1e-8 at least: weighted means of weighted means
    round differently), unchanged by an empty state on either side, and rows counted once."""
    rtol = max(rtol, 1e-8)
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    right = parts[-1].copy()
    for p in reversed(parts[:-1]):
        right.merge(p)
    assert left.n_rows == len(X), "merge miscounted rows"
    assert right.allclose(left, rtol), "merge is not commutative"
    assert_associative(parts, rtol)
    for side in ("left", "right"):
        e = new_state(algorithm, X.shape[1], y is not None)
        if side == "left":
            e.merge(left)
        else:
            e = left.copy()
            e.merge(new_state(algorithm, X.shape[1], y is not None))
        assert e.allclose(left, rtol), "merging an empty state changed the state"


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
) -> str | None:
    """subtract(u(B)) from u(A u B) gives u(A), for states that are ``Subtractable``.

    Returns None when the law was checked, else why it does not apply (the state does not
    declare ``Subtractable``); a state with a ``subtract`` method that does not declare the
    capability fails, since its law would go unchecked. States of moments (per class too) are
    judged against the scale of the state subtracted from, since subtraction cancels."""
    filled = fill_state(algorithm, X, y, w)
    if not isinstance(filled, Subtractable):
        assert not hasattr(filled, "subtract"), (
            f"{type(filled).__name__} has subtract() but does not declare Subtractable: "
            "its law would go unchecked"
        )
        return f"{type(filled).__name__} does not declare Subtractable (no subtract)"
    whole: Any = filled
    b = fill_state(
        algorithm, X[cut:], None if y is None else y[cut:], None if w is None else w[cut:], (), cut
    )
    a = fill_state(
        algorithm, X[:cut], None if y is None else y[:cut], None if w is None else w[:cut]
    )
    before = whole.copy()
    whole.subtract(b)
    assert whole.n_rows == a.n_rows, "subtract miscounted rows"
    if hasattr(whole, "per_class"):  # class moments: one moments state per class
        assert whole.classes.tolist() == a.classes.tolist(), "subtract changed the classes"
        full = dict(zip(before.classes.tolist(), before.per_class, strict=True))
        theirs = dict(zip(b.classes.tolist(), b.per_class, strict=True))
        pairs = [
            (m, ref, full[c], theirs.get(c))
            for c, m, ref in zip(a.classes.tolist(), whole.per_class, a.per_class, strict=True)
        ]
    elif hasattr(whole, "comoment"):
        pairs = [(whole, a, before, b)]
    else:
        assert whole.allclose(a, 1e-6), "subtract did not undo merge"
        return None
    for got, ref, full_m, sub in pairs:
        scale = np.sqrt(np.abs(np.diagonal(full_m.comoment))) + 1e-300
        assert got.n_rows == ref.n_rows, "subtract miscounted rows"
        err_c = np.abs(got.comoment - ref.comoment) / np.outer(scale, scale)
        gone = 0.0 if sub is None else sub.weight_sum
        err_m = np.abs(ref.mean_offset(got)) * np.sqrt(got.weight_sum + gone) / scale
        assert err_c.max() <= rtol and err_m.max() <= rtol, "subtract did not undo merge"
    return None


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


def assert_fitted_finite(model: Any, X: np.ndarray | None = None) -> None:
    """Every public fitted float attribute of ``model`` (name ending in ``_``) is finite, and so
    are its outputs (``predict_proba``, ``predict``, ``transform``, ``decision_function``,
    those it has) on the rows ``X`` when given: a NaN coefficient never passes for fitted."""
    name = type(model).__name__
    for attr, value in vars(model).items():
        if not attr.endswith("_") or attr.startswith("_"):
            continue
        if isinstance(value, float | np.floating | np.ndarray | list | tuple):
            arr = np.asarray(value)
            if arr.dtype.kind in "fc":
                assert np.isfinite(arr).all(), f"{name}.{attr} is not finite: {arr!r}"
    if X is None:
        return
    for method in ("predict_proba", "predict", "transform", "decision_function"):
        if hasattr(model, method):
            out = np.asarray(getattr(model, method)(X))
            if out.dtype.kind in "fc":
                assert np.isfinite(out).all(), f"{name}.{method}(X) is not finite"


def assert_search_space_finalizes(
    algorithm: str, state: Any, n_points: int = 8, seed: int = 0, X: np.ndarray | None = None
) -> None:
    """Every point of ``search_space(state)`` (corners and random points) finalizes to a model
    whose fitted attributes, and outputs on the rows ``X`` when given, are finite."""
    alg = get_algorithm(algorithm)
    space = alg.search_space(state)
    for params in grid_points(space, n_points, seed):
        for name, value in params.items():
            assert space[name].contains(value), f"{name}={value} outside its own space"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings at extreme corners
            model = alg.finalize(state, params)
        assert hasattr(model, "n_features_in_"), f"{algorithm} model lacks n_features_in_"
        try:
            assert_fitted_finite(model, X)
        except AssertionError as err:
            raise AssertionError(f"{algorithm} at {params}: {err}") from None


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


def check_algorithm(
    algorithm: str, seed: int = 0, *, estimator_checks: bool = True
) -> dict[str, str]:
    """Every contract of docs/design.md for one registered algorithm (and its state): first that
    its model class declares an independent reference (:func:`declared_reference`), then the
    state laws, then exactness against that reference (or its quality bound), accuracy on
    features of very different scales (:func:`assert_accurate_on_scaled_features`, default
    hyperparameters) unless the model declares why not, and scikit-learn's estimator checks
    (``estimator_checks=False`` leaves them to a test parametrized per check).

    Returns the laws that did not apply, each with the reason (``{"subtract": ...}`` for a
    state without subtraction); every other law was checked."""
    declared = declared_reference(algorithm)
    alg = get_algorithm(algorithm)
    X, y, w = data_for(algorithm, 300, 5, seed=seed, weighted=True)
    y_or_none = y if alg.needs_target else None
    cuts = [1, 77, 150, 299]
    assert_chunk_invariant(algorithm, X, y_or_none, w, cuts)
    assert_merge_laws(algorithm, X, y_or_none, w, cuts)
    not_applicable: dict[str, str] = {}
    reason = assert_subtract_inverts_merge(algorithm, X, y_or_none, w, 120)
    if reason is not None:
        not_applicable["subtract"] = reason
    state = fill_state(algorithm, X, y_or_none, w)
    assert_round_trip(state)
    assert_search_space_finalizes(
        algorithm, state, seed=seed, X=None if is_series(algorithm) else X[:50]
    )
    space = alg.search_space(state)
    assert_finalize_pure(algorithm, state, grid_points(space, 1, seed)[-1])
    assert_empty_state_raises(algorithm, X.shape[1], y_or_none is not None)
    if isinstance(declared, QualityBound):
        assert_quality_bound(algorithm, seed=seed)
        assert_merge_trees_within_bound(algorithm, seed=seed)
    elif not isinstance(declared, NoReference):
        assert_equals_reference(algorithm, seed=seed)
    if isinstance(declared.scaled, ScaledReference):
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
    if estimator_checks:
        check_sklearn_estimator(algorithm)
    return not_applicable


def assert_merge_trees_within_bound(
    algorithm: str, *, n: int | None = None, d: int = 4, parts: int = 4, seed: int = 0
) -> list[float]:
    """The laws of an approximate state (a model declaring a ``QualityBound``), where a random
    state cannot equal the state of all rows exactly: the same rows in the same chunking give
    an identical state (same seed), and states of disjoint parts merged in two different
    trees (left to right, right to left) still meet the declared bound on all rows. Returns
    the ratios. (States with the ``Sampling`` capability are chunk-invariant by their rows'
    positions and pass the exact laws instead; they are not merged here.)

    ``n`` defaults to 6,000 rows, or 1.5 times the state's ``exact_rows`` (the rows a state
    holds exactly before its first random reduction) when that is more, so the random part
    of the state is exercised."""
    declared = declared_reference(algorithm)
    if not isinstance(declared, QualityBound):
        raise AssertionError(
            f"{algorithm!r} declares {type(declared).__name__}, not a QualityBound."
        )
    alg = get_algorithm(algorithm)
    if n is None:
        exact = int(getattr(new_state(algorithm, d, alg.needs_target), "exact_rows", 0))
        n = max(6_000, exact + exact // 2)
    X, target, w = data_for(algorithm, n, d, seed=seed)
    y = target if alg.needs_target else None
    cuts = [n // 7, n // 2, n - 5]
    once = fill_state(algorithm, X, y, w, cuts)
    assert state_digest(fill_state(algorithm, X, y, w, cuts)) == state_digest(once), (
        "the same rows in the same chunking gave another state"
    )
    if isinstance(once, Sampling) or is_series(algorithm):
        return []
    bounds = np.linspace(0, n, parts + 1).astype(int)
    pieces = [
        fill_state(algorithm, X[a:b], None if y is None else y[a:b], None if w is None else w[a:b])
        for a, b in itertools.pairwise(bounds)
    ]
    trees = [pieces[0].copy(), pieces[-1].copy()]
    for p in pieces[1:]:
        trees[0].merge(p)
    for p in reversed(pieces[:-1]):
        trees[1].merge(p)
    ratios = []
    for params in ({**p} for p in declared.params):
        ref = reference_estimator(algorithm, params, once)
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
            warnings.simplefilter("ignore")  # one OpenMP thread: small fits stall on more
            ref.fit(X) if y is None else ref.fit(X, y)
            ref_loss = declared.loss(ref, X, y)
            for state in trees:
                assert state.n_rows == n, "a merge miscounted rows"
                ours = alg.finalize(state, params)
                ratios.append(float(declared.loss(ours, X, y) / ref_loss))
    assert max(ratios, default=0.0) <= declared.max_ratio, (
        f"{algorithm}: a merged state's loss over the full-data fit's is {max(ratios):.6g}, "
        f"above the declared max_ratio={declared.max_ratio}"
    )
    return ratios


def check_registry() -> list[str]:
    """Run :func:`check_algorithm` over every registered algorithm; returns the names."""
    names = available_algorithms()
    for name in names:
        check_algorithm(name)
    return names
