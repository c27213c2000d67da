"""Schema: feature names and dtypes, target and weight columns, fixed by the first chunk.

Example
-------
>>> from statetune.data.schema import Schema
>>> s = Schema(("a", "b"), ("float64", "int64"), target="y")
>>> s.check(("a", "b"), ("float64", "int64"), "file x.parquet")
>>> s.check(("b", "a"), ("int64", "float64"), "file y.parquet")
Traceback (most recent call last):
...
ValueError: The columns must keep the order of the first chunk (['a', 'b']), but file y.parquet has them as ['b', 'a'].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from statetune.data.encoding import TableEncoding
from statetune.data.vocabulary import TextVocabulary

__all__ = [
    "GeneratedNames",
    "Schema",
    "check_numeric_dtype",
    "check_unique",
    "columns_named",
    "generated_names",
    "split_columns",
]


class GeneratedNames(tuple[str, ...]):
    """Feature names a source made up (``x0, x1, ...``: an array has no column names), as
    opposed to a table's own columns, which may be called ``x0`` too: a model keeps the
    latter as ``feature_names_in_`` and checks them at predict, and not the former."""

    __slots__ = ()


def generated_names(d: int) -> GeneratedNames:
    """``x0 .. x{d-1}``, marked as made up."""
    return GeneratedNames(f"x{i}" for i in range(d))


def _looks_generated(names: Sequence[str]) -> bool:
    return all(str(n) == f"x{i}" for i, n in enumerate(names))


@dataclass(frozen=True)
class Schema:
    """Column layout of a source: features (in order), their dtypes, target and weight."""

    features: tuple[str, ...]
    dtypes: tuple[str, ...]
    target: str | None = None
    weight: str | None = None
    #: "numeric" or "labels" (strings, categories, booleans: class labels).
    target_kind: str = "numeric"
    #: Column of series ids (many series in long format), or None.
    series: str | None = None
    #: Column of timestamps (checked to increase within each series), or None.
    time: str | None = None
    #: True when rows are values of time series in time order (set by ``series``/``time``
    #: or by ``from_series``): the target is the series, features are exogenous columns.
    temporal: bool = False
    #: How a table with categorical columns or missing values makes the features (then the
    #: base design's columns, see :mod:`statetune.data.encoding`); None for numeric tables.
    encoding: TableEncoding | None = None

    @property
    def encoded(self) -> bool:
        """Whether the features are a base design that models preprocess (impute, one-hot)."""
        return self.encoding is not None and self.encoding.needed

    @property
    def preprocessing(self) -> dict[str, object] | None:
        """What the source did to the table (columns one-hot encoded with their level
        counts, columns with missing values, rows dropped for a missing target), or None."""
        return None if self.encoding is None else self.encoding.summary()

    @property
    def is_series(self) -> bool:
        """Rows are time-ordered values of one or many series (forecasting data)."""
        return self.temporal or self.series is not None or self.time is not None

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def has_target(self) -> bool:
        return self.target is not None

    @property
    def target_is_labels(self) -> bool:
        return self.target is not None and self.target_kind == "labels"

    def roles(self) -> tuple[tuple[str, str | None], ...]:
        """``(role, column)`` of the columns that are not features: target, weight, series,
        time (column None when absent)."""
        return (
            ("target", self.target),
            ("weight", self.weight),
            ("series", self.series),
            ("time", self.time),
        )

    def feature_columns(self, names: Sequence[str], where: str) -> list[str]:
        """``names`` (a later file's columns) without the role columns, each of which must be
        there (a clear error names the role, column and file)."""
        for role, col in self.roles():
            if col is not None and col not in names:
                raise ValueError(
                    f"The {role} column {col!r} must exist in every file, but {where} lacks it."
                )
        special = [c for _, c in self.roles()]
        return [c for c in names if c not in special]

    def column_name(self, column: int | str) -> str:
        """Feature index, ``"target"`` or ``"sample_weight"`` to the user's column name."""
        if column == "target":
            return self.target or "target"
        if column == "sample_weight":
            return self.weight or "sample_weight"
        if column == "series":
            return self.series or "series"
        if column == "time":
            return self.time or "time"
        return self.features[int(column)]

    def check(self, names: Sequence[str], dtypes: Sequence[str] | None, where: str) -> None:
        """Raise a clear error if ``names``/``dtypes`` differ from this schema."""
        names = tuple(names)
        if names != self.features and self.encoding is not None:
            added = [c for c in names if c not in self.features]
            lost = [c for c in self.features if c not in names]
            raise ValueError(
                "A table's levels and columns with missing values must be those of the data "
                f"the states were first computed from (its vocabulary), but {where} adds "
                f"{added} and lacks {lost}; compute new states from all the rows."
            )
        if names != self.features:
            missing = [c for c in self.features if c not in names]
            added = [c for c in names if c not in self.features]
            if missing:
                raise ValueError(
                    f"Every feature column of the first chunk must be present, but {where} "
                    f"lacks {missing}."
                )
            if added:
                raise ValueError(
                    f"No columns may be added after the first chunk, but {where} adds {added}."
                )
            raise ValueError(
                f"The columns must keep the order of the first chunk ({list(self.features)}), "
                f"but {where} has them as {list(names)}."
            )
        if dtypes is not None:
            for name, old, new in zip(self.features, self.dtypes, dtypes, strict=True):
                if old != new:
                    raise ValueError(
                        f"Column {name!r} must keep its dtype {old}, but {where} has it as {new}."
                    )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able description (series fields only when set, so keys of plain sources
        stay as they were)."""
        out: dict[str, Any] = {
            "features": list(self.features),
            "dtypes": list(self.dtypes),
            "target": self.target,
            "weight": self.weight,
            "target_kind": self.target_kind,
        }
        if self.is_series:
            out.update(series=self.series, time=self.time, temporal=True)
        if self.encoding is not None:
            out["encoding"] = self.encoding.to_json()
        if _looks_generated(self.features) and not isinstance(self.features, GeneratedNames):
            out["named"] = True  # a table's own columns called x0, x1, ... (rare: only then)
        if isinstance(self.features, TextVocabulary):
            out["text"] = self.features.to_json()  # how a text source tokenized (only then)
        return out

    @staticmethod
    def features_from_json(data: dict[str, Any]) -> tuple[str, ...]:
        """The feature names of a schema's JSON, made-up names marked as such."""
        names = tuple(str(n) for n in data["features"])
        if isinstance(data.get("text"), dict):
            return TextVocabulary.from_json(names, data["text"])
        if _looks_generated(names) and not data.get("named", False):
            return GeneratedNames(names)
        return names

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        """Inverse of :meth:`to_json`."""
        return cls(
            cls.features_from_json(data),
            tuple(data["dtypes"]),
            data.get("target"),
            data.get("weight"),
            data.get("target_kind", "numeric"),
            data.get("series"),
            data.get("time"),
            bool(data.get("temporal", False)),
            None if data.get("encoding") is None else TableEncoding.from_json(data["encoding"]),
        )


def check_numeric_dtype(name: str, dtype: Any, where: str) -> str:
    """The dtype's name if it is numeric or boolean; a clear error naming the column if not."""
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        np_dtype = None
    if np_dtype is not None and np_dtype.kind in "mM":  # numpy counts durations as integers
        raise TypeError(
            f"Column {name!r} must be numeric (or boolean), but {where} has it as {dtype} (times "
            "or durations as nanosecond integers would be silently meaningless); convert it to "
            "numbers first, e.g. durations with .dt.total_seconds()."
        )
    if np_dtype is not None and (np.issubdtype(np_dtype, np.number) or np_dtype == np.bool_):
        if np.issubdtype(np_dtype, np.complexfloating):
            raise TypeError(f"Column {name!r} must be real-valued, but {where} has it as {dtype}.")
        return str(np_dtype)
    raise TypeError(
        f"Column {name!r} must be numeric (or boolean), but {where} has it as {dtype}; "
        "encode it as numbers first."
    )


def check_unique(names: Sequence[str], where: str) -> None:
    """Raise if a column name occurs twice in ``names`` (the columns of ``where``)."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            raise ValueError(
                f"Column names must be unique, but {where} has {name!r} twice (columns "
                f"{first[name]} and {i}); rename one."
            )
        first[name] = i


def columns_named(available: Sequence[str], wanted: str | None, role: str) -> None:
    """Raise if ``wanted`` (the target or weight column) is not among ``available``."""
    if wanted is not None and wanted not in available:
        hint = ""
        for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if any(sep in str(c) and wanted in str(c).split(sep) for c in available):
                hint = (
                    f"; the header looks separated by {what}, but files are read as "
                    "comma-separated: write the file with commas (pandas: sep=',')"
                )
                break
        raise ValueError(
            f"The {role} column {wanted!r} must exist, but the source has only "
            f"{list(available)}{hint}."
        )


def split_columns(
    available: Sequence[str],
    *,
    target: str | None,
    weight: str | None,
    series: str | None,
    time: str | None,
    no_features: str,
) -> list[str]:
    """The feature columns of ``available``: every column but the target, weight, series and
    time columns, each of which must exist when named.

    Series data (a series or time column named) may have no feature at all; other data must
    have one, else ``ValueError(no_features)``.
    """
    roles = {"target": target, "weight": weight, "series": series, "time": time}
    for role, col in roles.items():
        columns_named(available, col, role)
    features = [c for c in available if c not in roles.values()]
    if not features and series is None and time is None:
        raise ValueError(no_features)
    return features
