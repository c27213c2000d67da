"""From algorithm names to the slots a pass fills: each algorithm's state spec, plus the
held-out sample when a metric to be scored needs predictions row by row.

This is where an algorithm name meets the data: which algorithms fit which source (series
forecasters on series, a target where one is needed, numeric targets for regressors) is
checked here, before any pass.

Example
-------
>>> from statetune.data.schema import Schema
>>> from statetune.validation.plan import plan_slots
>>> schema = Schema(features=("a", "b"), dtypes=("float64", "float64"), target="y")
>>> [str(s) for s in plan_slots(["ridge", "pca"], schema, metrics=["mse"])]
['model:moments(has_target=True, n_features=2)']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from statetune.algorithms import get_algorithm
from statetune.algorithms._estimator import refuse_encoded
from statetune.algorithms.algorithm import Algorithm
from statetune.data.schema import Schema
from statetune.engine.slots import HELD_OUT_SAMPLE, MODEL, Slot, unique_slots
from statetune.states.capabilities import Ordered
from statetune.states.spec import StateSpec

__all__ = ["BLOCK_SAMPLE_ROWS", "SAMPLE_ROWS", "plan_slots", "sample_spec"]

#: Rows kept per fold for metrics that need predictions row by row (a state parameter).
SAMPLE_ROWS = 20_000

#: Lag rows kept per time block of series data (a held-out fold is one block).
BLOCK_SAMPLE_ROWS = 5_000


def _wants_sample(algs: Sequence[Algorithm], metrics: Sequence[str] | None) -> bool:
    """Some algorithm has metrics scored on a held-out sample, and (when the metrics to be
    used are known) one of them is requested."""
    for alg in algs:
        sampled = alg.sample_metrics
        if sampled and (metrics is None or any(m in sampled for m in metrics)):
            return True
    return False


def _check(alg: Algorithm, schema: Schema) -> None:
    name = alg.name
    if schema.encoded and not alg.model.takes_encoding:
        refuse_encoded(name, schema)
    if schema.is_series:
        if not alg.model.for_series:
            raise ValueError(
                f"Series data (values in time order, with series/time columns) needs forecasting "
                f"algorithms (autoregressive), but got {name!r}; build the source without "
                "series=/time= to tune it as a regression."
            )
        if not schema.has_target:
            raise ValueError("Series data needs its values as the target (target=... or y=...).")
        return
    if not alg.model.for_rows:
        raise ValueError(
            f"{name!r} forecasts time series, but the source holds plain rows: build it "
            "with st.from_series(y, series=..., time=...) or pass series=/time= columns."
        )
    if alg.needs_target and not schema.has_target:
        raise ValueError(
            f"{name!r} needs a target, but the source has none: pass target=... "
            "(or y=...) to the source."
        )
    if alg.needs_target and alg.model.y_numeric and schema.target_is_labels:
        raise ValueError(
            f"{name!r} needs a numeric target, but column {schema.target!r} holds class "
            "labels; tune a classifier (lda, qda, gaussian_nb, ridge_classifier) or encode it."
        )


def sample_spec(schema: Schema, model_specs: Sequence[StateSpec], seed: int) -> StateSpec:
    """The held-out sample's spec: rows ``(X, y)`` of the source, or for series the lag rows
    ``[y_{t-1}..y_{t-P}, x_t] -> y_t`` of its ordered state (one sample per time block)."""
    ordered = [s for s in model_specs if s.has(Ordered)]
    if ordered:
        width = ordered[0].build().n_features
        return StateSpec.of(
            "reservoir", n_features=width, has_target=True, size=BLOCK_SAMPLE_ROWS, seed=seed
        )
    return StateSpec.of(
        "reservoir",
        n_features=schema.n_features,
        has_target=schema.has_target,
        size=SAMPLE_ROWS,
        seed=seed,
    )


def _state_params(
    given: Mapping[str, Mapping[str, Any]] | None, algs: Sequence[Any]
) -> dict[str, dict[str, Any]]:
    """``state_params`` checked: keyed by algorithms of this pass, each a mapping."""
    if given is None:
        return {}
    names = [a.name for a in algs]
    if not isinstance(given, Mapping):
        raise TypeError(
            f"`state_params` must map algorithm names to their state parameters, but got "
            f"{type(given).__name__}."
        )
    out: dict[str, dict[str, Any]] = {}
    for name, params in given.items():
        if name not in names:
            raise ValueError(
                f"`state_params` keys must be algorithms of this pass ({', '.join(names)}), "
                f"but got {name!r}."
            )
        if not isinstance(params, Mapping):
            raise TypeError(
                f"`state_params[{name!r}]` must be a mapping of state parameters, but got "
                f"{type(params).__name__}."
            )
        out[name] = dict(params)
    return out


def _spec(alg: Any, schema: Schema, params: dict[str, Any]) -> Any:
    """``alg``'s state spec; a state parameter its state does not take is named."""
    try:
        return alg.state_spec(schema, **params)
    except TypeError as err:
        import inspect

        made = [alg.model.make_state, getattr(alg.model, "state_class", None)]
        found = [p for f in made if f is not None for p in inspect.signature(f).parameters]
        skip = ("self", "cls", "n_features", "has_target", "state_params", "args", "kwargs")
        taken = list(dict.fromkeys(p for p in found if p not in skip))
        if "unexpected keyword" not in str(err) and "positional" not in str(err):
            raise
        raise ValueError(
            f"State parameters of {alg.name!r} must be among those its state takes "
            f"({', '.join(taken) or 'none'}), but got {', '.join(params) or 'none'} ({err})."
        ) from None


def plan_slots(
    algorithms: Sequence[str] | str,
    schema: Schema,
    *,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
    state_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Slot]:
    """The slots a pass fills for ``algorithms`` on data of ``schema``: each algorithm's state
    (algorithms sharing a spec share it) and, when some metric needs row-by-row predictions,
    the held-out sample.

    ``max_lag`` is the state parameter of series data's lagged moments (default 8).
    ``state_params`` gives other algorithms' state parameters by name, e.g.
    ``{"kmeans": {"k_max": 50, "size": 20_000}}`` (each algorithm's ``make_state`` says which
    it takes); algorithms given different parameters for one kind of state get a state each. With
    ``metrics`` (those that will be scored), the sample is kept only if one of them needs it:
    a pass for exact metrics (MSE, log-likelihood) then skips the sample's cost."""
    if isinstance(algorithms, str):
        algorithms = [algorithms]
    if not algorithms:
        raise ValueError("`algorithms` must name at least one algorithm, but got none.")
    algs = [get_algorithm(a) for a in algorithms]
    params: dict[str, Any] = {"max_lag": max_lag} if schema.is_series else {}
    if max_lag is not None and (isinstance(max_lag, bool) or not isinstance(max_lag, int)):
        raise TypeError(f"`max_lag` must be an integer, but got {max_lag!r}.")
    if max_lag is not None and max_lag < 1:
        raise ValueError(f"`max_lag >= 1` must hold, but got max_lag={max_lag}.")
    for alg in algs:
        _check(alg, schema)
    own = _state_params(state_params, algs)
    specs = list(dict.fromkeys(_spec(a, schema, {**params, **own.get(a.name, {})}) for a in algs))
    slots = [Slot(MODEL, s) for s in specs]
    if _wants_sample(algs, metrics):
        slots.append(Slot(HELD_OUT_SAMPLE, sample_spec(schema, specs, seed)))
    return unique_slots(slots)
