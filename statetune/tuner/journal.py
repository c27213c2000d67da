"""The study journal file: damage found, repaired (keeping every complete record), never glued.

Optuna's ``JournalFileBackend`` appends one JSON record per line. A writer stopped mid-record
(a full disk, ``kill -9``, a power cut) leaves a partial last line; plain Optuna readers skip it,
but the next append is glued onto it, and from then on every read fails with a JSON error
(``Expecting ':' delimiter: line 1 column 92``) and the study is unreadable.

Here:

- :func:`open_journal` checks the tail of the file (one small read) and, when the file or
  Optuna's replay shows damage, repairs it with :func:`repair_journal` before use;
- :func:`repair_journal` works under the journal's own lock: it saves a copy of the damaged
  file next to it (``<name>.damaged-<time>``), keeps every complete record in order (a record
  glued after a partial one is cut out and kept), drops only the partial bytes, replaces the
  file atomically and warns with both file names (:class:`JournalRepairedWarning`);
- :class:`SafeJournalFileBackend` never appends after a partial line (it heals the tail under
  the lock first), cuts back its own partially written record when a write fails (disk full)
  and says which file, and turns a damaged line met while reading into a
  :class:`JournalDamagedError` naming the file and how to recover.

Records before the first damaged line are never moved, and no reader ever applies a record at
or after a damaged line (Optuna stops there), so the repaired journal replays the same history
every writer saw. It stays a plain Optuna journal: ``JournalFileBackend`` reads it.

Example
-------
>>> import tempfile, pathlib, optuna
>>> from statetune.tuner.journal import open_journal, repair_journal
>>> path = pathlib.Path(tempfile.mkdtemp()) / "journal.log"
>>> study = optuna.create_study(storage=open_journal(path), study_name="s")
>>> with open(path, "ab") as f:
...     _ = f.write(b'{"op_code":4,"wor')  # a record cut short
>>> repair_journal(path, warn=False).dropped_bytes
17
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

__all__ = [
    "JournalDamagedError",
    "JournalRepair",
    "JournalRepairedWarning",
    "SafeJournalFileBackend",
    "open_journal",
    "repair_journal",
    "scan_journal",
]

#: A JSON object with a key starts so (every journal record does).
_OBJECT_START = b'{"'
#: Bytes read from the end of the file to check its last record.
_TAIL_BYTES = 1 << 16


class JournalDamagedError(ValueError):
    """A study journal holds a damaged line (the message names the file and the remedy)."""


class JournalRepairedWarning(UserWarning):
    """A damaged study journal was repaired; the message names the file and the copy kept."""


@dataclass
class JournalRepair:
    """What a scan of a journal found (and, after :func:`repair_journal`, what was done).

    ``first_damaged_line`` is 1-based; ``recovered`` counts complete records cut out of damaged
    lines (a record glued after a partial one); ``dropped_bytes`` counts the partial bytes that
    no record holds, the only loss.
    """

    path: Path
    n_lines: int = 0
    damaged_lines: list[int] = field(default_factory=list)
    first_damaged_offset: int | None = None
    recovered: int = 0
    dropped_bytes: int = 0
    repaired: bytes = b""
    backup: Path | None = None

    @property
    def damaged(self) -> bool:
        return bool(self.damaged_lines)

    @property
    def first_damaged_line(self) -> int | None:
        return self.damaged_lines[0] if self.damaged_lines else None

    def describe(self) -> str:
        lines = ", ".join(str(n) for n in self.damaged_lines[:5])
        more = f" and {len(self.damaged_lines) - 5} more" if len(self.damaged_lines) > 5 else ""
        return (
            f"line{'s' if len(self.damaged_lines) > 1 else ''} {lines}{more} of "
            f"{self.n_lines} (partial bytes dropped: {self.dropped_bytes}, complete records "
            f"cut out of damaged lines and kept: {self.recovered})"
        )


def _is_record(blob: bytes) -> bool:
    try:
        obj = json.loads(blob)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return False
    return isinstance(obj, dict) and "op_code" in obj and "worker_id" in obj


def _split_damaged(line: bytes) -> tuple[list[bytes], int]:
    """The complete records inside a damaged line (in order) and the bytes no record holds.

    A glued line is ``<partial record><complete record>``. Each ``{"`` is a candidate start
    (a quote inside a JSON string is escaped, so a value's text never offers one); a candidate
    counts only if it decodes, from there, as a whole record.
    """
    text = line.decode("latin-1")  # one char per byte: offsets stay byte offsets
    decoder = json.JSONDecoder()
    records: list[bytes] = []
    dropped = 0
    pos = 0
    while pos < len(text):
        end = -1
        if line.startswith(_OBJECT_START, pos):
            try:
                end = decoder.raw_decode(text, pos)[1]
            except ValueError:
                end = -1
        if end > 0 and _is_record(line[pos:end]):
            records.append(line[pos:end])
            pos = end
            continue
        nxt = line.find(_OBJECT_START, pos + 1)
        nxt = len(line) if nxt < 0 else nxt
        dropped += nxt - pos
        pos = nxt
    return records, dropped


def scan_journal(path: str | os.PathLike[str], data: bytes | None = None) -> JournalRepair:
    """Find damaged lines (partial, glued or unparsable records) and what a repair keeps.

    ``repaired`` holds the bytes of the repaired journal from ``first_damaged_offset`` on.
    """
    path = Path(path)
    if data is None:
        data = path.read_bytes()
    report = JournalRepair(path)
    out: list[bytes] = []
    offset = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        last = offset + len(line) >= len(data)
        if last and not line:
            break  # the file ends with a newline (or is empty)
        report.n_lines = number
        complete = not last  # a last line without its newline is partial
        if complete and _is_record(line):
            if report.damaged:
                out.append(line + b"\n")
        else:
            if not report.damaged:
                report.first_damaged_offset = offset
            report.damaged_lines.append(number)
            records, dropped = _split_damaged(line)
            report.recovered += len(records)
            report.dropped_bytes += dropped
            out.extend(r + b"\n" for r in records)
        offset += len(line) + 1
    report.repaired = b"".join(out)
    return report


def _backup_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(1000):
        candidate = path.with_name(f"{path.name}.damaged-{stamp}" + (f"-{n}" if n else ""))
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"Too many backups of {path} at {stamp}.")  # pragma: no cover


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _recover_message(path: Path) -> str:
    return (
        f"statetune repairs it when it opens the journal (rerun st.tune or `statetune tune` "
        f"with the same cache folder), keeping every complete record and a copy of the "
        f"damaged file; or call statetune.tuner.journal.repair_journal({str(path)!r})"
    )


def _repair_locked(path: Path, warn: bool) -> JournalRepair | None:
    """Repair ``path``; the caller holds the journal's lock."""
    report = scan_journal(path)
    if not report.damaged:
        return None
    assert report.first_damaged_offset is not None
    backup = _backup_name(path)
    tmp = path.with_name(f"{path.name}.repair-{os.getpid()}.tmp")
    try:
        shutil.copy2(path, backup)
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            remaining = report.first_damaged_offset
            while remaining:
                chunk = src.read(min(remaining, 1 << 24))
                dst.write(chunk)
                remaining -= len(chunk)
            dst.write(report.repaired)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise JournalDamagedError(
            f"The study journal {path} must be readable, but it is damaged at "
            f"{report.describe()}, and repairing it failed: {err}. Free space or fix "
            f"permissions and rerun, or repair a copy with statetune.tuner.journal.repair_journal."
        ) from None
    report.backup = backup
    if warn:
        warnings.warn(
            f"The study journal {path} was damaged at {report.describe()} (a write cut short, "
            f"e.g. by a full disk or a killed process); it was repaired and the damaged file "
            f"kept as {backup}.",
            JournalRepairedWarning,
            stacklevel=3,
        )
    return report


def repair_journal(path: str | os.PathLike[str], *, warn: bool = True) -> JournalRepair | None:
    """Repair a damaged journal in place (under its lock); None when it was not damaged.

    Every complete record is kept in order; only partial bytes are dropped. The damaged file
    is kept as ``<name>.damaged-<UTC time>`` next to it.
    """
    path = Path(path)
    lock = JournalFileSymlinkLock(str(path))
    try:
        lock.acquire()
    except (OSError, RuntimeError) as err:
        raise JournalDamagedError(
            f"Checking the study journal {path} needs its lock file {path}.lock, but creating "
            f"it failed: {err}. Make the folder writable (or copy the journal to a writable "
            f"folder) and rerun."
        ) from None
    try:
        return _repair_locked(path, warn)
    finally:
        lock.release()


def _classify_tail(tail: bytes, size: int) -> str:
    """``"clean"`` (empty, or a complete record then a newline at the end), ``"partial"`` (no
    newline at the end), ``"damaged"`` (the last line is no record) or ``"unknown"`` (a last
    line longer than ``tail``, the file's last bytes)."""
    if size == 0:
        return "clean"
    if not tail.endswith(b"\n"):
        return "partial"
    start = tail.rfind(b"\n", 0, len(tail) - 1)
    if start < 0 and size > len(tail):
        return "unknown"
    return "clean" if _is_record(tail[start + 1 : -1]) else "damaged"


def _tail_state(path: Path) -> str:
    """:func:`_classify_tail` of the file at ``path`` (one small read)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - _TAIL_BYTES))
        return _classify_tail(f.read(), size)


class SafeJournalFileBackend(JournalFileBackend):
    """``JournalFileBackend`` that never glues a record onto a partial line, undoes its own
    partial writes, and names the file when it meets damage (see the module doc)."""

    def __init__(self, file_path: str) -> None:
        super().__init__(file_path)
        self._path = Path(file_path)

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        try:
            yield from super().read_logs(log_number_from)
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, "Invalid log format."
            report = scan_journal(self._path)
            where = report.describe() if report.damaged else f"a line ({err})"
            raise JournalDamagedError(
                f"The study journal {self._path} must hold one complete record per line, but "
                f"it is damaged at {where}. {_recover_message(self._path)}."
            ) from None

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode()
        self._lock.acquire()
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                size = os.fstat(fd).st_size
                # Never append after damage; records are far shorter than 4 KiB: a cheap check.
                tail = os.pread(fd, 4096, max(0, size - 4096))
                if _classify_tail(tail, size) in ("partial", "damaged"):
                    os.close(fd)
                    fd = -1
                    _repair_locked(self._path, warn=True)  # replaces the file
                    fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
                    size = os.fstat(fd).st_size
                self._write(fd, data, size)
            finally:
                if fd >= 0:
                    os.close(fd)
        finally:
            self._lock.release()

    def _write(self, fd: int, data: bytes, size: int) -> None:
        """Append ``data`` (whole lines) at ``size``; on failure cut back a partial line only
        (complete lines may already be read by others) and name the file."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException as err:
            now = os.fstat(fd).st_size
            written = os.pread(fd, now - size, size) if now > size else b""
            end = size + written.rfind(b"\n") + 1  # rfind -1 -> size
            if end < now:
                os.ftruncate(fd, end)
            if isinstance(err, OSError):
                raise OSError(
                    err.errno,
                    f"Writing the study journal {self._path} failed ({err.strerror or err}); "
                    f"{'its partial record was removed' if end < now else 'nothing partial was left'}"
                    ", the journal stays readable. Free space and rerun: the study resumes",
                ) from err
            raise


def open_journal(path: str | os.PathLike[str]) -> Any:
    """A ``JournalStorage`` on ``path`` (created if missing), repaired first if damaged."""
    from optuna.storages import JournalStorage

    path = Path(path)
    backend = SafeJournalFileBackend(str(path))
    if _tail_state(path) in ("partial", "damaged"):  # else Optuna's replay finds any damage
        repair_journal(path)
    try:
        return JournalStorage(backend)
    except JournalDamagedError:  # damage before the last line: Optuna's replay stopped there
        if repair_journal(path) is None:
            raise
        return JournalStorage(SafeJournalFileBackend(str(path)))
