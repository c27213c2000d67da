"""``KMeansCoreset``: a weighted k-means coreset built in one pass, mergeable by merge-and-reduce.

A coreset is a small weighted set of points whose k-means cost, for every set of at most
``k_max`` centers, is close to the cost of all rows. It is built by **sensitivity sampling
over a bicriteria solution** (Feldman and Langberg 2011; Bachem, Lucic and Krause 2018), the
construction that measured best in Schwiegelshohn and Sheikh-Omar's ESA 2022 benchmark:

1. bicriteria solution: ``min(2 k_max, size / 4)`` centers by weighted k-means++ (D^2)
   seeding on a uniform subsample of the block (at most :data:`SEED_ROWS` rows), then every
   row of the block is assigned to its nearest center with one matrix product (per-row cost:
   a distance to at most ``2 k_max`` centers);
2. sensitivity of a row ``x`` of weight ``w`` in bicriteria cluster ``C``:
   ``s(x) = w d(x, A)^2 / cost(A) + w / W(C)`` (its share of the cost plus its share of its
   cluster), so rows far from every center and rows of small clusters are kept;
3. ``m = size - (centers)`` draws with probability ``p = s / sum(s)``, each drawn row weighted
   ``w / (m p)`` (repeats add up); the weights of each bicriteria cluster are then scaled to
   the cluster's true weight, and a cluster no draw reached is stood for by its center row
   with the cluster's weight, so the coreset keeps the weight of every cluster exactly.

Merge-and-reduce: rows gather in a buffer; every ``LEAF_FACTOR * size`` rows (counted in the
order they arrive, so the chunking of the updates does not matter) become a leaf coreset at
level 0; ``FAN_IN`` coresets of one level are reduced to one coreset of the next level.
``merge`` pools two states' buffers and levels and reduces the same way. :meth:`coreset`
reduces everything held to at most ``size`` points (memoized) for finalizers.

Laws (docs/design.md, "Approximate states"): with the same seed and the same order of rows,
updates give an identical state, whatever the chunking; while the rows held fit in one leaf
(nothing reduced yet) the state is exact (the weighted rows themselves) and merges are exact,
commutative and associative; once reductions happen, a different merge tree gives a different
(random) coreset whose cost stays within the coreset bound of the full data's.

Rows of weight zero add nothing to any cost: the buffer keeps them (so weights equal repeated
rows exactly while nothing is reduced), reductions drop them.

Example
-------
>>> import numpy as np
>>> from statetune.states.kmeans_coreset import KMeansCoreset
>>> X = np.random.default_rng(0).normal(size=(50_000, 3))
>>> c = KMeansCoreset(3, k_max=5, size=500); c.update(X)
>>> P, w = c.coreset()
>>> len(P) <= 500, round(float(w.sum()))
(True, 50000)
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

__all__ = ["FAN_IN", "LEAF_FACTOR", "KMeansCoreset", "reduce_points"]

#: A leaf is this many times ``size`` rows (fewer, larger leaves: fewer reduction levels).
LEAF_FACTOR = 8
#: Coresets of one level reduced together into one of the next level.
FAN_IN = 4
#: Rows of a block the bicriteria seeding looks at (a uniform subsample).
SEED_ROWS = 4096


def _nearest(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest row of ``C`` for each row of ``X`` and the squared distance to it
    (one matrix product; ``|x|^2`` is added only to the winning distance)."""
    G = X @ C.T
    G *= -2.0
    G += np.einsum("ij,ij->i", C, C)[None, :]
    assign = np.argmin(G, axis=1)
    dist = G[np.arange(len(X)), assign] + np.einsum("ij,ij->i", X, X)
    np.maximum(dist, 0.0, out=dist)
    return assign, dist


def _seed_centers(X: np.ndarray, w: np.ndarray, c: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``c`` rows of ``X`` chosen as centers by weighted k-means++ D^2 sampling
    (fewer if the rows run out of distinct positions)."""
    n = len(X)
    cum = np.cumsum(w)
    first = int(np.searchsorted(cum, rng.uniform() * cum[-1], side="right"))
    chosen = [min(first, n - 1)]
    d2 = np.einsum("ij,ij->i", X - X[chosen[0]], X - X[chosen[0]])
    for _ in range(1, c):
        pot = np.cumsum(w * d2)
        if not pot[-1] > 0.0:
            break
        i = min(int(np.searchsorted(pot, rng.uniform() * pot[-1], side="right")), n - 1)
        chosen.append(i)
        diff = X - X[i]
        np.minimum(d2, np.einsum("ij,ij->i", diff, diff), out=d2)
    return np.array(chosen)


def reduce_points(
    X: np.ndarray, w: np.ndarray, size: int, n_centers: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A coreset of at most ``size`` weighted points for the weighted rows ``(X, w)``, by
    sensitivity sampling over a bicriteria solution of ``n_centers`` centers (module
    docstring). Rows are returned unchanged when there are at most ``size`` of them.

    Example
    -------
    >>> import numpy as np
    >>> X = np.random.default_rng(1).normal(size=(1000, 2)); w = np.ones(1000)
    >>> P, v = reduce_points(X, w, 100, 4, np.random.default_rng(0))
    >>> len(P) <= 100, round(float(v.sum()))
    (True, 1000)
    """
    if len(X) <= size:
        return X, w
    if not (w > 0).all():  # rows of weight zero add nothing to any cost
        keep = np.flatnonzero(w > 0)
        X, w = X[keep], w[keep]
        if len(X) <= size:
            return X, w
    n = len(X)
    shift = (w @ X) / w.sum()
    Xc = X - shift  # distances are shift-invariant; centered rows keep their digits
    sub = np.arange(n) if n <= SEED_ROWS else np.sort(rng.choice(n, SEED_ROWS, replace=False))
    center_rows = sub[_seed_centers(Xc[sub], w[sub], min(n_centers, len(sub), size // 4), rng)]
    centers = Xc[center_rows]
    assign, dist = _nearest(Xc, centers)
    n_c = len(centers)
    cluster_w = np.bincount(assign, weights=w, minlength=n_c)
    cost = float(w @ dist)
    occupied = int(np.count_nonzero(cluster_w > 0))
    share = w / cluster_w[assign] / occupied
    p = 0.5 * (w * dist / cost + share) if cost > 0.0 else share
    p /= p.sum()
    m = size - n_c  # room for the center of every cluster no draw reached
    draws = np.searchsorted(np.cumsum(p), rng.uniform(size=m) * p.sum(), side="right")
    idx, counts = np.unique(np.minimum(draws, n - 1), return_counts=True)
    weights = w[idx] * counts / (m * p[idx])
    # Scale each bicriteria cluster's weights to its true weight (a ratio estimator); a
    # cluster no draw reached is stood for by its center row, with the cluster's weight.
    got = np.bincount(assign[idx], weights=weights, minlength=n_c)
    scale = np.divide(cluster_w, got, out=np.ones(n_c), where=got > 0)
    weights = weights * scale[assign[idx]]
    missed = np.flatnonzero((got == 0) & (cluster_w > 0))
    if missed.size:
        idx = np.concatenate([idx, center_rows[missed]])
        weights = np.concatenate([weights, cluster_w[missed]])
    return X[idx], weights


@register_state
class KMeansCoreset(Memoized):
    """A mergeable k-means coreset of at most ``size`` points for any ``k <= k_max``.

    Parameters
    ----------
    n_features : int
    k_max : int
        The largest number of clusters the coreset serves (its bicriteria solution has
        ``2 * k_max`` centers).
    size : int, optional
        Points a coreset keeps (default ``200 * k_max``, the size at which sensitivity sampling
        measured a median distortion of 1.001-1.014 in the ESA 2022 benchmark).
    seed : int
        Seed of every random choice (same seed and same row order: the same state).
    """

    kind = "kmeans_coreset"

    def __init__(
        self, n_features: int, k_max: int = 20, size: int | None = None, seed: int = 0
    ) -> None:
        size = 200 * int(k_max) if size is None else size
        if int(n_features) < 1 or int(k_max) < 1 or int(size) < int(k_max):
            raise ValueError(
                "`n_features >= 1`, `k_max >= 1` and `size >= k_max` must hold, but got "
                f"n_features={n_features}, k_max={k_max}, size={size}."
            )
        self.n_features, self.k_max = int(n_features), int(k_max)
        self.size, self.seed = int(size), int(seed)
        self._n_rows = 0
        self._weight = 0.0
        #: rows not yet reduced, as the pieces they arrived in (joined when read)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._n_pending = 0
        #: coresets ``(level, X, w)``, lowest level first
        self._parts: list[tuple[int, np.ndarray, np.ndarray]] = []
        #: reductions made at each level (seeds each reduction: the same whatever the chunking)
        self._reductions: list[int] = []
        self._derived: dict[Any, Any] = {}

    @property
    def n_rows(self) -> int:
        return self._n_rows

    @property
    def weight_sum(self) -> float:
        return self._weight

    @property
    def leaf_rows(self) -> int:
        """Rows gathered before they are reduced to a leaf coreset."""
        return LEAF_FACTOR * self.size

    @property
    def exact_rows(self) -> int:
        """Rows held exactly (unreduced) before the first random reduction of an update."""
        return self.leaf_rows

    @property
    def n_points(self) -> int:
        """Weighted points held (buffer and coresets), before the final reduction."""
        return self._n_pending + sum(len(w) for _, _, w in self._parts)

    def _buffer(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows not yet reduced ``(X, w)``, in arrival order (pieces joined once)."""
        if len(self._pending) != 1:
            X = np.concatenate([np.empty((0, self.n_features)), *[p[0] for p in self._pending]])
            w = np.concatenate([np.empty(0), *[p[1] for p in self._pending]])
            self._pending = [(X, w)] if len(w) else []
        return self._pending[0] if self._pending else (np.empty((0, self.n_features)), np.empty(0))

    def _set_buffer(self, X: np.ndarray, w: np.ndarray) -> None:
        self._pending = [(X, w)] if len(w) else []
        self._n_pending = len(w)

    def params(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features,
            "k_max": self.k_max,
            "size": self.size,
            "seed": self.seed,
        }

    # -- update / merge ----------------------------------------------------------------------
    def update(self, X: Any, y: Any = None, sample_weight: Any = None) -> None:
        """Add a batch of rows (``y`` is ignored: k-means has no target); all or nothing."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"`X` must have shape (n, {self.n_features}), but got {X.shape}.")
        n = X.shape[0]
        if n == 0:
            return
        if not np.issubdtype(X.dtype, np.number) and X.dtype != np.bool_:
            raise TypeError(f"`X` must be numeric, but got dtype {X.dtype}.")
        w = check_sample_weight(sample_weight, n)
        X = X.astype(np.float64, copy=False)
        finite = np.isfinite(X)
        if not finite.all():
            r = int(np.flatnonzero(~finite.all(axis=1))[0])
            c = int(np.flatnonzero(~finite[r])[0])
            raise NonFiniteError(
                f"Features must be finite, but column {c} holds {X[r, c]} at row {r}.", r, c
            )
        self._pending.append((X.copy(), np.ones(n) if w is None else w.copy()))
        self._n_pending += n
        self._n_rows += n
        self._weight += float(n if w is None else w.sum())
        self._flush()
        self._derived = {}

    def _rng(self, level: int) -> np.random.Generator:
        """The stream of one reduction: seed, level and the count of reductions so far."""
        while len(self._reductions) <= level:
            self._reductions.append(0)
        self._reductions[level] += 1
        return np.random.default_rng([self.seed, level, self._reductions[level]])

    def _reduce(self, X: np.ndarray, w: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        P, v = reduce_points(X, w, self.size, 2 * self.k_max, self._rng(level))
        return P.copy(), v.copy()

    def _flush(self) -> None:
        """Full leaves of the buffer become level-0 coresets; full levels carry upwards."""
        L = self.leaf_rows
        while self._n_pending >= L:
            bX, bw = self._buffer()
            P, v = self._reduce(bX[:L], bw[:L], 0)
            self._parts.append((0, P, v))
            self._set_buffer(bX[L:].copy(), bw[L:].copy())
        level = 0
        while any(lv >= level for lv, _, _ in self._parts):
            same = [i for i, (lv, _, _) in enumerate(self._parts) if lv == level]
            while len(same) >= FAN_IN:
                take, same = same[:FAN_IN], same[FAN_IN:]
                X = np.concatenate([self._parts[i][1] for i in take])
                w = np.concatenate([self._parts[i][2] for i in take])
                P, v = self._reduce(X, w, level + 1)
                self._parts = [p for i, p in enumerate(self._parts) if i not in take]
                self._parts.append((level + 1, P, v))
                same = [i for i, (lv, _, _) in enumerate(self._parts) if lv == level]
            level += 1
        self._parts.sort(key=lambda part: part[0])

    def merge(self, other: Any) -> None:
        """Pool ``other``'s buffer and coresets (rows disjoint from this state's) and reduce."""
        if not isinstance(other, KMeansCoreset) or other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} and "
                f"{getattr(other, 'params', lambda: other)()}."
            )
        oX, ow = other._buffer()
        self._pending.append((oX.copy(), ow.copy()))
        self._n_pending += len(ow)
        self._parts = sorted(self._parts + other._parts, key=lambda part: part[0])
        mine, theirs = self._reductions, other._reductions
        self._reductions = [
            (mine[i] if i < len(mine) else 0) + (theirs[i] if i < len(theirs) else 0)
            for i in range(max(len(mine), len(theirs)))
        ]
        self._n_rows += other._n_rows
        self._weight += other._weight
        self._flush()
        self._derived = {}

    # -- what finalizers read ----------------------------------------------------------------
    def coreset(self) -> tuple[np.ndarray, np.ndarray]:
        """At most ``size`` weighted points ``(X, w)`` standing for every row seen (read-only,
        memoized). While the state holds at most ``size`` points they are the rows themselves
        (an exact summary); else everything held is reduced once more, seeded."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            bX, bw = self._buffer()
            X = np.concatenate([bX, *[p[1] for p in self._parts]])
            w = np.concatenate([bw, *[p[2] for p in self._parts]])
            rng = np.random.default_rng([self.seed, 1_000_003, *self._reductions])
            P, v = reduce_points(X, w, self.size, 2 * self.k_max, rng)
            return readonly(P), readonly(v)

        out: tuple[np.ndarray, np.ndarray] = self.derived("coreset", compute)
        return out

    # -- round trip ------------------------------------------------------------------------
    def copy(self) -> KMeansCoreset:
        new = KMeansCoreset(**self.params())
        new._n_rows, new._weight = self._n_rows, self._weight
        new._reductions = list(self._reductions)
        bX, bw = self._buffer()
        new._set_buffer(bX.copy(), bw.copy())
        new._parts = [(lv, X.copy(), w.copy()) for lv, X, w in self._parts]
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": self._n_rows,
            "weight_sum": self._weight,
            "reductions": list(self._reductions),
        }
        bX, bw = self._buffer()
        arrays = {
            "buffer_X": bX,
            "buffer_w": bw,
            "part_level": np.array([lv for lv, _, _ in self._parts], dtype=np.int64),
            "part_size": np.array([len(w) for _, _, w in self._parts], dtype=np.int64),
            "parts_X": np.concatenate(
                [np.empty((0, self.n_features))] + [X for _, X, _ in self._parts]
            ),
            "parts_w": np.concatenate([np.empty(0)] + [w for _, _, w in self._parts]),
        }
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> KMeansCoreset:
        p = header["params"]
        new = cls(int(p["n_features"]), int(p["k_max"]), int(p["size"]), int(p["seed"]))
        new._n_rows, new._weight = int(header["n_rows"]), float(header["weight_sum"])
        new._reductions = [int(r) for r in header["reductions"]]
        d = new.n_features
        bX = np.asarray(arrays["buffer_X"], dtype=np.float64).reshape(-1, d).copy()
        bw = np.asarray(arrays["buffer_w"], dtype=np.float64).copy()
        levels = np.asarray(arrays["part_level"], dtype=np.int64)
        sizes = np.asarray(arrays["part_size"], dtype=np.int64)
        X = np.asarray(arrays["parts_X"], dtype=np.float64).reshape(-1, d)
        w = np.asarray(arrays["parts_w"], dtype=np.float64)
        if (
            len(bX) != len(bw)
            or len(levels) != len(sizes)
            or int(sizes.sum()) != len(X)
            or len(X) != len(w)
        ):
            raise ValueError(
                "KMeansCoreset arrays must have one weight per point and parts that add up "
                f"to the points, but got {len(X)} points, {len(w)} weights, part sizes "
                f"{sizes.tolist()}."
            )
        new._set_buffer(bX, bw)
        ends = np.cumsum(sizes)
        new._parts = [
            (int(lv), X[e - s : e].copy(), w[e - s : e].copy())
            for lv, s, e in zip(levels, sizes, ends, strict=True)
        ]
        return new

    def _canonical(self) -> list[tuple[int, np.ndarray]]:
        """Buffer and coresets as (level, rows with their weight, sorted): merge order of
        unreduced rows does not show."""
        out = []
        for lv, X, w in [(-1, *self._buffer()), *self._parts]:
            rows = np.column_stack([X, w])
            order = np.lexsort(rows.T[::-1]) if len(rows) else np.arange(0)
            out.append((lv, rows[order]))
        return sorted(out, key=lambda part: (part[0], part[1].tobytes()))

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        """Same parameters, rows and weights, and the same points in each part (as sets)."""
        if not isinstance(other, KMeansCoreset) or other.params() != self.params():
            return False
        if other._n_rows != self._n_rows:
            return False
        if not np.isclose(self._weight, other._weight, rtol=rtol):
            return False
        a, b = self._canonical(), other._canonical()
        if [(lv, r.shape) for lv, r in a] != [(lv, r.shape) for lv, r in b]:
            return False
        return all(
            np.allclose(x, y, rtol=rtol, atol=0.0) for (_, x), (_, y) in zip(a, b, strict=True)
        )

    def __repr__(self) -> str:
        return (
            f"KMeansCoreset(k_max={self.k_max}, size={self.size}, points={self.n_points}, "
            f"n_rows={self._n_rows})"
        )
