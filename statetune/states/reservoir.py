"""``Reservoir``: a bounded uniform sample of rows, mergeable and chunk-invariant.

Every row gets a pseudo-random key from its global position and the seed (splitmix64); the
sample is the ``size`` rows with the smallest keys. So the sample does not depend on chunking,
and merging two reservoirs of disjoint rows (union, keep the smallest keys) gives exactly the
reservoir of all their rows. Rows keep their weights and labels, so metrics that need
predictions row by row (accuracy, log loss, ROC AUC, MAE) are estimated without bias.

``update`` takes the rows' global positions (the pass passes them); without them, rows are
numbered in the order this state saw them.

Example
-------
>>> import numpy as np
>>> from statetune.states import Reservoir
>>> r = Reservoir(2, size=3, seed=0); r.update(np.arange(20.0).reshape(10, 2), np.arange(10.0))
>>> r.n_rows, len(r.y)
(10, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    register_state,
)
from statetune.states._labels import as_labels
from statetune.states.capabilities import Sampling

__all__ = ["Reservoir", "row_keys"]


def row_keys(positions: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of ``position XOR mix(seed)``: the sampling priority of each row."""
    salt = np.uint64((int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64)
    z = positions.astype(np.uint64) ^ salt
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@register_state
class Reservoir(Memoized, Sampling):
    """Up to ``size`` rows, a uniform sample (without replacement) of the rows seen."""

    kind = "reservoir"

    def __init__(
        self, n_features: int, has_target: bool = True, size: int = 20_000, seed: int = 0
    ) -> None:
        if int(n_features) < 1 or int(size) < 1:
            raise ValueError(
                f"`n_features >= 1` and `size >= 1` must hold, but got {n_features}, {size}."
            )
        self.n_features, self.has_target = int(n_features), bool(has_target)
        self.size, self.seed = int(size), int(seed)
        self._n_rows = 0
        self._weight = 0.0
        self._count = 0
        # Buffers grow to `size`; entering rows overwrite evicted ones (no per-update copies).
        self._X = np.empty((0, self.n_features))
        self._y: np.ndarray | None = np.empty(0) if has_target else None
        self._w = np.empty(0)
        self._keys = np.empty(0, dtype=np.uint64)
        self._pos = np.empty(0, dtype=np.int64)
        self._top: np.uint64 | None = None  # the largest sampled key, once computed
        self._derived: dict[Any, Any] = {}

    # -- the sample, in no particular order (``to_arrays`` sorts it by position) ------------
    @property
    def X(self) -> np.ndarray:
        return self._X[: self._count]

    @property
    def y(self) -> np.ndarray | None:
        return None if self._y is None else self._y[: self._count]

    @property
    def w(self) -> np.ndarray:
        return self._w[: self._count]

    @property
    def keys(self) -> np.ndarray:
        return self._keys[: self._count]

    @property
    def positions(self) -> np.ndarray:
        return self._pos[: self._count]

    @property
    def n_rows(self) -> int:
        return self._n_rows

    @property
    def weight_sum(self) -> float:
        return self._weight

    def params(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features,
            "has_target": self.has_target,
            "size": self.size,
            "seed": self.seed,
        }

    # -- update / merge ----------------------------------------------------------------------
    def update(
        self, X: Any, y: Any = None, sample_weight: Any = None, positions: Any = None
    ) -> None:
        """Offer a batch (all or nothing); only rows that enter the sample are copied."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"`X` must have shape (n, {self.n_features}), but got {X.shape}.")
        n = X.shape[0]
        if n == 0:
            return
        if self.has_target:
            if y is None:
                raise ValueError("`y` is required: this reservoir keeps a target.")
            y = np.asarray(y)
            if y.dtype.kind != "f":
                y = as_labels(y, n)
        else:  # a model state without a target (k-means, isolation forest) ignores labels
            y = None
        w = check_sample_weight(sample_weight, n)
        pos = (
            self._n_rows + np.arange(n, dtype=np.int64)
            if positions is None
            else np.asarray(positions, dtype=np.int64)
        )
        keys = row_keys(pos, self.seed)
        if self._count >= self.size:  # only rows that can enter the sample are looked at
            take = np.flatnonzero(keys < self._max_key())
            keys, pos = keys[take], pos[take]
        else:
            take = None
        if keys.size:
            slots, rows, count = self._plan(keys)
            src = rows if take is None else take[rows]
            Xt = X[src]  # only entering rows copied (np.take would copy a strided view whole)
            if Xt.dtype != np.float64:
                Xt = Xt.astype(np.float64)
            bad_rows = np.flatnonzero(~np.isfinite(Xt).all(axis=1))
            if bad_rows.size:  # only sampled rows are stored; the moments check every row
                r = int(src[bad_rows[0]])
                c = int(np.flatnonzero(~np.isfinite(Xt[bad_rows[0]]))[0])
                raise NonFiniteError(
                    f"Features must be finite, but column {c} holds {X[r, c]} at row {r}.", r, c
                )
            self._write(
                slots,
                count,
                Xt,
                None if y is None else y[src],
                None if w is None else w[src],
                keys[rows],
                pos[rows],
            )
        self._n_rows += n
        self._weight += float(n if w is None else w.sum())
        self._derived = {}

    def _max_key(self) -> np.uint64:
        """The largest key in the sample (memoized until the sample changes)."""
        if self._top is None:
            self._top = self.keys.max()
        return self._top

    def _plan(self, keys: np.ndarray) -> tuple[np.ndarray | slice, np.ndarray, int]:
        """Which offered rows (by ``keys``) enter the sample (``rows``, by index into ``keys``),
        the ``slots`` they overwrite or fill, and the sample size after: the ``size``
        smallest keys of (sample + offered rows) stay."""
        m, count = len(keys), self._count
        if count + m <= self.size:
            return slice(count, count + m), np.arange(m), count + m
        all_keys = np.concatenate([self._keys[:count], keys])
        keep = np.argpartition(all_keys, self.size - 1)[: self.size]
        stays = np.zeros(count, dtype=bool)
        stays[keep[keep < count]] = True
        rows = keep[keep >= count] - count
        slots = np.concatenate([np.flatnonzero(~stays), np.arange(count, self.size)])[: rows.size]
        return slots, rows, self.size

    def _write(
        self,
        slots: np.ndarray | slice,
        count: int,
        X: np.ndarray,
        y: np.ndarray | None,
        w: np.ndarray | None,
        keys: np.ndarray,
        pos: np.ndarray,
    ) -> None:
        """Store entering rows in their slots (buffers grow to ``size`` at most)."""
        # a pass fills most reservoirs: allocate the whole sample at once (no regrowth)
        full = self._X.shape[0] == 0 and len(keys) >= 1024
        self._grow(self.size if full else count, y)
        self._X[slots] = X
        self._w[slots] = 1.0 if w is None else w
        self._keys[slots] = keys
        self._pos[slots] = pos
        if self._y is not None and y is not None:
            self._y[slots] = y
        self._count = count
        self._top = None

    def _grow(self, capacity: int, y_like: np.ndarray | None) -> None:
        old = self._X.shape[0]
        if old < capacity:
            extra = capacity - old
            self._X = np.concatenate([self._X, np.empty((extra, self.n_features))])
            self._w = np.concatenate([self._w, np.empty(extra)])
            self._keys = np.concatenate([self._keys, np.empty(extra, dtype=np.uint64)])
            self._pos = np.concatenate([self._pos, np.empty(extra, dtype=np.int64)])
        if self._y is not None and y_like is not None:
            dtype = (
                y_like.dtype if self._count == 0 else np.result_type(self._y.dtype, y_like.dtype)
            )
            if self._y.shape[0] < capacity or self._y.dtype != dtype:
                out = np.empty(max(capacity, self._y.shape[0]), dtype=dtype)
                out[: self._count] = self._y[: self._count]
                self._y = out

    def merge(self, other: Any) -> None:
        if not isinstance(other, Reservoir) or other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} and "
                f"{getattr(other, 'params', lambda: other)()}."
            )
        if other._count:
            slots, rows, count = self._plan(other.keys)
            self._write(
                slots,
                count,
                other.X[rows],
                None if other.y is None else other.y[rows],
                other.w[rows],
                other.keys[rows],
                other.positions[rows],
            )
        self._n_rows += other._n_rows
        self._weight += other._weight
        self._derived = {}

    # -- round trip ------------------------------------------------------------------------
    def copy(self) -> Reservoir:
        new = Reservoir(self.n_features, self.has_target, self.size, self.seed)
        new._n_rows, new._weight, new._count = self._n_rows, self._weight, self._count
        new._X, new._w = self._X.copy(), self._w.copy()
        new._keys, new._pos = self._keys.copy(), self._pos.copy()
        new._y = None if self._y is None else self._y.copy()
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Header and arrays, rows sorted by position (a canonical order)."""
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": self._n_rows,
            "weight_sum": self._weight,
        }
        o = np.argsort(self.positions, kind="stable")
        arrays = {
            "X": self.X[o],
            "w": self.w[o],
            "keys": self.keys[o],
            "positions": self.positions[o],
        }
        if self.y is not None:
            arrays["y"] = self.y[o]
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> Reservoir:
        p = header["params"]
        new = cls(int(p["n_features"]), bool(p["has_target"]), int(p["size"]), int(p["seed"]))
        new._n_rows, new._weight = int(header["n_rows"]), float(header["weight_sum"])
        new._X = np.asarray(arrays["X"], dtype=np.float64).reshape(-1, new.n_features).copy()
        new._w = np.asarray(arrays["w"], dtype=np.float64).copy()
        new._keys = np.asarray(arrays["keys"], dtype=np.uint64).copy()
        new._pos = np.asarray(arrays["positions"], dtype=np.int64).copy()
        new._count = len(new._keys)
        if new.has_target:
            y = np.asarray(arrays["y"])
            if y.dtype.kind not in "iufbU":
                raise ValueError(f"Reservoir labels must have a plain dtype, but got {y.dtype}.")
            new._y = y.copy()
        sizes = {len(new._X), len(new._w), len(new._keys), len(new._pos)}
        if len(sizes) != 1 or new._count > new.size:
            raise ValueError(
                "Reservoir arrays must have one entry per sampled row, but lengths differ."
            )
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        if not isinstance(other, Reservoir) or other.params() != self.params():
            return False
        if other._n_rows != self._n_rows:
            return False
        a, b = self.to_arrays()[1], other.to_arrays()[1]
        if not (np.array_equal(a["positions"], b["positions"]) and np.array_equal(a["X"], b["X"])):
            return False
        if self.has_target and not np.array_equal(a["y"], b["y"]):
            return False
        return bool(np.isclose(self._weight, other._weight, rtol=rtol))

    def __repr__(self) -> str:
        return f"Reservoir(size={self.size}, sampled={self._count}, n_rows={self._n_rows})"
