"""CSV source: files read in chunks with pandas.

CSV has no types: every column is read as numbers, and a value that is not a number is
reported with its column, file and line. Integer and float spellings of one column may mix
across chunks. Rows per file are unknown until read, so the pass reads CSV sequentially.

Rows are read as written: pandas never takes a column as the index (``index_col=False``),
and a row whose field count differs from the header's is refused with its file and line
(pandas would otherwise shift every column when each row has one field more than the header,
drop the extra fields, or pad a short row with NaN). Line numbers are 1-based physical lines,
the header's first line being line 1 (see :mod:`statetune.data.csv_records`); "data rows" count
records after the header from 0, like the pass.

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

import csv
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from statetune.data.csv_records import (
    Record,
    decode_error_at,
    file_size,
    first_bad_record,
    header_fields,
    last_record,
    line_of_data_row,
    records,
)
from statetune.data.files import FilePartition, FileSource
from statetune.data.schema import Schema, split_columns
from statetune.data.series_columns import series_ids, time_values
from statetune.data.source import Chunk, Partition
from statetune.data.target import target_values

__all__ = ["CsvSource", "UnnamedColumnWarning", "from_csv", "read_csv_frame"]

CHUNK_ROWS = 65536

#: pandas' parser. The C parser is the fast one; the checks here do not depend on it (the
#: tests run them with the Python parser too).
ENGINE = "c"

#: Rows read to tell a numeric target from class labels.
SAMPLE_ROWS = 10_000


# ---------------------------------------------------------------- errors naming file and line
def _decode_error(path: str) -> ValueError:
    try:
        found = decode_error_at(path)
    except OSError:
        found = None
    if found is None:
        return ValueError(f"File {path!r} must be UTF-8 text, but it does not decode as UTF-8.")
    line, offset, bad = found
    return ValueError(
        f"File {path!r} must be UTF-8 text, but line {line} holds the bytes {bad!r} (byte "
        f"{offset} of the file), which are not UTF-8; re-encode the file as UTF-8 (it may be "
        "latin-1 or cp1252)."
    )


def _field_count_error(path: str, n_fields: int, rec: Record) -> ValueError:
    hint = (
        "a field more than the header: a trailing comma, or a comma in a value that is not quoted"
        if rec.n_fields > n_fields
        else "fields missing"
    )
    return ValueError(
        f"Every row must have as many fields as the header ({n_fields}), but file {path!r} has "
        f"{rec.n_fields} at line {rec.line} (data row {rec.data_row}): {hint}."
    )


def _located(find: Any, *args: Any) -> Any:
    """``find(*args)``, or None when the file cannot be scanned to locate an error."""
    try:
        return find(*args)
    except (UnicodeDecodeError, csv.Error, OSError):
        return None


def _parser_error(path: str, n_fields: int, err: Exception) -> ValueError:
    """pandas' parser stopped: say where, in physical lines of the file."""
    message = str(err).strip()
    if "EOF inside string" in message or "unexpected end of data" in message:
        rec = _located(last_record, path)
        where = f" in the row at line {rec.line}" if rec is not None else ""
        return ValueError(
            f"Every quoted field must be closed, but in file {path!r} a quote opened{where} is "
            "never closed (the file ends inside it)."
        )
    rec = _located(first_bad_record, path, n_fields)
    if rec is not None:
        return _field_count_error(path, n_fields, rec)
    return ValueError(f"File {path!r} must be readable CSV, but pandas stops: {message}")


# ---------------------------------------------------------------- reading
def _read_csv(path: str, **kw: Any) -> Any:
    """pandas' reader, never taking a column as the index."""
    options: dict[str, Any] = {"index_col": False, "engine": ENGINE, **kw}
    return pd.read_csv(path, **options)


class UnnamedColumnWarning(UserWarning):
    """A CSV header leaves a column without a name (usually a written row index)."""


def _header(path: str) -> list[str]:
    """The column names (as pandas names them); duplicates and a missing header refused."""
    try:
        line, raw = header_fields(path)
    except UnicodeDecodeError:
        raise _decode_error(path) from None
    except csv.Error:
        line, raw = 1, []  # a header field beyond csv's size limit: pandas judges it
    if not raw and line == 0:
        what = "it is empty (0 bytes)" if file_size(path) == 0 else "it holds only blank lines"
        raise ValueError(f"File {path!r} must start with a header row at line 1, but {what}.")
    first: dict[str, int] = {}
    for i, name in enumerate(raw):
        if name in first and name != "":  # pandas would rename the second to name.1
            raise ValueError(
                f"Column names must be unique, but file {path!r} names {name!r} twice in its "
                f"header (line {line}, fields {first[name] + 1} and {i + 1}); rename one."
            )
        first.setdefault(name, i)
    unnamed = [i for i, name in enumerate(raw) if not name.strip()]
    if unnamed:
        index = unnamed[0] == 0
        warnings.warn(
            f"File {path!r} names no column {unnamed[0] + 1} in its header (line {line}): pandas "
            f"calls it 'Unnamed: {unnamed[0]}', and it is read as a feature"
            + (
                ". A first column without a name is usually a row index (pandas' to_csv with "
                "index=True, R's write.csv): as a feature, predictions would depend on row "
                "numbers; write the file with index=False (row.names=FALSE)."
                if index
                else "; name it in the header if it is one."
            ),
            UnnamedColumnWarning,
            stacklevel=2,
        )
    try:
        return [str(c) for c in _read_csv(path, nrows=0).columns]
    except UnicodeDecodeError:
        raise _decode_error(path) from None
    except pd.errors.ParserError as err:
        raise _parser_error(path, len(raw), err) from None


class _FieldCheck:
    """Field counts of one file's data rows, checked where pandas does not raise: the first
    data row (when it has more fields than the header, pandas drops the extra ones from every
    row) and rows whose last field is missing (pandas pads a short row with NaN). A later row
    with more fields makes pandas raise, which :func:`_frames` locates.

    Rows are scanned once, in order, and only as far as asked.
    """

    def __init__(self, path: str, n_fields: int) -> None:
        self.path, self.n_fields = path, n_fields
        self.checked = -1  # data rows 0..checked are known good
        self._records: Iterator[Record] | None = None

    def through(self, row: int) -> None:
        """Check data rows up to ``row`` (those of the file, if it has fewer)."""
        if row <= self.checked:
            return
        if self._records is None:
            self._records = records(self.path)
        try:
            for rec in self._records:
                if rec.data_row < 0:
                    continue
                if rec.n_fields != self.n_fields:
                    raise _field_count_error(self.path, self.n_fields, rec)
                self.checked = rec.data_row
                if rec.data_row >= row:
                    return
        except UnicodeDecodeError:
            raise _decode_error(self.path) from None
        except csv.Error:
            pass  # a field beyond csv's size limit: rows are left to pandas from here
        self.checked = row  # end of file (or of what can be scanned)

    def close(self) -> None:
        if self._records is not None:
            self._records.close()  # type: ignore[attr-defined]


def _frames(
    path: str, n_fields: int, chunksize: int | None, nrows: int | None = None, **kw: Any
) -> Iterator[pd.DataFrame]:
    """pandas' frames of the file (``kw``: more ``read_csv`` options, such as ``dtype``); its
    parser and decoding errors name file and line."""
    try:
        if chunksize is None:
            yield _read_csv(path, nrows=nrows, **kw)
            return
        with _read_csv(path, chunksize=chunksize, nrows=nrows, **kw) as reader:
            yield from reader
    except UnicodeDecodeError:
        raise _decode_error(path) from None
    except pd.errors.ParserError as err:
        raise _parser_error(path, n_fields, err) from None


def _checked_frames(
    path: str,
    header: list[str],
    chunksize: int | None = CHUNK_ROWS,
    nrows: int | None = None,
    **kw: Any,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(first data row, frame)`` of the file's rows, each row's field count checked."""
    check = _FieldCheck(path, len(header))
    try:
        check.through(0)
        start = 0
        for df in _frames(path, len(header), chunksize, nrows, **kw):
            n = len(df)
            if n:
                short = np.flatnonzero(df.iloc[:, -1].isna().to_numpy())
                if short.size:  # a missing value, or a row with fields missing
                    check.through(start + int(short[-1]))
                yield start, df
            start += n
    finally:
        check.close()


def read_csv_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A whole CSV file as a DataFrame, read as the CSV source reads it: no index column
    inferred, every row with the header's field count, errors naming file and line.

    Examples
    --------
    >>> read_csv_frame("new_rows.csv")  # doctest: +SKIP
    """
    path = os.fspath(path)
    header = _header(path)
    frames = [df for _, df in _checked_frames(path, header, chunksize=None)]
    return frames[0] if frames else pd.DataFrame(columns=header)


def _numeric(df: pd.DataFrame, path: str, first_row: int) -> None:
    for c in df.columns:
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            coerced = pd.to_numeric(df[c], errors="coerce")
            bad = np.flatnonzero(coerced.isna().to_numpy() & df[c].notna().to_numpy())
            r = int(bad[0]) if bad.size else 0
            line = line_of_data_row(path, first_row + r)
            at_line = f" (line {line})" if line is not None else ""
            raise TypeError(
                f"Column {str(c)!r} must be numeric, but file {path!r} holds "
                f"{df[c].iloc[r]!r} at data row {first_row + r}{at_line}."
            )


class _CsvFile(FilePartition):
    """A whole CSV file (its row count is unknown until read)."""

    def __init__(self, path: str):
        super().__init__(path, None, f"file {path!r}")

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        header = _header(self.path)
        schema.check(schema.feature_columns(header, self.label), None, self.label)
        text = [c for c in (schema.series, schema.time) if c is not None]
        for start, df in _checked_frames(self.path, header):
            skip = text + ([schema.target] if schema.target_is_labels else [])
            _numeric(df.drop(columns=skip) if skip else df, self.path, start)
            n = len(df)
            X = df[list(schema.features)].to_numpy(dtype=np.float64, na_value=np.nan)
            y = None
            if schema.target:
                y = target_values(df[schema.target], schema.target, self.label, start)[0]
                if schema.target_is_labels:
                    y = y.astype(str)
            w = df[schema.weight].to_numpy(np.float64, na_value=np.nan) if schema.weight else None
            where = f"{self.label}, data rows {start}..{start + n - 1}"
            ids = times = None
            if schema.series:
                ids = series_ids(df[schema.series], schema.series, self.label, start)
            if schema.time:
                times = time_values(df[schema.time], schema.time, self.label, start)
            yield Chunk(X, y, w, where, series=ids, time=times)


def _first_rows(path: str, header: list[str], nrows: int) -> pd.DataFrame | None:
    """The file's first ``nrows`` data rows (checked), or None for a header-only file."""
    for _, df in _checked_frames(path, header, chunksize=None, nrows=nrows):
        return df
    return None


class CsvSource(FileSource):
    """One or more CSV files with a header row and the same columns (files are segments).

    The columns come from the first readable file's header; whether the target holds numbers
    or class labels, from the first rows of the first readable file that has rows.
    """

    suffix = ".csv"
    format_name = "CSV"

    def _read_schema(self) -> Schema:
        errors: list[str] = []
        features: list[str] | None = None
        header_only: list[str] = []
        sample: pd.DataFrame | None = None
        for path in self.paths:
            try:
                cols = _header(path)
                if features is None:
                    features = split_columns(
                        cols,
                        target=self.target,
                        weight=self.weight,
                        series=self.series,
                        time=self.time,
                        no_features=(
                            f"A CSV source must hold a feature column, but {path!r} has none."
                        ),
                    )
                sample = _first_rows(path, cols, SAMPLE_ROWS if self.target else 1)
            except (PermissionError, OSError) as err:
                errors.append(f"{path}: {err}")
                continue
            if sample is not None:
                break
            header_only.append(path)
        if features is None:
            raise self._none_readable(errors)
        if sample is None and (self.target is not None or not errors):
            if errors:
                raise OSError(
                    "At least one readable CSV file must hold a data row (to tell numbers from "
                    f"class labels in {self.target!r}), but {header_only} hold only a header "
                    f"and the others are unreadable: {errors}"
                )
            raise ValueError(
                f"A CSV source must hold at least one data row, but {_files(header_only)} "
                "only a header and no rows."
            )
        kind = "numeric"
        if self.target is not None and sample is not None:
            values = sample[self.target]
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
                values
            )
            kind = "numeric" if numeric else "labels"
        return self._make_schema(features, ("float64",) * len(features), kind)

    def _file_partitions(self, path: str) -> list[Partition]:
        return [_CsvFile(path)]


def _files(paths: list[str]) -> str:
    return f"file {paths[0]!r} holds" if len(paths) == 1 else f"files {paths} hold"


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
    (see :func:`statetune.data.from_pandas`). Every row must have as many fields as the
    header (no column is ever taken as an index); files must be UTF-8.

    Examples
    --------
    >>> src = from_csv("train.csv", target="y")  # doctest: +SKIP
    """
    return CsvSource(paths, target, weight, series=series, time=time)
