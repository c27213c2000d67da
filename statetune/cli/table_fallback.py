"""A data path whose files hold text columns or missing values, read whole as a table.

File sources stream numeric columns only: a text column or a NaN stops the pass, naming the
file, column and row. Tables that fit in memory (files up to :data:`TABLE_MAX_BYTES` in all)
are then read with pandas and tuned through :func:`statetune.from_pandas`, which one-hot
encodes text columns and imputes missing values per fold (``statetune.data.encoding``).

Example
-------
>>> from statetune.cli.table_fallback import needs_table
>>> needs_table(ValueError("Column 'firm' must be numeric, but file 'g.csv' holds 'GM'"))
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["TABLE_MAX_BYTES", "needs_table", "table_source"]

#: Largest total file size read whole as a table (bytes on disk; pandas holds several times it).
TABLE_MAX_BYTES = 1 << 30

_MARKS = ("must be numeric", "must be finite")


def needs_table(err: BaseException) -> bool:
    """Whether ``err`` is a file source refusing a text column or a missing value."""
    return isinstance(err, (TypeError, ValueError)) and any(m in str(err) for m in _MARKS)


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(q for q in path.rglob("*") if q.suffix in (".csv", ".parquet"))


def table_source(path: str, target: str | None, weight: str | None) -> tuple[Any, str] | None:
    """``(source, note)`` over the files at ``path`` read whole with pandas, or None when they
    exceed :data:`TABLE_MAX_BYTES`."""
    import pandas as pd

    import statetune as st
    from statetune.data.frames import read_frame

    files = _files(Path(path))
    size = sum(f.stat().st_size for f in files)
    if not files or size > TABLE_MAX_BYTES:
        return None
    df = pd.concat([read_frame(f) for f in files], ignore_index=True)
    source = st.from_pandas(df, target=target, weight=weight)
    note = (
        f"note: {path!r} holds text columns or missing values, which a streamed file pass "
        f"does not take; read whole as a table ({len(df):,} rows, {size / 2**20:.1f} MiB of "
        "files): text columns one-hot encoded, missing values mean-imputed per fold"
    )
    return source, note
