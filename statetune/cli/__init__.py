"""The ``statetune`` command: ``tune``, ``predict``, ``forecast``, ``update``, ``cache``, ``info``.

One module per command (``tune_cmd``, ``predict_cmd``, ``cache_cmd``, ``info_cmd``), the parser
in ``parser``, shared helpers in ``_common``. Run it as ``statetune ...``, ``python -m statetune
...`` or ``python -m statetune.cli ...``.

Exit codes: 0 success; 1 bad input or data (the message says what and where); 2 bad usage
(argparse); 130 interrupted.

Example
-------
>>> from statetune.cli import build_parser
>>> build_parser().parse_args(["info"]).command
'info'
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext

from statetune.cli._common import (
    EXIT_DATA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    source_from_path,
)
from statetune.cli.cache_cmd import run_cache, run_update
from statetune.cli.info_cmd import run_info
from statetune.cli.parser import build_parser
from statetune.cli.predict_cmd import run_forecast, run_predict
from statetune.cli.tune_cmd import DEFAULT_ALGORITHMS, run_tune

__all__ = [
    "DEFAULT_ALGORITHMS",
    "EXIT_DATA",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
    "source_from_path",
]


@contextmanager
def _optuna_quiet() -> Iterator[None]:
    """Optuna's INFO lines ("A new study created ...", one per trial) off while a command runs:
    the CLI prints its own progress and summary (the study's name among them). The library
    (``st.tune``) leaves Optuna's logging to the user; the CLI is a program, not a library."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(before, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = build_parser().parse_args(argv)
    handlers = {
        "tune": run_tune,
        "predict": run_predict,
        "forecast": run_forecast,
        "update": run_update,
        "cache": run_cache,
        "info": run_info,
    }
    try:
        with _optuna_quiet() if args.command == "tune" else nullcontext():
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
