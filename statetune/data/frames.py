"""Reading a whole data file as a DataFrame by the sources' rules (for ``statetune predict``).

CSV: no column is taken as the index and every row has the header's field count; Parquet: a
pandas index stored in the file becomes the index again, so it is never a column (as in the
sources, where index columns are not features). Errors name the file (and the line of a CSV).

Example
-------
>>> import os, tempfile, pandas as pd
>>> from statetune.data.frames import read_frame
>>> path = os.path.join(tempfile.mkdtemp(), "a.parquet")
>>> pd.DataFrame({"a": [1.0, 2.0]}, index=[7, 3]).to_parquet(path)
>>> list(read_frame(path).columns)
['a']
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from statetune.data.csv import read_csv_frame
from statetune.data.parquet import read_parquet_frame

__all__ = ["read_frame"]


def read_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A ``.parquet`` or ``.csv`` file (by extension; anything else is read as CSV)."""
    if Path(path).suffix == ".parquet":
        return read_parquet_frame(path)
    return read_csv_frame(path)
