"""``TableSource``: a DataFrame with categorical columns or missing values, encoded into its
base design (:mod:`statetune.data.encoding`) one chunk at a time as the pass reads it, so the
encoded matrix (one column per level) never exists in memory whole.

Example
-------
>>> import pandas as pd
>>> from statetune.data import from_pandas
>>> df = pd.DataFrame({"a": [1.0, None, 3.0, 4.0], "c": list("uvuv"), "y": [1.0, 2, 3, 4]})
>>> src = from_pandas(df, target="y")
>>> type(src).__name__, src.schema.features
('TableSource', ('a', 'a__missing', 'c=u', 'c=v'))
>>> next(src.partitions()[0].chunks(src.schema)).X.shape
(4, 4)
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from statetune.data.encoding import TableEncoding
from statetune.data.fingerprint import array_fingerprint
from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition, Segment, Source

__all__ = ["TableSource", "read_as"]

#: Rows encoded at a time (a chunk of the base design: rows x (columns + levels) floats).
CHUNK_ROWS = 32768


def _cut(v: np.ndarray | None, a: int, b: int) -> np.ndarray | None:
    return None if v is None else v[a:b]


class _TablePartition(Partition):
    def __init__(
        self,
        frame: pd.DataFrame,
        encoding: TableEncoding,
        y: np.ndarray | None,
        w: np.ndarray | None,
        label: str,
        first_row: int,
    ) -> None:
        self.frame, self.encoding, self.y, self.w = frame, encoding, y, w
        self.label, self.segment, self.first_row = label, label, first_row
        self.n_rows = len(frame)

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        n = len(self.frame)
        for a in range(0, n, CHUNK_ROWS):
            b = min(a + CHUNK_ROWS, n)
            first, last = self.first_row + a, self.first_row + b - 1
            yield Chunk(
                self.encoding.encode(self.frame.iloc[a:b], where=f"rows {first}..{last}"),
                _cut(self.y, a, b),
                _cut(self.w, a, b),
                f"{self.label}, rows {first}..{last}",
            )


class TableSource(Source):
    """The feature columns of a DataFrame (``frame``), its target and weights, read as the
    base design of ``schema.encoding``."""

    def __init__(
        self,
        frame: pd.DataFrame,
        schema: Schema,
        y: np.ndarray | None,
        w: np.ndarray | None,
        label: str = "DataFrame",
    ) -> None:
        if schema.encoding is None:
            raise ValueError("A TableSource needs the schema's encoding, but it has none.")
        self.frame, self.y, self.w, self.label = frame, y, w, label
        self.encoding = schema.encoding
        self._schema = schema
        self._segment: Segment | None = None

    @property
    def schema(self) -> Schema:
        return self._schema

    def _fingerprint(self) -> str:
        rows = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        names = np.array(list(self.frame.columns), dtype=str)
        return array_fingerprint(rows, names, self.y, self.w)

    def segments(self) -> list[Segment]:
        """One segment: the DataFrame (fingerprint: a hash of its rows, target and weights,
        computed on first use)."""
        if self._segment is None:
            self._segment = Segment(
                self.label, functools.partial(self._fingerprint), len(self.frame)
            )
        return [self._segment]

    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        if segments is not None and self.label not in segments:
            return []
        n = len(self.frame)
        k = max(1, min(int(n_hint), n))
        cuts = np.linspace(0, n, k + 1).astype(int)
        return [
            _TablePartition(
                self.frame.iloc[a:b],
                self.encoding,
                _cut(self.y, a, b),
                _cut(self.w, a, b),
                self.label,
                int(a),
            )
            for a, b in itertools.pairwise(cuts)
        ]


def read_as(source: Source, schema: Schema) -> Source:
    """``source`` read through ``schema``'s table encoding when that encoding covers the
    source's own (:meth:`TableEncoding.covers`: new rows of an update holding fewer levels or
    fewer missing values than the first rows); otherwise ``source`` itself, whose schema the
    caller then checks (and refuses, naming what differs).

    Examples
    --------
    >>> import pandas as pd
    >>> from statetune.data import from_pandas
    >>> first = from_pandas(pd.DataFrame({"c": list("uvw"), "y": [1.0, 2, 3]}), target="y")
    >>> later = from_pandas(pd.DataFrame({"c": list("wu"), "y": [4.0, 5]}), target="y")
    >>> read_as(later, first.schema).schema.features
    ('c=u', 'c=v', 'c=w')
    """
    old = schema.encoding
    if not isinstance(source, TableSource) or old is None or source.encoding == old:
        return source
    if not old.covers(source.encoding):
        return source
    mine = source.schema
    adopted = dataclasses.replace(
        mine,
        features=schema.features,
        dtypes=schema.dtypes,
        encoding=dataclasses.replace(old, dropped_rows=source.encoding.dropped_rows),
    )
    out = TableSource(source.frame, adopted, source.y, source.w, source.label)
    out._segment = source.segments()[0]  # the same rows: one fingerprint (a hash of them) for both
    return out
