"""Editing stored files the way a person or a faulty tool would: change the JSON header of a
cache entry (or checkpoint) and its arrays, then recompute what the file format lets anyone
recompute, so only a check of the header itself (or a cross-check) can tell.

The checksums are computed here independently of statetune, from the documented format:
``checksum`` is SHA-256 over ``name|dtype|shape|`` + bytes of every array in name order;
``header_checksum`` is SHA-256 over the JSON of every other header field with sorted keys,
no spaces, ASCII only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "arrays_sha",
    "fifo_watchdog",
    "header_sha",
    "read_raw",
    "rewrite_entry",
    "write_raw",
]


def arrays_sha(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def header_sha(header: dict[str, Any]) -> str:
    body = {k: v for k, v in header.items() if k != "header_checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_raw(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    header = json.loads(arrays.pop("__header__").tobytes().decode())
    return header, arrays


def write_raw(path: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    blob = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, __header__=blob, **arrays)


def rewrite_entry(
    path: Path,
    edit: Callable[[dict[str, Any], dict[str, np.ndarray]], None],
    *,
    reseal: bool = False,
) -> None:
    """Apply ``edit(header, arrays)`` in place, recompute the array checksum (a consistent
    edit), and with ``reseal`` the header checksum too (a forgery only cross-checks catch)."""
    header, arrays = read_raw(path)
    edit(header, arrays)
    header["checksum"] = arrays_sha(arrays)
    if reseal:
        header["header_checksum"] = header_sha(header)
    write_raw(path, header, arrays)


@contextlib.contextmanager
def fifo_watchdog(fifo: Path, after: float = 10.0):
    """Yields an event set if a reader blocked on ``fifo``: after ``after`` seconds, a blocked
    reader is released (by opening the FIFO for writing, which only succeeds while someone
    waits to read), so the test fails instead of hanging."""
    released, stop = threading.Event(), threading.Event()

    def run() -> None:
        if stop.wait(after):
            return
        while not stop.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader waits; or the FIFO is gone
                stop.wait(0.05)
                continue
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                released.set()
            os.close(fd)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield released
    finally:
        stop.set()
        thread.join()
