"""CSV source: files read in chunks with pandas.

CSV has no types: every column is read as numbers, and a value that is not a number is
reported with its column, file and row. Integer and float spellings of one column may mix
across chunks. Rows per file are unknown until read, so the pass reads CSV sequentially.

Example
-------
>>> import tempfile, os
>>> from statetune.data import from_csv
>>> path = os.path.join(tempfile.mkdtemp(), "a.csv")
>>> _ = open(path, "w").write("a,y\\n1,2\\n3,4\\n")
>>> from_csv(path, target="y").schema.features
('a',)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from statetune.data.files import expand_paths
from statetune.data.fingerprint import file_fingerprint
from statetune.data.schema import Schema, split_columns
from statetune.data.series_columns import series_ids, time_values
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.data.target import target_values

__all__ = ["CsvSource", "from_csv"]

CHUNK_ROWS = 65536


def _header(path: str) -> list[str]:
    cols = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    if not cols:
        raise ValueError(f"File {path!r} must start with a header row, but is empty.")
    return cols


def _numeric(df: pd.DataFrame, path: str, first_row: int) -> None:
    for c in df.columns:
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            coerced = pd.to_numeric(df[c], errors="coerce")
            bad = np.flatnonzero(coerced.isna().to_numpy() & df[c].notna().to_numpy())
            r = int(bad[0]) if bad.size else 0
            raise TypeError(
                f"Column {str(c)!r} must be numeric, but file {path!r} holds "
                f"{df[c].iloc[r]!r} at data row {first_row + r}."
            )


class _CsvFile(Partition):
    def __init__(self, path: str):
        self.path, self.n_rows, self.segment = path, None, path
        self.label = f"file {path!r}"

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        header = _header(self.path)
        schema.check(schema.feature_columns(header, self.label), None, self.label)
        text = [c for c in (schema.series, schema.time) if c is not None]
        start = 0
        with pd.read_csv(self.path, chunksize=CHUNK_ROWS) as reader:
            for df in reader:
                if len(df) == 0:  # a header-only file: nothing to check or feed
                    continue
                skip = text + ([schema.target] if schema.target_is_labels else [])
                _numeric(df.drop(columns=skip) if skip else df, self.path, start)
                n = len(df)
                X = df[list(schema.features)].to_numpy(dtype=np.float64, na_value=np.nan)
                y = None
                if schema.target:
                    y = target_values(df[schema.target], schema.target, self.label, start)[0]
                    if schema.target_is_labels:
                        y = y.astype(str)
                w = (
                    df[schema.weight].to_numpy(np.float64, na_value=np.nan)
                    if schema.weight
                    else None
                )
                where = f"{self.label}, data rows {start}..{start + n - 1}"
                ids = times = None
                if schema.series:
                    ids = series_ids(df[schema.series], schema.series, self.label, start)
                if schema.time:
                    times = time_values(df[schema.time], schema.time, self.label, start)
                yield Chunk(X, y, w, where, series=ids, time=times)
                start += n


class CsvSource(Source):
    """One or more CSV files with a header row and the same columns (files are segments).

    The schema comes from the first readable file's header.
    """

    def __init__(
        self,
        paths: Any,
        target: str | None = None,
        weight: str | None = None,
        *,
        series: str | None = None,
        time: str | None = None,
    ) -> None:
        self.paths = expand_paths(paths, ".csv")
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
            errors = []
            for path in self.paths:
                try:
                    cols = _header(path)
                except (PermissionError, OSError) as err:
                    errors.append(f"{path}: {err}")
                    continue
                features = split_columns(
                    cols,
                    target=self.target,
                    weight=self.weight,
                    series=self.series,
                    time=self.time,
                    no_features=f"A CSV source must hold a feature column, but {path!r} has none.",
                )
                kind = "numeric"
                if self.target is not None:
                    sample = pd.read_csv(path, usecols=[self.target], nrows=10_000)[self.target]
                    numeric = pd.api.types.is_numeric_dtype(
                        sample
                    ) and not pd.api.types.is_bool_dtype(sample)
                    kind = "numeric" if numeric else "labels"
                self._schema = Schema(
                    tuple(features),
                    ("float64",) * len(features),
                    self.target,
                    self.weight,
                    kind,
                    self.series,
                    self.time,
                    self.series is not None or self.time is not None,
                )
                break
            else:
                raise OSError(f"At least one CSV file must be readable, but none is: {errors}")
        return self._schema

    def segments(self) -> list[Segment]:
        return [Segment(p, file_fingerprint(p)) for p in self.paths]

    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        wanted = self.paths if segments is None else [p for p in self.paths if p in set(segments)]
        return [_CsvFile(p) for p in wanted]


def from_csv(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | None = None,
    weight: str | None = None,
    *,
    series: str | None = None,
    time: str | None = None,
) -> CsvSource:
    """A source over CSV files with a header row (a path, a directory or a list).

    ``series`` and ``time`` name the series id and timestamp columns of forecasting data
    (see :func:`statetune.data.from_pandas`).

    Examples
    --------
    >>> src = from_csv("train.csv", target="y")  # doctest: +SKIP
    """
    return CsvSource(paths, target, weight, series=series, time=time)
