"""What the pass engine reads: a ``Source`` of ``Partition``s, each a stream of ``Chunk``s.

A partition is a piece that can be read independently (an array slice, a Parquet row-group
range, a file) and knows its row count when the format tells it cheaply; the engine then
gives each partition its global row offset, so folds do not depend on how the data is split.

Example
-------
>>> import numpy as np
>>> from statetune.data import from_arrays
>>> src = from_arrays(np.zeros((10, 2)), np.zeros(10))
>>> [p.n_rows for p in src.partitions(2)]
[5, 5]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from statetune.data.schema import Schema

__all__ = ["Chunk", "Partition", "Segment", "Source"]


@dataclass
class Chunk:
    """Consecutive rows: features as ``X`` (n, d) or as ``columns`` (d arrays of n), plus ``y``
    and ``w`` (n,) or None, and for series sources the ``series`` ids and ``time`` (n,).

    Row-major sources (numpy, CSV) fill ``X``; columnar ones (Parquet) fill ``columns`` with
    zero-copy views of their buffers, and the pass lays them out fold by fold itself.
    ``where`` names the place in the source (a file and row group) for error messages.
    """

    X: np.ndarray | None
    y: np.ndarray | None
    w: np.ndarray | None
    where: str
    columns: tuple[np.ndarray, ...] | None = None
    #: Series ids (int64 or unicode) and times (int64 or float64) of series sources.
    series: np.ndarray | None = None
    time: np.ndarray | None = None

    def __len__(self) -> int:
        if self.X is not None:
            return int(self.X.shape[0])
        assert self.columns is not None
        return int(self.columns[0].shape[0])

    def value(self, row: int, column: int) -> float:
        """The feature value at ``row``, ``column`` (for error messages)."""
        if self.X is not None:
            return float(self.X[row, column])
        assert self.columns is not None
        return float(self.columns[column][row])

    def slice(self, a: int, b: int) -> Chunk:
        """Rows ``a .. b - 1`` (views, no copy)."""
        return Chunk(
            None if self.X is None else self.X[a:b],
            None if self.y is None else self.y[a:b],
            None if self.w is None else self.w[a:b],
            self.where if (a, b) == (0, len(self)) else f"{self.where}, +{a}",
            None if self.columns is None else tuple(c[a:b] for c in self.columns),
            None if self.series is None else self.series[a:b],
            None if self.time is None else self.time[a:b],
        )


class Segment:
    """A unit of lineage: a file, an in-memory array, a batch stream.

    ``key`` names it (a path), ``fingerprint`` identifies its content (file stat; a hash of
    every byte of in-memory arrays), ``n_rows`` is known for in-memory data. The fingerprint
    may be given as a function, called on first use only (a pass without a cache or a study
    name never hashes its arrays).
    """

    def __init__(
        self,
        key: str,
        fingerprint: str | Callable[[], str | None] | None,
        n_rows: int | None = None,
    ) -> None:
        self.key = key
        self.n_rows = n_rows
        self._fingerprint = fingerprint

    @property
    def fingerprint(self) -> str | None:
        """The content fingerprint, computed now if it was deferred."""
        if callable(self._fingerprint):
            self._fingerprint = self._fingerprint()
        return self._fingerprint

    @property
    def known_fingerprint(self) -> str | None:
        """The fingerprint if it is already known (a deferred one is not computed: a pass
        records what it knows, and only a cache or a study name asks for the rest)."""
        return None if callable(self._fingerprint) else self._fingerprint

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return (self.key, self.fingerprint, self.n_rows) == (
            other.key,
            other.fingerprint,
            other.n_rows,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.n_rows))

    def __repr__(self) -> str:
        fp = "<lazy>" if callable(self._fingerprint) else repr(self._fingerprint)
        return f"Segment(key={self.key!r}, fingerprint={fp}, n_rows={self.n_rows})"


class Partition(ABC):
    """An independently readable piece of a source (picklable, for process executors).

    ``segment`` is the key of the segment it belongs to; a segment's partitions are consecutive.
    """

    label: str
    n_rows: int | None
    segment: str = ""

    @abstractmethod
    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        """Yield the partition's rows in order, checked against ``schema``."""


class Source(ABC):
    """A data source: a schema, segments (lineage units), partitions (units of reading)."""

    @property
    @abstractmethod
    def schema(self) -> Schema:
        """The schema fixed by the first chunk."""

    @abstractmethod
    def segments(self) -> list[Segment]:
        """The source's segments in order, identified without reading their data."""

    @abstractmethod
    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        """Pieces to read, of the segments keyed in ``segments`` (default: all), in order;
        ``n_hint`` suggests how many when the source can be cut freely."""

    def fingerprint(self) -> str | None:
        """Content hash of the whole source: the segments' fingerprints combined."""
        from statetune.data.fingerprint import combine

        fps = [s.fingerprint for s in self.segments()]
        if any(f is None for f in fps):
            return None
        return combine(*(f for f in fps if f is not None))
