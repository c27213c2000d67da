"""Where studies live: an embedded Optuna journal file by default, any Optuna storage otherwise.

``JournalStorage(JournalFileBackend)`` needs no server and is safe for several processes on
one host; a database URL (PostgreSQL, MySQL, SQLite) lets many machines join one study. The
journal is opened through :func:`statetune.tuner.journal.open_journal`: a journal damaged by
a cut-short write (full disk, killed process) is repaired, keeping every complete record.

Example
-------
>>> from statetune.tuner.storage import resolve_storage
>>> resolve_storage("memory", ".statetune") is None
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_CACHE_DIR", "JOURNAL_NAME", "resolve_storage"]

DEFAULT_CACHE_DIR = Path(".statetune")
#: The study journal's file name in the cache folder.
JOURNAL_NAME = "optuna_journal.log"


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
    try:
        backend = optuna.storages.get_storage(storage)
        backend.get_all_studies()  # touch it: fail now, with the URL, not mid-study
    except Exception as err:
        raise ValueError(f"`storage` must be reachable, but {storage!r} fails: {err}") from None
    return backend
