"""A source over an iterable of batches: ``(X, y)``, ``(X, y, w)``, ``X`` alone, or DataFrames.

``X`` may be a scipy sparse matrix (a batch of a bag-of-words): it stays sparse (CSR) and a
large batch is cut into chunks that stay within ``DENSE_CHUNK_BYTES`` once densified.

The first batch fixes the schema; every later one is checked against it. An iterable can be
read once, so this source streams sequentially; pass a zero-argument callable that returns
a fresh iterator to make it re-readable.

Example
-------
>>> import numpy as np
>>> from statetune.data import from_batches
>>> src = from_batches([(np.ones((3, 2)), np.zeros(3)), (np.ones((2, 2)), np.zeros(2))])
>>> src.schema.n_features, src.schema.target
(2, 'y')
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from statetune.data.arrays import chunk_rows, row_chunks, sparse_rows
from statetune.data.schema import (
    Schema,
    check_numeric_dtype,
    check_unique,
    columns_named,
    generated_names,
)
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.data.target import target_values

__all__ = ["BatchSource", "from_batches"]


def _split(
    batch: Any, target: str | None, weight: str | None, where: str
) -> tuple[list[str] | None, list[str], np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(names or None, dtypes, X, y, w) of one batch."""
    if isinstance(batch, pd.DataFrame):
        cols = [str(c) for c in batch.columns]
        check_unique(cols, f"the DataFrame of {where}")
        columns_named(cols, target, "target")
        columns_named(cols, weight, "weight")
        feats = [c for c in cols if c not in (target, weight)]
        dtypes = [
            check_numeric_dtype(c, getattr(batch[c].dtype, "numpy_dtype", batch[c].dtype), where)
            for c in feats
        ]
        X = batch[feats].to_numpy(np.float64, na_value=np.nan)
        y = target_values(batch[target], target, where)[0] if target else None
        w = batch[weight].to_numpy(np.float64, na_value=np.nan) if weight else None
        return feats, dtypes, X, y, w
    parts = tuple(batch) if isinstance(batch, tuple | list) else (batch,)
    if not 1 <= len(parts) <= 3:
        raise ValueError(
            f"A batch must be X, (X, y) or (X, y, w), but {where} has {len(parts)} parts."
        )
    X = sparse_rows(parts[0], where) if sp.issparse(parts[0]) else np.asarray(parts[0])
    if X.ndim != 2:
        raise ValueError(f"`X` must be 2-dimensional, but {where} has shape {X.shape}.")
    dt = check_numeric_dtype("X", X.dtype, where)
    vecs: list[np.ndarray | None] = []
    for i, name in ((1, "y"), (2, "sample_weight")):
        v = np.asarray(parts[i]) if len(parts) > i and parts[i] is not None else None
        if v is not None and name == "y":
            v = target_values(v, "y", where)[0]
        elif v is not None:
            check_numeric_dtype(name, v.dtype, where)
            if v.ndim != 1 or v.shape[0] != X.shape[0]:
                raise ValueError(
                    f"`{name}` must be 1-dimensional with {X.shape[0]} rows, but {where} has "
                    f"shape {v.shape}."
                )
        vecs.append(v)
    return None, [dt] * X.shape[1], X, vecs[0], vecs[1]


class _Stream(Partition):
    def __init__(self, batches: Iterator[Any], target: str | None, weight: str | None) -> None:
        self.batches, self.target, self.weight = batches, target, weight
        self.label, self.n_rows, self.segment = "batches", None, "batches"

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        for i, batch in enumerate(self.batches):
            where = f"batch {i}"
            names, dtypes, X, y, w = _split(batch, self.target, self.weight, where)
            if names is not None:
                schema.check(names, dtypes, where)
            elif X.shape[1] != schema.n_features:
                raise ValueError(
                    f"Every batch must have {schema.n_features} columns like the first, "
                    f"but {where} has {X.shape[1]}."
                )
            if (y is None) != (not schema.has_target):
                raise ValueError(
                    f"Every batch must {'carry' if schema.has_target else 'omit'} a target like "
                    f"the first, but {where} does not."
                )
            if (w is None) != (schema.weight is None):
                raise ValueError(
                    f"Every batch must carry weights like the first, but {where} does not."
                )
            if not sp.issparse(X):
                yield Chunk(X, y, w, where)
                continue
            yield from row_chunks(X, y, w, where, chunk_rows(X), whole_label=True)


class BatchSource(Source):
    """Batches from an iterable (read once) or a callable returning a fresh iterable."""

    def __init__(
        self,
        batches: Iterable[Any] | Callable[[], Iterable[Any]],
        target: str | None = None,
        weight: str | None = None,
    ) -> None:
        self._factory = batches if callable(batches) else None
        it = iter(batches() if callable(batches) else batches)
        try:
            first = next(it)
        except StopIteration:
            raise ValueError(
                "The source must hold at least one row, but the iterable is empty."
            ) from None
        names, dtypes, X, y, w = _split(first, target, weight, "batch 0")
        self._schema = Schema(
            tuple(names) if names is not None else generated_names(X.shape[1]),
            tuple(dtypes),
            (target or "y") if y is not None else None,
            (weight or "sample_weight") if w is not None else None,
            "numeric" if y is None or y.dtype.kind == "f" else "labels",
        )
        self._target, self._weight = target, weight
        self._pending: Iterator[Any] | None = itertools.chain([first], it)

    @property
    def schema(self) -> Schema:
        return self._schema

    def segments(self) -> list[Segment]:
        """One segment whose content cannot be fingerprinted without reading it."""
        return [Segment("batches", None)]

    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        if segments is not None and "batches" not in segments:
            return []
        if self._pending is not None:
            batches, self._pending = self._pending, None
        elif self._factory is not None:
            batches = iter(self._factory())
        else:
            raise ValueError(
                "An iterable of batches can be read once, but it was read already; pass a "
                "callable returning a fresh iterable to read it again."
            )
        return [_Stream(batches, self._target, self._weight)]


def from_batches(
    batches: Iterable[Any] | Callable[[], Iterable[Any]],
    target: str | None = None,
    weight: str | None = None,
) -> BatchSource:
    """A source over batches: ``(X, y)``, ``(X, y, w)``, ``X``, or DataFrames (``target=`` names
    the target column then).

    Examples
    --------
    >>> import numpy as np
    >>> from_batches(iter([np.ones((2, 3))])).schema.has_target
    False
    """
    return BatchSource(batches, target, weight)
