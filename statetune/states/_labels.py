"""Class labels for class-conditional states: validation, union, and a pickle-free encoding.

Labels may be integers, strings or booleans (floats are accepted when integral-valued classes
are meant). They are kept sorted, as scikit-learn's ``classes_``.

Example
-------
>>> import numpy as np
>>> from statetune.states._labels import encode_labels, decode_labels, as_labels
>>> decode_labels(encode_labels(np.array(["b", "a"])))
array(['b', 'a'], dtype='<U1')
>>> as_labels(["x", None], 2)
Traceback (most recent call last):
...
statetune.states._base.NonFiniteError: Class labels must be present, but row 1 has none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.states._base import LabelError, NonFiniteError

__all__ = ["as_labels", "decode_labels", "encode_labels", "label_codes", "union_labels"]


def _normalize(arr: np.ndarray) -> np.ndarray:
    """A label array with a storable dtype: bool, int64, float64 or unicode."""
    kind = arr.dtype.kind
    if kind == "O":
        values = arr.tolist()
        missing = [
            i for i, v in enumerate(values) if v is None or (isinstance(v, float) and v != v)
        ]
        if missing:
            r = missing[0]
            raise NonFiniteError(
                f"Class labels must be present, but row {r} has none.", row=r, column="target"
            )
        n_str = sum(isinstance(v, str) for v in values)
        if n_str == len(values):
            return np.array(values, dtype=str) if values else np.empty(0, dtype="<U1")
        if n_str:
            raise TypeError(
                "Class labels must be all strings or all numbers, but got both "
                f"(e.g. {values[:3]!r})."
            )
        arr = np.array(values)
        if arr.dtype.kind == "O":
            raise TypeError(
                f"Class labels must be numbers, booleans or strings, but got {values[:3]!r}."
            )
        kind = arr.dtype.kind
    if kind == "S":
        return np.char.decode(arr, "utf-8")
    if kind in "Ub":
        return arr
    if kind in "iu":
        if kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(
                f"Integer class labels must fit in int64, but got {arr.max()} (store them as "
                "strings)."
            )
        return arr.astype(np.int64, copy=False)
    if kind == "f":
        return arr.astype(np.float64, copy=False)
    raise TypeError(
        f"Class labels must be numbers, booleans or strings, but got dtype {arr.dtype}."
    )


def as_labels(y: Any, n: int) -> np.ndarray:
    """A 1-D label array of length ``n`` (bool, int64, integral float64 or unicode).

    A missing or non-finite label raises :class:`NonFiniteError` with its row (the pass then
    names the source row); a fractional float, mixed strings and numbers, or another dtype
    raise a clear error.
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"`y` must be 1-dimensional with {n} rows, but got shape {arr.shape}.")
    arr = _normalize(arr)
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            r = int(bad[0])
            raise NonFiniteError(
                f"Class labels must be present, but row {r} has {arr[r]}.", row=r, column="target"
            )
        frac = np.flatnonzero(arr != np.round(arr))
        if frac.size:
            r = int(frac[0])
            raise LabelError(
                f"Class labels must be discrete, but row {r} holds {arr[r]} "
                "(a continuous target: tune a regressor instead).",
                row=r,
                what="discrete class labels",
                hint="(a continuous target: tune a regressor instead)",
            )
    return arr


def label_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(classes, codes, counts)``: the sorted distinct labels, each row's index into them
    (the smallest unsigned dtype that fits, so a stable argsort is a radix sort) and the rows
    per class. Integer (or integral float) labels spanning a small range are coded with a
    lookup table (one ``bincount``), others with ``np.unique``. ``labels`` is what
    :func:`as_labels` returns.

    Example
    -------
    >>> import numpy as np
    >>> classes, codes, counts = label_codes(np.array([7, 3, 7, 9]))
    >>> classes.tolist(), codes.tolist(), counts.tolist()
    ([3, 7, 9], [1, 0, 1, 2], [1, 2, 1])
    """
    n = labels.shape[0]
    if labels.dtype.kind in "iuf" and n:  # floats are integral here (checked by as_labels)
        lo, hi = labels.min().item(), labels.max().item()
        if hi - lo <= max(n, 1024) and -(2**62) < lo and hi < 2**62:
            off = labels.astype(np.int64) if labels.dtype.kind == "f" else labels
            off = off.astype(np.int64, copy=False) - int(lo)
            tally = np.bincount(off, minlength=int(hi - lo) + 1)
            present = np.flatnonzero(tally)
            lut = np.zeros(tally.size, dtype=_code_dtype(present.size))
            lut[present] = np.arange(present.size)
            classes = (present + int(lo)).astype(labels.dtype)
            return classes, lut[off], tally[present]
    classes, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1).astype(_code_dtype(classes.size))
    return classes, codes, np.bincount(codes, minlength=classes.size)


def _code_dtype(k: int) -> type[np.unsignedinteger[Any]]:
    return np.uint8 if k <= 256 else np.uint16 if k <= 65536 else np.uint32


def union_labels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted union of two sorted label arrays; strings and numbers do not mix."""
    if not a.size:
        return b.copy()
    if not b.size:
        return a.copy()
    if (a.dtype.kind == "U") != (b.dtype.kind == "U"):
        raise TypeError(
            f"Class labels must be all strings or all numbers, but got {a[:3].tolist()} and "
            f"{b[:3].tolist()}."
        )
    return np.union1d(a, b)


def encode_labels(labels: np.ndarray) -> dict[str, Any]:
    """JSON-able form: ``{"dtype": ..., "values": [...]}``."""
    return {"dtype": labels.dtype.str, "values": labels.tolist()}


def decode_labels(encoded: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(encoded["dtype"])
    if dtype.kind not in "iufbU":
        raise ValueError(f"Encoded labels must have a plain dtype, but got {dtype}.")
    return np.asarray(encoded["values"], dtype=dtype)
