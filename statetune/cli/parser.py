"""The argument parser of the ``statetune`` command.

Example
-------
>>> from statetune.cli.parser import build_parser
>>> build_parser().parse_args(["cache", "ls", "--cache-dir", "x"]).cache_dir
'x'
"""

from __future__ import annotations

import argparse

from statetune._version import __version__
from statetune.cli._common import DEFAULT_CACHE_DIR, OUTPUT_FORMATS
from statetune.cli.study_options import PRUNERS, SAMPLERS

__all__ = ["build_parser"]

_OUT = "/".join(OUTPUT_FORMATS)


def _data_layout(p: argparse.ArgumentParser, target_required: bool) -> None:
    """The columns that give a data path its meaning (as ``tune`` reads it)."""
    p.add_argument("--target", required=target_required, help="target column")
    p.add_argument("--weight", help="sample-weight column")
    p.add_argument(
        "--series", help="series id column: the target holds many time series (long format)"
    )
    p.add_argument("--time", help="timestamp column, checked to increase within each series")


def _tune_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "tune", help="one pass over the data, then an Optuna study over the algorithms"
    )
    t.add_argument("data", help="a .parquet/.csv file or a folder of them")
    _data_layout(t, target_required=False)
    t.add_argument(
        "--task",
        choices=("auto", "regression", "classification", "forecast", "cluster", "anomaly"),
        default="auto",
        help="what to tune; auto: forecast with --series/--time, classification for a label "
        "target (strings, categories), else regression; cluster: k-means, no --target; "
        "anomaly: isolation forest, --target optional (a 0/1 label column, 1 = anomaly: "
        "metric roc_auc, else em, needing no labels) (default: %(default)s)",
    )
    t.add_argument(
        "--algorithms",
        help="comma-separated registry names (default: ridge,elastic_net,pcr for regression; "
        "lda,qda,gaussian_nb,ridge_classifier for classification; autoregressive for forecast; "
        "kmeans for cluster; isolation_forest for anomaly)",
    )
    t.add_argument(
        "--max-lag",
        type=int,
        help="forecast: lags kept by the pass; orders up to it are searched (default: 8)",
    )
    t.add_argument(
        "--trials", type=int, default=200, help="trials in the study (default: %(default)s)"
    )
    t.add_argument(
        "--timeout",
        type=float,
        help="stop starting trials after this many seconds (default: no limit)",
    )
    t.add_argument("--cv", type=int, default=5, help="folds (default: %(default)s)")
    t.add_argument("--metric", help="metric (default: the algorithms' first, e.g. mse)")
    t.add_argument(
        "--search-space",
        metavar="FILE",
        help='JSON or YAML {algorithm: {param: spec}}, spec {"type": "float"|"int", "low": .., '
        '"high": .., "log": true} or {"choices": [..]}; replaces those parameters\' ranges',
    )
    t.add_argument(
        "--sampler",
        choices=tuple(SAMPLERS),
        default="tpe",
        help="Optuna sampler, seeded with --seed: "
        + "; ".join(f"{k}: {v}" for k, v in SAMPLERS.items())
        + " (default: %(default)s)",
    )
    t.add_argument(
        "--pruner",
        choices=tuple(PRUNERS),
        default="auto",
        help="Optuna pruner over the folds of a trial: "
        + "; ".join(f"{k}: {v}" for k, v in PRUNERS.items())
        + " (default: %(default)s)",
    )
    t.add_argument("--jobs", type=int, default=1, help="parallel workers (default: %(default)s)")
    t.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the pass and the trials on a Dask cluster: tcp://host:port of its scheduler, "
        "or local:N for a local cluster of N single-threaded worker processes (--jobs is then "
        "not used; see docs/dask.md)",
    )
    t.add_argument(
        "--seed", type=int, default=0, help="seed of folds and sampler (default: %(default)s)"
    )
    t.add_argument(
        "--storage",
        help="Optuna storage URL, or 'memory': nothing is written to disk but --out, unless "
        "--cache-dir is given (default: journal file in --cache-dir)",
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
        help=f"folder for cached states and the study journal (default: {DEFAULT_CACHE_DIR}; "
        "with --storage memory: no cache unless given)",
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


def _predict_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict with a saved model")
    p.add_argument("model", help="a best_model folder written by `statetune tune`")
    p.add_argument(
        "data", help="a .parquet/.csv file or a folder of them, with the model's feature columns"
    )
    p.add_argument(
        "--out", required=True, help=f"output file; its extension sets the format ({_OUT})"
    )
    p.add_argument("--id-column", help="copy this column of the data to the output, first")
    p.add_argument(
        "--proba",
        action="store_true",
        help="classifiers: write class probabilities, one column per class label",
    )

    f = sub.add_parser("forecast", help="forecast every series of a saved forecasting model")
    f.add_argument("model", help="a best_model folder written by `statetune tune --task forecast`")
    f.add_argument("--steps", type=int, default=1, help="steps ahead (default: %(default)s)")
    f.add_argument(
        "--out",
        required=True,
        help=f"output file (series, step, forecast); format by extension ({_OUT})",
    )


def _cache_parsers(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser("update", help="extend cached states with the data they have not absorbed")
    u.add_argument("data", help="a .parquet/.csv file or a folder of them")
    _data_layout(u, target_required=False)
    u.add_argument("--key", help="update this entry only (default: every entry with this schema)")
    u.add_argument(
        "--cache-dir", default=DEFAULT_CACHE_DIR, help="the cache folder (default: %(default)s)"
    )

    # --cache-dir is accepted before the cache subcommand and after it: the subcommands'
    # copy has no default (SUPPRESS), so it only overrides the one given before.
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--cache-dir",
        default=argparse.SUPPRESS,
        help=f"the cache folder (default: {DEFAULT_CACHE_DIR})",
    )
    c = sub.add_parser("cache", help="inspect and clean the state cache")
    c.add_argument(
        "--cache-dir", default=DEFAULT_CACHE_DIR, help="the cache folder (default: %(default)s)"
    )
    csub = c.add_subparsers(dest="cache_command", required=True)
    csub.add_parser("ls", parents=[shared], help="entries with kind, rows, segments, size and age")
    ci = csub.add_parser("info", parents=[shared], help="spec and lineage of one entry")
    ci.add_argument("key", help="an entry key (a unique prefix is enough)")
    csub.add_parser(
        "verify", parents=[shared], help="check every entry's checksum; exit 1 if any is corrupt"
    )
    cg = csub.add_parser(
        "gc",
        parents=[shared],
        help="delete corrupt entries and (with --keep-last) older ones, with their lock files",
    )
    cg.add_argument("--keep-last", type=int, help="keep the N most recently written entries")


def _info_parser(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser(
        "info",
        help="list algorithms, their states, metrics and search spaces (on your data with --data)",
    )
    i.add_argument("algorithm", nargs="?", help="show one algorithm only")
    i.add_argument(
        "--data", help="a .parquet/.csv file or folder: show the ranges a study on it searches"
    )
    _data_layout(i, target_required=False)
    i.add_argument("--max-lag", type=int, help="forecast: lags kept by the pass (default: 8)")
    i.add_argument("--cv", type=int, default=5, help="folds, as for tune (default: %(default)s)")
    i.add_argument("--seed", type=int, default=0, help="seed of the folds (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    """The ``statetune`` parser: ``tune``, ``predict``, ``forecast``, ``update``, ``cache``,
    ``info``, and ``--version``."""
    parser = argparse.ArgumentParser(
        prog="statetune",
        description="Hyperparameter tuning from one pass of mergeable states.",
        epilog="Exit codes: 0 ok, 1 bad input or data, 2 bad usage, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"statetune {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _tune_parser(sub)
    _predict_parsers(sub)
    _cache_parsers(sub)
    _info_parser(sub)
    return parser
