"""The ``ClassCounts`` state: per-class weights, feature sums and document frequencies.

Sufficient for the count-based naive Bayes models (multinomial, complement, Bernoulli): per
class ``c`` it keeps the summed sample weight ``class_count[c]``, the weighted per-feature sums
``feature_count[c, j] = sum w_i x_ij`` and the weighted document frequencies
``doc_freq[c, j] = sum w_i [x_ij > 0]`` (the feature counts of Bernoulli naive Bayes with
``binarize=0.0``; a Bernoulli finalizer from this state assumes that threshold). Every entry is
a plain sum, so merging is exact up to rounding, commutative and associative.

A batch is reduced with one product ``Y^T X`` where ``Y`` is the sparse (weighted) one-hot
matrix of its labels: dense and ``scipy.sparse`` input are both read in place, never densified
(CSC and COO are converted to CSR). Counts must be non-negative and finite.

Example
-------
>>> import numpy as np
>>> from statetune.states.class_counts import ClassCounts
>>> X = np.array([[1.0, 0.0], [2.0, 3.0], [0.0, 1.0]])
>>> s = ClassCounts(2); s.update(X, np.array(["b", "a", "b"]))
>>> s.classes.tolist(), s.class_count.tolist()
(['a', 'b'], [1.0, 2.0])
>>> s.feature_count.tolist(), s.doc_freq.tolist()
([[2.0, 3.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    readonly,
    register_state,
)
from statetune.states._labels import as_labels, union_labels
from statetune.states.capabilities import ReadsSparse

__all__ = ["ClassCounts", "NegativeCountError", "align_classes"]

#: Rows per block of a dense batch: bounds the temporary ``X > 0`` copy.
BLOCK_ROWS = 8192
#: Label dtypes kept (and stored in ``.npz``): bool, integer, float, unicode.
_LABEL_KINDS = "biufU"


class NegativeCountError(ValueError):
    """A batch holds a negative feature value; ``row`` and ``column`` say where.

    ``row`` is the index within the batch handed to ``update``. The state was not changed.
    """

    def __init__(self, message: str, row: int, column: int) -> None:
        super().__init__(message)
        self.row = row
        self.column = column


def align_classes(classes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each of ``labels`` in the sorted ``classes``, or -1 where it is absent."""
    out = np.full(labels.shape[0], -1, dtype=np.intp)
    if not classes.size or not labels.size:
        return out
    if (classes.dtype.kind == "U") != (labels.dtype.kind == "U"):
        return out
    pos = np.searchsorted(classes, labels)
    ok = pos < classes.size
    ok[ok] = classes[pos[ok]] == labels[ok]
    out[ok] = pos[ok]
    return out


def _bad_value(value: float, row: int, column: int) -> ValueError:
    if not np.isfinite(value):
        return NonFiniteError(
            f"Features must be finite, but column {column} holds {value} at row {row}.",
            row=row,
            column=column,
        )
    return NegativeCountError(
        "Negative values in data: `X >= 0` must hold (naive Bayes counts are non-negative), "
        f"but column {column} holds {value} at row {row}.",
        row=row,
        column=column,
    )


def _check_dense_block(Xb: np.ndarray, start: int) -> None:
    """Raise for the first negative or non-finite entry of a block (two reductions if clean)."""
    if Xb.dtype.kind == "b" or not Xb.size:
        return
    lo, hi = Xb.min(), Xb.max()
    if lo >= 0 and hi < np.inf:
        return
    Xf = Xb.astype(np.float64, copy=False)
    bad = ~(Xf >= 0) | ~np.isfinite(Xf)
    r = int(np.flatnonzero(bad.any(axis=1))[0])
    c = int(np.flatnonzero(bad[r])[0])
    raise _bad_value(float(Xf[r, c]), start + r, c)


def _check_sparse(X: sp.csr_array) -> None:
    data = X.data
    if data.dtype.kind == "b" or not data.size:
        return
    if data.min() >= 0 and data.max() < np.inf:
        return
    df = data.astype(np.float64, copy=False)
    k = int(np.flatnonzero(~(df >= 0) | ~np.isfinite(df))[0])
    row = int(np.searchsorted(X.indptr, k, side="right") - 1)
    raise _bad_value(float(df[k]), row, int(X.indices[k]))


def _one_hot_t(inv: np.ndarray, w: np.ndarray | None, k: int) -> sp.csr_array:
    """The (classes x rows) weighted indicator matrix ``Y^T`` of a batch, in CSR."""
    n = inv.shape[0]
    data = np.ones(n) if w is None else w
    return sp.csr_array((data, (inv, np.arange(n))), shape=(k, n))


def _reduce(
    X: Any, inv: np.ndarray, w: np.ndarray | None, k: int, d: int
) -> tuple[np.ndarray, np.ndarray]:
    """(feature sums, document frequencies) per class of a validated batch."""
    if sp.issparse(X):
        _check_sparse(X)
        Yt = _one_hot_t(inv, w, k)
        fc = np.asarray((Yt @ X).toarray(), dtype=np.float64)
        B = sp.csr_array(((X.data > 0).astype(np.float64), X.indices, X.indptr), shape=X.shape)
        df = np.asarray((Yt @ B).toarray(), dtype=np.float64)
        return fc, df
    fc = np.zeros((k, d))
    df = np.zeros((k, d))
    for start in range(0, X.shape[0], BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, X.shape[0])
        Xb = X[start:stop]
        _check_dense_block(Xb, start)
        Yt = _one_hot_t(inv[start:stop], None if w is None else w[start:stop], k)
        Xf = Xb if Xb.dtype == np.float64 else Xb.astype(np.float64)
        fc += Yt @ Xf
        df += Yt @ (Xf > 0).astype(np.float64)
    return fc, df


def _as_matrix(X: Any, n_features: int) -> Any:
    if sp.issparse(X):
        X = sp.csr_array(X)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        dtype = X.dtype
    else:
        X = np.asarray(X)
        dtype = X.dtype
    if X.ndim != 2:
        raise ValueError(f"`X` must be 2-dimensional, but got an array of shape {X.shape}.")
    if X.shape[1] != n_features:
        raise ValueError(
            f"`X` must have {n_features} columns (the state's n_features), but got {X.shape[1]}."
        )
    if not np.issubdtype(dtype, np.number) and dtype != np.bool_:
        raise TypeError(f"`X` must be numeric, but got dtype {dtype}.")
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(f"`X` must be real, but got dtype {dtype}.")
    return X


@register_state
class ClassCounts(Memoized, ReadsSparse):
    """Per-class summed weight, feature sums and document frequencies of non-negative ``X``.

    Parameters
    ----------
    n_features : int
        Number of feature columns.
    has_target : bool, default True
        Must be True: class counts need class labels (the target).

    Notes
    -----
    Labels may be booleans, integers, floats or strings (stored as bool, int64, float64 or a
    numpy unicode array: no pickle). ``classes`` holds every label seen, sorted, including labels
    whose rows all had zero weight (as scikit-learn's ``classes_`` does). ``doc_freq`` counts
    rows with ``x > 0``: it serves Bernoulli naive Bayes with the binarize threshold 0 only.
    Sample weights are frequency weights: a weight of 2 equals the row seen twice.
    """

    kind = "class_counts"
    has_target = True

    def __init__(self, n_features: int, has_target: bool = True) -> None:
        if not has_target:
            raise ValueError(
                "`has_target` must be True: class counts need class labels (a target), "
                "but got has_target=False."
            )
        if int(n_features) < 1:
            raise ValueError(f"`n_features >= 1` must hold, but got n_features={n_features}.")
        self.n_features = int(n_features)
        self._n_rows = 0
        self._weight = 0.0
        self._classes: np.ndarray = np.empty(0, dtype=np.int64)
        self._class_count = np.zeros(0)
        self._feature_count = np.zeros((0, self.n_features))
        self._doc_freq = np.zeros((0, self.n_features))
        self._derived: dict[Any, Any] = {}

    # ------------------------------------------------------------------ properties
    @property
    def n_rows(self) -> int:
        """Rows absorbed (zero-weight rows included)."""
        return self._n_rows

    @property
    def weight_sum(self) -> float:
        """Sum of sample weights (``n_rows`` when unweighted)."""
        return self._weight

    @property
    def classes(self) -> np.ndarray:
        """Sorted labels seen (read-only)."""
        return readonly(self._classes)

    @property
    def n_classes(self) -> int:
        return int(self._classes.shape[0])

    @property
    def class_count(self) -> np.ndarray:
        """Summed sample weight per class, shape ``(n_classes,)`` (read-only)."""
        return readonly(self._class_count)

    @property
    def feature_count(self) -> np.ndarray:
        """``sum w x`` per class and feature, shape ``(n_classes, n_features)`` (read-only)."""
        return readonly(self._feature_count)

    @property
    def doc_freq(self) -> np.ndarray:
        """``sum w [x > 0]`` per class and feature (read-only)."""
        return readonly(self._doc_freq)

    def params(self) -> dict[str, Any]:
        """The state parameters: what changes the summary (never hyperparameters)."""
        return {"n_features": self.n_features, "has_target": True}

    # ------------------------------------------------------------------ update / merge
    def update(self, X: Any, y: Any = None, sample_weight: Any = None) -> None:
        """Fold a batch of rows into the state (all or nothing: on error, nothing changes).

        Raises
        ------
        NonFiniteError
            A feature, a float label or a weight is NaN or infinite, or a weight is negative
            (names row and column).
        NegativeCountError
            A feature is negative (a ``ValueError`` naming row and column).
        """
        X = _as_matrix(X, self.n_features)
        n = X.shape[0]
        if y is None:
            raise ValueError("`y` is required: ClassCounts needs class labels.")
        labels = as_labels(y, n)
        w = check_sample_weight(sample_weight, n)
        if n == 0:
            return
        batch_classes, inv = np.unique(labels, return_inverse=True)
        k = batch_classes.shape[0]
        classes = union_labels(self._classes, batch_classes)  # may raise: mixed label kinds
        cc = np.bincount(inv, weights=w, minlength=k).astype(np.float64)
        fc, df = _reduce(X, inv.ravel(), w, k, self.n_features)
        if not (np.isfinite(fc).all() and np.isfinite(cc).all()):
            raise NonFiniteError(
                f"Class counts must stay finite, but rows 0..{n - 1} overflow float64; "
                "rescale the data.",
                row=0,
            )
        # commit: nothing above touched the state
        self._absorb(classes, batch_classes, cc, fc, df)
        self._n_rows += n
        self._weight += float(cc.sum())

    def _absorb(
        self,
        classes: np.ndarray,
        other_classes: np.ndarray,
        cc: np.ndarray,
        fc: np.ndarray,
        df: np.ndarray,
    ) -> None:
        """Re-index to the union ``classes`` and add the other side's counts."""
        if not np.array_equal(classes, self._classes) or classes.dtype != self._classes.dtype:
            idx = align_classes(classes, self._classes) if self._classes.size else None
            shape = (classes.shape[0], self.n_features)
            new_cc, new_fc, new_df = np.zeros(shape[0]), np.zeros(shape), np.zeros(shape)
            if idx is not None:
                new_cc[idx] = self._class_count
                new_fc[idx] = self._feature_count
                new_df[idx] = self._doc_freq
            self._classes, self._class_count = classes, new_cc
            self._feature_count, self._doc_freq = new_fc, new_df
        else:
            self._class_count = self._class_count.copy()
            self._feature_count = self._feature_count.copy()
            self._doc_freq = self._doc_freq.copy()
        at = align_classes(self._classes, other_classes)
        self._class_count[at] += cc
        self._feature_count[at] += fc
        self._doc_freq[at] += df
        self._derived = {}

    def add_classes(self, labels: Any) -> None:
        """Make ``labels`` known with zero counts (e.g. ``partial_fit(..., classes=...)``)."""
        arr = np.unique(as_labels(np.asarray(labels).ravel(), np.asarray(labels).size))
        classes = union_labels(self._classes, arr)
        k = arr.shape[0]
        zeros = np.zeros((k, self.n_features))
        self._absorb(classes, arr, np.zeros(k), zeros, zeros)

    def _check_compatible(self, other: Any) -> ClassCounts:
        if not isinstance(other, ClassCounts):
            raise TypeError(f"`other` must be a ClassCounts state, but got {type(other).__name__}.")
        if other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} "
                f"and {other.params()}."
            )
        return other

    def merge(self, other: Any) -> None:
        """Absorb a state of disjoint rows: the classes are united, the counts added."""
        other = self._check_compatible(other)
        if not other._classes.size:
            return
        classes = union_labels(self._classes, other._classes)
        self._absorb(
            classes, other._classes, other._class_count, other._feature_count, other._doc_freq
        )
        self._n_rows += other._n_rows
        self._weight += other._weight

    # ------------------------------------------------------------------ round trip
    def copy(self) -> ClassCounts:
        """An independent copy."""
        new = ClassCounts(self.n_features)
        new._n_rows, new._weight = self._n_rows, self._weight
        new._classes = self._classes.copy()
        new._class_count = self._class_count.copy()
        new._feature_count = self._feature_count.copy()
        new._doc_freq = self._doc_freq.copy()
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A JSON-able header and plain arrays (npz-compatible; labels as a numeric or
        unicode array, never object)."""
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": int(self._n_rows),
            "weight_sum": float(self._weight),
        }
        arrays = {
            "classes": np.ascontiguousarray(self._classes).copy(),
            "class_count": self._class_count.copy(),
            "feature_count": self._feature_count.copy(),
            "doc_freq": self._doc_freq.copy(),
        }
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> ClassCounts:
        """Inverse of :meth:`to_arrays`; checks dtypes and shapes."""
        params = header["params"]
        new = cls(int(params["n_features"]), bool(params.get("has_target", True)))
        classes = np.asarray(arrays["classes"])
        if classes.dtype.kind not in _LABEL_KINDS:
            raise ValueError(
                "`classes` must be a bool, integer, float or unicode array, but got dtype "
                f"{classes.dtype}."
            )
        k, d = classes.shape[0], new.n_features
        cc = np.asarray(arrays["class_count"], dtype=np.float64)
        fc = np.asarray(arrays["feature_count"], dtype=np.float64)
        df = np.asarray(arrays["doc_freq"], dtype=np.float64)
        if classes.ndim != 1 or cc.shape != (k,) or fc.shape != (k, d) or df.shape != (k, d):
            raise ValueError(
                f"ClassCounts arrays must have shapes (k,), (k,), (k, {d}), (k, {d}), but got "
                f"{classes.shape}, {cc.shape}, {fc.shape}, {df.shape}."
            )
        if k > 1 and not np.all(classes[1:] > classes[:-1]):
            raise ValueError("`classes` must be sorted and unique, but the stored labels are not.")
        new._n_rows = int(header["n_rows"])
        new._weight = float(header["weight_sum"])
        new._classes = classes.copy()
        new._class_count, new._feature_count, new._doc_freq = cc.copy(), fc.copy(), df.copy()
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        """Same rows and classes; every count within ``rtol`` (relative, entry by entry)."""
        if not isinstance(other, ClassCounts) or other.params() != self.params():
            return False
        if other._n_rows != self._n_rows:
            return False
        if self._classes.size != other._classes.size:
            return False
        if self._classes.size and (
            (self._classes.dtype.kind == "U") != (other._classes.dtype.kind == "U")
            or not np.array_equal(self._classes, other._classes)
        ):
            return False
        pairs = (
            (np.array([self._weight]), np.array([other._weight])),
            (self._class_count, other._class_count),
            (self._feature_count, other._feature_count),
            (self._doc_freq, other._doc_freq),
        )
        return all(
            bool(np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)))) for a, b in pairs
        )

    def __repr__(self) -> str:
        return (
            f"ClassCounts(n_features={self.n_features}, n_classes={self.n_classes}, "
            f"n_rows={self._n_rows})"
        )
