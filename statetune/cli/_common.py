"""What the commands share: exit codes, data paths (file or folder) and atomic output files.

Example
-------
>>> from statetune.cli._common import output_format
>>> output_format("predictions.jsonl")
'jsonl'
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_CACHE_DIR",
    "EXIT_DATA",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "OUTPUT_FORMATS",
    "data_files",
    "output_format",
    "source_from_path",
    "write_frame",
    "write_frames",
]

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_CACHE_DIR = ".statetune"

#: Output file extensions and the format each writes.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def data_files(path: str) -> tuple[str, list[str]]:
    """``(suffix, files)`` of a ``.parquet``/``.csv`` file or of a folder holding one kind.

    A folder is searched recursively, in the stable order the sources read it.
    """
    from statetune.data.files import expand_paths

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {path!r} (a data path must exist).")
    if p.is_dir():
        kinds = {q.suffix for q in p.rglob("*") if q.suffix in (".parquet", ".csv")}
        if len(kinds) != 1:
            raise ValueError(
                f"Folder {path!r} must hold only .parquet or only .csv files, but holds "
                f"{sorted(kinds) or 'neither'}."
            )
        suffix = kinds.pop()
        return suffix, expand_paths(p, suffix)
    if p.suffix in (".parquet", ".csv"):
        return p.suffix, [str(p)]
    raise ValueError(f"Data file {path!r} must end in .parquet or .csv, but ends in {p.suffix!r}.")


def source_from_path(
    path: str,
    target: str | None,
    weight: str | None = None,
    series: str | None = None,
    time: str | None = None,
) -> Any:
    """A Parquet or CSV source from a file or folder path (by extension or folder content);
    ``series``/``time`` name the id and timestamp columns of forecasting data."""
    import statetune as st

    suffix, _ = data_files(path)
    read = st.from_parquet if suffix == ".parquet" else st.from_csv
    return functools.partial(read, series=series, time=time)(Path(path), target, weight)


def output_format(path: str) -> str:
    """The format an output path's extension asks for; refused naming the accepted ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(
            f"`--out` must end in one of {', '.join(OUTPUT_FORMATS)} (the output format follows "
            f"the extension), but {path!r} ends in {suffix or 'no extension'!r}."
        )
    return OUTPUT_FORMATS[suffix]


def _json_value(v: Any) -> Any:
    """Types ``json`` does not know: numpy scalars, timestamps."""
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"A JSON lines output value must be a number, text or time, but got {v!r}.")


def _write_jsonl(frame: Any, text: Any, chunk: int = 10_000) -> None:
    """One JSON object per row; floats written exactly (shortest round-trip text, as
    ``repr``), missing values as null."""
    import json
    import math

    for start in range(0, len(frame), chunk):
        for row in frame.iloc[start : start + chunk].to_dict(orient="records"):
            clean = {
                str(k): None if isinstance(v, float) and math.isnan(v) else v
                for k, v in row.items()
            }
            text.write(json.dumps(clean, default=_json_value, allow_nan=False) + "\n")


def write_frame(frame: Any, path: str) -> Path:
    """Write a DataFrame in the format of ``path``'s extension, atomically: through a temp
    file in the same folder (fsynced, then ``os.replace``d), so ``path`` is the old file or
    the whole new one, never a partial one. JSON lines: one object per row
    (:func:`write_frames` of one frame)."""
    return write_frames([frame], path)[0]


def write_frames(frames: Any, path: str) -> tuple[Path, int]:
    """Write an iterable of DataFrames (same columns) as one file in the format of ``path``'s
    extension, one frame at a time (memory bounded by a frame), atomically as
    :func:`write_frame`; the path and the number of rows. Parquet: one row group per frame,
    every frame cast to the first one's schema."""
    from statetune.state_cache.files import atomic_write

    fmt = output_format(path)
    rows = [0]

    def write(f: Any) -> None:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            writer = None
            try:
                for frame in frames:
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if writer is None:  # a column with no value yet is written as text
                        schema = pa.schema(
                            [
                                fld.with_type(pa.string()) if pa.types.is_null(fld.type) else fld
                                for fld in table.schema
                            ]
                        )
                        writer = pq.ParquetWriter(f, schema)
                    try:
                        table = table.cast(writer.schema)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                        differ = [
                            f"{fld.name!r} ({fld.type}, was {writer.schema.field(fld.name).type})"
                            for fld in table.schema
                            if fld.type != writer.schema.field(fld.name).type
                        ]
                        raise ValueError(
                            f"The Parquet output {path!r} keeps each column's type from its "
                            f"first rows, but from row {rows[0]} on column(s) "
                            f"{', '.join(differ)} hold values of another type: {err}; write "
                            "CSV or JSON lines instead."
                        ) from None
                    writer.write_table(table)
                    rows[0] += len(frame)
            finally:
                if writer is not None:
                    writer.close()
            return
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        for i, frame in enumerate(frames):
            if fmt == "csv":
                frame.to_csv(text, index=False, header=i == 0)
            else:
                _write_jsonl(frame, text)
            rows[0] += len(frame)
        text.flush()
        text.detach()

    dest = Path(path)
    atomic_write(dest, write)
    return dest, rows[0]
