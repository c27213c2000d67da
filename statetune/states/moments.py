"""The ``Moments`` state: count, mean and centered co-moments of features plus target.

Numerics (docs/design.md, "Numerics"): the mean is kept relative to a fixed *shift* (the first
row the state saw), so columns with a mean of 1e9 and a spread of 1e-2 keep full precision.
Each block of rows is shifted, centered on its own mean (two-pass, in cache) and reduced with
one ``syrk``-class product ``T.T @ T``; blocks and states combine with the pairwise formula
of Chan, Golub and LeVeque: ``C = Ca + Cb + d d^T * Wa * Wb / W``.

Sample weights are frequency weights: a weight of 2 equals the row seen twice.

Example
-------
>>> import numpy as np
>>> from statetune.states import Moments
>>> rng = np.random.default_rng(0)
>>> X, y = rng.normal(size=(100, 3)), rng.normal(size=100)
>>> a, b = Moments(3), Moments(3)
>>> a.update(X[:40], y[:40]); b.update(X[40:], y[40:]); a.merge(b)
>>> full = Moments(3); full.update(X, y)
>>> a.allclose(full)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    readonly,
    register_state,
)
from statetune.states.capabilities import Subtractable

__all__ = ["Moments"]

#: Rows per block: a shifted block of 50 columns (3.3 MB) stays in a core's cache.
BLOCK_ROWS = 8192


def _as_2d_float(X: Any, n_features: int) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"`X` must be 2-dimensional, but got an array of shape {X.shape}.")
    if X.shape[1] != n_features:
        raise ValueError(
            f"`X` must have {n_features} columns (the state's n_features), but got {X.shape[1]}."
        )
    if not np.issubdtype(X.dtype, np.number) and X.dtype != np.bool_:
        raise TypeError(f"`X` must be numeric, but got dtype {X.dtype}.")
    return X


def _as_1d_float(v: Any, n: int, name: str) -> np.ndarray:
    v = np.asarray(v)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1 or v.shape[0] != n:
        raise ValueError(f"`{name}` must be 1-dimensional with {n} rows, but got shape {v.shape}.")
    if not np.issubdtype(v.dtype, np.number) and v.dtype != np.bool_:
        raise TypeError(f"`{name}` must be numeric, but got dtype {v.dtype}.")
    return v.astype(np.float64, copy=False)


def _locate_non_finite(
    X: np.ndarray, y: np.ndarray | None, start: int, w: np.ndarray | None = None
) -> NonFiniteError:
    """The first row at fault in a block whose sums are not finite: a NaN or infinity, or,
    before it, a row where the co-moments overflow (see :func:`_locate_overflow`)."""
    bad = ~np.isfinite(X)
    rows = np.flatnonzero(bad.any(axis=1))
    y_rows = np.flatnonzero(~np.isfinite(y)) if y is not None else np.empty(0, dtype=np.intp)
    first: NonFiniteError | None = None
    if rows.size and (not y_rows.size or rows[0] <= y_rows[0]):
        r = int(rows[0])
        c = int(np.flatnonzero(bad[r])[0])
        first = NonFiniteError(
            f"Features must be finite, but column {c} holds {X[r, c]} at row {start + r}.",
            row=start + r,
            column=c,
        )
    elif y_rows.size:
        r = int(y_rows[0])
        assert y is not None
        first = NonFiniteError(
            f"The target must be finite, but holds {y[r]} at row {start + r}.",
            row=start + r,
            column="target",
        )
    m = X.shape[0] if first is None else int(first.row or 0) - start  # rows before it
    cut = slice(0, m)
    earlier = (
        _locate_overflow(
            X[cut], None if y is None else y[cut], None if w is None else w[cut], None, None, start
        )
        if m
        else None
    )
    if earlier is not None:
        return earlier
    if first is not None:
        return first
    return NonFiniteError(
        f"Moments must stay finite, but rows {start}..{start + X.shape[0] - 1} overflow "
        "float64 (values near 1e154 or beyond); rescale the data.",
        row=start,
    )


def _locate_overflow(
    X: np.ndarray,
    y: np.ndarray | None,
    w: np.ndarray | None,
    center: np.ndarray | None,
    base: np.ndarray | None,
    start: int,
) -> NonFiniteError | None:
    """The first row, and its column, where the running sum ``base + sum w (z - center)^2``
    of a column overflows float64, or None. ``center`` is the state's mean, else each
    column's value of least magnitude, so the row named is the first whose value lies ~1e154
    or more from the column's small values (the value to rescale, not a neighbour of it).

    That sum bounds the column's co-moment from above (centering on the mean minimizes it),
    so no row before the one named can overflow the co-moments.
    """
    d = X.shape[1]
    Z = np.empty((X.shape[0], d + (y is not None)))
    Z[:, :d] = X
    if y is not None:
        Z[:, d] = y
    with np.errstate(all="ignore"):
        if center is None:
            center = Z[np.argmin(np.abs(Z), axis=0), np.arange(Z.shape[1])]
        Z -= center
        Z *= Z
        if w is not None:
            Z *= w[:, None]
        if base is not None:
            Z[0] += base
        np.cumsum(Z, axis=0, out=Z)
    bad = ~np.isfinite(Z)
    rows = np.flatnonzero(bad.any(axis=1))
    if not rows.size:
        return None
    r = int(rows[0])
    c = int(np.flatnonzero(bad[r])[0])
    value = X[r, c] if c < d else y[r]  # type: ignore[index]
    what = f"column {c}" if c < d else "the target"
    return NonFiniteError(
        f"Moments must stay finite, but {what} overflows float64 at row {start + r} (it holds "
        f"{value}; squares beyond 1e308 overflow); rescale the data.",
        row=start + r,
        column=c if c < d else "target",
    )


@register_state
class Moments(Memoized, Subtractable):
    """Count, mean and centered co-moment matrix of ``[X, y]`` (``y`` optional).

    Parameters
    ----------
    n_features : int
        Number of feature columns.
    has_target : bool, default True
        Whether a target column follows the features.

    Notes
    -----
    ``comoment`` is ``sum_i w_i (z_i - mean)(z_i - mean)^T``; divide by ``weight_sum`` for the
    population covariance. The target, when present, is the last row/column.
    """

    kind = "moments"

    def __init__(self, n_features: int, has_target: bool = True) -> None:
        if int(n_features) < 1:
            raise ValueError(f"`n_features >= 1` must hold, but got n_features={n_features}.")
        self.n_features = int(n_features)
        self.has_target = bool(has_target)
        p = self.n_features + int(self.has_target)
        self._n_rows = 0
        self._weight = 0.0
        self._shift = np.zeros(p)
        self._mean = np.zeros(p)
        self._com = np.zeros((p, p))
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
    def shift(self) -> np.ndarray:
        """The fixed point the mean is kept relative to (read-only)."""
        return readonly(self._shift)

    @property
    def mean(self) -> np.ndarray:
        """Weighted mean of ``[X, y]`` (rounded to float64)."""
        return self._shift + self._mean

    @property
    def mean_from_shift(self) -> np.ndarray:
        """``mean - shift`` kept unrounded (full precision even when the mean is huge)."""
        return readonly(self._mean)

    @property
    def comoment(self) -> np.ndarray:
        """Centered co-moment matrix ``sum w (z - mean)(z - mean)^T`` (read-only)."""
        return readonly(self._com)

    def params(self) -> dict[str, Any]:
        """The state parameters: what changes the summary (never hyperparameters)."""
        return {"n_features": self.n_features, "has_target": self.has_target}

    def mean_offset(self, other: Moments) -> np.ndarray:
        """``other.mean - self.mean``, computed without rounding the large parts first."""
        return (other._mean - self._mean) + (other._shift - self._shift)

    # ------------------------------------------------------------------ update / merge
    def update(
        self,
        X: Any,
        y: Any = None,
        sample_weight: Any = None,
    ) -> None:
        """Fold a batch of rows into the state (all or nothing: on error, nothing changes).

        Raises
        ------
        NonFiniteError
            A feature, the target or a weight is NaN or infinite (names row and column).
        """
        X = _as_2d_float(X, self.n_features)
        n = X.shape[0]
        if self.has_target:
            if y is None:
                raise ValueError("`y` is required: this Moments state has a target column.")
            y = _as_1d_float(y, n, "y")
        elif y is not None:
            raise ValueError("`y` must be None: this Moments state has no target column.")
        w = check_sample_weight(sample_weight, n)
        if n == 0:
            return
        if X.dtype != np.float64:
            X = X.astype(np.float64)
        with np.errstate(all="ignore"):  # non-finite sums are checked explicitly
            shift, acc = self._reduce(X, y, w)
            self._check_combined(X, y, w, shift, acc)
        self._commit(shift, acc, n)  # nothing above touched the state

    def _check_combined(
        self,
        X: np.ndarray,
        y: np.ndarray | None,
        w: np.ndarray | None,
        shift: np.ndarray | None,
        acc: tuple[float, np.ndarray, np.ndarray],
    ) -> None:
        """Raise if absorbing ``acc`` would overflow: blocks that are finite each can combine
        to infinity (a batch of 1e200s after one of zeros)."""
        _, mean, com = _chan(self._weight, self._mean, self._com, *acc)
        if np.isfinite(mean).all() and np.isfinite(np.diagonal(com)).all():
            return
        own = self._n_rows > 0
        center = (self._shift + self._mean) if own else None
        base = np.diagonal(self._com).copy() if own else None
        raise _locate_overflow(X, y, w, center, base, 0) or NonFiniteError(
            f"Moments must stay finite, but rows 0..{X.shape[0] - 1} overflow float64 when "
            "combined with the rows seen before; rescale the data.",
            row=0,
        )

    def _commit(
        self, shift: np.ndarray | None, acc: tuple[float, np.ndarray, np.ndarray], n: int
    ) -> None:
        """Absorb what :meth:`_reduce` computed for ``n`` rows."""
        if self._n_rows == 0 and shift is not None:
            self._shift = shift
        self._weight, self._mean, self._com = _chan(self._weight, self._mean, self._com, *acc)
        self._n_rows += n
        self._derived = {}

    def _reduce(
        self, X: np.ndarray, y: np.ndarray | None, w: np.ndarray | None
    ) -> tuple[np.ndarray | None, tuple[float, np.ndarray, np.ndarray]]:
        """(shift, (weight, mean relative to shift, co-moments)) of a batch, block by block."""
        n = X.shape[0]
        p = self._com.shape[0]
        shift = self._shift if self._n_rows else None
        acc: tuple[float, np.ndarray, np.ndarray] = (0.0, np.zeros(p), np.zeros((p, p)))
        scratch: np.ndarray | None = None
        for start in range(0, n, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, n)
            Xb = X[start:stop]
            yb = None if y is None else y[start:stop]
            wb = None if w is None else w[start:stop]
            fast = _raw_block(Xb, yb) if wb is None else None
            if fast is not None:
                bw, bmean, bcom = fast
                if shift is None:
                    shift = bmean.copy()
                bmean -= shift
            else:
                if shift is None:
                    shift = _first_row(Xb, yb)
                if scratch is None:
                    scratch = np.empty((min(n, BLOCK_ROWS), p))
                bw, bmean, bcom = _centered_block(Xb, yb, wb, shift, scratch)
                if bw == 0.0:
                    continue
                if not (np.isfinite(bmean).all() and np.isfinite(np.diagonal(bcom)).all()):
                    raise _locate_non_finite(Xb, yb, start, wb)
            acc = _chan(*acc, bw, bmean, bcom)
        return shift, acc

    def _check_compatible(self, other: Any) -> Moments:
        if not isinstance(other, Moments):
            raise TypeError(f"`other` must be a Moments state, but got {type(other).__name__}.")
        if other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} "
                f"and {other.params()}."
            )
        return other

    def merge(self, other: Any) -> None:
        """Absorb a state of disjoint rows (pairwise Chan formula; exact up to rounding)."""
        other = self._check_compatible(other)
        if other._n_rows == 0:
            return
        if self._n_rows == 0:
            self._shift = other._shift.copy()
        other_mean = other._mean + (other._shift - self._shift)
        self._weight, self._mean, self._com = _chan(
            self._weight, self._mean, self._com, other._weight, other_mean, other._com
        )
        self._n_rows += other._n_rows
        self._derived = {}

    def subtract(self, other: Any) -> None:
        """Undo ``merge(other)``: remove the rows summarized by ``other``."""
        other = self._check_compatible(other)
        if other._n_rows == 0:
            return
        if other._n_rows > self._n_rows or other._weight > self._weight * (1 + 1e-12):
            raise ValueError(
                f"`other` must summarize a subset of these rows, but it has "
                f"n_rows={other._n_rows} > {self._n_rows} or a larger weight."
            )
        n_rows = self._n_rows - other._n_rows
        w_a = self._weight - other._weight
        if n_rows == 0 or w_a <= 0.0:
            fresh = Moments(self.n_features, self.has_target)
            fresh._n_rows = n_rows
            if n_rows:  # rows of zero weight remain: keep the shift, later rows need it
                fresh._shift = self._shift
            self.__dict__.update(fresh.__dict__)
            return
        mean_b = other._mean + (other._shift - self._shift)
        mean_a = (self._weight * self._mean - other._weight * mean_b) / w_a
        delta = mean_b - mean_a
        com = self._com - other._com - np.outer(delta, delta) * (w_a * other._weight / self._weight)
        self._n_rows, self._weight, self._mean, self._com = n_rows, w_a, mean_a, com
        self._derived = {}

    # ------------------------------------------------------------------ round trip
    def copy(self) -> Moments:
        """An independent copy."""
        new = Moments(self.n_features, self.has_target)
        new._n_rows, new._weight = self._n_rows, self._weight
        new._shift, new._mean, new._com = self._shift.copy(), self._mean.copy(), self._com.copy()
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A JSON-able header and plain arrays (npz-compatible; no pickle)."""
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": self._n_rows,
            "weight_sum": self._weight,
        }
        arrays = {
            "shift": self._shift.copy(),
            "mean": self._mean.copy(),
            "comoment": self._com.copy(),
        }
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> Moments:
        """Inverse of :meth:`to_arrays`; checks shapes."""
        params = header["params"]
        new = cls(int(params["n_features"]), bool(params["has_target"]))
        p = new._com.shape[0]
        shift = np.asarray(arrays["shift"], dtype=np.float64)
        mean = np.asarray(arrays["mean"], dtype=np.float64)
        com = np.asarray(arrays["comoment"], dtype=np.float64)
        if shift.shape != (p,) or mean.shape != (p,) or com.shape != (p, p):
            raise ValueError(
                f"Moments arrays must have shapes ({p},), ({p},), ({p}, {p}), but got "
                f"{shift.shape}, {mean.shape}, {com.shape}."
            )
        new._n_rows = int(header["n_rows"])
        new._weight = float(header["weight_sum"])
        new._shift, new._mean, new._com = shift.copy(), mean.copy(), com.copy()
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        """Equal up to rounding: same rows, means within ``rtol`` of the spread, co-moments
        within ``rtol`` of ``sqrt(C_ii C_jj)``."""
        if not isinstance(other, Moments) or other.params() != self.params():
            return False
        if other._n_rows != self._n_rows:
            return False
        if self._n_rows == 0:
            return True
        if not np.isclose(other._weight, self._weight, rtol=rtol, atol=0.0):
            return False
        var = np.maximum(np.diagonal(self._com), np.diagonal(other._com))
        scale = np.sqrt(var / max(self._weight, 1e-300))
        mean_scale = np.maximum(scale, np.abs(self.mean) * 1e-15) + 1e-300
        if np.any(np.abs(self.mean_offset(other)) > rtol * mean_scale):
            return False
        root = np.sqrt(var)  # sqrt first: outer(var, var) overflows for data beyond ~1e77
        denom = np.outer(root, root) + 1e-300
        return bool(np.all(np.abs(self._com - other._com) <= rtol * denom))

    def __repr__(self) -> str:
        return (
            f"Moments(n_features={self.n_features}, has_target={self.has_target}, "
            f"n_rows={self._n_rows})"
        )


#: The raw (unshifted) path is used while no column loses more than this share of its
#: digits: centered variance >= 1e-3 x raw second moment keeps ~13 significant digits.
RAW_PATH_MIN_RATIO = 1e-3


def _first_row(X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    row = np.append(X[0], y[0]) if y is not None else np.array(X[0], dtype=np.float64)
    row[~np.isfinite(row)] = 0.0  # the block check reports the bad value
    return row


def _raw_block(X: np.ndarray, y: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Moments of an unweighted block from raw products, reading ``X`` in place (no copy).

    ``X`` may be a strided row view (the pass hands each fold its rows as ``X[a:b:K]``).
    ``X^T X`` is one ``syrk``; sums and ``X^T y`` come from one product with ``[1, y]``.
    Returns None when that would lose precision (large offsets relative to the spread) or
    the block is not finite; the caller then takes the shifted two-pass path.
    """
    nb, d = X.shape
    has_y = y is not None
    p = d + has_y
    U = np.empty((nb, 2))
    U[:, 0] = 1.0
    U[:, 1] = y if has_y else 0.0
    S = X.T @ U  # column sums and X^T y in one read of X
    G = np.empty((p, p))
    G[:d, :d] = X.T @ X
    sums = np.empty(p)
    sums[:d] = S[:, 0]
    if has_y:
        G[:d, d] = S[:, 1]
        G[d, :d] = S[:, 1]
        G[d, d] = U[:, 1] @ U[:, 1]
        sums[d] = U[:, 1].sum()
    raw = G.diagonal().copy()
    if not np.isfinite(raw.sum() + sums.sum()):
        return None
    mean = sums / nb
    G -= sums[:, None] * mean
    if (G.diagonal() < RAW_PATH_MIN_RATIO * raw).any():
        return None
    return float(nb), mean, G


def _centered_block(
    X: np.ndarray,
    y: np.ndarray | None,
    w: np.ndarray | None,
    shift: np.ndarray,
    scratch: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Weight, mean (relative to ``shift``) and centered co-moments of one block."""
    nb = X.shape[0]
    d = X.shape[1]
    T = scratch[:nb]
    np.subtract(X, shift[:d], out=T[:, :d], casting="unsafe")
    if y is not None:
        np.subtract(y, shift[d], out=T[:, d])
    if w is None:
        bw = float(nb)
        bmean = T.sum(axis=0) / bw
        T -= bmean
    else:
        bw = float(w.sum())
        if bw == 0.0:
            return 0.0, np.zeros(T.shape[1]), np.zeros((T.shape[1], T.shape[1]))
        bmean = (w @ T) / bw
        T -= bmean
        T *= np.sqrt(w)[:, None]
    return bw, bmean, T.T @ T


def _chan(
    wa: float, ma: np.ndarray, ca: np.ndarray, wb: float, mb: np.ndarray, cb: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Pairwise combination of (weight, mean, co-moment) triples (new arrays, inputs kept)."""
    if wb == 0.0:
        return wa, ma, ca
    if wa == 0.0:
        return wb, mb.copy(), cb.copy()
    w = wa + wb
    delta = mb - ma
    mean = ma + delta * (wb / w)
    scaled = delta * (wa * wb / w)
    com = ca + cb
    com += delta[:, None] * scaled
    return w, mean, com
