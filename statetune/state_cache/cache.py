"""``StateCache``: fold states on disk, keyed by spec, carrying their lineage.

A key is a hash of the *spec*: state kind, state parameters, schema, fold configuration and
format version; the entry (``states/<key>.npz``) holds every fold's state arrays and a header
with the spec, the lineage (ordered segment fingerprints with row counts) and a checksum.
A lock file per key (``filelock``) makes two processes asking for the same state build it once;
readers of a complete entry take no lock (entries are replaced atomically). Checkpoints of
running passes live in ``checkpoints/``.

Loading checks the header against itself and the arrays (see :mod:`.format`) and against the
key: the spec must hash to the key, every fold state must be of the spec's kind and state
parameters, one per fold, and the row counts of the header, the states and the lineage must
agree. Anything else at an entry's path (a directory, a FIFO, a dangling link, a header
without a spec) is reported by ``entries``/``verify`` and skipped; ``ls`` and ``verify``
write nothing, so they work on a read-only cache folder.

Example
-------
>>> import tempfile
>>> from statetune.state_cache import StateCache
>>> StateCache(tempfile.mkdtemp()).entries()
[]
"""

from __future__ import annotations

import errno
import json
import os
import stat
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from statetune._version import __version__

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from statetune.data.schema import Schema
from statetune.engine.cursor import Cursor
from statetune.engine.folds import FoldConfig
from statetune.engine.slots import Slot
from statetune.engine.time_folds import TimeFolds
from statetune.state_cache.checks import (
    check_checkpoint_header,
    check_entry_header,
    check_entry_states,
    check_states_match_spec,
)
from statetune.state_cache.files import NotRegularFileError
from statetune.state_cache.format import (
    CorruptEntryError,
    StaleEntryError,
    StateCacheWarning,
    read_entry,
    write_entry,
)
from statetune.states import FORMAT_VERSION, state_from_arrays

__all__ = ["DEFAULT_FOLDER", "Entry", "StateCache", "entry_key", "entry_spec"]

DEFAULT_FOLDER = Path(".statetune")


def entry_spec(slot: Slot, schema: Schema, folds: FoldConfig | TimeFolds) -> dict[str, Any]:
    """Everything that changes what a cached state means: its slot (role and spec), the
    schema and the fold configuration."""
    return {
        "kind": slot.spec.kind,
        "state_params": slot.spec.to_json()["params"],
        "role": slot.role,
        "schema": schema.to_json(),
        "folds": folds.to_json(),
        "state_format": FORMAT_VERSION,
    }


def entry_key(spec: Mapping[str, Any]) -> str:
    import hashlib

    return hashlib.blake2b(json.dumps(spec, sort_keys=True).encode(), digest_size=10).hexdigest()


@dataclass
class Entry:
    """A loaded cache entry: its spec, fold states, lineage and header."""

    key: str
    spec: dict[str, Any]
    fold_states: list[Any]
    lineage: list[dict[str, Any]]
    header: dict[str, Any]

    @property
    def n_rows(self) -> int:
        return sum(s.n_rows for s in self.fold_states)


def _pack(fold_states: Sequence[Any]) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    headers, arrays = [], {}
    for k, state in enumerate(fold_states):
        header, arr = state.to_arrays()
        headers.append(header)
        arrays.update({f"fold{k}.{name}": a for name, a in arr.items()})
    return headers, arrays


def _unpack(headers: Sequence[Mapping[str, Any]], arrays: Mapping[str, np.ndarray]) -> list[Any]:
    out = []
    for k, header in enumerate(headers):
        prefix = f"fold{k}."
        own = {n[len(prefix) :]: a for n, a in arrays.items() if n.startswith(prefix)}
        out.append(state_from_arrays(header, own))
    return out


class StateCache:
    """A folder of cached states (default ``.statetune``), shared with the Optuna journal."""

    def __init__(self, folder: str | os.PathLike[str] = DEFAULT_FOLDER) -> None:
        self.folder = Path(folder)
        self.states_dir = self.folder / "states"
        self.checkpoints_dir = self.folder / "checkpoints"

    def __repr__(self) -> str:
        return f"StateCache({str(self.folder)!r})"

    # ---------------------------------------------------------------- paths and locks
    def path(self, key: str) -> Path:
        return self.states_dir / f"{key}.npz"

    def lock(self, key: str, timeout: float = -1) -> FileLock:
        """The build lock of ``key`` (held while a pass builds or extends the entry)."""
        self.states_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.states_dir / f"{key}.lock"), timeout=timeout)

    # ---------------------------------------------------------------- entries
    def save(
        self,
        key: str,
        spec: Mapping[str, Any],
        fold_states: Sequence[Any],
        lineage: Sequence[Mapping[str, Any]],
    ) -> Path:
        """Atomically write (or replace) the entry of ``key``."""
        headers, arrays = _pack(fold_states)
        header = {
            "key": key,
            "spec": dict(spec),
            "states": headers,
            "lineage": [dict(r) for r in lineage],
            "n_rows": sum(s.n_rows for s in fold_states),
            "statetune_version": __version__,
            "written_at": time.time(),
        }
        path = self.path(key)
        write_entry(path, header, arrays)
        return path

    def store(
        self,
        key: str,
        spec: Mapping[str, Any],
        fold_states: Sequence[Any],
        lineage: Sequence[Mapping[str, Any]],
    ) -> Entry:
        """Save the entry and load it back (what a later run will see). When something other
        than a file holds the entry's path (a directory), warn and return the states unsaved."""
        try:
            self.save(key, spec, fold_states, lineage)
        except NotRegularFileError as err:
            warnings.warn(
                f"Cache entry not saved: {err} The states are used without being cached.",
                StateCacheWarning,
                stacklevel=2,
            )
            lin = [dict(r) for r in lineage]
            return Entry(key, dict(spec), list(fold_states), lin, {})
        return self.load(key)

    def load(self, key: str) -> Entry:
        """The entry of ``key``; ``KeyError`` if absent, :class:`CorruptEntryError` if it fails
        its checks (it is then never used), :class:`StaleEntryError` if an older statetune
        wrote it (rebuild it)."""
        path = self.path(key)
        try:
            header, arrays = read_entry(path)
        except FileNotFoundError:
            raise KeyError(key) from None
        check_entry_header(path, key, header, entry_key)
        try:
            states = _unpack(header["states"], arrays)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError, MemoryError) as err:
            raise CorruptEntryError(
                f"Entry {str(path)!r} must hold valid states, but: {type(err).__name__}: {err}"
            ) from None
        check_entry_states(path, header, states)
        return Entry(key, header["spec"], states, header["lineage"], header)

    def keys(self) -> list[str]:
        if not self.states_dir.exists():
            return []
        return sorted(p.stem for p in self.states_dir.glob("*.npz"))

    def entries(self) -> list[dict[str, Any]]:
        """One summary per entry: key, kind, rows, segments, size, age, in use, valid, and
        ``status`` ("ok", "corrupt", "stale", "not a file", "unreadable") with the
        ``problem`` of an invalid one. Reads only (works on a read-only folder)."""
        out = []
        now = time.time()
        for key in self.keys():
            path = self.path(key)
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue  # removed meanwhile
            info: dict[str, Any] = {
                "key": key,
                "size_bytes": st.st_size,
                "age_seconds": now - st.st_mtime,
                "in_use": self.in_use(key),
            }
            try:
                entry = self.load(key)
                info.update(
                    kind=entry.spec["kind"],
                    n_rows=entry.n_rows,
                    segments=len(entry.lineage),
                    folds=entry.spec["folds"]["n_folds"],
                    features=len(entry.spec["schema"].get("features", [])),
                    valid=True,
                    status="ok",
                )
            except KeyError:
                continue  # removed meanwhile
            except StaleEntryError as err:
                info.update(valid=False, status="stale", problem=str(err))
            except CorruptEntryError as err:
                regular = stat.S_ISREG(st.st_mode)
                info.update(valid=False, status="corrupt" if regular else "not a file")
                info["problem"] = str(err)
            except OSError as err:  # e.g. no read permission: not corrupt, left alone by gc
                info.update(valid=False, status="unreadable", problem=f"{path}: {err}")
            out.append(info)
        return out

    def info(self, key: str) -> dict[str, Any]:
        """Spec, lineage and summary of one entry (a unique key prefix is enough)."""
        key = self.resolve(key)
        entry = self.load(key)
        return {
            "key": key,
            "spec": entry.spec,
            "lineage": entry.lineage,
            "n_rows": entry.n_rows,
            "statetune_version": entry.header.get("statetune_version"),
            "path": str(self.path(key)),
        }

    def resolve(self, prefix: str) -> str:
        matches = [k for k in self.keys() if k.startswith(prefix)]
        if len(matches) != 1:
            raise KeyError(
                f"`key` must match exactly one entry of {self}, but {prefix!r} matches {len(matches)}."
            )
        return matches[0]

    def verify(self) -> list[dict[str, Any]]:
        """Check every entry's checksums, header and states; invalid ones are reported (with
        ``status`` and ``problem``), never used. Reads only."""
        return [
            {
                "key": e["key"],
                "valid": e["valid"],
                "status": e["status"],
                "problem": e.get("problem"),
            }
            for e in self.entries()
        ]

    def in_use(self, key: str) -> bool:
        """True while some process holds the build lock of ``key``. Creates nothing: a lock
        file that does not exist is held by no one."""
        lock_path = self.states_dir / f"{key}.lock"
        if fcntl is None:  # pragma: no cover - Windows: ask filelock
            if not lock_path.exists():
                return False
            lock = self.lock(key, timeout=0)
            try:
                lock.acquire()
            except Timeout:
                return True
            lock.release()
            return False
        try:
            fd = os.open(lock_path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError:
            return False  # absent (or not a lock file: no one can hold it)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            except OSError as err:
                return err.errno in (errno.EACCES, errno.EAGAIN)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def remove(self, key: str) -> bool:
        """Delete an entry and its lock file unless it is in use; True if deleted. Something
        that is not a file at the entry's path (a directory) is left alone with a warning: False."""
        lock = self.lock(key, timeout=0)
        try:
            with lock:
                for path in (self.path(key), self.checkpoint_path(key)):
                    if path.is_dir() and not path.is_symlink():
                        warnings.warn(
                            f"{str(path)!r} is a directory, not a cache entry; left alone "
                            "(remove it yourself if it is not needed).",
                            StateCacheWarning,
                            stacklevel=3,
                        )
                        return False
                self.path(key).unlink(missing_ok=True)
                self.checkpoint_path(key).unlink(missing_ok=True)
                # Its lock file goes too, removed while held: a process that opened it before
                # retries on the new one (filelock checks st_nlink after locking).
                Path(lock.lock_file).unlink(missing_ok=True)
            return True
        except Timeout:
            return False

    def gc(self, keep_last: int | None = None) -> list[str]:
        """Delete corrupt entries, stray temp files, lock files without an entry, and (with
        ``keep_last``) all but the most recently written entries, each with its lock file.
        Entries in use are never deleted. Returns deleted keys."""
        deleted = []
        valid = []
        for info in self.entries():
            if info["status"] == "unreadable":
                continue  # not known to be corrupt: never deleted
            if not info["valid"]:
                if self.remove(info["key"]):
                    deleted.append(info["key"])
            else:
                valid.append(info)
        if keep_last is not None:
            if keep_last < 0:
                raise ValueError(f"`keep_last >= 0` must hold, but got keep_last={keep_last}.")
            valid.sort(key=lambda i: i["age_seconds"])
            for info in valid[keep_last:]:
                if self.remove(info["key"]):
                    deleted.append(info["key"])
        if self.states_dir.exists():  # lock files of entries gone (deleted by older versions)
            for lock_path in self.states_dir.glob("*.lock"):
                key = lock_path.name[: -len(".lock")]
                if not self.path(key).exists() and not self.checkpoint_path(key).exists():
                    self.remove(key)
        for folder in (self.states_dir, self.checkpoints_dir):
            if folder.exists():
                for tmp in folder.glob(".*.tmp"):
                    try:
                        if time.time() - tmp.lstat().st_mtime > 3600 and not tmp.is_dir():
                            tmp.unlink(missing_ok=True)
                    except FileNotFoundError:
                        continue
        return deleted

    # ---------------------------------------------------------------- checkpoints
    def checkpoint_path(self, key: str) -> Path:
        return self.checkpoints_dir / f"{key}.npz"

    def save_checkpoint(
        self, key: str, specs: Mapping[str, Mapping[str, Any]], cursor: Cursor
    ) -> None:
        """Save a running pass's cursor (every kind's fold states) under the pass key."""
        arrays: dict[str, np.ndarray] = {}
        headers = {}
        for kind, states in cursor.states.items():
            h, a = _pack(states)
            headers[kind] = h
            arrays.update({f"{kind}.{n}": v for n, v in a.items()})
        header = {
            "key": key,
            "specs": {k: dict(v) for k, v in specs.items()},
            "states": headers,
            "lineage": cursor.lineage,
            "partial": cursor.partial,
            "position": cursor.position,
        }
        try:
            write_entry(self.checkpoint_path(key), header, arrays)
        except NotRegularFileError as err:
            warnings.warn(
                f"Checkpoint not saved: {err} The pass goes on without checkpoints.",
                StateCacheWarning,
                stacklevel=3,
            )

    def load_checkpoint(self, key: str) -> tuple[dict[str, Any], Cursor] | None:
        """The saved cursor of pass ``key``; None if none, or if it fails its checks (it is
        then removed, with a :class:`StateCacheWarning`, and the pass starts over)."""
        path = self.checkpoint_path(key)
        try:
            header, arrays = read_entry(path)
            check_checkpoint_header(path, key, header)
            states = {}
            for kind, headers in header["states"].items():
                own = {n[len(kind) + 1 :]: a for n, a in arrays.items() if n.startswith(f"{kind}.")}
                states[kind] = _unpack(headers, own)
                check_states_match_spec(path, header["specs"][kind], states[kind])
        except FileNotFoundError:
            return None
        except (CorruptEntryError, KeyError, ValueError, TypeError, AttributeError) as err:
            warnings.warn(
                f"Checkpoint {str(path)!r} is not used (the pass starts over): {err}",
                StateCacheWarning,
                stacklevel=3,
            )
            _discard(path)
            return None
        cursor = Cursor(states, header["lineage"], int(header["position"]), header.get("partial"))
        return header, cursor

    def clear_checkpoint(self, key: str) -> None:
        _discard(self.checkpoint_path(key))

    def clear_checkpoints_of(self, entry_keys: Sequence[str]) -> None:
        """Drop checkpoints of passes that built only these entries (now complete), and
        corrupt ones."""
        if not self.checkpoints_dir.exists():
            return
        wanted = set(entry_keys)
        for path in self.checkpoints_dir.glob("*.npz"):
            try:
                header, _ = read_entry(path)
                check_checkpoint_header(path, path.stem, header)
            except FileNotFoundError:
                continue
            except CorruptEntryError:
                _discard(path)
                continue
            if {entry_key(spec) for spec in header["specs"].values()} <= wanted:
                _discard(path)


def _discard(path: Path) -> None:
    """Remove a file (or link, FIFO); a directory is left alone (it is not ours)."""
    if path.is_dir() and not path.is_symlink():
        return
    path.unlink(missing_ok=True)
