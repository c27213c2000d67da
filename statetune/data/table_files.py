"""CSV and Parquet files with text columns and missing values, streamed through the table
encoding chunk by chunk: no file is ever read whole, so there is no size limit.

Two reads, both in chunks of bounded memory:

1. the *vocabulary* scan (:class:`~statetune.data.encoding.Vocabulary`): the levels each text
   column holds and which numeric columns have a missing value, over every chunk of every file
   (a level that first appears in the last chunk counts). The vocabulary is a mergeable
   summary (a set union per column, sorted at the end), so chunking and file order do not
   change it; it is bounded by ``max_levels`` per column, past which the column is refused by
   name as an id or free text would be.
2. the pass: each chunk encoded into the table's base design
   (:mod:`statetune.data.encoding`), exactly as :func:`statetune.from_pandas` encodes the
   whole table (same levels, same rows, same fold of each row: the states are equal).

Which columns are text: Parquet's types (string, large string, dictionary); for CSV, the
columns pandas reads as text in the first 10,000 rows of the first file, then read as
strings in every chunk (a later non-number in a numeric column is refused with its file and
line). A row whose target is missing is dropped and counted, as ``from_pandas`` does.

Example
-------
>>> import os, tempfile, pandas as pd
>>> from statetune.data.table_files import from_table_files
>>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> pd.DataFrame({"a": [1.0, None, 3.0], "c": ["u", "v", "u"], "y": [1.0, 2, 3]}).to_csv(
...     path, index=False)
>>> from_table_files(path, target="y", chunk_rows=2).schema.features
('a', 'a__missing', 'c=u', 'c=v')
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from statetune.data.encoding import MAX_LEVELS, Vocabulary, is_categorical
from statetune.data.files import FilePartition, expand_paths
from statetune.data.fingerprint import file_fingerprint
from statetune.data.schema import Schema, split_columns
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.data.target import target_values

__all__ = ["CHUNK_ROWS", "TableFileSource", "from_table_files"]

#: Rows read (and encoded) at a time.
CHUNK_ROWS = 65536
#: Rows of the first CSV file that tell text columns from numeric ones.
SAMPLE_ROWS = 10_000


# ---------------------------------------------------------------- reading one file in chunks
def _columns(path: str, roles: Sequence[str | None]) -> list[str]:
    if path.endswith(".parquet"):
        from statetune.data.parquet import _data_columns, open_parquet

        return _data_columns(open_parquet(path).schema_arrow, roles, f"file {path!r}")
    from statetune.data.csv import _header

    return _header(path)


def _text_columns(path: str, columns: list[str]) -> set[str]:
    """The columns of the first file that hold text (see the module docstring)."""
    if path.endswith(".parquet"):
        import pyarrow as pa

        from statetune.data.parquet import open_parquet

        arrow = open_parquet(path).schema_arrow
        return {
            n
            for n in columns
            if pa.types.is_string(arrow.field(n).type)
            or pa.types.is_large_string(arrow.field(n).type)
            or pa.types.is_dictionary(arrow.field(n).type)
        }
    from statetune.data.csv import _checked_frames, _header

    for _, df in _checked_frames(path, _header(path), chunksize=None, nrows=SAMPLE_ROWS):
        return {c for c in columns if is_categorical(df[c])}
    return set()


def _frames(
    path: str,
    columns: list[str],
    text: set[str],
    chunk_rows: int,
    numeric: Sequence[str] | None = None,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(first data row, frame)`` of the file in chunks of ``chunk_rows`` rows: text columns
    as text, the ``numeric`` ones (default: all others) as numbers (a CSV's non-number refused
    with its file and line); a CSV's other columns as pandas reads them."""
    if path.endswith(".parquet"):
        from statetune.data.parquet import open_parquet

        start = 0
        for batch in open_parquet(path).iter_batches(batch_size=chunk_rows, columns=columns):
            df = batch.to_pandas()
            yield start, df
            start += len(df)
        return
    from statetune.data.csv import _checked_frames, _header, _numeric

    header = _header(path)
    dtype = {c: str for c in text}
    checked = [c for c in header if c not in text] if numeric is None else list(numeric)
    for start, df in _checked_frames(path, header, chunk_rows, dtype=dtype):
        _numeric(df[checked], path, start)
        yield start, df


def _keep_target(df: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, int]:
    """The rows with a target value, and how many were dropped."""
    if target is None:
        return df, 0
    absent = df[target].isna().to_numpy()
    n = int(absent.sum())
    return (df.loc[~absent] if n else df), n


class _TableFile(FilePartition):
    """One file, encoded chunk by chunk."""

    def __init__(self, path: str, columns: list[str], text: set[str], chunk_rows: int) -> None:
        super().__init__(path, None, f"file {path!r}")
        self.columns, self.text, self.chunk_rows = columns, text, chunk_rows

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        enc = schema.encoding
        assert enc is not None
        features = list(enc.names)
        for start, raw in _frames(self.path, self.columns, self.text, self.chunk_rows):
            df, _ = _keep_target(raw, schema.target)
            if not len(df):
                continue
            where = f"{self.label}, data rows {start}..{start + len(raw) - 1}"
            y = None
            if schema.target is not None:
                y = target_values(df[schema.target], schema.target, self.label, start)[0]
                if schema.target_is_labels:
                    y = y.astype(str)
            w = None
            if schema.weight is not None:
                w = df[schema.weight].to_numpy(dtype=np.float64, na_value=np.nan)
            yield Chunk(enc.encode(df[features], where=where), y, w, where)


# ---------------------------------------------------------------- the source
class TableFileSource(Source):
    """CSV or Parquet files (one format, the same columns) with text columns or missing
    values, streamed as the base design of their table encoding (module docstring)."""

    def __init__(
        self,
        paths: Any,
        target: str | None = None,
        weight: str | None = None,
        *,
        max_levels: int = MAX_LEVELS,
        chunk_rows: int | None = None,
    ) -> None:
        self.suffix = _suffix(paths)
        self.paths = expand_paths(paths, self.suffix)
        self.target, self.weight = target, weight
        self.chunk_rows = int(CHUNK_ROWS if chunk_rows is None else chunk_rows)
        if self.chunk_rows < 1:
            raise ValueError(f"`chunk_rows >= 1` must hold, but got chunk_rows={chunk_rows}.")
        first = self.paths[0]
        self.columns = _columns(first, [target, weight])
        self.features = split_columns(
            self.columns,
            target=target,
            weight=weight,
            series=None,
            time=None,
            no_features=f"A table file must hold a feature column, but {first!r} has none.",
        )
        self.text = _text_columns(first, self.columns) - {weight}
        self._schema = self._scan(max_levels)

    def _scan(self, max_levels: int) -> Schema:
        """The vocabulary pass (module docstring) and the schema it gives."""
        vocab = Vocabulary(self.features, self.text - {self.target}, max_levels)
        dropped = kept = 0
        kind = "numeric"
        for path in self.paths:
            cols = _columns(path, [self.target, self.weight])
            if cols != self.columns:
                raise ValueError(
                    f"Every file must have the columns of {self.paths[0]!r} ({self.columns}), "
                    f"but {path!r} has {cols}."
                )
            for start, raw in _frames(path, self.columns, self.text, self.chunk_rows):
                df, n = _keep_target(raw, self.target)
                dropped += n
                kept += len(df)
                vocab.update(df, f"file {path!r}, data rows {start}..{start + len(raw) - 1}")
                if self.target is not None and kind == "numeric" and len(df):
                    kind = target_values(df[self.target], self.target, path, start)[1]
        if kept == 0:
            what = f"a value of the target {self.target!r}" if self.target else "a data row"
            raise ValueError(f"The files must hold {what} in some row, but hold none.")
        encoding = vocab.encoding(dropped_rows=dropped)
        names = encoding.base_names()
        return Schema(
            names, ("float64",) * len(names), self.target, self.weight, kind, encoding=encoding
        )

    @property
    def schema(self) -> Schema:
        return self._schema

    def segments(self) -> list[Segment]:
        return [Segment(p, file_fingerprint(p, b"table")) for p in self.paths]

    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        wanted = self.paths if segments is None else [p for p in self.paths if p in set(segments)]
        return [_TableFile(p, self.columns, self.text, self.chunk_rows) for p in wanted]


def _suffix(paths: Any) -> str:
    """``.parquet`` or ``.csv``: a file's own suffix; a directory's Parquet files if it has
    any, else its CSV files."""
    first = paths if isinstance(paths, str | os.PathLike) else next(iter(paths))
    p = Path(first)
    if p.is_dir():
        return ".parquet" if any(p.rglob("*.parquet")) else ".csv"
    return ".parquet" if p.suffix == ".parquet" else ".csv"


def from_table_files(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | None = None,
    weight: str | None = None,
    *,
    max_levels: int = MAX_LEVELS,
    chunk_rows: int | None = None,
) -> TableFileSource:
    """A source over CSV or Parquet files whose columns hold text or missing values, read in
    chunks of ``chunk_rows`` rows (default :data:`CHUNK_ROWS`; module docstring); tuned as ``from_pandas`` of the whole
    table would be.

    Examples
    --------
    >>> src = from_table_files("listings.csv", target="price")  # doctest: +SKIP
    """
    return TableFileSource(paths, target, weight, max_levels=max_levels, chunk_rows=chunk_rows)
