"""What CSV and Parquet sources share: their files, segments, roles and lazy schema.

A file source names its files as a path, a directory (searched recursively), a glob, or a list
of them; each file is a segment, fingerprinted by path, size and modification time without
reading it. The schema is read from the first readable file(s) when first needed (at
construction if a file is readable then, so a missing target fails early). A format's module
keeps only what is its own: reading a schema and the rows of one file
(:mod:`statetune.data.csv`, :mod:`statetune.data.parquet`).

Example
-------
>>> from statetune.data.files import expand_paths
>>> expand_paths([], ".csv")
Traceback (most recent call last):
...
ValueError: A file source must name at least one file, but got none.
"""

from __future__ import annotations

import glob
import os
import re
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from statetune.data.fingerprint import file_fingerprint
from statetune.data.schema import Schema
from statetune.data.source import Partition, Segment, Source

__all__ = ["FilePartition", "FileSource", "expand_paths", "natural_key"]


def natural_key(path: str) -> list[Any]:
    """Sort key of a path with its runs of digits as numbers: ``part-2`` before ``part-10``
    (as a person numbers files; plain string order put ``part-10`` first, and a series read
    from such files without a time column came out of order).

    >>> sorted(["p-10.csv", "p-2.csv", "p-1.csv"], key=natural_key)
    ['p-1.csv', 'p-2.csv', 'p-10.csv']
    """
    return [int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", path))]


def expand_paths(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], suffix: str
) -> list[str]:
    """Files in a stable order: directories and patterns are expanded (directories searched
    recursively for ``*suffix``) in the natural order of their paths (:func:`natural_key`);
    paths named one by one keep the order given."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: list[str] = []
    for item in items:
        p = os.fspath(item)
        if os.path.isdir(p):
            found = sorted(
                glob.glob(os.path.join(p, "**", f"*{suffix}"), recursive=True), key=natural_key
            )
            if not found:
                raise FileNotFoundError(f"Directory {p!r} must hold *{suffix} files, but has none.")
            out.extend(found)
        elif any(ch in p for ch in "*?["):
            found = sorted(glob.glob(p, recursive=True), key=natural_key)
            if not found:
                raise FileNotFoundError(f"Pattern {p!r} must match files, but matches none.")
            out.extend(found)
        elif os.path.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"File {p!r} must exist, but does not.")
    if not out:
        raise ValueError("A file source must name at least one file, but got none.")
    return out


class FilePartition(Partition):
    """A readable piece of one file (the whole file, or some of its row groups): its segment
    is the file's path."""

    def __init__(self, path: str, n_rows: int | None, label: str) -> None:
        self.path, self.n_rows, self.label = path, n_rows, label
        self.segment = path


class FileSource(Source):
    """Files of one format with the same columns; each file is a segment.

    Subclasses set ``suffix`` (what a directory is searched for) and ``format_name`` (for
    messages) and implement :meth:`_read_schema` and :meth:`_file_partitions`.
    """

    suffix: ClassVar[str]
    format_name: ClassVar[str]

    def __init__(
        self,
        paths: Any,
        target: str | None = None,
        weight: str | None = None,
        *,
        series: str | None = None,
        time: str | None = None,
    ) -> None:
        self.paths = expand_paths(paths, self.suffix)
        self.target, self.weight = target, weight
        self.series, self.time = series, time
        self._schema: Schema | None = None
        try:
            self.schema  # noqa: B018 - fail early on a missing target or non-numeric column
        except OSError:
            pass  # no file readable now: asked again when the schema is needed

    @property
    def schema(self) -> Schema:
        if self._schema is None:
            self._schema = self._read_schema()
        return self._schema

    @abstractmethod
    def _read_schema(self) -> Schema:
        """The schema from the first readable file(s); ``OSError`` when none is readable."""

    @property
    def roles(self) -> list[str | None]:
        """The columns named as target, weight, series and time (None when not named)."""
        return [self.target, self.weight, self.series, self.time]

    def _make_schema(self, features: Sequence[str], dtypes: Sequence[str], kind: str) -> Schema:
        """The schema of ``features`` (with their dtypes) and this source's roles; ``kind`` is
        the target's kind ("numeric" or "labels")."""
        return Schema(
            tuple(features),
            tuple(dtypes),
            self.target,
            self.weight,
            kind,
            self.series,
            self.time,
            self.series is not None or self.time is not None,
        )

    def _none_readable(self, errors: Sequence[str]) -> OSError:
        return OSError(
            f"At least one {self.format_name} file must be readable, but none is: {list(errors)}"
        )

    def segments(self) -> list[Segment]:
        return [Segment(p, file_fingerprint(p)) for p in self.paths]

    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        """The partitions of the selected files, file by file in order."""
        wanted = self.paths if segments is None else [p for p in self.paths if p in set(segments)]
        return [part for path in wanted for part in self._file_partitions(path)]

    @abstractmethod
    def _file_partitions(self, path: str) -> list[Partition]:
        """The partitions of one file, in row order."""
