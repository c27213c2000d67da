"""``TableEncoding``: how a table with categorical columns and missing values becomes numbers.

A source over such a table feeds the pass its *base design*, a float matrix with no missing
value from which every fold's preprocessing is a linear map (``statetune.states.table_moments``):

- numeric columns with missing values set to 0 (``X0``), in the table's order;
- for each numeric column holding a missing value somewhere, its missing indicator (``M``);
- for each categorical column, one indicator per level (the levels sorted, a missing value
  being a level of its own, last, as scikit-learn's ``OneHotEncoder`` treats ``NaN``).

Mean imputation with any means ``m`` is ``X0 + M diag(m)``, the indicators are columns of the
base, one-hot columns of a fold's levels are a selection of it, and grouping infrequent levels
is a sum of its columns: so the moments of ``[base, y]`` give the exact moments of every fold's
imputed, encoded design (its own training means and levels), from one pass.

The vocabulary is fixed by the source from all its rows (sorted, so it does not depend on the
order rows are read or merged); which levels a fold's training rows hold, and how often, is in
that fold's state (the column sums of the level indicators).

Example
-------
>>> import numpy as np, pandas as pd
>>> from statetune.data.encoding import TableEncoding
>>> df = pd.DataFrame({"a": [1.0, np.nan, 3.0], "c": ["x", "y", "x"]})
>>> enc = TableEncoding.from_frame(df, ["a", "c"])
>>> enc.base_names()
('a', 'a__missing', 'c=x', 'c=y')
>>> enc.encode(df)
array([[1., 0., 1., 0.],
       [0., 1., 0., 1.],
       [3., 0., 1., 0.]])
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from statetune.data.columns import check_column_names

__all__ = [
    "MAX_LEVELS",
    "MISSING_LEVEL",
    "ColumnEncoding",
    "NumbersAsLevelsWarning",
    "TableEncoding",
    "Vocabulary",
    "is_categorical",
    "warn_numbers_as_levels",
]

#: Levels a categorical column may have before it is refused (ids and free text are not
#: one-hot encoded silently); ``from_pandas(..., max_levels=...)`` raises it.
MAX_LEVELS = 200

#: The level a missing categorical value encodes to (sorted after every other level).
MISSING_LEVEL = "__missing__"


def is_categorical(series: pd.Series) -> bool:
    """Whether a column holds categories (object, string or category dtype, not booleans)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return bool(pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))


class NumbersAsLevelsWarning(UserWarning):
    """An object column holds numbers only: it is one-hot encoded, one level per value."""


def warn_numbers_as_levels(series: pd.Series, name: str, where: str) -> None:
    """Warn when an object-dtype column holds only numbers (a numeric column that picked up
    ``None``, JSON or SQL values, ``astype(object)``): it is encoded one level per distinct
    value, which a user who meant numbers would not see (scikit-learn's imputers read them
    as numbers). Codes stored as numbers are a fair use, hence a warning, not a refusal."""
    if not pd.api.types.is_object_dtype(series.dtype):
        return
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        levels = int(series.nunique(dropna=True))
        warnings.warn(
            f"Column {name!r} of {where} holds only numbers, but with object dtype, so it is "
            f"encoded as categories: {levels} levels, one per value. If it is numeric, convert "
            f"it first: df[{name!r}] = pd.to_numeric(df[{name!r}]).",
            NumbersAsLevelsWarning,
            stacklevel=3,
        )


def _as_text(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``(text, missing)``: the values as strings (missing ones left missing), and where
    they are missing (vectorized: a category column converts its categories only)."""
    missing = series.isna().to_numpy()
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories.astype(str)
        text = pd.Series(pd.Categorical.from_codes(series.cat.codes.to_numpy(), categories=cats))
        return text.astype(object).where(~missing, None), missing
    return series.astype(object).where(missing, series.astype(str)).where(~missing, None), missing


def _levels(series: pd.Series) -> tuple[list[str], bool]:
    """The sorted levels a column holds (as text) and whether it has a missing value."""
    text, missing = _as_text(series)
    return sorted(str(v) for v in pd.unique(text[~missing].to_numpy())), bool(missing.any())


def _codes(series: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Each row's index in ``levels`` (a missing value: the missing level's, if any); -1 for
    a value not among them."""
    text, missing = _as_text(series)
    named = [lev for lev in levels if lev != MISSING_LEVEL]
    codes = pd.Index(named, dtype=object).get_indexer(pd.Index(text, dtype=object))
    codes = codes.astype(np.int64)
    if MISSING_LEVEL in levels:
        codes[missing] = list(levels).index(MISSING_LEVEL)
    return codes


@dataclass(frozen=True)
class ColumnEncoding:
    """One feature column: ``kind`` ``"numeric"`` (``missing``: it has a missing indicator)
    or ``"categorical"`` (``levels``: sorted, the missing level last when present)."""

    name: str
    kind: str
    missing: bool = False
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableEncoding:
    """The feature columns of a table and how they make the base design (module docstring)."""

    columns: tuple[ColumnEncoding, ...]
    #: Rows the source dropped because their target was missing.
    dropped_rows: int = 0

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        features: Sequence[str],
        *,
        max_levels: int = MAX_LEVELS,
        dropped_rows: int = 0,
    ) -> TableEncoding:
        """The encoding of ``df[features]``: categorical columns with their sorted levels,
        numeric ones flagged when they hold a missing value."""
        cols: list[ColumnEncoding] = []
        too_many: list[str] = []
        for name in features:
            s = df[name]
            if is_categorical(s):
                levels, has_missing = _levels(s)
                if has_missing:
                    levels.append(MISSING_LEVEL)
                if len(levels) > max_levels:
                    too_many.append(f"{name!r} ({len(levels)} levels)")
                cols.append(ColumnEncoding(name, "categorical", has_missing, tuple(levels)))
            else:
                has_nan = bool(s.isna().to_numpy().any())
                cols.append(ColumnEncoding(name, "numeric", has_nan))
        if too_many:
            raise ValueError(
                f"A categorical column may have at most max_levels={max_levels} levels to be "
                f"one-hot encoded, but {', '.join(too_many)} "
                f"{'has' if len(too_many) == 1 else 'have'} more (an id or free text?); "
                "drop the column, encode it yourself, or raise `max_levels`."
            )
        return cls(tuple(cols), dropped_rows)

    # ------------------------------------------------------------------ layout
    @property
    def names(self) -> tuple[str, ...]:
        """The table's feature columns, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def numeric(self) -> tuple[ColumnEncoding, ...]:
        return tuple(c for c in self.columns if c.kind == "numeric")

    @property
    def categorical(self) -> tuple[ColumnEncoding, ...]:
        return tuple(c for c in self.columns if c.kind == "categorical")

    @property
    def needed(self) -> bool:
        """Whether the table needs preprocessing (a categorical column or a missing value)."""
        return any(c.kind == "categorical" or c.missing for c in self.columns)

    def covers(self, other: TableEncoding) -> bool:
        """Whether rows of ``other``'s table read exactly through this encoding: the same
        columns of the same kinds, every level of ``other`` among these, and a missing
        indicator here wherever ``other`` has one (new rows of an update often hold fewer
        levels, and fewer missing values, than the rows the states were first computed from).

        >>> a = TableEncoding((ColumnEncoding("c", "categorical", levels=("u", "v")),))
        >>> b = TableEncoding((ColumnEncoding("c", "categorical", levels=("v",)),))
        >>> a.covers(b), b.covers(a)
        (True, False)
        """
        if [(c.name, c.kind) for c in self.columns] != [(c.name, c.kind) for c in other.columns]:
            return False
        return all(
            (mine.missing or not theirs.missing) and set(theirs.levels) <= set(mine.levels)
            for mine, theirs in zip(self.columns, other.columns, strict=True)
        )

    def base_names(self) -> tuple[str, ...]:
        """Names of the base design's columns (module docstring)."""
        num = [c.name for c in self.numeric]
        ind = [f"{c.name}__missing" for c in self.numeric if c.missing]
        oh = [f"{c.name}={lev}" for c in self.categorical for lev in c.levels]
        return tuple(num + ind + oh)

    # ------------------------------------------------------------------ encoding rows
    def _frame(self, X: Any, where: str) -> pd.DataFrame:
        """``X`` as a DataFrame of the table's columns, in order; a DataFrame must have them
        by name (an error names the missing and extra ones, or says the order differs)."""
        names = list(self.names)
        if isinstance(X, pd.DataFrame):
            got = [str(c) for c in X.columns]
            check_column_names(names, got, "The columns", "the model", where)
            return X.set_axis(names, axis=1)
        arr = np.asarray(X, dtype=object)
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise ValueError(
                f"`X` must have the {len(names)} columns the model was fitted on ({names}), "
                f"but {where} has shape {arr.shape}."
            )
        frame = pd.DataFrame(arr, columns=names)
        for c in self.numeric:
            frame[c.name] = pd.to_numeric(frame[c.name])
        return frame

    def numeric_values(self, frame: pd.DataFrame, where: str) -> np.ndarray:
        """The numeric columns as float64 (NaN where missing), shape ``(n, n_numeric)``."""
        out = np.empty((len(frame), len(self.numeric)))
        for j, c in enumerate(self.numeric):
            s = frame[c.name]
            if is_categorical(s) and not s.isna().all():
                raise TypeError(
                    f"Column {c.name!r} must be numeric as when the model was fitted, but "
                    f"{where} has it as {s.dtype}."
                )
            out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def level_codes(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """For each categorical column, each row's level index (-1: a level not in the
        vocabulary, as a level unseen when fitting)."""
        return [_codes(frame[c.name], c.levels) for c in self.categorical]

    def encode(self, X: Any, *, extended: bool = False, where: str = "the data") -> np.ndarray:
        """The base design of ``X`` (rows of the table's feature columns).

        ``extended`` adds a missing indicator for *every* numeric column (a prediction may
        meet a missing value in a column that had none when fitting: it is imputed too)."""
        frame = self._frame(X, where)
        num = self.numeric_values(frame, where)
        miss = np.isnan(num)
        flagged = [j for j, c in enumerate(self.numeric) if extended or c.missing]
        n, p = num.shape
        width = p + len(flagged) + sum(len(c.levels) for c in self.categorical)
        out = np.zeros((n, width))
        np.copyto(out[:, :p], num)
        out[:, :p][miss] = 0.0
        out[:, p : p + len(flagged)] = miss[:, flagged]
        start = p + len(flagged)
        rows = np.arange(n)
        for c, codes in zip(self.categorical, self.level_codes(frame), strict=True):
            seen = codes >= 0
            out[rows[seen], start + codes[seen]] = 1.0
            start += len(c.levels)
        return out

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [
                {"name": c.name, "kind": c.kind, "missing": c.missing, "levels": list(c.levels)}
                for c in self.columns
            ],
            "dropped_rows": self.dropped_rows,
        }

    def to_text(self) -> str:
        """Canonical JSON text of the columns (a state parameter: rows dropped by a source
        are not part of it, so states of two sources with one layout merge)."""
        data = {"columns": self.to_json()["columns"]}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Any) -> TableEncoding:
        if isinstance(data, str):
            data = json.loads(data)
        cols = tuple(
            ColumnEncoding(
                str(c["name"]), str(c["kind"]), bool(c["missing"]), tuple(map(str, c["levels"]))
            )
            for c in data["columns"]
        )
        return cls(cols, int(data.get("dropped_rows", 0)))

    def summary(self) -> dict[str, Any]:
        """What the source did: columns one-hot encoded (with their level counts), columns
        with missing values (mean-imputed by the models), rows dropped for a missing target."""
        return {
            "encoded": {c.name: len(c.levels) for c in self.categorical},
            "missing": [c.name for c in self.numeric if c.missing],
            "missing_categories": [c.name for c in self.categorical if c.missing],
            "dropped_rows_missing_target": self.dropped_rows,
        }


class Vocabulary:
    """The mergeable summary a :class:`TableEncoding` is made from: for each categorical
    column the set of levels it holds and whether a value is missing, for each numeric column
    whether a value is missing. ``update`` folds in a chunk of rows, ``merge`` another
    vocabulary; the encoding sorts the levels, so it depends on neither chunking nor order.

    A column past ``max_levels`` levels is refused as soon as it is (bounded memory), naming
    it, its level count so far and where.

    Example
    -------
    >>> import pandas as pd
    >>> v = Vocabulary(["a", "c"], {"c"}); v.update(pd.DataFrame({"a": [1.0], "c": ["x"]}))
    >>> w = Vocabulary(["a", "c"], {"c"}); w.update(pd.DataFrame({"a": [None], "c": ["b"]}))
    >>> v.merge(w); v.encoding().base_names()
    ('a', 'a__missing', 'c=b', 'c=x')
    """

    def __init__(
        self, features: Sequence[str], categorical: Any, max_levels: int = MAX_LEVELS
    ) -> None:
        self.features = [str(f) for f in features]
        self.categorical = {str(c) for c in categorical} & set(self.features)
        self.max_levels = int(max_levels)
        self.levels: dict[str, set[str]] = {c: set() for c in self.categorical}
        self.missing: dict[str, bool] = dict.fromkeys(self.features, False)

    def update(self, frame: pd.DataFrame, where: str = "the data") -> None:
        """Fold in the rows of ``frame`` (which holds the feature columns)."""
        for name in self.features:
            s = frame[name]
            if name in self.categorical:
                text, missing = _as_text(s)
                self.levels[name].update(str(v) for v in pd.unique(text[~missing].to_numpy()))
                self.missing[name] |= bool(missing.any())
                self._check(name, where)
            else:
                self.missing[name] |= bool(s.isna().to_numpy().any())

    def merge(self, other: Vocabulary) -> None:
        """Fold in another vocabulary of the same columns."""
        if other.features != self.features or other.categorical != self.categorical:
            raise ValueError(
                "Vocabularies must have the same columns to merge, but got "
                f"{self.features} and {other.features}."
            )
        for name in self.features:
            if name in self.categorical:
                self.levels[name] |= other.levels[name]
                self._check(name, "the merged vocabulary")
            self.missing[name] |= other.missing[name]

    def _check(self, name: str, where: str) -> None:
        n = len(self.levels[name]) + int(self.missing[name])
        if n > self.max_levels:
            raise ValueError(
                f"A categorical column may have at most max_levels={self.max_levels} levels "
                f"to be one-hot encoded, but {name!r} has {n} levels by {where} (an id or "
                "free text?); drop the column, encode it yourself, or raise `max_levels`."
            )

    def encoding(self, dropped_rows: int = 0) -> TableEncoding:
        """The table's encoding: levels sorted, the missing level last."""
        cols = []
        for name in self.features:
            if name in self.categorical:
                levels = sorted(self.levels[name])
                if self.missing[name]:
                    levels.append(MISSING_LEVEL)
                cols.append(ColumnEncoding(name, "categorical", self.missing[name], tuple(levels)))
            else:
                cols.append(ColumnEncoding(name, "numeric", self.missing[name]))
        return TableEncoding(tuple(cols), dropped_rows)
