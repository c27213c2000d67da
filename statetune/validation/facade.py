"""The public passes: algorithm names in, a :class:`StateSet` out.

``compute_states``, ``iter_states`` and ``update`` turn names into slots
(:func:`~statetune.validation.plan.plan_slots`), hand them to the engine or the cache with one
:class:`~statetune.engine.options.PassOptions`, and wrap the fold states they return (and the
snapshots and interrupted states on the way) as StateSets that finalize and score.

Example
-------
>>> import numpy as np, statetune as st
>>> X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0]
>>> st.compute_states(st.from_arrays(X, y), ["ridge", "pca"], folds=5).n_rows
100
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from statetune.algorithms.registry import resolve_algorithm, resolve_keys
from statetune.data.source import Source
from statetune.engine import (
    FoldConfig,
    FoldStates,
    PassInterrupted,
    PassOptions,
    TimeFolds,
    iter_pass,
    run_pass,
)
from statetune.engine.executors import Executor
from statetune.engine.time_folds import fold_scheme
from statetune.state_cache import (
    CacheReport,
    StateCache,
    cached_pass_reported,
    extend,
    save_states,
    update_entry_reported,
)
from statetune.validation.fold_checks import warn_folds_confounded
from statetune.validation.plan import plan_slots
from statetune.validation.stateset import StateSet

__all__ = ["compute_states", "iter_states", "update"]


def _check_source(source: Any) -> Source:
    if not isinstance(source, Source):
        raise TypeError(
            f"`source` must be a statetune source (st.from_arrays, from_pandas, from_csv, "
            f"from_parquet, from_batches), but got {type(source).__name__}."
        )
    return source


def _names(algorithms: Sequence[str] | str) -> list[str]:
    return [algorithms] if isinstance(algorithms, str) else list(algorithms)


def _wrapping(
    callback: Callable[[StateSet], Any] | None, names: list[str] | None
) -> Callable[[FoldStates], Any] | None:
    if callback is None:
        return None
    return lambda snap: callback(StateSet.of(snap, names))


def _plan(
    source: Any,
    algorithms: Sequence[str] | str,
    folds: Any,
    seed: int,
    max_lag: int | None,
    metrics: Sequence[str] | None,
    state_params: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[Source, list[str], Any, list[Any]]:
    """What a pass needs from the public arguments: the checked source, the algorithm
    names, the fold scheme and the slots to fill."""
    source = _check_source(source)
    # an alias ("knn") names its classifier or regressor by the target, as in st.tune
    names = list(dict.fromkeys(resolve_algorithm(n, source.schema) for n in _names(algorithms)))
    state_params = resolve_keys(state_params, source.schema)
    fold_cfg = fold_scheme(folds, seed, source.schema.is_series)
    slots = plan_slots(
        names,
        source.schema,
        max_lag=max_lag,
        metrics=metrics,
        seed=fold_cfg.seed,
        state_params=state_params,
    )
    return source, names, fold_cfg, slots


def compute_states(
    source: Source,
    algorithms: Sequence[str] | str,
    folds: int | FoldConfig | TimeFolds = 5,
    *,
    cache: StateCache | str | None = None,
    strict: bool = False,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    every: int | None = None,
    callback: Callable[[StateSet], Any] | None = None,
    progress: Callable[[int], Any] | None = None,
    checkpoint_rows: int | None = 5_000_000,
    checkpoint_seconds: float | None = 60.0,
    executor: Executor | None = None,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
    state_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> StateSet:
    """One pass over ``source`` computing every state ``algorithms`` need, for each fold; with
    ``cache``, only the segments the cache lacks are read.

    Parameters
    ----------
    source : Source
        From ``st.from_arrays``, ``from_pandas``, ``from_csv``, ``from_parquet``,
        ``from_series`` or ``from_batches``.
    algorithms : list of str
        Registry names (``"ridge"``, ``"pca"``, ...); algorithms sharing a state share it.
    folds : int, default 5
        Number of cross-validation folds (1: no validation); series data gets time folds.
    cache : StateCache or path, optional
        Where states persist (see :mod:`statetune.state_cache.compute` for the lineage rules).
        The result's ``cache_report`` (a :class:`~statetune.state_cache.CacheReport`, also
        logged at INFO on ``statetune.state_cache``) says how many rows were read and how many
        came from the cache.
    strict : bool, default False
        Raise instead of rebuilding when a cached lineage no longer matches the source.
    seed : int, default 0
        Seed of the fold assignment (and of the held-out sample).
    n_jobs, backend, every, callback, progress, executor : optional
        How the pass runs (see :class:`~statetune.engine.options.PassOptions`);
        ``callback(snapshot)`` sees each intermediate StateSet.
    checkpoint_rows, checkpoint_seconds : optional
        With a cache, save the running pass every so many rows or seconds (and on Ctrl-C); a
        killed pass resumes from its last checkpoint when called again.
    max_lag : int, optional
        Lags kept for series data (default 8): forecasters can use up to that many.
    metrics : list of str, optional
        The metrics that will be scored; a held-out row sample is kept only if one needs it
        (default: kept whenever an algorithm has such metrics).
    state_params : dict, optional
        State parameters by algorithm, e.g. ``{"kmeans": {"k_max": 50, "size": 20_000}}``
        (see :func:`statetune.validation.plan.plan_slots`).

    Returns
    -------
    StateSet

    Examples
    --------
    >>> import numpy as np, statetune as st
    >>> X = np.random.default_rng(0).normal(size=(100, 2)); y = X[:, 0]
    >>> st.compute_states(st.from_arrays(X, y), ["ridge", "pca"], folds=5).n_rows
    100
    """
    source, names, fold_cfg, slots = _plan(
        source, algorithms, folds, seed, max_lag, metrics, state_params
    )
    options = PassOptions(n_jobs, backend, every, _wrapping(callback, names), progress, executor)
    report = None
    try:
        if cache is None:
            result = run_pass(source, slots, fold_cfg, options)
        else:
            result, report = cached_pass_reported(
                source,
                slots,
                fold_cfg,
                options,
                cache=cache,
                strict=strict,
                checkpoint_rows=checkpoint_rows,
                checkpoint_seconds=checkpoint_seconds,
            )
    except PassInterrupted as stop:
        raise PassInterrupted(StateSet.of(stop.partial, names)) from stop.__cause__
    warn_folds_confounded(result)
    return _reported(StateSet.of(result, names), report)


def _reported(states: StateSet, report: CacheReport | None) -> StateSet:
    """``states`` with ``cache_report`` set (a new StateSet when ``states`` already has one)."""
    if report is None:
        return states
    if states.cache_report is not None:
        states = StateSet.of(states, list(states.algorithms))
    states.cache_report = report
    return states


def iter_states(
    source: Source,
    algorithms: Sequence[str] | str,
    folds: int | FoldConfig | TimeFolds = 5,
    *,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    every: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], Any] | None = None,
    max_lag: int | None = None,
    metrics: Sequence[str] | None = None,
    state_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[StateSet]:
    """Run a pass, yielding intermediate :class:`StateSet` snapshots (every ``every`` rows in a
    sequential pass, after each partition in a parallel one) and the final one last; every
    snapshot finalizes to working models.

    Examples
    --------
    >>> import numpy as np, statetune as st
    >>> X = np.random.default_rng(0).normal(size=(1000, 3)); y = X.sum(axis=1)
    >>> snaps = list(st.iter_states(st.from_arrays(X, y), ["ridge"], folds=2, every=400))
    >>> [s.n_rows for s in snaps]
    [400, 800, 1000]
    """
    source, names, fold_cfg, slots = _plan(
        source, algorithms, folds, seed, max_lag, metrics, state_params
    )
    options = PassOptions(n_jobs, backend, every, None, progress, executor)
    try:
        for snap in iter_pass(source, slots, fold_cfg, options):
            yield StateSet.of(snap, names)
    except PassInterrupted as stop:
        raise PassInterrupted(StateSet.of(stop.partial, names)) from stop.__cause__


def update(
    states: StateSet | str,
    new_source: Source,
    *,
    cache: StateCache | str | None = None,
    n_jobs: int = 1,
    progress: Callable[[int], Any] | None = None,
) -> StateSet:
    """Append the rows of ``new_source`` that ``states`` have not absorbed yet.

    Parameters
    ----------
    states : StateSet or str
        States in memory (not changed; a new StateSet is returned), or a cache key (or unique
        key prefix) whose entry is extended and saved back.
    new_source : Source
        Its segments already in the lineage (same fingerprint) are skipped; the others are read,
        at row positions after the rows already absorbed.
    cache : StateCache or path, optional
        The cache holding the key (default ``.statetune``); with states in memory, the
        extended states are saved into it (under the keys a cached pass over the same data
        uses), which needs a fingerprint for every segment they absorbed: states computed
        without a cache are refused. ``cache_report`` on the result says how many rows were
        read and how many came from the cache.

    Examples
    --------
    >>> import numpy as np, statetune as st
    >>> s = st.compute_states(st.from_arrays(np.eye(4), np.ones(4)), ["ols"], folds=2)
    >>> st.update(s, st.from_arrays(np.eye(4) * 2, np.ones(4))).n_rows
    8
    """
    new_source = _check_source(new_source)
    options = PassOptions(n_jobs=n_jobs, progress=progress)
    if isinstance(states, FoldStates):
        names = list(states.algorithms) if isinstance(states, StateSet) else None
        if cache is not None:
            saved, report = save_states(states, new_source, cache)
            return _reported(StateSet.of(saved, names), report)
        result = extend(states, new_source, options)
        return (
            states
            if result is states and isinstance(states, StateSet)
            else StateSet.of(result, names)
        )
    result, report = update_entry_reported(states, new_source, cache=cache, options=options)
    return _reported(StateSet.of(result), report)
