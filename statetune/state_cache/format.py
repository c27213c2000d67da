"""The on-disk format of a cache entry: one ``.npz`` holding the arrays and a JSON header.

The header (stored as the UTF-8 bytes of an array named ``__header__``) carries the format
version, the spec, the lineage, the library version and a SHA-256 checksum of every other
array. Files are written to a temp file in the same folder, fsynced, then ``os.replace``d, so
a reader sees the old entry or the new one, never a partial one. Loading uses
``allow_pickle=False`` and verifies the checksum: a truncated, bit-flipped or foreign file
raises :class:`CorruptEntryError` and is never used.

Example
-------
>>> import numpy as np, tempfile, pathlib
>>> from statetune.state_cache.format import read_entry, write_entry
>>> path = pathlib.Path(tempfile.mkdtemp()) / "e.npz"
>>> write_entry(path, {"hello": 1}, {"a": np.arange(3.0)})
>>> read_entry(path)[0]["hello"]
1
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = [
    "ENTRY_FORMAT",
    "CorruptEntryError",
    "arrays_checksum",
    "atomic_write",
    "read_entry",
    "write_entry",
]

ENTRY_FORMAT = "statetune-entry-v1"
_HEADER = "__header__"


class CorruptEntryError(ValueError):
    """A cache entry that fails its checks (truncated, bit flip, wrong header)."""


def arrays_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of the arrays (order-independent)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write through a temp file in the same folder, fsync, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_entry(path: Path, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Atomically write ``arrays`` with ``header`` (format and checksum added)."""
    if _HEADER in arrays:
        raise ValueError(f"Array names must not be {_HEADER!r}.")
    full = {**header, "format": ENTRY_FORMAT, "checksum": arrays_checksum(arrays)}
    blob = np.frombuffer(json.dumps(full, sort_keys=True).encode(), dtype=np.uint8)
    payload: dict[str, Any] = {_HEADER: blob, **arrays}
    atomic_write(Path(path), lambda f: np.savez(f, **payload))


def read_entry(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of an entry; :class:`CorruptEntryError` if any check fails."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except Exception as err:
        raise CorruptEntryError(f"Entry {str(path)!r} must be a readable npz, but: {err}") from None
    blob = arrays.pop(_HEADER, None)
    if blob is None:
        raise CorruptEntryError(f"Entry {str(path)!r} must carry a header, but has none.")
    try:
        header = json.loads(blob.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptEntryError(
            f"Entry {str(path)!r} must have a JSON header, but: {err}"
        ) from None
    if header.get("format") != ENTRY_FORMAT:
        raise CorruptEntryError(
            f"Entry {str(path)!r} must have format {ENTRY_FORMAT!r}, but has {header.get('format')!r}."
        )
    if arrays_checksum(arrays) != header.get("checksum"):
        raise CorruptEntryError(f"Entry {str(path)!r} must match its checksum, but does not.")
    return header, arrays
