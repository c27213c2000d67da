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

from statetune.states._base import FORMAT_VERSION, NonFiniteError, register_state
from statetune.states._labels import as_labels

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
class Reservoir:
    """Up to ``size`` rows, a uniform sample (without replacement) of the rows seen."""

    kind = "reservoir"
    wants_positions = True

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
        self.X = np.empty((0, self.n_features))
        self.y: np.ndarray | None = np.empty(0) if has_target else None
        self.w = np.empty(0)
        self.keys = np.empty(0, dtype=np.uint64)
        self.positions = np.empty(0, dtype=np.int64)

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

    def derived(self, key: Any, compute: Any) -> Any:
        return compute()

    def update(
        self, X: Any, y: Any = None, sample_weight: Any = None, positions: Any = None
    ) -> None:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"`X` must have shape (n, {self.n_features}), but got {X.shape}.")
        n = X.shape[0]
        if n == 0:
            return
        if self.has_target:
            if y is None:
                raise ValueError("`y` is required: this reservoir keeps a target.")
            y = as_labels(y, n)
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
        if bad.size:
            r = int(bad[0])
            raise NonFiniteError(
                f"Sample weights must be finite and >= 0, but got {w[r]} at row {r}.",
                r,
                "sample_weight",
            )
        pos = (
            self._n_rows + np.arange(n, dtype=np.int64)
            if positions is None
            else np.asarray(positions, dtype=np.int64)
        )
        keys = row_keys(pos, self.seed)
        if self.keys.size >= self.size:  # only rows that can enter the sample are copied
            threshold = self.keys.max()
            take = np.flatnonzero(keys < threshold)
        else:
            take = np.arange(n)
        bad_rows = np.flatnonzero(~np.isfinite(X[take]).all(axis=1)) if take.size else take
        if bad_rows.size:  # only sampled rows are stored; the moments check every row
            r = int(take[bad_rows[0]])
            c = int(np.flatnonzero(~np.isfinite(X[r]))[0])
            raise NonFiniteError(
                f"Features must be finite, but column {c} holds {X[r, c]} at row {r}.", r, c
            )
        self._absorb(X[take], None if y is None else y[take], w[take], keys[take], pos[take])
        self._n_rows += n
        self._weight += float(w.sum())

    def _absorb(
        self, X: np.ndarray, y: np.ndarray | None, w: np.ndarray, keys: np.ndarray, pos: np.ndarray
    ) -> None:
        allX = np.concatenate([self.X, X])
        ally = None
        if self.has_target:
            assert y is not None and self.y is not None
            ally = np.concatenate([self.y, y]) if self.y.size else y
        allk = np.concatenate([self.keys, keys])
        keep = np.argsort(allk, kind="stable")[: self.size]
        keep.sort()
        order = keep[np.argsort(np.concatenate([self.positions, pos])[keep], kind="stable")]
        self.X = allX[order]
        self.y = None if ally is None else ally[order]
        self.w = np.concatenate([self.w, w])[order]
        self.keys = allk[order]
        self.positions = np.concatenate([self.positions, pos])[order]

    def merge(self, other: Any) -> None:
        if not isinstance(other, Reservoir) or other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} and {getattr(other, 'params', lambda: other)()}."
            )
        if other.keys.size:
            self._absorb(other.X, other.y, other.w, other.keys, other.positions)
        self._n_rows += other._n_rows
        self._weight += other._weight

    def copy(self) -> Reservoir:
        new = Reservoir(self.n_features, self.has_target, self.size, self.seed)
        new._n_rows, new._weight = self._n_rows, self._weight
        new.X, new.w, new.keys, new.positions = (
            self.X.copy(),
            self.w.copy(),
            self.keys.copy(),
            self.positions.copy(),
        )
        new.y = None if self.y is None else self.y.copy()
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": self._n_rows,
            "weight_sum": self._weight,
        }
        arrays = {
            "X": self.X.copy(),
            "w": self.w.copy(),
            "keys": self.keys.copy(),
            "positions": self.positions.copy(),
        }
        if self.y is not None:
            arrays["y"] = self.y.copy()
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> Reservoir:
        p = header["params"]
        new = cls(int(p["n_features"]), bool(p["has_target"]), int(p["size"]), int(p["seed"]))
        new._n_rows, new._weight = int(header["n_rows"]), float(header["weight_sum"])
        new.X = np.asarray(arrays["X"], dtype=np.float64).reshape(-1, new.n_features)
        new.w = np.asarray(arrays["w"], dtype=np.float64)
        new.keys = np.asarray(arrays["keys"], dtype=np.uint64)
        new.positions = np.asarray(arrays["positions"], dtype=np.int64)
        if new.has_target:
            y = np.asarray(arrays["y"])
            if y.dtype.kind not in "iufbU":
                raise ValueError(f"Reservoir labels must have a plain dtype, but got {y.dtype}.")
            new.y = y
        if not (len(new.X) == len(new.w) == len(new.keys) == len(new.positions)):
            raise ValueError(
                "Reservoir arrays must have one entry per sampled row, but lengths differ."
            )
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        if not isinstance(other, Reservoir) or other.params() != self.params():
            return False
        if other._n_rows != self._n_rows or not np.array_equal(self.positions, other.positions):
            return False
        same_y = self.y is None or np.array_equal(self.y, other.y)  # type: ignore[arg-type]
        return bool(
            same_y
            and np.array_equal(self.X, other.X)
            and np.allclose(self._weight, other._weight, rtol=rtol)
        )

    def __repr__(self) -> str:
        return f"Reservoir(size={self.size}, sampled={len(self.keys)}, n_rows={self._n_rows})"
