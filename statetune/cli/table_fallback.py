"""A data path whose files hold text columns or missing values, streamed as a table.

The numeric file sources stop at a text column or a NaN, naming the file, column and row.
``statetune tune`` then reads the same files with
:class:`~statetune.data.table_files.TableFileSource`: in chunks, through the table encoding
(text columns one-hot encoded, missing values mean-imputed per fold by the models), after one
chunked scan for the levels; no file is read whole, so any size streams.

Example
-------
>>> from statetune.cli.table_fallback import needs_table
>>> needs_table(ValueError("Column 'firm' must be numeric, but file 'g.csv' holds 'GM'"))
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["needs_table", "table_source"]

_MARKS = ("must be numeric", "must be finite")


def needs_table(err: BaseException) -> bool:
    """Whether ``err`` is a file source refusing a text column or a missing value."""
    return isinstance(err, (TypeError, ValueError)) and any(m in str(err) for m in _MARKS)


def table_source(path: str, target: str | None, weight: str | None) -> tuple[Any, str]:
    """``(source, note)``: the files at ``path`` streamed through the table encoding."""
    from statetune.data.table_files import TableFileSource

    source = TableFileSource(path, target, weight)
    enc = source.schema.encoding
    assert enc is not None
    summary = enc.summary()
    note = (
        f"note: {path!r} holds text columns or missing values, which the numeric file pass "
        f"does not take; streamed as a table in chunks of {source.chunk_rows:,} rows "
        f"({len(source.paths)} file{'s' if len(source.paths) > 1 else ''}, text columns "
        f"{summary['encoded']} one-hot encoded, missing values mean-imputed per fold)"
    )
    return source, note
