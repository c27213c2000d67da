"""``KNNSample``: the state of k-nearest neighbours: a uniform sample of rows (optionally
stratified by class) plus the exact feature moments of every row.

The sample is one :class:`~statetune.states.Reservoir` (``stratify=False``) or one per class
(``stratify=True``), keyed by hashes of the rows' global positions, so it does not depend on
chunking and merging states of disjoint rows gives exactly the state of all rows (union, the
smallest keys stay): partitions smaller than the sample are not over-represented, because a
row's key, not its partition's size, decides whether it is kept.

Stratified: each class keeps the ``size`` rows of smallest key (a uniform sample within the
class, mergeable); :meth:`KNNSample.sample` takes from each class a share of ``size``
proportional to its row count (largest remainders), raised to ``min(k_max, rows of the
class)`` so that every class can fill the neighbourhood of the largest k. Memory is at most
``size`` rows per class.

The feature moments (a :class:`~statetune.states.Moments` without target, over every row the
state saw, weighted) give the standardization ``(x - mean) / std`` of the ``standardize``
hyperparameter, exactly per fold (the training state of a fold is the merge of the others).

A table with categorical columns or missing values (state parameter ``encoding``, the table's
columns as JSON, ``TableEncoding.to_text()``): the rows sampled are the table's *base design*
(numeric columns with missing values set to 0, missing indicators, one indicator per level;
:mod:`statetune.data.encoding`), and the moments are a
:class:`~statetune.states.TableMoments` of it (:attr:`KNNSample.table`), from which each
fold's preprocessing (imputation means, levels kept, infrequent groups, then the scaling of
the encoded design) is fitted on its training rows alone, exactly; the finalizer maps the
sampled rows through it (:mod:`statetune.algorithms.knn`).

Example
-------
>>> import numpy as np
>>> from statetune.states import KNNSample
>>> X = np.arange(40.0).reshape(20, 2); y = np.arange(20) % 2
>>> s = KNNSample(2, k_max=3, size=5); s.update(X, y)
>>> Xs, ys, ws = s.sample(); Xs.shape, s.n_rows
((5, 2), 20)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.states._base import (
    FORMAT_VERSION,
    LabelError,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    register_state,
)
from statetune.states._labels import as_labels
from statetune.states.capabilities import Sampling
from statetune.states.moments import Moments
from statetune.states.reservoir import Reservoir
from statetune.states.table_moments import TableMoments

__all__ = ["KNNSample", "stratified_quotas"]


def stratified_quotas(counts: np.ndarray, size: int, floor: int) -> np.ndarray:
    """Rows taken from each class: ``size`` shared in proportion to ``counts`` (largest
    remainders, ties to the earlier class), each raised to ``min(floor, count)`` and capped at
    ``min(count, size)``.

    Example
    -------
    >>> stratified_quotas(np.array([900, 90, 10]), 100, 5).tolist()
    [90, 9, 5]
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros_like(counts)
    target = min(size, total)
    exact = target * counts / total
    q = np.floor(exact).astype(np.int64)
    left = target - int(q.sum())
    if left > 0:
        order = np.lexsort((np.arange(len(counts)), -(exact - q)))
        q[order[:left]] += 1
    q = np.maximum(q, np.minimum(floor, counts))
    return np.minimum(q, np.minimum(counts, size))


@register_state
class KNNSample(Memoized, Sampling):
    """A mergeable sample of at most ``size`` rows (per class when ``stratify``) and the exact
    feature moments, for k-nearest neighbours with any ``k <= k_max``.

    Parameters
    ----------
    n_features : int
    has_target : bool
    k_max : int
        The largest ``n_neighbors`` finalized from it (and the neighbours searched once per
        held-out sample row when trials reuse work).
    size : int
        Rows sampled (default 20,000); with ``stratify``, rows kept per class.
    seed : int
        Seeds the rows' keys (same seed, same rows: the same sample, whatever the chunking).
    stratify : bool
        Sample each class separately and take proportional shares (class labels needed).
    encoding : str
        A table's columns as JSON (``TableEncoding.to_text()``) when the rows are its base
        design (module docstring); ``""`` (default) for plain numeric rows.
    """

    kind = "knn_sample"

    def __init__(
        self,
        n_features: int,
        has_target: bool = True,
        k_max: int = 50,
        size: int = 20_000,
        seed: int = 0,
        stratify: bool = False,
        encoding: str = "",
    ) -> None:
        for name, value in (("k_max", k_max), ("size", size), ("n_features", n_features)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"`{name} >= 1` must hold (an integer), but got {name}={value!r}.")
        if int(size) < int(k_max):
            raise ValueError(
                f"`size >= k_max` must hold (a sample too small for k_max neighbours), but got "
                f"size={size} and k_max={k_max}."
            )
        if stratify and not has_target:
            raise ValueError("`stratify=True` samples per class, but the state has no target.")
        self.n_features, self.has_target = int(n_features), bool(has_target)
        self.k_max, self.size, self.seed = int(k_max), int(size), int(seed)
        self.stratify = bool(stratify)
        self.encoding = str(encoding)
        self._moments = self._empty_moments()
        self._whole = Reservoir(self.n_features, self.has_target, self.size, self.seed)
        self._by_class: dict[Any, Reservoir] = {}
        self._derived: dict[Any, Any] = {}

    def _empty_moments(self) -> Moments:
        """The feature moments: of a table's base design (:class:`TableMoments`, which checks
        that ``n_features`` is its width) or of plain rows."""
        if self.encoding:
            return TableMoments(self.n_features, has_target=False, encoding=self.encoding)
        return Moments(self.n_features, has_target=False)

    # -- what is held ------------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return self._moments.n_rows

    @property
    def weight_sum(self) -> float:
        return self._moments.weight_sum

    @property
    def moments(self) -> Moments:
        """The exact (weighted) feature moments of every row seen."""
        return self._moments

    @property
    def table(self) -> TableMoments | None:
        """The moments of the table's base design (state parameter ``encoding``), from which
        the preprocessing of these rows is fitted; None for plain numeric rows."""
        return self._moments if isinstance(self._moments, TableMoments) else None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_features": self.n_features,
            "has_target": self.has_target,
            "k_max": self.k_max,
            "size": self.size,
            "seed": self.seed,
            "stratify": self.stratify,
        }
        if self.encoding:  # only for tables: specs of numeric rows keep their identity
            out["encoding"] = self.encoding
        return out

    def _reservoirs(self) -> list[tuple[Any, Reservoir]]:
        if not self.stratify:
            return [(None, self._whole)]
        return sorted(self._by_class.items(), key=lambda kv: kv[0])

    def class_counts(self) -> dict[Any, int]:
        """Rows seen per class (``stratify=True`` only)."""
        return {c: r.n_rows for c, r in self._reservoirs() if c is not None}

    # -- update / merge ----------------------------------------------------------------------
    def update(
        self, X: Any, y: Any = None, sample_weight: Any = None, positions: Any = None
    ) -> None:
        """Offer a batch (all or nothing); ``positions``: the rows' global positions (default:
        numbered in the order this state saw them)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"`X` must have shape (n, {self.n_features}), but got {X.shape}.")
        n = X.shape[0]
        if n == 0:
            return
        if self.has_target:
            if y is None:
                raise ValueError("`y` is required: this sample keeps a target.")
            y = np.asarray(y)
            if y.ndim != 1 or len(y) != n:
                raise ValueError(f"`y` must have shape ({n},), but got {y.shape}.")
            if y.dtype.kind == "f":
                bad = np.flatnonzero(~np.isfinite(y))
                if bad.size:
                    r = int(bad[0])
                    raise NonFiniteError(
                        f"The target must be finite, but it holds {y[r]} at row {r}.", r, "target"
                    )
                if self.stratify and np.any(y != np.round(y)):
                    r = int(np.flatnonzero(y != np.round(y))[0])
                    raise LabelError(
                        "`stratify=True` samples per class, so the target must hold class "
                        f"labels, but it holds {y[r]} at row {r} (a numeric target?).",
                        row=r,
                        what="class labels (`stratify=True` samples per class)",
                        hint="(a numeric target?)",
                    )
            else:
                y = as_labels(y, n)
        elif y is not None:
            raise ValueError("`y` must be None: this sample keeps no target.")
        w = check_sample_weight(sample_weight, n)
        pos = (
            self.n_rows + np.arange(n, dtype=np.int64)
            if positions is None
            else np.asarray(positions, dtype=np.int64)
        )
        if pos.shape != (n,):
            raise ValueError(f"`positions` must have shape ({n},), but got {pos.shape}.")
        self._moments.update(X, None, w)  # checks every feature value (names row, column)
        if not self.stratify:
            self._whole.update(X, y, w, positions=pos)
        else:
            assert y is not None
            labels, inverse = np.unique(y, return_inverse=True)
            for i, label in enumerate(labels.tolist()):
                rows = np.flatnonzero(inverse == i)
                res = self._by_class.get(label)
                if res is None:
                    res = self._by_class[label] = Reservoir(
                        self.n_features, True, self.size, self.seed
                    )
                res.update(X[rows], y[rows], None if w is None else w[rows], positions=pos[rows])
        self._derived = {}

    def merge(self, other: Any) -> None:
        """Add ``other``'s rows (disjoint from this state's): exact, commutative, associative."""
        if not isinstance(other, KNNSample) or other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} and "
                f"{getattr(other, 'params', lambda: other)()}."
            )
        self._moments.merge(other._moments)
        self._whole.merge(other._whole)
        for label, res in other._by_class.items():
            mine = self._by_class.get(label)
            if mine is None:
                self._by_class[label] = res.copy()
            else:
                mine.merge(res)
        self._derived = {}

    # -- what finalizers read ----------------------------------------------------------------
    def sample(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """The sampled rows ``(X, y, w)`` in the order of their positions, rows of weight zero
        left out (they stand for nothing); stratified: each class's share (module docstring).
        Memoized; treat as read-only."""

        def compute() -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
            parts = self._reservoirs()
            if self.stratify:
                counts = np.array([r.n_rows for _, r in parts], dtype=np.int64)
                quotas = stratified_quotas(counts, self.size, self.k_max)
            else:
                quotas = np.array([len(r.keys) for _, r in parts], dtype=np.int64)
            Xs, ys, ws, ps = [], [], [], []
            for (_, res), q in zip(parts, quotas.tolist(), strict=True):
                take = np.argsort(res.keys, kind="stable")[:q]
                Xs.append(res.X[take])
                ws.append(res.w[take])
                ps.append(res.positions[take])
                if res.y is not None:
                    ys.append(res.y[take])
            X = np.concatenate([np.empty((0, self.n_features)), *Xs])
            w = np.concatenate([np.empty(0), *ws])
            pos = np.concatenate([np.empty(0, dtype=np.int64), *ps])
            y = np.concatenate(ys) if ys else (np.empty(0) if self.has_target else None)
            order = np.argsort(pos, kind="stable")
            order = order[w[order] > 0]
            return X[order], None if y is None else y[order], w[order]

        out: tuple[np.ndarray, np.ndarray | None, np.ndarray] = self.derived("sample", compute)
        return out

    def scaling(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, scale)`` of the features over every row seen (weighted; population
        variance, as scikit-learn's ``StandardScaler``; a constant column gets scale 1)."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            m = self._moments
            var = np.diagonal(m.comoment) / m.weight_sum if m.weight_sum > 0 else np.ones(1)
            var = np.maximum(var, 0.0)
            scale = np.sqrt(var)
            # as scikit-learn's _handle_zeros_in_scale: near-constant columns are not scaled
            eps = 10 * np.finfo(np.float64).eps
            scale = np.where(scale < eps * np.maximum(np.abs(m.mean), 1.0), 1.0, scale)
            return np.asarray(m.mean, dtype=np.float64), scale

        out: tuple[np.ndarray, np.ndarray] = self.derived("scaling", compute)
        return out

    # -- round trip ------------------------------------------------------------------------
    def copy(self) -> KNNSample:
        new = KNNSample(**self.params())
        new._moments = self._moments.copy()
        new._whole = self._whole.copy()
        new._by_class = {c: r.copy() for c, r in self._by_class.items()}
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Header and arrays: the moments, the sampled rows (sorted by position; per class
        when stratified) and, when stratified, each class's rows and weight seen."""
        mh, ma = self._moments.to_arrays()
        header: dict[str, Any] = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": mh["n_rows"],
            "weight_sum": mh["weight_sum"],
        }
        arrays = {f"moments_{k}": v for k, v in ma.items()}
        parts = self._reservoirs()
        blocks = [r.to_arrays()[1] for _, r in parts]
        for name in ("X", "w", "keys", "positions", "y"):
            got = [b[name] for b in blocks if name in b]
            if got:
                arrays[name] = np.concatenate(got)
        arrays.setdefault("X", np.empty((0, self.n_features)))
        if self.stratify:
            arrays["class_sampled"] = np.array([len(r.keys) for _, r in parts], dtype=np.int64)
            arrays["class_rows"] = np.array([r.n_rows for _, r in parts], dtype=np.int64)
            arrays["class_weight"] = np.array([r.weight_sum for _, r in parts])
            if parts:
                arrays["class_labels"] = np.array([c for c, _ in parts])
        else:
            header["sample_rows"] = self._whole.n_rows
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> KNNSample:
        p = header["params"]
        new = cls(
            int(p["n_features"]),
            bool(p["has_target"]),
            int(p["k_max"]),
            int(p["size"]),
            int(p["seed"]),
            bool(p["stratify"]),
            str(p.get("encoding", "")),
        )
        mh = {
            "kind": "moments",
            "format_version": FORMAT_VERSION,
            "params": {"n_features": new.n_features, "has_target": False},
            "n_rows": header["n_rows"],
            "weight_sum": header["weight_sum"],
        }
        ma = {k[len("moments_") :]: arrays[k] for k in ("moments_shift", "moments_mean")}
        ma["comoment"] = arrays["moments_comoment"]
        moments = Moments.from_arrays(mh, ma)
        if new.encoding:
            table = new._empty_moments()
            table._n_rows, table._weight = moments._n_rows, moments._weight
            table._shift, table._mean, table._com = moments._shift, moments._mean, moments._com
            moments = table
        new._moments = moments
        base = {"kind": "reservoir", "format_version": FORMAT_VERSION}

        def rows(sl: slice, n_rows: int, weight: float, has_target: bool) -> Reservoir:
            part = {k: np.asarray(arrays[k])[sl] for k in ("X", "w", "keys", "positions")}
            if has_target:
                part["y"] = np.asarray(arrays["y"])[sl]
            rp = {"n_features": new.n_features, "has_target": has_target, "size": new.size}
            h = {**base, "params": {**rp, "seed": new.seed}, "n_rows": n_rows, "weight_sum": weight}
            return Reservoir.from_arrays(h, part)

        if not new.stratify:
            n_sampled = int(header["sample_rows"])
            new._whole = rows(slice(None), n_sampled, float(header["weight_sum"]), new.has_target)
            return new
        sampled = np.asarray(arrays["class_sampled"], dtype=np.int64)
        if len(sampled) == 0:
            return new
        labels = np.asarray(arrays["class_labels"]).tolist()
        counts = np.asarray(arrays["class_rows"], dtype=np.int64).tolist()
        weights = np.asarray(arrays["class_weight"], dtype=np.float64).tolist()
        if not len(labels) == len(counts) == len(weights) == len(sampled):
            raise ValueError("KNNSample class arrays must have one entry per class, but differ.")
        start = 0
        for label, n_c, w_c, m in zip(labels, counts, weights, sampled.tolist(), strict=True):
            new._by_class[label] = rows(slice(start, start + m), int(n_c), float(w_c), True)
            start += m
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        """The same sampled rows (exactly) and moments within ``rtol``."""
        if not isinstance(other, KNNSample) or other.params() != self.params():
            return False
        if not self._moments.allclose(other._moments, rtol):
            return False
        mine, theirs = self._reservoirs(), other._reservoirs()
        if [c for c, _ in mine] != [c for c, _ in theirs]:
            return False
        return all(a.allclose(b, rtol) for (_, a), (_, b) in zip(mine, theirs, strict=True))

    def __repr__(self) -> str:
        return (
            f"KNNSample(k_max={self.k_max}, size={self.size}, stratify={self.stratify}, "
            f"sampled={len(self.sample()[2])}, n_rows={self.n_rows})"
        )
