"""In-memory sources: numpy arrays, ``scipy.sparse`` matrices and pandas DataFrames.

A sparse ``X`` (CSR, CSC, COO, any scipy sparse matrix or array) is kept sparse, as CSR: its
chunks carry CSR rows, the states that read sparse rows in place (class counts, co-occurrence)
get them as they are, and the pass densifies one chunk at a time for every other state. A
sparse source's chunks hold at most :data:`DENSE_CHUNK_BYTES` once densified.

Example
-------
>>> import numpy as np, pandas as pd
>>> from statetune.data import from_pandas
>>> src = from_pandas(pd.DataFrame({"a": [1.0, 2.0], "y": [0.0, 1.0]}), target="y")
>>> src.schema.features
('a',)
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from statetune.data.encoding import (
    MAX_LEVELS,
    TableEncoding,
    is_categorical,
    warn_numbers_as_levels,
)
from statetune.data.fingerprint import array_fingerprint
from statetune.data.schema import (
    Schema,
    check_numeric_dtype,
    check_unique,
    generated_names,
    split_columns,
)
from statetune.data.series_columns import series_ids, time_values
from statetune.data.source import Chunk, Partition, Segment, Source
from statetune.data.target import target_values

__all__ = [
    "DENSE_CHUNK_BYTES",
    "ArraySource",
    "chunk_rows",
    "from_arrays",
    "from_pandas",
    "from_series",
    "row_chunks",
    "sparse_rows",
]

CHUNK_ROWS = 262144
#: Bytes of a sparse chunk once densified (float64): the bound on what the pass densifies at once.
DENSE_CHUNK_BYTES = 32 * 2**20


def chunk_rows(X: Any) -> int:
    """Rows per chunk: :data:`CHUNK_ROWS`, fewer for a sparse ``X`` so that a chunk densified
    to float64 stays within :data:`DENSE_CHUNK_BYTES`."""
    if not sp.issparse(X):
        return CHUNK_ROWS
    return max(1, min(CHUNK_ROWS, DENSE_CHUNK_BYTES // (8 * max(1, int(X.shape[1])))))


def sparse_rows(X: Any, where: str, names: Sequence[str] | None = None) -> sp.csr_array:
    """A scipy sparse matrix as a canonical CSR array (no densifying), refused by name when it
    holds a value that is not finite (the column and the row) or is not numeric."""
    X = sp.csr_array(X)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    check_numeric_dtype("X", X.dtype, where)
    if X.data.dtype.kind in "fc":
        bad = np.flatnonzero(~np.isfinite(X.data))
        if bad.size:
            k = int(bad[0])
            row = int(np.searchsorted(X.indptr, k, side="right") - 1)
            col = int(X.indices[k])
            name = names[col] if names is not None and col < len(names) else f"x{col}"
            raise ValueError(
                f"Column {name!r} must be finite, but holds {X.data[k]} at row {row} of "
                f"{where} (a sparse matrix)."
            )
    return X


def _fingerprint_parts(X: Any) -> tuple[Any, ...]:
    """What identifies ``X``: the array, or a sparse matrix's shape and CSR buffers."""
    if sp.issparse(X):
        return (np.asarray(X.shape, dtype=np.int64), X.data, X.indices, X.indptr)
    return (X,)


def _cut(v: np.ndarray | None, a: int, b: int) -> np.ndarray | None:
    return None if v is None else v[a:b]


def row_chunks(
    X: Any,
    y: np.ndarray | None,
    w: np.ndarray | None,
    label: str,
    step: int,
    *,
    series: np.ndarray | None = None,
    time: np.ndarray | None = None,
    whole_label: bool = False,
) -> Iterator[Chunk]:
    """``Chunk`` s of ``step`` rows of the aligned arrays, each labelled ``"<label>, rows
    a..b"`` (with ``whole_label``, a single chunk holding every row keeps ``label`` alone)."""
    n = int(X.shape[0])
    for a in range(0, n, step):
        b = min(a + step, n)
        where = label if whole_label and (a, b) == (0, n) else f"{label}, rows {a}..{b - 1}"
        yield Chunk(
            X[a:b],
            _cut(y, a, b),
            _cut(w, a, b),
            where,
            series=_cut(series, a, b),
            time=_cut(time, a, b),
        )


class _ArrayPartition(Partition):
    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None,
        w: np.ndarray | None,
        label: str,
        series: np.ndarray | None = None,
        time: np.ndarray | None = None,
    ):
        self.X, self.y, self.w, self.label = X, y, w, label
        self.series, self.time = series, time
        self.n_rows = int(X.shape[0])
        self.segment = label

    def chunks(self, schema: Schema) -> Iterator[Chunk]:
        return row_chunks(
            self.X,
            self.y,
            self.w,
            self.label,
            chunk_rows(self.X),
            series=self.series,
            time=self.time,
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
        series: Any = None,
        time: Any = None,
        series_name: str = "series",
        time_name: str = "time",
        temporal: bool = False,
    ) -> None:
        if isinstance(X, pd.DataFrame):  # name the column, not "X", and the source that fits
            for c in X.columns:
                dt = X[c].dtype
                if dt.kind in "mM" or not (
                    pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)
                ):
                    raise TypeError(
                        f"Column {str(c)!r} of `X` must be numeric (or boolean), but the "
                        f"DataFrame has it as {dt}; st.from_pandas(df, target=...) encodes "
                        "categorical columns and missing values."
                    )
        X = sparse_rows(X, label, feature_names) if sp.issparse(X) else np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-dimensional, but got shape {X.shape}.")
        n, d = X.shape
        temporal = temporal or series is not None or time is not None
        if n == 0:
            raise ValueError("The source must hold at least one row, but `X` is empty.")
        if d == 0 and not temporal:
            raise ValueError("The source must hold at least one feature column, but `X` has none.")
        names = (
            tuple(str(c) for c in feature_names)
            if feature_names is not None
            else generated_names(d)
        )
        if len(names) != d:
            raise ValueError(
                f"`feature_names` must name all {d} columns, but got {len(names)} names."
            )
        check_unique(names, "`feature_names`")
        dtype = check_numeric_dtype(names[0] if d == 1 else "X", X.dtype, label)
        self.X = X
        self.y, target_kind = self._target(y, n, target_name, label)
        self.w = self._vector(sample_weight, n, weight_name, label)
        self.series = None if series is None else series_ids(series, series_name, label)
        self.time = None if time is None else time_values(time, time_name, label)
        for name, v in ((series_name, self.series), (time_name, self.time)):
            if v is not None and v.shape != (n,):
                raise ValueError(
                    f"Column {name!r} must be 1-dimensional with {n} rows, but got shape {v.shape}."
                )
        if temporal and target_kind != "numeric":
            raise ValueError(
                f"Series values (column {target_name!r}) must be numbers, but they are labels."
            )
        self.label = label
        self._segment: Segment | None = None
        self._schema = Schema(
            names,
            (dtype,) * d,
            target=None if y is None else target_name,
            weight=None if sample_weight is None else weight_name,
            target_kind=target_kind,
            series=None if series is None else series_name,
            time=None if time is None else time_name,
            temporal=temporal,
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
        """One segment: the arrays (fingerprint: a hash of their shapes, dtypes and every
        byte, computed on first use and kept: change the arrays in place, build a new source)."""
        if self._segment is None:
            extra = [v for v in (self.series, self.time) if v is not None]
            parts = _fingerprint_parts(self.X)
            fp = functools.partial(array_fingerprint, *parts, self.y, self.w, *extra)
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
                _cut(self.y, a, b),
                _cut(self.w, a, b),
                self.label,
                _cut(self.series, a, b),
                _cut(self.time, a, b),
            )
            for a, b in itertools.pairwise(cuts)
        ]


def from_arrays(
    X: Any,
    y: Any = None,
    sample_weight: Any = None,
    *,
    feature_names: Sequence[str] | None = None,
    series: Any = None,
    time: Any = None,
) -> ArraySource:
    """A source over in-memory arrays.

    Parameters
    ----------
    X : array-like or scipy sparse matrix of shape (n_rows, n_features)
        A sparse ``X`` (a bag-of-words, say) stays sparse (CSR): the pass densifies one
        bounded chunk at a time only for states that need dense rows.
    y : array-like of shape (n_rows,), optional
        The target; omit it for unsupervised algorithms (``pca``).
    sample_weight : array-like of shape (n_rows,), optional
        Frequency weights (>= 0).
    feature_names : sequence of str, optional
        Defaults to ``x0, x1, ...``.
    series, time : array-like of shape (n_rows,), optional
        Series ids and timestamps: ``y`` then holds the values of time series, in time
        order within each series (see :func:`from_series`).

    Examples
    --------
    >>> import numpy as np
    >>> from_arrays(np.ones((4, 2)), np.arange(4.0)).schema.n_features
    2
    >>> import scipy.sparse as sp
    >>> type(from_arrays(sp.csc_matrix(np.eye(3)), [0, 1, 1]).X).__name__
    'csr_array'
    """
    return ArraySource(X, y, sample_weight, feature_names=feature_names, series=series, time=time)


def from_series(
    y: Any,
    *,
    series: Any = None,
    time: Any = None,
    exog: Any = None,
    name: str = "y",
) -> ArraySource:
    """A source over the values of one time series, or many in long format.

    Parameters
    ----------
    y : array-like or pandas Series of shape (n,)
        The values, in time order within each series.
    series : array-like of shape (n,), optional
        Series ids (integers or strings); one series when omitted.
    time : array-like of shape (n,), optional
        Timestamps (datetimes or numbers), checked to increase within each series.
    exog : array-like of shape (n, k), optional
        Exogenous columns.
    name : str, default "y"
        Name of the value column (a pandas Series' own name wins).

    Examples
    --------
    >>> import numpy as np
    >>> src = from_series(np.arange(6.0), series=[0, 0, 0, 1, 1, 1])
    >>> src.schema.is_series, src.schema.series, src.schema.n_features
    (True, 'series', 0)
    """
    if isinstance(y, pd.Series) and y.name is not None:
        name = str(y.name)
    n = len(y)
    X = np.empty((n, 0)) if exog is None else np.asarray(exog, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    names = (
        None
        if exog is None
        else ([str(c) for c in exog.columns] if isinstance(exog, pd.DataFrame) else None)
    )
    return ArraySource(
        X,
        y,
        feature_names=names,
        target_name=name,
        series=series,
        time=time,
        temporal=True,
        series_name=str(getattr(series, "name", None) or "series"),
        time_name=str(getattr(time, "name", None) or "time"),
    )


def from_pandas(
    df: pd.DataFrame,
    target: str | None = None,
    weight: str | None = None,
    *,
    series: str | None = None,
    time: str | None = None,
    max_levels: int = MAX_LEVELS,
) -> Source:
    """A source over a DataFrame: every column but ``target``, ``weight``, ``series`` and
    ``time`` is a feature.

    Categorical columns (category, object or string dtype) are one-hot encoded and missing
    values (NaN, ``pd.NA``) imputed by the models, fold by fold from each fold's training
    rows (:mod:`statetune.data.encoding`): the pass then reads the table's *base design*
    (``schema.encoding`` says which column is which, ``schema.preprocessing`` what was done),
    encoded one chunk at a time (:class:`~statetune.data.tables.TableSource`).
    A categorical column with more than ``max_levels`` levels is refused by name. A row whose
    target is missing is dropped and counted (``schema.preprocessing``); series data keeps
    its rows (a missing value in a series is reported with its row by the pass). With
    ``series`` (ids of many series in long format) or ``time`` (timestamps), ``target`` holds
    time series values for forecasting, in time order within each series, and the other
    columns are exogenous.

    Examples
    --------
    >>> import pandas as pd
    >>> from_pandas(pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}), target="b").schema.target
    'b'
    >>> df = pd.DataFrame({"a": [1.0, None, 3.0], "c": ["u", "v", "u"], "y": [1.0, 2, None]})
    >>> from_pandas(df, target="y").schema.preprocessing["dropped_rows_missing_target"]
    1
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`df` must be a pandas DataFrame, but got {type(df).__name__}.")
    cols = [str(c) for c in df.columns]
    check_unique(cols, "the DataFrame")
    features = split_columns(
        cols,
        target=target,
        weight=weight,
        series=series,
        time=time,
        no_features="The DataFrame must hold at least one feature column, but has none.",
    )
    if len(df) == 0:
        raise ValueError("The source must hold at least one row, but the DataFrame is empty.")
    df = df.set_axis(cols, axis=1)
    dropped = 0
    if target is not None and series is None and time is None:
        absent = df[target].isna().to_numpy()
        dropped = int(absent.sum())
        if dropped == len(df):
            raise ValueError(
                f"The target column {target!r} must hold a value in some row, but all "
                f"{len(df)} rows are missing it."
            )
        if dropped:
            df = df.loc[~absent]
    categorical = {c for c in features if is_categorical(df[c])}
    for c in features:
        if c in categorical:
            warn_numbers_as_levels(df[c], c, "the DataFrame")
    dtypes = {
        c: check_numeric_dtype(c, getattr(df[c].dtype, "numpy_dtype", df[c].dtype), "the DataFrame")
        for c in cols
        if c not in (target, series, time) and c not in categorical
    }
    encoding = TableEncoding.from_frame(df, features, max_levels=max_levels, dropped_rows=dropped)
    if encoding.needed and series is None and time is None:
        from statetune.data.tables import TableSource

        n = len(df)
        y_values, kind = (
            (None, "numeric")
            if target is None
            else ArraySource._target(df[target], n, target, "the DataFrame")
        )
        w_values = (
            None
            if weight is None
            else ArraySource._vector(
                df[weight].to_numpy(dtype=np.float64, na_value=np.nan), n, weight, "the DataFrame"
            )
        )
        names = list(encoding.base_names())
        schema = Schema(
            tuple(names), ("float64",) * len(names), target, weight, kind, encoding=encoding
        )
        return TableSource(df[features], schema, y_values, w_values)
    if encoding.needed:
        X = encoding.encode(df[features])
        names = list(encoding.base_names())
        kinds = ["float64"] * len(names)
    else:
        X = df[features].to_numpy(dtype=np.float64, na_value=np.nan)
        names, kinds = features, [dtypes[c] for c in features]
    y = None if target is None else df[target]
    w = None if weight is None else df[weight].to_numpy(dtype=np.float64, na_value=np.nan)
    src = ArraySource(
        X,
        y,
        w,
        feature_names=names,
        target_name=target or "y",
        weight_name=weight or "sample_weight",
        label="DataFrame",
        series=None if series is None else df[series],
        time=None if time is None else df[time],
        series_name=series or "series",
        time_name=time or "time",
    )
    src._schema = Schema(
        tuple(names),
        tuple(kinds),
        target,
        weight,
        src.schema.target_kind,
        series,
        time,
        src.schema.temporal,
        encoding if (encoding.needed or dropped) else None,
    )
    return src
