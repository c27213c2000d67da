"""Where studies live: an embedded Optuna journal file by default, any Optuna storage otherwise.

``JournalStorage(JournalFileBackend)`` needs no server and is safe for several processes on
one host; a database URL (PostgreSQL, MySQL, SQLite) lets many machines join one study. The
journal is opened through :func:`statetune.tuner.journal.open_journal`: a journal damaged by
a cut-short write (full disk, killed process) is repaired, keeping every complete record.

A database URL is opened by :func:`open_storage_url` as Optuna's ``RDBStorage`` (SQLAlchemy):

- it is connected to at once, with a connect timeout of :data:`CONNECT_TIMEOUT` seconds for
  PostgreSQL and MySQL (unless the URL sets ``connect_timeout``), so an unreachable server
  fails before any pass work, in an error naming the URL with its password masked;
- ``postgresql://`` uses SQLAlchemy's default driver (psycopg 3 since SQLAlchemy 2.1; install
  it with ``pip install 'statetune[postgres]'``); ``postgres://`` (as some hosts print it) is
  read as ``postgresql://``;
- Optuna creates its tables in an empty database on first use; several processes doing so at
  the same moment may collide (a duplicate table or version row): the loser tries again;
- it keeps Optuna's heartbeats (:data:`~statetune.tuner.heartbeat.HEARTBEAT_SECONDS`), so a
  trial whose process stopped on another host is failed and run again
  (:mod:`statetune.tuner.heartbeat`).

Example
-------
>>> from statetune.tuner.storage import resolve_storage, masked_url
>>> resolve_storage("memory", ".statetune") is None
True
>>> masked_url("postgresql://tuner:s3cret@db.example:5432/studies")
'postgresql://tuner:***@db.example:5432/studies'
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

from statetune.tuner.heartbeat import HEARTBEAT_SECONDS

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_CACHE_DIR",
    "JOURNAL_NAME",
    "masked_url",
    "open_storage_url",
    "resolve_storage",
]

DEFAULT_CACHE_DIR = Path(".statetune")
#: The study journal's file name in the cache folder.
JOURNAL_NAME = "optuna_journal.log"
#: Seconds to wait for a database server to accept a connection (PostgreSQL, MySQL).
CONNECT_TIMEOUT = 5
#: Attempts at opening a database whose tables another process is creating at the same time.
_CREATE_ATTEMPTS = 4


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (also when SQLAlchemy cannot parse it)."""
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _normalized(url: str) -> str:
    return "postgresql" + url[len("postgres") :] if url.startswith("postgres://") else url


def _engine_kwargs(url: str) -> dict[str, Any]:
    """A connect timeout for network databases, unless the URL sets one."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() in ("postgresql", "mysql") and (
        "connect_timeout" not in parsed.query
    ):
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}}
    return {}


def _reason(err: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's background link."""
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    text = text.splitlines()[0] if text else type(err).__name__
    return re.sub(r"\s*\(Background on this error at: .*\)$", "", text)


def open_storage_url(url: str) -> Any:
    """Optuna's storage for a database ``url``, connected to now (see the module doc).

    Raises ``ValueError`` naming the URL (password masked) when it cannot be parsed, its driver
    is not installed or the server cannot be reached in :data:`CONNECT_TIMEOUT` seconds.
    """
    import optuna

    shown = masked_url(url)
    url = _normalized(url)
    try:
        from sqlalchemy import exc

        kwargs = _engine_kwargs(url)
    except Exception as err:
        raise ValueError(
            f"`storage` must be 'memory' or a database URL such as "
            f"postgresql://user:password@host:5432/db, but {shown!r} fails: {_reason(err)}"
        ) from None
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                rdb = optuna.storages.RDBStorage(
                    url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_SECONDS
                )
            backend = optuna.storages.get_storage(rdb)
            backend.get_all_studies()  # touch it: fail now, with the URL, not mid-study
            return backend
        except ImportError as err:
            driver = " (pip install 'statetune[postgres]')" if url.startswith("postgres") else ""
            raise ValueError(
                f"`storage` must be reachable, but {shown!r} fails: its database driver is "
                f"not installed{driver}: {err.__cause__ or err}"
            ) from None
        except (exc.IntegrityError, exc.ProgrammingError) as err:
            # Another process is creating Optuna's tables or version row right now.
            if attempt + 1 == _CREATE_ATTEMPTS:
                raise ValueError(
                    f"`storage` must be reachable, but {shown!r} fails while creating "
                    f"Optuna's tables: {_reason(err)}"
                ) from None
            time.sleep(0.2 * (attempt + 1))
        except Exception as err:
            raise ValueError(
                f"`storage` must be reachable, but {shown!r} fails: {_reason(err)}"
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def resolve_storage(storage: Any, cache_dir: str | Path | None) -> Any:
    """``None`` -> journal file in ``cache_dir``; ``"memory"`` -> in-memory (returns None);
    a URL string -> Optuna's storage for it (checked now: an unreachable one raises)."""
    import optuna

    if storage is None:
        from statetune.tuner.journal import open_journal

        folder = Path(cache_dir or DEFAULT_CACHE_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        return open_journal(folder / JOURNAL_NAME)
    if isinstance(storage, str) and storage in ("memory", ":memory:"):
        return None
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, str):
        raise TypeError(
            f"`storage` must be None, 'memory', an Optuna storage URL or storage object, "
            f"but got {type(storage).__name__}."
        )
    return open_storage_url(storage)
