"""Where things are in a CSV file: records, their physical lines and field counts.

pandas' parser does not say how many fields a row had (a short row is padded with NaN) nor
on which physical line a row starts, so the CSV source asks this module. It reads a file
with Python's :mod:`csv` module in pandas' default dialect (comma, double quote, a doubled
quote inside quotes, any of ``\\n``, ``\\r\\n`` and ``\\r`` ending a line) and, like pandas,
skips lines that are empty or hold only spaces and tabs.

**Line numbers** are 1-based physical lines of the file, the header being line 1 when it is
first: a quoted value holding line breaks spans several lines, and a record is named by the
line it starts on (so lines are not rows: blank lines and quoted line breaks count too).
**Data rows** are 0-based records after the header, as the pass counts them.

These scans read the file again and cost about as much as parsing it; the source calls them
only on the way to an error, or once for a file whose last column holds missing values.

Example
-------
>>> import os, tempfile
>>> from statetune.data.csv_records import first_bad_record, records
>>> path = os.path.join(tempfile.mkdtemp(), "a.csv")
>>> _ = open(path, "w").write('a,y\\n1,"two\\nlines"\\n\\n3,4,5\\n')
>>> [(r.line, r.n_fields) for r in records(path)]
[(1, 2), (2, 2), (5, 3)]
>>> first_bad_record(path, 2)
Record(line=5, n_fields=3, data_row=1)
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from typing import NamedTuple

__all__ = [
    "Record",
    "decode_error_at",
    "file_size",
    "first_bad_record",
    "header_fields",
    "last_record",
    "line_of_data_row",
    "records",
]


class Record(NamedTuple):
    """A record (the header or a data row): its first physical line and its field count;
    ``data_row`` is its 0-based index after the header (-1 for the header)."""

    line: int
    n_fields: int
    data_row: int = -1


def _is_blank(row: list[str]) -> bool:
    """An empty line, or one holding spaces and tabs only: pandas skips both."""
    return not row or (len(row) == 1 and row[0] != "" and not row[0].strip(" \t"))


def _rows(path: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of every non-blank record, header first."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        end = 0
        for row in reader:
            start, end = end + 1, reader.line_num
            if not _is_blank(row):
                yield start, row


def records(path: str) -> Iterator[Record]:
    """Every record of the file, header first (see the module docstring for line numbers).

    Raises ``UnicodeDecodeError`` on bytes that are not UTF-8 and ``csv.Error`` on a field
    longer than :func:`csv.field_size_limit`; callers locating an error catch both.
    """
    for i, (line, row) in enumerate(_rows(path)):
        yield Record(line, len(row), i - 1)


def header_fields(path: str) -> tuple[int, list[str]]:
    """The header's first line and its fields as written (before pandas renames duplicates
    ``a, a`` to ``a, a.1``); ``(0, [])`` for a file without a non-blank line."""
    for line, row in _rows(path):
        return line, row
    return 0, []


def first_bad_record(path: str, n_fields: int, max_rows: int | None = None) -> Record | None:
    """The first data record whose field count is not ``n_fields`` (among the first
    ``max_rows`` data rows, or all), or None."""
    for rec in records(path):
        if rec.data_row < 0:
            continue
        if max_rows is not None and rec.data_row >= max_rows:
            return None
        if rec.n_fields != n_fields:
            return rec
    return None


def line_of_data_row(path: str, row: int) -> int | None:
    """The physical line data row ``row`` starts on, or None if it cannot be told."""
    try:
        for rec in records(path):
            if rec.data_row == row:
                return rec.line
    except (UnicodeDecodeError, csv.Error):
        return None
    return None


def last_record(path: str) -> Record | None:
    """The last record of the file (where a quote left open swallows the rest)."""
    last = None
    for rec in records(path):
        last = rec
    return last


def decode_error_at(path: str, encoding: str = "utf-8") -> tuple[int, int, bytes] | None:
    """``(line, byte offset, bad bytes)`` of the first bytes that do not decode, or None.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``, as in :func:`records`.
    """
    line, offset = 1, 0
    with open(path, "rb") as f:
        for raw in f:  # split at b"\n": no UTF-8 character holds that byte
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as err:
                before = raw[: err.start]
                return line + before.count(b"\r"), offset + err.start, raw[err.start : err.end]
            body = raw[:-2] if raw.endswith(b"\r\n") else raw
            line += body.count(b"\r") + (1 if raw.endswith(b"\n") else 0)
            offset += len(raw)
    return None


def file_size(path: str) -> int:
    """The file's size in bytes (-1 if it cannot be read)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return -1
