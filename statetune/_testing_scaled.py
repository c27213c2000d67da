"""Accuracy on features whose scales span many orders of magnitude: a reusable check
(re-exported by :mod:`statetune.testing`) over the oracles the model classes declare.

A :class:`ScaledCase` holds rows ``X = Z * scale + offset`` (column by column; for regression
also ``y = t * y_scale + y_offset``), with ``Z`` and ``t`` on unit scales. Quantities are compared
in those *standardized units* (a coefficient times its feature's scale over the target's scale,
a precision matrix times the scales on both sides, ...), where an error of ``rtol`` means the
same for every feature whatever its units. :func:`assert_accurate_on_scaled_features`
finalizes an algorithm from the states of all rows and of every training fold
(``compute_states``), evaluates the oracle its model class declares
(``reference.scaled``, a :class:`~statetune.algorithms.references.ScaledReference`) on the same
rows, and compares. The oracles are independent of the code under test and accurate on such
data themselves (:mod:`statetune.algorithms.references.scaled_regression`,
``scaled_classifiers``, ``scaled_series`` say how); a model whose check does not apply declares
why instead (a string). Series: all rows only (the series folds are time blocks, checked
elsewhere).

Example
-------
>>> from statetune.testing import assert_accurate_on_scaled_features, make_scaled_case
>>> case = make_scaled_case("ols", 200, 3, log10_scales=[-3.0, 4.0, 12.0], seed=0)
>>> errors = assert_accurate_on_scaled_features("ols", case, {})
>>> bool(max(errors.values()) < 1e-7)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from statetune._testing_data import data_for, is_series, make_series_data
from statetune._testing_reference import declared_reference
from statetune.algorithms import get_algorithm
from statetune.algorithms.references import ScaledReference
from statetune.algorithms.references.scaled_case import Expected, ScaledCase, View

__all__ = [
    "ScaledCase",
    "assert_accurate_on_scaled_features",
    "make_scaled_case",
    "scaled_feature_errors",
    "scaled_reference",
]


def scaled_reference(algorithm: str) -> ScaledReference | str:
    """The scaled-features oracle ``algorithm``'s model class declares, or the reason the check
    does not apply to it (raises ``AssertionError`` when the class declares no reference)."""
    return declared_reference(algorithm).scaled


def make_scaled_case(
    algorithm: str,
    n: int,
    d: int,
    *,
    log10_scales: Sequence[float],
    offsets: Sequence[float] | None = None,
    y_log10_scale: float = 0.0,
    y_offset: float = 0.0,
    seed: int = 0,
    weighted: bool = False,
) -> ScaledCase:
    """``statetune.testing.data_for(algorithm, ...)`` with its feature columns put on the scales
    ``10 ** log10_scales`` and shifted by ``offsets`` (the target too, for regressions and
    series). Classifiers get no weights (scikit-learn's discriminant analyses take none)."""
    alg = get_algorithm(algorithm)
    scale = 10.0 ** np.asarray(log10_scales, dtype=np.float64)
    offset = np.zeros(d) if offsets is None else np.asarray(offsets, dtype=np.float64)
    if is_series(algorithm):
        Z, t, _ = make_series_data(n, d, seed=seed, n_series=1)
        w = None
    else:
        Z, t, w = data_for(algorithm, n, d, seed=seed, weighted=weighted)
        if alg.task == "classification":
            w, y_log10_scale, y_offset = None, 0.0, 0.0
    y_scale = 10.0**y_log10_scale
    y = t * y_scale + y_offset if np.issubdtype(np.asarray(t).dtype, np.floating) else t
    return ScaledCase(Z * scale + offset, np.asarray(y), w, scale, offset, y_scale, y_offset)


def _compare(ref: Expected, ours: View) -> dict[str, float]:
    out = {}
    for key, (value, norm) in ref.items():
        mine, allow = ours[key]
        mine, value = np.asarray(mine, dtype=np.float64), np.asarray(value, dtype=np.float64)
        assert mine.shape == value.shape, f"{key}: shape {mine.shape} != reference {value.shape}"
        excess = np.maximum(np.abs(mine - value) - allow, 0.0) / norm
        out[key] = float(np.max(excess, initial=0.0))
    return out


def _fold_rows(states: Any, kind: Any, X: np.ndarray, w: np.ndarray | None) -> list[np.ndarray]:
    """Each fold's rows, found from the fold rule (every K-th row of a group: one residue
    modulo K per fold for fewer than 65,536 K rows) by matching each held-out state's row
    count and feature means (relative to the state's shift, which keeps them exact next to large
    offsets; to 1e-6 of each column's spread) with numpy's on the candidate rows; exactly one
    residue must match."""
    K, n = states.n_folds, X.shape[0]
    spread = X.std(axis=0) + 1e-300
    found = []
    for k in range(K):
        held = states.held_out(kind, k)
        total = held.total() if hasattr(held, "total") else held
        matches = []
        for r in range(K):
            rows = np.arange(r, n, K)
            ww = np.ones(rows.size) if w is None else w[rows]
            d = total.n_features
            shifted = (ww @ (X[rows] - total.shift[:d])) / ww.sum()
            gap = np.abs(total.mean_from_shift[:d] - shifted)
            if rows.size == held.n_rows and np.all(gap <= 1e-6 * spread):
                matches.append(rows)
        assert len(matches) == 1, f"{len(matches)} residue classes match the rows of fold {k}"
        found.append(matches[0])
    return found


def scaled_feature_errors(
    algorithm: str, case: ScaledCase, params: dict[str, Any], *, folds: int = 3, max_lag: int = 8
) -> dict[str, float]:
    """Largest error (standardized units, see the module docstring) of each compared quantity
    over all rows and each training fold (series: all rows, in a state with ``max_lag``).
    Raises ``AssertionError`` if exactly one of ours and the reference refuses the data
    (``LinAlgError``), or if the model class declares no oracle (or why the check does not
    apply)."""
    import statetune as st
    from statetune.states.lagged_moments import LaggedMoments

    declared = scaled_reference(algorithm)
    if not isinstance(declared, ScaledReference):
        raise AssertionError(
            f"The scaled-features check does not apply to {algorithm!r}, as its model class "
            f"declares: {declared}"
        )
    alg = get_algorithm(algorithm)
    n = case.X.shape[0]
    if is_series(algorithm):
        state = LaggedMoments(max_lag, n_exog=case.X.shape[1])
        state.update(case.y, case.X if case.X.shape[1] else None)
        pairs = [(state, np.arange(n))]
    else:
        y = case.y if alg.needs_target else None
        states = st.compute_states(st.from_arrays(case.X, y, case.w), [algorithm], folds=folds)
        kind = states.model_slot(algorithm)
        pairs = [(states.total(kind), np.arange(n))]
        for k, held_rows in enumerate(_fold_rows(states, kind, case.X, case.w)):
            pairs.append((states.train(kind, k), np.setdiff1d(np.arange(n), held_rows)))
    # the references read every hyperparameter: the model's defaults fill the unset ones
    full = {**alg.model().get_params(), **alg.fixed_params, **params}
    worst: dict[str, float] = {}
    for state, rows in pairs:
        try:
            ref = declared.reference(case, rows, full, state)
        except np.linalg.LinAlgError:
            try:
                alg.finalize(state, params)
            except np.linalg.LinAlgError:
                continue
            raise AssertionError(
                f"{algorithm} finalized where the reference refuses: {params}"
            ) from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = alg.finalize(state, params)
        for key, err in _compare(ref, declared.view(model, case, rows, full)).items():
            worst[key] = max(worst.get(key, 0.0), err)
    return worst


def assert_accurate_on_scaled_features(
    algorithm: str,
    case: ScaledCase,
    params: dict[str, Any],
    *,
    rtol: float = 1e-7,
    folds: int = 3,
    max_lag: int = 8,
) -> dict[str, float]:
    """:func:`scaled_feature_errors` below ``rtol`` for every quantity; returns the errors."""
    errors = scaled_feature_errors(algorithm, case, params, folds=folds, max_lag=max_lag)
    bad = {k: v for k, v in errors.items() if not v <= rtol}
    assert not bad, (
        f"{algorithm} with {params} on scales {case.scale.tolist()} and offsets "
        f"{case.offset.tolist()}: errors {bad} exceed rtol={rtol} (standardized units)"
    )
    return errors
