"""In-memory sources: numpy arrays and pandas DataFrames.

Example
-------
>>> import numpy as np, pandas as pd
>>> from statetune.data import from_pandas
>>> src = from_pandas(pd.DataFrame({"a": [1.0, 2.0], "y": [0.0, 1.0]}), target="y")
>>> src.schema.features
('a',)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from statetune.data.fingerprint import array_fingerprint
from statetune.data.schema import Schema, check_numeric_dtype, columns_named
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.data.target import target_values

__all__ = ["ArraySource", "from_arrays", "from_pandas"]

CHUNK_ROWS = 65536


class _ArrayPartition(Partition):
    def __init__(self, X: np.ndarray, y: np.ndarray | None, w: np.ndarray | None, label: str):
        self.X, self.y, self.w, self.label = X, y, w, label
        self.n_rows = int(X.shape[0])
        self.segment = label

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        n = int(self.X.shape[0])
        for a in range(0, n, CHUNK_ROWS):
            b = min(a + CHUNK_ROWS, n)
            yield Chunk(
                self.X[a:b],
                None if self.y is None else self.y[a:b],
                None if self.w is None else self.w[a:b],
                f"{self.label}, rows {a}..{b - 1}",
            )


class ArraySource(Source):
    """Rows held in memory as a 2-D array (plus optional target and weights)."""

    def __init__(
        self,
        X: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        feature_names: Sequence[str] | None = None,
        target_name: str = "y",
        weight_name: str = "sample_weight",
        label: str = "array",
    ) -> None:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-dimensional, but got shape {X.shape}.")
        n, d = X.shape
        if n == 0:
            raise ValueError("The source must hold at least one row, but `X` is empty.")
        if d == 0:
            raise ValueError("The source must hold at least one feature column, but `X` has none.")
        names = (
            tuple(str(c) for c in feature_names)
            if feature_names is not None
            else tuple(f"x{i}" for i in range(d))
        )
        if len(names) != d:
            raise ValueError(
                f"`feature_names` must name all {d} columns, but got {len(names)} names."
            )
        dtype = check_numeric_dtype(names[0] if d == 1 else "X", X.dtype, label)
        self.X = X
        self.y, target_kind = self._target(y, n, target_name, label)
        self.w = self._vector(sample_weight, n, weight_name, label)
        self.label = label
        self._segment: Segment | None = None
        self._schema = Schema(
            names,
            (dtype,) * d,
            target=None if y is None else target_name,
            weight=None if sample_weight is None else weight_name,
            target_kind=target_kind,
        )

    @staticmethod
    def _target(y: Any, n: int, name: str, label: str) -> tuple[np.ndarray | None, str]:
        if y is None:
            return None, "numeric"
        if isinstance(y, pd.Series):
            values, kind = target_values(y, name, label)
        else:
            arr = np.asarray(y)
            if arr.ndim != 1 or arr.shape[0] != n:
                raise ValueError(
                    f"Column {name!r} must be 1-dimensional with {n} rows, but got shape {arr.shape}."
                )
            values, kind = target_values(arr, name, label)
        if values.shape != (n,):
            raise ValueError(
                f"Column {name!r} must be 1-dimensional with {n} rows, but got shape {values.shape}."
            )
        return values, kind

    @staticmethod
    def _vector(v: Any, n: int, name: str, label: str) -> np.ndarray | None:
        if v is None:
            return None
        v = np.asarray(v)
        if v.ndim != 1 or v.shape[0] != n:
            raise ValueError(
                f"Column {name!r} must be 1-dimensional with {n} rows, but got shape {v.shape}."
            )
        check_numeric_dtype(name, v.dtype, label)
        return v

    @property
    def schema(self) -> Schema:
        return self._schema

    def segments(self) -> list[Segment]:
        """One segment: the arrays (fingerprint from their shape, dtype and sampled rows)."""
        if self._segment is None:
            fp = array_fingerprint(self.X, self.y, self.w)
            self._segment = Segment(self.label, fp, int(self.X.shape[0]))
        return [self._segment]

    def partitions(self, n_hint: int = 1, segments: Sequence[str] | None = None) -> list[Partition]:
        if segments is not None and self.label not in segments:
            return []
        n = self.X.shape[0]
        k = max(1, min(int(n_hint), n))
        cuts = np.linspace(0, n, k + 1).astype(int)
        return [
            _ArrayPartition(
                self.X[a:b],
                None if self.y is None else self.y[a:b],
                None if self.w is None else self.w[a:b],
                self.label,
            )
            for a, b in itertools.pairwise(cuts)
        ]


def from_arrays(
    X: Any,
    y: Any = None,
    sample_weight: Any = None,
    *,
    feature_names: Sequence[str] | None = None,
) -> ArraySource:
    """A source over in-memory arrays.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
    y : array-like of shape (n_rows,), optional
        The target; omit it for unsupervised algorithms (``pca``).
    sample_weight : array-like of shape (n_rows,), optional
        Frequency weights (>= 0).
    feature_names : sequence of str, optional
        Defaults to ``x0, x1, ...``.

    Examples
    --------
    >>> import numpy as np
    >>> from_arrays(np.ones((4, 2)), np.arange(4.0)).schema.n_features
    2
    """
    return ArraySource(X, y, sample_weight, feature_names=feature_names)


def from_pandas(
    df: pd.DataFrame, target: str | None = None, weight: str | None = None
) -> ArraySource:
    """A source over a DataFrame: every column but ``target`` and ``weight`` is a feature.

    Non-numeric columns are refused by name; nullable columns turn missing values into NaN,
    which the pass then reports with column and row.

    Examples
    --------
    >>> import pandas as pd
    >>> from_pandas(pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}), target="b").schema.target
    'b'
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`df` must be a pandas DataFrame, but got {type(df).__name__}.")
    cols = [str(c) for c in df.columns]
    columns_named(cols, target, "target")
    columns_named(cols, weight, "weight")
    features = [c for c in cols if c not in (target, weight)]
    if not features:
        raise ValueError("The DataFrame must hold at least one feature column, but has none.")
    if len(df) == 0:
        raise ValueError("The source must hold at least one row, but the DataFrame is empty.")
    dtypes = {
        c: check_numeric_dtype(c, getattr(df[c].dtype, "numpy_dtype", df[c].dtype), "the DataFrame")
        for c in cols
        if c != target
    }
    X = df[features].to_numpy(dtype=np.float64, na_value=np.nan)
    y = None if target is None else df[target]
    w = None if weight is None else df[weight].to_numpy(dtype=np.float64, na_value=np.nan)
    src = ArraySource(
        X,
        y,
        w,
        feature_names=features,
        target_name=target or "y",
        weight_name=weight or "sample_weight",
        label="DataFrame",
    )
    src._schema = Schema(
        tuple(features),
        tuple(dtypes[c] for c in features),
        target,
        weight,
        src.schema.target_kind,
    )
    return src
