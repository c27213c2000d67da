"""Each registered algorithm against the independent reference its model class declares
(re-exported by :mod:`statetune.testing`).

The declarations live on the model classes (:mod:`statetune.algorithms.references`), so the
checks here know no algorithm by name: a new algorithm is checked as soon as it is
registered, and fails with a message saying what to declare when its model class declares
nothing (an inherited declaration does not count: a subclass may finalize from another state).

- Exact models (``Reference``): :func:`reference_errors` finalizes the model from the state of
  all rows and from the training state of each fold, fits the reference on the same rows, and
  compares the declared outputs. Rows carry integer frequency weights; the reference is fitted
  on the rows repeated (so it needs no sample weights of its own, whose meaning differs between
  estimators). Folds: a seeded assignment of the rows, each training state the merge of the
  other folds' states. Series models: one series in consecutive blocks; the
  training windows of rolling-origin validation (the first blocks merged in order) and the
  whole series.
- Approximate states (``QualityBound``): :func:`quality_ratios` measures our loss on all rows
  over the full-data fit's and checks it against the declared bound.
- ``NoReference``: nothing is compared; the reason is what tests report.
- scikit-learn's estimator checks: :func:`check_sklearn_estimator` runs ``check_estimator``
  on the model with the failures its class declares expected, unless the class declares why
  the checks cannot run at all.

Example
-------
>>> from statetune._testing_reference import assert_equals_reference
>>> errors = assert_equals_reference("ridge")
>>> sorted(errors), bool(max(errors.values()) < 1e-8)
(['coef_', 'intercept_', 'predict'], True)
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from statetune._testing_data import data_for, fill_state, is_series, make_series_data, random_params
from statetune.algorithms import get_algorithm
from statetune.algorithms.references import NoReference, QualityBound, Reference

__all__ = [
    "assert_equals_reference",
    "assert_quality_bound",
    "check_sklearn_estimator",
    "declared_reference",
    "estimator_check_instance",
    "estimator_checks_exempt",
    "quality_ratios",
    "reference_errors",
    "reference_estimator",
]

_HOW = (
    "`reference = Reference(estimator, compare=..., scaled=...)` for an exact model, "
    "`QualityBound(estimator, loss, max_ratio, scaled=...)` for an approximate state, or "
    "`NoReference(reason)` (statetune.algorithms.references)"
)


def declared_reference(algorithm: str) -> Reference | QualityBound | NoReference:
    """The reference declared in the body of ``algorithm``'s model class; raises
    ``AssertionError`` saying what to declare when there is none (or only an inherited one)."""
    model = get_algorithm(algorithm).model
    declared = model.__dict__.get("reference")
    if isinstance(declared, Reference | QualityBound | NoReference):
        return declared
    owner = next((c for c in model.__mro__[1:] if c.__dict__.get("reference") is not None), None)
    found = (
        f"it only inherits the one of {owner.__name__} (a subclass may finalize from another "
        "state, so it declares its own)"
        if owner is not None
        else f"it declares {declared!r}"
    )
    raise AssertionError(
        f"The model class {model.__name__} of algorithm {algorithm!r} must declare its "
        f"independent reference in its class body: {_HOW}; but {found}."
    )


def _full_params(algorithm: str, params: dict[str, Any]) -> dict[str, Any]:
    alg = get_algorithm(algorithm)
    return {**alg.model().get_params(), **alg.fixed_params, **params}


def reference_estimator(
    algorithm: str, params: dict[str, Any] | None = None, state: Any = None
) -> Any:
    """The unfitted reference ``algorithm`` declares, for ``params`` over the model's defaults
    (``state``: the state finalized, for references that read its state parameters)."""
    declared = declared_reference(algorithm)
    if isinstance(declared, NoReference):
        raise AssertionError(f"{algorithm!r} has no reference: {declared.reason}")
    return declared.estimator(_full_params(algorithm, params or {}), state)


def _windows(
    algorithm: str, n: int, d: int, folds: int, seed: int
) -> tuple[list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]], np.ndarray]:
    """``(label, state, args, kwargs)`` per window: the state finalized and the reference's
    ``fit`` arguments, for all rows and each training fold (series: each rolling-origin
    training window, then the whole series); and the rows methods are evaluated on."""
    alg = get_algorithm(algorithm)
    rng = np.random.default_rng(seed)
    if is_series(algorithm):
        exog, values, ids = make_series_data(n, d, seed=seed, n_series=1, offset=5.0)
        bounds = [round(n * k / (folds + 1)) for k in range(folds + 2)]
        acc = None
        series_out = []
        for k, (a, b) in enumerate(itertools.pairwise(bounds)):
            block = fill_state(algorithm, exog[a:b], values[a:b], ids[a:b], (), a)
            if acc is None:
                acc = block
            else:
                acc.merge(block)  # in order: each block continues the previous ones
            label = "all rows" if k == folds else f"training window {k} (values :{b})"
            kwargs = {"exog": exog[:b] if d else None}
            series_out.append((label, acc.copy(), (values[:b],), kwargs))
        return series_out, exog
    X, y, _ = data_for(algorithm, n, d, seed=seed)
    y = y if alg.needs_target else None
    w = rng.integers(1, 4, size=n).astype(np.float64)  # frequency weights: rows repeated
    fold = rng.permutation(np.arange(n) % folds)
    parts = []
    for k in range(folds):
        m = fold == k
        parts.append(fill_state(algorithm, X[m], None if y is None else y[m], w[m]))

    def rows(mask: np.ndarray) -> tuple[Any, ...]:
        reps = w[mask].astype(np.intp)
        Xr = np.repeat(X[mask], reps, axis=0)
        return (Xr,) if y is None else (Xr, np.repeat(y[mask], reps))

    out: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = []
    for k in [None, *range(folds)]:
        state = alg.make_state(X.shape[1], y is not None)
        for j, p in enumerate(parts):
            if j != k:
                state.merge(p)
        if k is None:
            out.append(("all rows", state, rows(np.ones(n, dtype=bool)), {}))
        else:
            out.append((f"training fold {k}", state, rows(fold != k), {}))
    return out, X


def _output(model: Any, name: str, X: np.ndarray) -> np.ndarray:
    value = getattr(model, name)
    return np.asarray(value if name.endswith("_") else value(X))


def _relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """Largest ``|ours - ref|`` over the largest ``|ref|`` (absolute when ``ref`` is zero);
    infinite entries (a log of 0) must agree exactly; labels must be equal."""
    if ours.shape != ref.shape:
        return float("inf")
    if ref.dtype.kind not in "biuf" or ours.dtype.kind not in "biuf":
        return 0.0 if np.array_equal(ours, ref) else float("inf")
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    finite = np.isfinite(b)
    if not np.array_equal(np.isfinite(a), finite) or not np.array_equal(a[~finite], b[~finite]):
        return float("inf")
    if not finite.any():
        return 0.0
    scale = float(np.abs(b[finite]).max())
    err = float(np.abs(a[finite] - b[finite]).max())
    return err / scale if scale > 0 else err


def _param_sets(
    algorithm: str, declared: Reference | QualityBound, state: Any, seed: int
) -> list[dict[str, Any]]:
    """The declared hyperparameter sets, then the first laid over a random search-space point."""
    space = get_algorithm(algorithm).search_space(state)
    sets = [dict(p) for p in declared.params]
    sets.append({**random_params(space, seed), **(sets[0] if sets else {})})
    return sets


def reference_errors(
    algorithm: str, *, n: int = 240, d: int = 4, folds: int = 3, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Relative error of each output the ``Reference`` declares, per ``"<params> on <rows>"``
    (all rows and each training fold; see the module docstring).

    Raises ``AssertionError`` when the model declares no ``Reference``, or when exactly one of
    ours and the reference refuses the rows (``LinAlgError``)."""
    declared = declared_reference(algorithm)
    if not isinstance(declared, Reference):
        raise AssertionError(
            f"{algorithm!r} declares {type(declared).__name__}, not a Reference: nothing to "
            "compare exactly."
        )
    alg = get_algorithm(algorithm)
    methods = [c for c in declared.compare if not c.endswith("_")]
    if is_series(algorithm) and methods:
        raise AssertionError(
            f"A series model's reference compares fitted attributes only, but {algorithm!r} "
            f"declares the methods {methods}."
        )
    windows, X_eval = _windows(algorithm, n, d, folds, seed)
    out: dict[str, dict[str, float]] = {}
    for params in _param_sets(algorithm, declared, windows[0][1], seed):
        full = _full_params(algorithm, params)
        for label, state, args, kwargs in windows:
            where = f"{params} on {label}"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence and conditioning warnings
                try:
                    ref = declared.estimator(full, state).fit(*args, **kwargs)
                except np.linalg.LinAlgError:
                    ref = None
                try:
                    ours = alg.finalize(state, params)
                except np.linalg.LinAlgError as err:
                    if ref is None:
                        continue  # both refuse
                    raise AssertionError(
                        f"{algorithm} refused {where} where its reference fits: {err}"
                    ) from None
            if ref is None:
                raise AssertionError(f"{algorithm} finalized {where} where its reference refuses.")
            out[where] = {
                c: _relative_error(_output(ours, c, X_eval), _output(ref, c, X_eval))
                for c in declared.compare
            }
    return out


def assert_equals_reference(algorithm: str, *, seed: int = 0) -> dict[str, float]:
    """:func:`reference_errors` within the declared ``rtol`` for every output, hyperparameter
    set and window; returns the largest error of each output."""
    declared = declared_reference(algorithm)
    errors = reference_errors(algorithm, seed=seed)
    assert errors, f"{algorithm}: every hyperparameter set was refused by both: nothing compared"
    rtol = declared.rtol if isinstance(declared, Reference) else 0.0
    worst: dict[str, float] = {}
    for where, errs in errors.items():
        bad = {c: e for c, e in errs.items() if not e <= rtol}
        assert not bad, (
            f"{algorithm} with {where}: errors {bad} exceed rtol={rtol} against the reference "
            f"its model class {get_algorithm(algorithm).model.__name__} declares"
        )
        for c, e in errs.items():
            worst[c] = max(worst.get(c, 0.0), e)
    return worst


def quality_ratios(algorithm: str, *, n: int = 2_000, d: int = 4, seed: int = 0) -> list[float]:
    """Our loss on all rows over the full-data fit's, per declared hyperparameter set and one
    random search-space point, for a model declaring a ``QualityBound``."""
    declared = declared_reference(algorithm)
    if not isinstance(declared, QualityBound):
        raise AssertionError(
            f"{algorithm!r} declares {type(declared).__name__}, not a QualityBound."
        )
    alg = get_algorithm(algorithm)
    X, target, w = data_for(algorithm, n, d, seed=seed)  # series: w holds the series ids
    y = target if alg.needs_target else None
    state = fill_state(algorithm, X, y, w, [n // 3, 2 * n // 3])
    ratios = []
    for params in _param_sets(algorithm, declared, state, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = alg.finalize(state, params)
            ref = declared.estimator(_full_params(algorithm, params), state)
            if is_series(algorithm):
                ref.fit(y, series=w, exog=X if X.shape[1] else None)
            else:
                ref.fit(X) if y is None else ref.fit(X, y)
        ratios.append(float(declared.loss(ours, X, y) / declared.loss(ref, X, y)))
    return ratios


def assert_quality_bound(algorithm: str, *, seed: int = 0) -> list[float]:
    """:func:`quality_ratios` at most the declared ``max_ratio``; returns the ratios."""
    declared = declared_reference(algorithm)
    ratios = quality_ratios(algorithm, seed=seed)
    bound = declared.max_ratio if isinstance(declared, QualityBound) else 0.0
    assert max(ratios) <= bound, (
        f"{algorithm}: loss over the full-data fit's is {max(ratios):.6g}, above the declared "
        f"max_ratio={bound}"
    )
    return ratios


# --------------------------------------------------------------------------- scikit-learn
def estimator_checks_exempt(algorithm: str) -> str | None:
    """Why scikit-learn's estimator checks cannot run on ``algorithm``'s model (its class
    declares it), or None."""
    return get_algorithm(algorithm).model.estimator_checks_exempt


def estimator_check_instance(algorithm: str) -> Any:
    """The instance scikit-learn's checks run on: the model with its registry-fixed
    hyperparameters (raises ``AssertionError`` when the model is exempt)."""
    reason = estimator_checks_exempt(algorithm)
    if reason is not None:
        raise AssertionError(f"{algorithm!r} is exempt from scikit-learn's checks: {reason}")
    alg = get_algorithm(algorithm)
    return alg.model(**alg.fixed_params)


def check_sklearn_estimator(algorithm: str) -> str | None:
    """scikit-learn's ``check_estimator`` on the model, with the failures its class declares
    expected (``expected_failed_checks``, check name -> reason); returns the model's declared
    reason when the checks cannot run at all, else None."""
    from sklearn.utils.estimator_checks import check_estimator

    reason = estimator_checks_exempt(algorithm)
    if reason is not None:
        return reason
    model = get_algorithm(algorithm).model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped checks warn (no torch, no array API)
        check_estimator(
            estimator_check_instance(algorithm),
            expected_failed_checks=dict(model.expected_failed_checks),
            on_skip=None,
        )
    return None
