"""Safe file access for everything statetune stores (cache entries, checkpoints, saved models,
tuning results).

Writes go to a temp file in the same folder, are fsynced, then ``os.replace``d over the target,
so a reader sees the old file or the new one, never a partial one; several files written
together (a saved model's ``state.npz`` and ``model.json``) are all written before any replaces
its target. A full disk (``ENOSPC``, or ``EDQUOT`` for a quota) raises :class:`DiskFullError`
naming the path, after removing the temp file. Reads refuse anything but a regular file
*without opening it* (opening a FIFO blocks until someone writes to it): a directory, FIFO,
socket, device or dangling symbolic link raises :class:`NotRegularFileError`.

Example
-------
>>> import tempfile, pathlib
>>> from statetune.state_cache.files import atomic_write, open_regular
>>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
>>> atomic_write(path, lambda f: f.write(b"hello"))
>>> with open_regular(path) as f:
...     f.read()
b'hello'
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, BinaryIO

__all__ = [
    "DiskFullError",
    "NotRegularFileError",
    "atomic_write",
    "atomic_write_many",
    "file_problem",
    "open_regular",
]

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFullError(OSError):
    """The disk (or a quota) was full while writing ``path``; nothing was written there."""

    def __init__(self, path: str | os.PathLike[str], err_no: int) -> None:
        self.path = str(path)
        super().__init__(
            err_no,
            f"Writing {self.path!r} needs free disk space, but the disk is full "
            f"({os.strerror(err_no)}); nothing was written there (its temp file was removed). "
            "Free some space and run again.",
        )


class NotRegularFileError(OSError):
    """A path that must be a regular file is a directory, FIFO, socket, device or dangling
    symbolic link (``problem`` says which). It was not opened."""

    def __init__(self, path: str | os.PathLike[str], problem: str, consequence: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path!r} must be a regular file, but is {problem}; {consequence}")


def _describe(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def file_problem(path: str | os.PathLike[str]) -> str | None:
    """``None`` if ``path`` is a regular file (symbolic links followed), else what it is
    ("a directory", "a FIFO (named pipe)", "a dangling symbolic link to ..."). Looks with
    ``stat`` only, never opens. ``FileNotFoundError`` if nothing is there.

    Examples
    --------
    >>> import tempfile
    >>> file_problem(tempfile.mkdtemp())
    'a directory'
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"a dangling symbolic link (to {os.readlink(path)!r})"
        raise
    if stat.S_ISREG(st.st_mode):
        return None
    via = " (through a symbolic link)" if os.path.islink(path) else ""
    return _describe(st.st_mode) + via


@contextmanager
def open_regular(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open ``path`` for reading if it is a regular file, else raise
    :class:`NotRegularFileError` without opening it (``FileNotFoundError`` if absent).

    The file is opened non-blocking and checked again with ``fstat``, so a FIFO swapped in
    between the two checks cannot block the reader either.
    """
    problem = file_problem(path)
    if problem is not None:
        raise NotRegularFileError(path, problem, "it was not opened.")
    nonblock = getattr(os, "O_NONBLOCK", 0)  # POSIX: opening a FIFO cannot block
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, _describe(mode), "it was not read.")
        if nonblock:
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is done anyway
        return
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any]) -> None:
    """Write through a temp file in the same folder, fsync, then ``os.replace``.

    Raises
    ------
    DiskFullError
        No space left (the temp file is removed, ``path`` is unchanged).
    NotRegularFileError
        ``path`` is a directory (nothing is written).
    """
    atomic_write_many([(path, write)])


def atomic_write_many(
    items: Sequence[tuple[str | os.PathLike[str], Callable[[IO[bytes]], Any]]],
) -> None:
    """Write several files so that none changes unless all were written in full: every temp
    file is written and fsynced before the first ``os.replace``. Errors as :func:`atomic_write`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_many([(d / "a", lambda f: f.write(b"1")), (d / "b", lambda f: f.write(b"2"))])
    >>> sorted(p.name for p in d.iterdir())
    ['a', 'b']
    """
    temps: list[tuple[str, Path]] = []
    current: Path | None = None
    try:
        for target, write in items:
            current = Path(target)
            current.parent.mkdir(parents=True, exist_ok=True)
            if current.is_dir() and not current.is_symlink():
                raise NotRegularFileError(
                    current, "a directory", "nothing was written. Remove or rename it."
                )
            fd, tmp = tempfile.mkstemp(
                dir=current.parent, prefix=f".{current.name}.", suffix=".tmp"
            )
            temps.append((tmp, current))
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        for tmp, target_path in temps:
            current = target_path
            os.replace(tmp, target_path)
    except BaseException as err:
        for tmp, _ in temps:
            with suppress(OSError):
                os.unlink(tmp)  # gone already if it replaced its target
        if isinstance(err, OSError) and err.errno in _FULL and current is not None:
            raise DiskFullError(current, err.errno) from err
        raise
    for folder in dict.fromkeys(p.parent for _, p in temps):
        _fsync_folder(folder)
