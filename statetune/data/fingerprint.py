"""Cheap content fingerprints: hash the metadata and a fixed sample of rows, not every byte.

Files are fingerprinted by path, size and modification time (nanoseconds), without reading
them; arrays by shape, dtype, a CRC-32 of all their bytes and up to 4,096 evenly spaced rows.

Example
-------
>>> import numpy as np
>>> from statetune.data.fingerprint import array_fingerprint
>>> array_fingerprint(np.zeros(3)) == array_fingerprint(np.zeros(3))
True
"""

from __future__ import annotations

import hashlib
import os
import zlib
from typing import Any

import numpy as np

__all__ = ["array_fingerprint", "file_fingerprint", "combine"]

SAMPLE_ROWS = 4096


def array_fingerprint(*arrays: Any) -> str:
    """Hash shapes, dtypes, a CRC-32 of every byte (~3 GB/s) and a strided sample of rows."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.asarray(a)
        h.update(f"{a.shape}|{a.dtype.str}".encode())
        crc = 0
        rows = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1)
        for start in range(0, rows.shape[0], 65536):
            crc = zlib.crc32(np.ascontiguousarray(rows[start : start + 65536]).data, crc)
        h.update(crc.to_bytes(4, "little"))
        if a.shape and a.shape[0]:
            idx = np.unique(
                np.linspace(0, a.shape[0] - 1, min(SAMPLE_ROWS, a.shape[0])).astype(int)
            )
            h.update(np.ascontiguousarray(a[idx]).tobytes())
    return h.hexdigest()


def file_fingerprint(path: str, extra: bytes = b"") -> str:
    """Hash path, size, modification time (ns) and ``extra`` (e.g. a Parquet footer)."""
    st = os.stat(path)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}".encode())
    h.update(extra)
    return h.hexdigest()


def combine(*parts: str) -> str:
    """One fingerprint for an ordered list of fingerprints."""
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
