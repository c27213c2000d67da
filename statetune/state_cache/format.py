"""The on-disk format of a cache entry: one ``.npz`` holding the arrays and a JSON header.

The header (stored as the UTF-8 bytes of an array named ``__header__``) carries the format
version, the spec, the lineage, the library version, a SHA-256 checksum of every other array
(``checksum``) and a SHA-256 checksum of the header itself (``header_checksum``, over a
canonical serialization of every other header field, the array checksum included): a header
edited to look consistent (weights doubled, folds dropped, row counts changed) fails its
checks like a flipped bit in an array does. Files are written to a temp file in the same
folder, fsynced, then ``os.replace``d (:mod:`statetune.state_cache.files`), so a reader sees
the old entry or the new one, never a partial one. Loading refuses anything but a regular file
without opening it, uses ``allow_pickle=False`` and verifies both checksums: a truncated,
bit-flipped, edited or foreign file raises :class:`CorruptEntryError` and is never used. An
entry of the previous format (``statetune-entry-v1``, whose checksum did not cover the header)
raises :class:`StaleEntryError`: it is rebuilt once rather than trusted.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from statetune.state_cache.files import NotRegularFileError, atomic_write, open_regular

__all__ = [
    "ENTRY_FORMAT",
    "LEGACY_ENTRY_FORMATS",
    "CorruptEntryError",
    "StaleEntryError",
    "StateCacheWarning",
    "arrays_checksum",
    "atomic_write",
    "canonical_json",
    "header_checksum",
    "read_entry",
    "write_entry",
]

ENTRY_FORMAT = "statetune-entry-v2"
LEGACY_ENTRY_FORMATS = ("statetune-entry-v1",)
_HEADER = "__header__"


class CorruptEntryError(ValueError):
    """A stored file (cache entry, checkpoint, saved model) that fails its checks: truncated,
    bit flip, edited header, wrong format, not a regular file. It is never used."""


class StaleEntryError(CorruptEntryError):
    """An entry written by an older statetune whose checksum cannot vouch for its header."""


class StateCacheWarning(UserWarning):
    """A cached entry or checkpoint could not be used or written as is (changed data,
    corruption, something other than a file at its path); it was rebuilt or skipped."""


def arrays_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of the arrays (order-independent)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    """The one serialization checksums are taken over: sorted keys, no spaces, ASCII.

    Apply it to JSON-native values (what ``json.loads`` returns): then
    ``canonical_json(json.loads(canonical_json(x))) == canonical_json(x)``.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.5, None]})
    '{"a":[1.5,null],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def header_checksum(header: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of every header field but ``header_checksum`` itself.

    Examples
    --------
    >>> header_checksum({"a": 1}) == header_checksum({"a": 1, "header_checksum": "x"})
    True
    """
    body = {k: v for k, v in header.items() if k != "header_checksum"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def write_entry(path: Path, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Atomically write ``arrays`` with ``header`` (format and both checksums added)."""
    if _HEADER in arrays:
        raise ValueError(f"Array names must not be {_HEADER!r}.")
    full = {**header, "format": ENTRY_FORMAT, "checksum": arrays_checksum(arrays)}
    full = json.loads(canonical_json(full))  # what a reader will see (tuples become lists)
    full["header_checksum"] = header_checksum(full)
    blob = np.frombuffer(canonical_json(full).encode(), dtype=np.uint8)
    payload: dict[str, Any] = {_HEADER: blob, **arrays}
    atomic_write(Path(path), lambda f: np.savez(f, **payload))


def read_entry(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of an entry; :class:`CorruptEntryError` if any check fails,
    ``FileNotFoundError`` if nothing is at ``path``."""
    where = str(path)
    try:
        with open_regular(path) as f, np.load(f, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except NotRegularFileError as err:
        raise CorruptEntryError(f"Entry {err}") from None
    except PermissionError:
        raise
    except Exception as err:
        raise CorruptEntryError(f"Entry {where!r} must be a readable npz, but: {err}") from None
    blob = arrays.pop(_HEADER, None)
    if blob is None:
        raise CorruptEntryError(f"Entry {where!r} must carry a header, but has none.")
    try:
        header = json.loads(blob.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptEntryError(f"Entry {where!r} must have a JSON header, but: {err}") from None
    if not isinstance(header, dict):
        raise CorruptEntryError(
            f"Entry {where!r} must have a JSON object as header, but has a {type(header).__name__}."
        )
    fmt = header.get("format")
    if fmt in LEGACY_ENTRY_FORMATS:
        raise StaleEntryError(
            f"Entry {where!r} must have format {ENTRY_FORMAT!r}, but was written by an older "
            f"statetune ({fmt!r}) whose checksum does not cover the header, so it is not trusted."
        )
    if fmt != ENTRY_FORMAT:
        raise CorruptEntryError(
            f"Entry {where!r} must have format {ENTRY_FORMAT!r}, but has {fmt!r}."
        )
    if header.get("header_checksum") != header_checksum(header):
        raise CorruptEntryError(
            f"Entry {where!r} must match its header checksum, but does not: the header was "
            "edited or damaged."
        )
    if arrays_checksum(arrays) != header.get("checksum"):
        raise CorruptEntryError(f"Entry {where!r} must match its checksum, but does not.")
    return header, arrays
