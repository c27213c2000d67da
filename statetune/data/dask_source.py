"""``from_dask``: a source over the partitions of a Dask DataFrame.

Each Dask partition is a statetune partition and a segment (lineage per partition). The
partition lengths are computed once, up front, on the cluster (``ddf.map_partitions(len)``),
so every partition knows its first row's global position and fold assignment does not
depend on how the frame is split. A partition is described by its own Dask graph (culled to
that partition: ``ddf.to_delayed()``), so the worker that builds its states also reads it
(a ``read_parquet`` partition is read where the task runs; nothing but the graph travels).

Columns must be numeric (or boolean); the target may hold class labels. Categorical
features would need levels known across all partitions: encode them first (or use
``st.from_pandas`` on a frame that fits in memory).

Example
-------
>>> import dask.dataframe as dd, pandas as pd  # doctest: +SKIP
>>> ddf = dd.from_pandas(pd.DataFrame({"a": [1.0, 2, 3], "y": [0.0, 1, 2]}), npartitions=2)  # doctest: +SKIP
>>> [p.n_rows for p in from_dask(ddf, target="y").partitions()]  # doctest: +SKIP
[2, 1]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from statetune.data.arrays import row_chunks
from statetune.data.schema import Schema, check_numeric_dtype, check_unique, split_columns
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.data.target import target_values

__all__ = ["DaskSource", "from_dask"]

#: Rows per chunk handed to the pass.
CHUNK_ROWS = 65536


class _DaskPartition(Partition):
    """Partition ``index`` of a Dask DataFrame, computed where its task runs."""

    def __init__(self, part: Any, index: int, n_rows: int, segment: str) -> None:
        self.part, self.index, self.n_rows = part, index, n_rows
        self.label = f"Dask partition {index}"
        self.segment = segment

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        df = self.part.compute(scheduler="sync")  # in this worker's thread
        if not isinstance(df, pd.DataFrame):
            raise TypeError(
                f"{self.label} must compute to a pandas DataFrame, but gave {type(df).__name__}."
            )
        df = df.set_axis([str(c) for c in df.columns], axis=1)
        missing = [c for c in (*schema.features, schema.target, schema.weight) if c and c not in df]
        if missing:
            raise ValueError(
                f"{self.label} must hold the columns of the frame's metadata, but lacks {missing}."
            )
        X = df[list(schema.features)].to_numpy(dtype=np.float64, na_value=np.nan)
        y = None
        if schema.target is not None:
            y = target_values(df[schema.target], schema.target, self.label)[0]
            if schema.target_is_labels:
                y = y.astype(str)
        w = None
        if schema.weight is not None:
            w = df[schema.weight].to_numpy(dtype=np.float64, na_value=np.nan)
        yield from row_chunks(X, y, w, self.label, CHUNK_ROWS)


class DaskSource(Source):
    """The partitions of a Dask DataFrame (see :func:`from_dask`)."""

    def __init__(self, ddf: Any, target: str | None = None, weight: str | None = None) -> None:
        meta = getattr(ddf, "_meta", None)
        if not isinstance(meta, pd.DataFrame) or not hasattr(ddf, "to_delayed"):
            raise TypeError(f"`ddf` must be a Dask DataFrame, but got {type(ddf).__name__}.")
        cols = [str(c) for c in meta.columns]
        check_unique(cols, "the Dask DataFrame")
        features = split_columns(
            cols,
            target=target,
            weight=weight,
            series=None,
            time=None,
            no_features="The Dask DataFrame must hold at least one feature column, but has none.",
        )
        meta = meta.set_axis(cols, axis=1)
        dtypes = [
            check_numeric_dtype(
                c, getattr(meta[c].dtype, "numpy_dtype", meta[c].dtype), "the Dask DataFrame"
            )
            for c in features
        ]
        if weight is not None:
            check_numeric_dtype(weight, meta[weight].dtype, "the Dask DataFrame")
        kind = "numeric"
        if target is not None:
            t = meta[target]
            numeric = pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
            kind = "numeric" if numeric else "labels"
        self.ddf, self.target, self.weight = ddf, target, weight
        self._schema = Schema(tuple(features), tuple(dtypes), target, weight, kind)
        self.name = str(getattr(ddf, "_name", "dask"))
        self._lengths: list[int] | None = None

    @property
    def schema(self) -> Schema:
        return self._schema

    @property
    def lengths(self) -> list[int]:
        """Rows of each partition (computed once, on the cluster or scheduler in use)."""
        if self._lengths is None:
            self._lengths = [int(n) for n in self.ddf.map_partitions(len).compute()]
            if sum(self._lengths) == 0:
                raise ValueError(
                    "The source must hold at least one row, but the Dask DataFrame is empty."
                )
        return self._lengths

    def _key(self, i: int) -> str:
        return f"dask:{self.name}:{i}"

    def segments(self) -> list[Segment]:
        """One segment per Dask partition, fingerprinted by the frame's graph name (a hash
        of how it is computed) and the partition's index and length."""
        return [
            Segment(self._key(i), f"{self.name}:{i}:{n}", n) for i, n in enumerate(self.lengths)
        ]

    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        wanted = None if segments is None else set(segments)
        parts = self.ddf.to_delayed(optimize_graph=True)
        return [
            _DaskPartition(part, i, n, self._key(i))
            for i, (part, n) in enumerate(zip(parts, self.lengths, strict=True))
            if wanted is None or self._key(i) in wanted
        ]


def from_dask(ddf: Any, target: str | None = None, weight: str | None = None) -> DaskSource:
    """A source over a Dask DataFrame's partitions (numeric columns; see the module notes).

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 2.0]})
    >>> src = from_dask(dd.from_pandas(df, npartitions=2), target="y")
    >>> src.schema.features, [p.n_rows for p in src.partitions()]
    (('a',), [2, 1])
    """
    return DaskSource(ddf, target, weight)
