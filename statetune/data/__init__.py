"""Data sources: numpy, pandas, CSV, Parquet and iterables of batches; schema; fingerprints.

Example
-------
>>> import numpy as np
>>> from statetune.data import from_arrays
>>> from_arrays(np.ones((3, 2)), np.ones(3)).schema.features
('x0', 'x1')
"""

from __future__ import annotations

from statetune.data.arrays import ArraySource, from_arrays, from_pandas, from_series
from statetune.data.batches import BatchSource, from_batches
from statetune.data.csv import CsvSource, from_csv
from statetune.data.dask_source import DaskSource, from_dask
from statetune.data.parquet import ParquetSource, from_parquet
from statetune.data.schema import Schema
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.data.text import TextSource, from_text

__all__ = [
    "ArraySource",
    "BatchSource",
    "Chunk",
    "CsvSource",
    "DaskSource",
    "ParquetSource",
    "Partition",
    "Schema",
    "Segment",
    "Source",
    "TextSource",
    "from_arrays",
    "from_batches",
    "from_csv",
    "from_dask",
    "from_pandas",
    "from_series",
    "from_parquet",
    "from_text",
]
