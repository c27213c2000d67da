"""Parquet source: files (or a directory of them) read by row groups with pyarrow.

Each row group range is a partition whose row count comes from the file footer, so
the engine can read partitions in parallel and still place every row in its fold.

Example
-------
>>> import tempfile, os, pandas as pd
>>> from statetune.data import from_parquet
>>> path = os.path.join(tempfile.mkdtemp(), "a.parquet")
>>> pd.DataFrame({"a": [1.0, 2.0], "y": [0.0, 1.0]}).to_parquet(path)
>>> from_parquet(path, target="y").schema.features
('a',)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from statetune.data.files import expand_paths
from statetune.data.fingerprint import file_fingerprint
from statetune.data.schema import Schema, check_numeric_dtype, columns_named
from statetune.data.source import Chunk, Partition, Source

__all__ = ["ParquetSource", "from_parquet"]


def _arrow_dtype_name(name: str, t: pa.DataType, where: str) -> str:
    try:
        np_dtype = t.to_pandas_dtype()
    except NotImplementedError:
        np_dtype = object
    return check_numeric_dtype(name, np_dtype, where)


def _column(table: pa.Table, name: str) -> np.ndarray:
    """A column as float64 numpy (zero-copy for float64 without nulls; nulls become NaN)."""
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)


class _RowGroups(Partition):
    def __init__(self, path: str, groups: list[int], n_rows: int, columns: list[str], fp: str):
        self.path, self.groups, self.n_rows, self.columns, self._fp = (
            path,
            groups,
            n_rows,
            columns,
            fp,
        )
        self.label = f"file {path!r}, row groups {groups[0]}..{groups[-1]}"

    def fingerprint(self) -> str:
        return f"{self._fp}:{self.groups[0]}-{self.groups[-1]}"

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        pf = pq.ParquetFile(self.path)
        _check_file_schema(pf, schema, self.path)
        for g in self.groups:
            table = pf.read_row_group(g, columns=self.columns, use_threads=True)
            cols = tuple(_column(table, name) for name in schema.features)
            y = _column(table, schema.target) if schema.target else None
            w = _column(table, schema.weight) if schema.weight else None
            yield Chunk(None, y, w, f"file {self.path!r}, row group {g}", columns=cols)


def _check_file_schema(pf: pq.ParquetFile, schema: Schema, path: str) -> None:
    arrow = pf.schema_arrow
    names = [n for n in arrow.names if n not in (schema.target, schema.weight)]
    where = f"file {path!r}"
    for role, col in (("target", schema.target), ("weight", schema.weight)):
        if col is not None and col not in arrow.names:
            raise ValueError(
                f"The {role} column {col!r} must exist in every file, but {where} lacks it."
            )
    dtypes = [_arrow_dtype_name(n, arrow.field(n).type, where) for n in names]
    schema.check(names, dtypes, where)


class ParquetSource(Source):
    """One or more Parquet files with the same columns."""

    def __init__(self, paths: Any, target: str | None = None, weight: str | None = None) -> None:
        self.paths = expand_paths(paths, ".parquet")
        first = pq.ParquetFile(self.paths[0])
        arrow = first.schema_arrow
        columns_named(arrow.names, target, "target")
        columns_named(arrow.names, weight, "weight")
        where = f"file {self.paths[0]!r}"
        features = [n for n in arrow.names if n not in (target, weight)]
        if not features:
            raise ValueError(f"A Parquet source must hold a feature column, but {where} has none.")
        dtypes = [_arrow_dtype_name(n, arrow.field(n).type, where) for n in arrow.names]
        self._schema = Schema(
            tuple(features),
            tuple(dt for n, dt in zip(arrow.names, dtypes, strict=True) if n in features),
            target,
            weight,
        )
        self._columns = features + [c for c in (target, weight) if c is not None]
        self._partitions: list[Partition] | None = None

    @property
    def schema(self) -> Schema:
        return self._schema

    def partitions(self, n_hint: int = 1) -> list[Partition]:
        """One partition per row group (row counts from the footers; no data read)."""
        if self._partitions is None:
            parts: list[Partition] = []
            total = 0
            for path in self.paths:
                pf = pq.ParquetFile(path)
                _check_file_schema(pf, self._schema, path)
                md = pf.metadata
                fp = file_fingerprint(path, md.to_dict().__repr__().encode())
                for g in range(md.num_row_groups):
                    n = md.row_group(g).num_rows
                    if n:
                        parts.append(_RowGroups(path, [g], n, self._columns, fp))
                        total += n
            if total == 0:
                raise ValueError(
                    f"The source must hold at least one row, but {self.paths} are empty."
                )
            self._partitions = parts
        return list(self._partitions)


def from_parquet(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | None = None,
    weight: str | None = None,
) -> ParquetSource:
    """A source over Parquet files: a path, a directory (searched recursively) or a list.

    Every column but ``target`` and ``weight`` is a feature; later files must have the same
    columns in the same order with the same types.

    Examples
    --------
    >>> src = from_parquet(path, target="y")  # doctest: +SKIP
    """
    return ParquetSource(paths, target, weight)
