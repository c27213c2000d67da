"""The ``statetune`` command: ``tune``, ``predict``, ``forecast``, ``update``, ``cache``, ``info``.

Exit codes: 0 success; 1 bad input or data (the message says what and where); 2 bad usage
(argparse); 130 interrupted.

Example
-------
>>> from statetune.cli import build_parser
>>> build_parser().parse_args(["info"]).command
'info'
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "main", "source_from_path"]

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_ALGORITHMS = {
    "regression": ["ridge", "elastic_net", "pcr"],
    "classification": ["lda", "qda", "gaussian_nb", "ridge_classifier"],
    "forecast": ["autoregressive"],
}


def source_from_path(
    path: str,
    target: str | None,
    weight: str | None = None,
    series: str | None = None,
    time: str | None = None,
) -> Any:
    """A Parquet or CSV source from a file or folder path (by extension or folder content);
    ``series``/``time`` name the id and timestamp columns of forecasting data."""
    import functools

    import statetune as st

    from_parquet = functools.partial(st.from_parquet, series=series, time=time)
    from_csv = functools.partial(st.from_csv, series=series, time=time)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"Data path {path!r} must exist, but does not.")
    if p.is_dir():
        kinds = {q.suffix for q in p.rglob("*") if q.suffix in (".parquet", ".csv")}
        if kinds == {".parquet"}:
            return from_parquet(p, target, weight)
        if kinds == {".csv"}:
            return from_csv(p, target, weight)
        raise ValueError(
            f"Folder {path!r} must hold only .parquet or only .csv files, but holds {sorted(kinds) or 'neither'}."
        )
    if p.suffix == ".parquet":
        return from_parquet(p, target, weight)
    if p.suffix == ".csv":
        return from_csv(p, target, weight)
    raise ValueError(f"Data file {path!r} must end in .parquet or .csv, but ends in {p.suffix!r}.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statetune",
        description="Hyperparameter tuning from one pass of mergeable states.",
        epilog="Exit codes: 0 ok, 1 bad input or data, 2 bad usage, 130 interrupted.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser(
        "tune", help="one pass over the data, then an Optuna study over the algorithms"
    )
    t.add_argument("data", help="a .parquet/.csv file or a folder of them")
    t.add_argument("--target", required=True, help="target column")
    t.add_argument("--weight", help="sample-weight column")
    t.add_argument(
        "--series", help="series id column: the target holds many time series (long format)"
    )
    t.add_argument("--time", help="timestamp column, checked to increase within each series")
    t.add_argument(
        "--task",
        choices=("auto", "regression", "classification", "forecast"),
        default="auto",
        help="what to tune; auto: forecast with --series/--time, classification for a label "
        "target (strings, categories), else regression (default: %(default)s)",
    )
    t.add_argument(
        "--algorithms",
        help="comma-separated registry names (default: ridge,elastic_net,pcr for regression; "
        "lda,qda,gaussian_nb,ridge_classifier for classification; autoregressive for forecast)",
    )
    t.add_argument(
        "--max-lag",
        type=int,
        help="forecast: lags kept by the pass; orders up to it are searched (default: 8)",
    )
    t.add_argument(
        "--trials", type=int, default=200, help="trials in the study (default: %(default)s)"
    )
    t.add_argument("--cv", type=int, default=5, help="folds (default: %(default)s)")
    t.add_argument("--metric", help="metric (default: the algorithms' first, e.g. mse)")
    t.add_argument("--jobs", type=int, default=1, help="parallel workers (default: %(default)s)")
    t.add_argument(
        "--seed", type=int, default=0, help="seed of folds and sampler (default: %(default)s)"
    )
    t.add_argument(
        "--storage", help="Optuna storage URL, or 'memory' (default: journal file in --cache-dir)"
    )
    t.add_argument(
        "--study-name", help="resume or name the study (default: derived from data and settings)"
    )
    t.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--resume: continue the existing study even in another search space (its trials "
        "outside it never count nor give the best); --no-resume: always start a new study "
        "(default: resume only a study made with the same data and settings)",
    )
    t.add_argument(
        "--cache-dir",
        default=".statetune",
        help="folder for the study journal (default: %(default)s)",
    )
    t.add_argument(
        "--out",
        default="results",
        help="folder for best_model/, trials.csv, plots (default: %(default)s)",
    )
    t.add_argument("--no-progress", action="store_true", help="hide progress bars")
    t.add_argument(
        "--no-cache", action="store_true", help="do not read or write states in --cache-dir"
    )

    p = sub.add_parser("predict", help="predict with a saved model")
    p.add_argument("model", help="a best_model folder written by `statetune tune`")
    p.add_argument("data", help="a .parquet/.csv file with the model's feature columns")
    p.add_argument("--out", required=True, help="output .parquet or .csv")

    f = sub.add_parser("forecast", help="forecast every series of a saved forecasting model")
    f.add_argument("model", help="a best_model folder written by `statetune tune --task forecast`")
    f.add_argument("--steps", type=int, default=1, help="steps ahead (default: %(default)s)")
    f.add_argument("--out", required=True, help="output .parquet or .csv (series, step, forecast)")

    u = sub.add_parser("update", help="extend cached states with the data they have not absorbed")
    u.add_argument("data", help="a .parquet/.csv file or a folder of them")
    u.add_argument("--target", help="target column (as when the states were built)")
    u.add_argument("--weight", help="sample-weight column")
    u.add_argument("--series", help="series id column (as when the states were built)")
    u.add_argument("--time", help="timestamp column (as when the states were built)")
    u.add_argument("--key", help="update this entry only (default: every entry with this schema)")
    u.add_argument(
        "--cache-dir", default=".statetune", help="the cache folder (default: %(default)s)"
    )

    c = sub.add_parser("cache", help="inspect and clean the state cache")
    c.add_argument(
        "--cache-dir", default=".statetune", help="the cache folder (default: %(default)s)"
    )
    csub = c.add_subparsers(dest="cache_command", required=True)
    csub.add_parser("ls", help="entries with kind, rows, segments, size and age")
    ci = csub.add_parser("info", help="spec and lineage of one entry")
    ci.add_argument("key", help="an entry key (a unique prefix is enough)")
    csub.add_parser("verify", help="check every entry's checksum; exit 1 if any is corrupt")
    cg = csub.add_parser("gc", help="delete corrupt entries and (with --keep-last) older ones")
    cg.add_argument("--keep-last", type=int, help="keep the N most recently written entries")

    i = sub.add_parser("info", help="list algorithms, their states, metrics and search spaces")
    i.add_argument("algorithm", nargs="?", help="show one algorithm only")
    return parser


def _tune(args: argparse.Namespace) -> int:
    import statetune as st

    if args.task == "forecast" and not (args.series or args.time):
        raise ValueError(
            "`--task forecast` needs the series layout: pass --time (the timestamp column) "
            "and, for many series in long format, --series (the id column)."
        )
    source = source_from_path(args.data, args.target, args.weight, args.series, args.time)
    task = args.task
    if task == "auto":
        if source.schema.is_series:
            task = "forecast"
        else:
            task = "classification" if source.schema.target_is_labels else "regression"
    elif source.schema.is_series and task != "forecast":
        raise ValueError(
            f"--series/--time describe time series, which `--task {task}` does not tune; "
            "use --task forecast, or drop --series/--time."
        )
    if args.algorithms:
        algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    else:
        algorithms = DEFAULT_ALGORITHMS[task]
    print(f"task: {task}; algorithms: {', '.join(algorithms)}")
    result = st.tune(
        source,
        algorithms,
        n_trials=args.trials,
        cv=args.cv,
        metric=args.metric,
        n_jobs=args.jobs,
        seed=args.seed,
        storage=args.storage,
        study_name=args.study_name,
        cache_dir=args.cache_dir,
        cache=None if args.no_cache else st.StateCache(args.cache_dir),
        progress=not args.no_progress,
        max_lag=args.max_lag,
        resume=args.resume,
    )
    out = result.save(args.out)
    print(result.summary())
    print(
        f"study: {result.study.study_name} ({len(result.study.trials)} trials, {result.n_new_trials} new)"
    )
    print(f"saved: {out}/best_model, {out}/trials.csv, plots in {out}/")
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    import statetune as st
    from statetune.data.frames import read_frame

    model = st.load_model(args.model)
    path = Path(args.data)
    df = read_frame(path)  # as the sources read files: index columns are not columns
    schema = getattr(model, "statetune_schema_", None)
    features = (
        [str(c) for c in model.feature_names_in_]  # a table's columns (before its encoding)
        if hasattr(model, "feature_names_in_")
        else list(schema["features"])
        if schema
        else [f"x{i}" for i in range(model.n_features_in_)]
    )
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise ValueError(
            f"The data must hold the model's feature columns, but {args.data!r} lacks {missing}."
        )
    X = df[features]
    if hasattr(model, "predict"):
        out = pd.DataFrame({"prediction": np.asarray(model.predict(X))}, index=df.index)
    else:
        Z = model.transform(X)
        out = pd.DataFrame(Z, columns=[f"component_{i}" for i in range(Z.shape[1])], index=df.index)
    dest = _write_frame(out, args.out)
    print(f"wrote {len(out)} rows to {dest}")
    return EXIT_OK


def _write_frame(out: Any, path: str) -> Path:
    """Write a DataFrame as CSV (by extension) or Parquet, creating the folder."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.suffix == ".csv":
        out.to_csv(dest, index=False)
    else:
        out.to_parquet(dest, index=False)
    return dest


def _forecast(args: argparse.Namespace) -> int:
    import pandas as pd

    import statetune as st

    model = st.load_model(args.model)
    if not hasattr(model, "forecast"):
        raise ValueError(
            f"The model must forecast (tuned with --task forecast), but {args.model!r} holds a "
            f"{type(model).__name__}; use `statetune predict`."
        )
    if args.steps < 1:
        raise ValueError(f"`--steps >= 1` must hold, but got --steps {args.steps}.")
    if getattr(model, "n_exog_", 0):
        schema = getattr(model, "statetune_schema_", None) or {}
        names = list(schema.get("features", [])) or f"{model.n_exog_} columns"
        raise ValueError(
            f"The model uses exogenous columns {names}, whose future values forecasting needs; "
            "forecast in Python with model.forecast(steps=..., series=..., exog=future_rows), "
            "or tune on the series alone (drop those columns)."
        )
    frames = []
    for key in model.state_.series_ids.tolist():
        values = model.forecast(steps=args.steps, series=key)
        frames.append(
            pd.DataFrame({"series": key, "step": range(1, args.steps + 1), "forecast": values})
        )
    out = pd.concat(frames, ignore_index=True)
    dest = _write_frame(out, args.out)
    print(f"wrote {len(out)} forecasts ({len(frames)} series x {args.steps} steps) to {dest}")
    return EXIT_OK


def _update(args: argparse.Namespace) -> int:
    import statetune as st

    cache = st.StateCache(args.cache_dir)
    source = source_from_path(args.data, args.target, args.weight, args.series, args.time)
    if args.key:
        keys = [cache.resolve(args.key)]
    else:
        schema = source.schema.to_json()
        keys = [
            e["key"]
            for e in cache.entries()
            if e["valid"] and cache.info(e["key"])["spec"]["schema"] == schema
        ]
        if not keys:
            raise ValueError(
                f"The cache must hold states with this data's schema to update, but {cache} has none; "
                "run `statetune tune` (or st.compute_states with a cache) first."
            )
    from statetune.state_cache.compute import series_group

    done: set[str] = set()
    for key in keys:
        if key in done:
            continue
        group = series_group(cache, key)  # series: lagged moments and their samples together
        done.update(group)
        before = cache.load(group[0]).n_rows
        after = st.update(group[0], source, cache=cache)
        also = f" (with {', '.join(group[1:])})" if len(group) > 1 else ""
        print(
            f"{group[0]}: {before:,} -> {after.n_rows:,} rows ({after.n_rows - before:,} new){also}"
        )
    return EXIT_OK


def _cache(args: argparse.Namespace) -> int:
    import statetune as st

    cache = st.StateCache(args.cache_dir)
    if args.cache_command == "ls":
        rows = cache.entries()
        print(f"{'key':<22}{'kind':<10}{'rows':>12}{'segments':>10}{'size':>10}{'age':>10}  state")
        for e in rows:
            status = e["status"] if not e["valid"] else ("in use" if e["in_use"] else "ok")
            print(
                f"{e['key']:<22}{e.get('kind', '?'):<10}{e.get('n_rows', 0):>12,}{e.get('segments', 0):>10}"
                f"{_size(e['size_bytes']):>10}{_age(e['age_seconds']):>10}  {status}"
            )
        for e in rows:
            if not e["valid"]:
                print(f"{e['key']}: {e['problem']}", file=sys.stderr)
        return EXIT_OK
    if args.cache_command == "info":
        import json

        print(json.dumps(cache.info(args.key), indent=2))
        return EXIT_OK
    if args.cache_command == "verify":
        results = cache.verify()  # one read of every entry
        for r in results:
            print(
                f"{r['key']}: {'ok' if r['valid'] else r['status'].upper() + ': ' + str(r['problem'])}"
            )
        return EXIT_DATA if any(not r["valid"] for r in results) else EXIT_OK
    deleted = cache.gc(keep_last=args.keep_last)
    print(
        f"deleted {len(deleted)} entr{'y' if len(deleted) == 1 else 'ies'}: {', '.join(deleted) or '-'}"
    )
    return EXIT_OK


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}GiB"


def _age(seconds: float) -> str:
    for unit, div in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= div:
            return f"{seconds / div:.0f}{unit}"
    return f"{seconds:.0f}s"


def _info(args: argparse.Namespace) -> int:
    from statetune.algorithms import available_algorithms, get_algorithm

    names = [args.algorithm] if args.algorithm else available_algorithms()
    for name in names:
        alg = get_algorithm(name)
        model = alg.model()
        print(f"{name}: {alg.description}")
        print(f"  state: {alg.state_kind}   task: {alg.task}   metrics: {', '.join(alg.metrics)}")
        print(f"  hyperparameters: {', '.join(sorted(model.get_params()))}")
        print(f"  search space: {_space_doc(name)}")
    print(
        "Ranges are those of a small reference sample; ranges marked 'bounds from the data' "
        "follow each dataset's state."
    )
    return EXIT_OK


#: The reference states ``info`` describes spaces on: (columns, scale) of the rows. The first
#: is shown; a bound that differs on the others moves with the data's scale or width.
_REFERENCES = ((4, 1.0), (4, 100.0), (5, 1.0))


def _space_doc(name: str) -> str:
    """The algorithm's declared search space, evaluated on small reference states.

    Spaces may be bounded by the state (``alpha`` by the columns' scatter, ``n_components`` by
    the column count), so the ranges shown are those of fixed reference rows (not test data:
    100 rows of 4 unit-variance count columns and a 0/1 target, or a random walk for series),
    and a parameter whose range moves when the rows are scaled or widened is marked.
    """
    from statetune.algorithms import get_algorithm
    from statetune.algorithms.params import describe_space

    alg = get_algorithm(name)
    shown, *others = [alg.search_space(_reference_state(alg, d, k)) for d, k in _REFERENCES]
    moves = [p for p in shown if any(other.get(p) != shown[p] for other in others)]
    return "; ".join(f"{p}: {text}" for p, text in describe_space(shown, moves).items())


def _reference_state(alg: Any, n_features: int, scale: float) -> Any:
    """A state of ``alg``'s kind on fixed rows whose values are multiplied by ``scale``.

    The rows suit moment, class and count states alike: Poisson(1) counts (non-negative,
    unit variance) and a 0/1 target that depends on them.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    if not alg.model.for_rows:  # forecasters learn from series only
        state = alg.make_state(0, True)
        state.update(scale * np.cumsum(rng.normal(size=200)))
        return state
    X = rng.poisson(1.0, size=(100, n_features)).astype(np.float64)
    y = (X[:, 0] > X[:, 1]).astype(np.float64)
    state = alg.make_state(n_features, True)
    state.update(scale * X, scale * y)
    return state


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "tune": _tune,
        "predict": _predict,
        "forecast": _forecast,
        "update": _update,
        "cache": _cache,
        "info": _info,
    }
    try:
        return handlers[args.command](args)
    except BrokenPipeError:  # `statetune info | head`
        return EXIT_OK
    except KeyboardInterrupt:
        print("statetune: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, KeyError, FileNotFoundError, PermissionError, OSError) as err:
        print(f"statetune: error: {err}", file=sys.stderr)
        if os.environ.get("STATETUNE_DEBUG"):
            raise
        return EXIT_DATA


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
