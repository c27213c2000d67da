"""What a model must match: the independent reference each model class declares.

Every model class (a :class:`~statetune.algorithms._estimator.StateEstimator` subclass that is
registered) declares, in its own class body, ``reference = ...``, one of:

- :class:`Reference`: the model is exact; it equals an independent estimator (scikit-learn's,
  or statsmodels' wrapped) fitted on the same rows, to ``rtol`` relative. It also names the
  accurate oracle of the scaled-features check (:class:`ScaledReference`) or says why that
  check does not apply.
- :class:`QualityBound`: the model finalizes from an approximate state (a sample, a sketch, a
  coreset); its loss on all rows is at most ``max_ratio`` times the full-data fit's.
- :class:`NoReference`: no independent reference exists, and why.

The contract suite (:mod:`statetune.testing`) reads these declarations through the registry:
an algorithm registered without one fails it, with a message saying what to declare. The
declarations build their estimators lazily: nothing here imports scikit-learn or statsmodels.

Example
-------
>>> from statetune.algorithms import get_algorithm
>>> ref = get_algorithm("ridge").model.reference
>>> ref.estimator({"alpha": 2.0, "fit_intercept": True}, None)
Ridge(alpha=2.0, solver='svd')
>>> ref.compare
('coef_', 'intercept_', 'predict')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NoReference",
    "QualityBound",
    "Reference",
    "ScaledOption",
    "ScaledReference",
    "lowest_alpha",
]

#: Extra hyperparameters of one scaled-features example: a dict, or a function of the search
#: space returning one (e.g. the least regularized corner).
ScaledOption = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]]


def lowest_alpha(space: Mapping[str, Any]) -> dict[str, Any]:
    """A scaled-features option: the least regularized ``alpha`` of the search space (the
    hardest corner to solve accurately)."""
    return {"alpha": space["alpha"].low}


@dataclass(frozen=True)
class ScaledReference:
    """The accurate oracle of the scaled-features check (``statetune.testing.
    assert_accurate_on_scaled_features``): features on scales 1e-3 .. 1e12 with offsets
    up to 1e9, compared in standardized units.

    Parameters
    ----------
    reference : callable ``(case, rows, params, state) -> {quantity: (value, norm)}``
        The quantities in standardized units, computed independently (and accurately on such
        data) from ``case``'s ``rows``; ``params`` are all hyperparameters (defaults filled);
        ``state`` is the state finalized (its state parameters, e.g. a max lag, may decide the
        rows used). Raises ``numpy.linalg.LinAlgError`` where the problem has no solution.
    view : callable ``(model, case, rows, params) -> {quantity: (value, allowance)}``
        The same quantities read from our finalized model, with the rounding its own
        representation forces.
    options : tuple
        Hyperparameters laid over a random point of the search space, one per example in turn
        (a dict, or a function of the search space).
    """

    reference: Callable[..., dict[str, tuple[Any, Any]]]
    view: Callable[..., dict[str, tuple[Any, Any]]]
    options: tuple[ScaledOption, ...] = ({},)


@dataclass(frozen=True)
class Reference:
    """An exact model's independent reference.

    Parameters
    ----------
    estimator : callable ``(params, state) -> unfitted estimator``
        The reference for hyperparameters ``params`` (all of them, defaults filled). For rows
        ``(X, y)`` it has ``fit(X, y)``; for a state with the ``Ordered`` capability
        (series) ``fit(y, exog=...)`` on one series. ``state`` is the state finalized (for its
        state parameters; most references ignore it).
    compare : tuple of str
        What is compared: a name ending in ``_`` is a fitted attribute, any other a method
        applied to the rows (``"predict"``, ``"predict_proba"``, ``"transform"``, ...).
    scaled : ScaledReference or str
        The scaled-features oracle, or why that check does not apply.
    params : tuple of dict
        Hyperparameter sets compared (over the defaults); the first one is also laid over a
        random point of the search space (e.g. a solver tolerance the reference needs).
    rtol : float
        Largest error relative to the largest magnitude of each compared quantity.
    """

    estimator: Callable[[dict[str, Any], Any], Any]
    compare: tuple[str, ...]
    scaled: ScaledReference | str
    params: tuple[dict[str, Any], ...] = ({},)
    rtol: float = 1e-8


@dataclass(frozen=True)
class QualityBound:
    """An approximate state's declared quality: ``loss(model) <= max_ratio * loss(full fit)``.

    Parameters
    ----------
    estimator : callable ``(params, state) -> unfitted estimator``
        The full-data fit, fitted on all rows: ``fit(X, y)`` (``fit(X)`` without a target;
        for series ``fit(y, series=ids, exog=...)``).
    loss : callable ``(fitted model, X, y) -> float``
        Smaller is better (mean squared error, k-means cost, reconstruction error, ...).
    max_ratio : float
        The bound on the ratio of our loss to the full-data fit's, on all rows.
    scaled : ScaledReference or str
        The scaled-features oracle, or why that check does not apply.
    params : tuple of dict
        Hyperparameter sets measured (over the defaults).
    """

    estimator: Callable[[dict[str, Any], Any], Any]
    loss: Callable[[Any, Any, Any], float]
    max_ratio: float
    scaled: ScaledReference | str
    params: tuple[dict[str, Any], ...] = ({},)


@dataclass(frozen=True)
class NoReference:
    """No independent reference exists for this model; ``reason`` says why (reported by the
    contract suite where the exactness and scaled-features checks are skipped)."""

    reason: str

    @property
    def scaled(self) -> str:
        return self.reason
