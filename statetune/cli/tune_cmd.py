"""``statetune tune``: one pass, one study; then a warning for best values on a range's edge.

A best value at the edge of its range (within 1% of the range's width, on the log scale for
log ranges; exactly at it for integers) suggests the optimum lies beyond. The CLI says so when
the states can serve a value beyond that edge (finalizing there works); a hard limit such as
``n_components`` at the number of features, or ``l1_ratio`` at 1, is not reported.

Example
-------
>>> from statetune.algorithms.params import FloatParam
>>> edge_of(9.99, FloatParam(0.01, 10.0, log=True))
'upper'
>>> edge_of(1.0, FloatParam(0.01, 10.0, log=True)) is None
True
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import warnings
from typing import Any

import numpy as np

from statetune.algorithms.params import FloatParam, IntParam
from statetune.cli._common import DEFAULT_CACHE_DIR, EXIT_OK, EXIT_USAGE, source_from_path
from statetune.cli.space_file import load_search_space
from statetune.cli.study_options import make_pruner, make_sampler

__all__ = ["DEFAULT_ALGORITHMS", "EDGE_BAND", "edge_of", "edge_warnings", "run_tune"]

DEFAULT_ALGORITHMS = {
    "regression": ["ridge", "elastic_net", "pcr"],
    "classification": ["lda", "qda", "gaussian_nb", "ridge_classifier"],
    "forecast": ["autoregressive"],
    "cluster": ["kmeans"],
    "anomaly": ["isolation_forest"],
}
#: How close to an edge (fraction of the range's width) counts as on it, for float ranges.
EDGE_BAND = 0.01


def edge_of(value: Any, dist: Any) -> str | None:
    """``"lower"``/``"upper"`` if ``value`` sits on that edge of ``dist``'s range, else None."""
    if isinstance(dist, IntParam):
        if dist.low == dist.high:
            return None
        return "lower" if value == dist.low else "upper" if value == dist.high else None
    if not isinstance(dist, FloatParam) or dist.high <= dist.low:
        return None
    f = math.log if dist.log else float
    t = (f(value) - f(dist.low)) / (f(dist.high) - f(dist.low))
    return "lower" if t <= EDGE_BAND else "upper" if t >= 1 - EDGE_BAND else None


def _beyond(dist: Any, edge: str) -> Any:
    """A value past ``edge`` of ``dist``'s range."""
    if isinstance(dist, IntParam):
        return dist.low - 1 if edge == "lower" else dist.high + 1
    if dist.log:
        return dist.low / 10 if edge == "lower" else dist.high * 10
    width = dist.high - dist.low
    return dist.low - width if edge == "lower" else dist.high + width


def _serves(states: Any, algorithm: str, params: dict[str, Any]) -> bool:
    """Whether the states finalize ``algorithm`` at ``params`` (numerically singular counts
    as served: the value is valid, the data just cannot pin it down)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            states.finalize(algorithm, params)
    except np.linalg.LinAlgError:
        return True
    except (ValueError, TypeError, ArithmeticError):
        return False
    return True


def edge_warnings(result: Any) -> list[str]:
    """One line per best parameter on a widenable edge of its range."""
    try:
        alg, params = result.best_algorithm, result.best_params
    except ValueError:  # no trial completed: nothing to say about ranges
        return []
    out = []
    for name, dist in result.spaces[alg].items():
        if name not in params:
            continue
        edge = edge_of(params[name], dist)
        if edge is None or not _serves(result.states, alg, {**params, name: _beyond(dist, edge)}):
            continue
        out.append(
            f"warning: the best {alg} {name}={params[name]:g} sits on the {edge} bound of its "
            f"range [{dist.low:g}, {dist.high:g}]; the best value may lie beyond it: consider "
            "widening the range with --search-space."
        )
    return out


def _task(args: argparse.Namespace, source: Any) -> str:
    if args.task != "auto":
        if source.schema.is_series and args.task != "forecast":
            raise ValueError(
                f"--series/--time describe time series, which `--task {args.task}` does not "
                "tune; use --task forecast, or drop --series/--time."
            )
        return str(args.task)
    if source.schema.is_series:
        return "forecast"
    return "classification" if source.schema.target_is_labels else "regression"


def _note_few_integers(source: Any, most: int = 10) -> None:
    """When ``--task auto`` chose regression for a target whose first rows hold a few integers
    (0/1 labels read as numbers), say so, and how to tune classes instead."""
    import numpy as np

    try:
        part = source.partitions()[0]
        y = next(iter(part.chunks(source.schema))).y
    except Exception:  # a hint only: the pass (or the table fallback) deals with the data
        return
    if y is None or not len(y):
        return
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    values = np.unique(y)
    if 0 < values.size <= most and np.all(values == np.round(values)):
        shown = ", ".join(f"{v:g}" for v in values)
        print(
            f"note: target {source.schema.target!r} holds {values.size} distinct integers in "
            f"its first {len(y)} rows ({shown}): tuned as regression; pass --task "
            "classification to tune them as classes.",
            file=sys.stderr,
        )


def _as_table(args: argparse.Namespace, err: Exception) -> Any:
    """The files at ``args.data`` streamed as a table when ``err`` is a file source refusing
    a text column or a missing value (see :mod:`statetune.cli.table_fallback`); else ``err``
    again."""
    from statetune.cli.table_fallback import needs_table, table_source

    if not needs_table(err) or args.series or args.time:
        raise err
    source, note = table_source(args.data, args.target, args.weight)
    print(note, file=sys.stderr)
    return source


def _metric(args: argparse.Namespace, source: Any) -> str | None:
    """``--metric``, or for ``--task anomaly`` ROC AUC with a label column and the excess
    mass without one."""
    if args.metric is None and args.task == "anomaly":
        return "roc_auc" if source.schema.has_target else "em"
    return None if args.metric is None else str(args.metric)


def _tune(
    source: Any,
    algorithms: list[str],
    args: argparse.Namespace,
    space: Any,
    cache_dir: Any,
    use_cache: bool,
    extra: dict[str, Any],
) -> Any:
    import statetune as st

    return st.tune(
        source,
        algorithms,
        n_trials=args.trials,
        cv=args.cv,
        metric=_metric(args, source),
        n_jobs=args.jobs,
        seed=args.seed,
        storage=args.storage,
        study_name=args.study_name,
        search_space=space,
        sampler=make_sampler(args.sampler, args.seed),
        pruner=make_pruner(args.pruner),
        cache_dir=cache_dir,
        cache=st.StateCache(cache_dir) if use_cache else None,
        progress=not args.no_progress,
        max_lag=args.max_lag,
        resume=args.resume,
        **extra,
    )


def run_tune(args: argparse.Namespace) -> int:
    import statetune as st

    if args.task == "cluster" and args.target is not None:
        raise ValueError(
            f"`--task cluster` tunes k-means on the feature columns alone, but got --target "
            f"{args.target!r}; drop --target, or choose a supervised --task."
        )
    if args.task not in ("cluster", "anomaly") and args.target is None:  # a usage error
        print(
            f"statetune tune: error: --target names the column to predict and is required "
            f"for `--task {args.task}`; for data without a target use --task cluster or "
            "--task anomaly.",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USAGE)
    if args.task == "forecast" and not (args.series or args.time):
        raise ValueError(
            "`--task forecast` needs the series layout: pass --time (the timestamp column) "
            "and, for many series in long format, --series (the id column)."
        )
    extra: dict[str, Any] = {}
    if args.timeout is not None:
        if not args.timeout > 0:
            raise ValueError(f"`--timeout > 0` must hold, but got --timeout {args.timeout}.")
        if "timeout" not in inspect.signature(st.tune).parameters:
            raise ValueError("`--timeout` needs a statetune whose tune() accepts timeout=.")
        extra["timeout"] = args.timeout
    if isinstance(args.storage, str) and args.storage not in ("memory", ":memory:"):
        from statetune.tuner.storage import open_storage_url

        # A database URL is connected to now: unreachable, it fails before the data is read.
        args.storage = open_storage_url(args.storage)
    if args.scheduler:  # before any work: an unreachable scheduler fails at once, named
        extra["executor"] = st.DaskExecutor(args.scheduler)
    try:
        return _run_tune(args, extra)
    finally:
        if "executor" in extra:
            extra["executor"].close()


def _run_tune(args: argparse.Namespace, extra: dict[str, Any]) -> int:
    try:
        source = source_from_path(args.data, args.target, args.weight, args.series, args.time)
    except (TypeError, ValueError) as err:
        source = _as_table(args, err)
    task = _task(args, source)
    if args.algorithms:
        algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    else:
        algorithms = DEFAULT_ALGORITHMS[task]
    space = load_search_space(args.search_space, algorithms) if args.search_space else None
    # `--storage memory` keeps everything in memory: no state cache on disk either, unless
    # --cache-dir names one.
    in_memory = args.storage in ("memory", ":memory:")
    cache_dir = args.cache_dir or DEFAULT_CACHE_DIR
    use_cache = not args.no_cache and (args.cache_dir is not None or not in_memory)
    print(f"task: {task}; algorithms: {', '.join(algorithms)}")
    if args.task == "auto" and task == "regression":
        _note_few_integers(source)
    try:
        try:
            result = _tune(source, algorithms, args, space, cache_dir, use_cache, extra)
        except (TypeError, ValueError) as err:
            if getattr(source.schema, "encoding", None) is not None:
                raise
            result = _tune(
                _as_table(args, err), algorithms, args, space, cache_dir, use_cache, extra
            )
    except ValueError as err:
        if space and "search_space" in str(err):  # a range the data cannot serve
            raise ValueError(f"Search-space file {args.search_space!r}: {err}") from None
        raise
    print(result.summary())  # before save: a study where every trial failed says why first
    out = result.save(args.out)
    print(
        f"study: {result.study.study_name} ({len(result.study.trials)} trials, {result.n_new_trials} new)"
    )
    print(f"saved: {out}/best_model, {out}/trials.csv, plots in {out}/")
    for line in edge_warnings(result):
        print(line, file=sys.stderr)
    return EXIT_OK
