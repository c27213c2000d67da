"""``FrequentDirections``: a mergeable covariance sketch of ``ell`` rows for wide data.

The sketch is a small matrix ``M`` (fewer than ``2 ell + ell // 2`` rows of ``d`` columns) whose Gram matrix
``M^T M`` stands for the **centered, weighted scatter** ``C = sum_i w_i (x_i - mean)(x_i - mean)^T``
of every row seen, with the deterministic guarantee of Frequent Directions (Liberty 2013;
Ghashami, Liberty, Phillips and Woodruff 2016)::

    0 <= C - M^T M <= error_bound * I     and
    error_bound <= sum_{i > k} lambda_i(C) / (ell - k)    for every k < ell

(``lambda_i(C)`` the eigenvalues of ``C``, largest first; ``<=`` the PSD order). Memory is
``O(d ell)``; the work is ``O(d ell)`` per row. Beside the sketch the state keeps exact counts,
sums and, per column, the exact variance and the co-moment with the target, so means, the
total variance (trace of ``C``) and ``X^T y`` are exact; only the off-diagonal structure of
``C`` is sketched.

Construction (why the bound holds for the *centered* scatter):

- Rows arrive in a buffer; every ``ell`` rows (counted in arrival order, so the chunking of
  the updates does not matter) become a **block**: the block's rows centered at the block's own
  weighted mean, times ``sqrt(w)``, plus one **Chan row** ``sqrt(W_s W_b / (W_s + W_b)) (mean_b
  - mean_s)`` joining the block to the rows sketched before (weight ``W_s``, mean ``mean_s``).
  By the pairwise formula of Chan, Golub and LeVeque the Gram matrices of these rows add up
  to ``C`` exactly, so every row appended is an exact PSD addition.
- When the sketch holds ``2 ell + p`` rows or more it is **shrunk**, leaving its top
  ``p = ell // 2`` directions whole (:func:`shrink`; the parameterized "alpha-FD" of Desai,
  Ghashami and Phillips 2016, with ``ell + p`` rows and ``alpha = ell / (ell + p)``): with the
  SVD ``M = U S V^T`` and ``delta = s_{ell+p}^2`` (0 when there are fewer singular values),
  the top ``p`` rows stay ``s_i v_i^T``, the next ``ell - 1`` become ``sqrt(s_i^2 - delta)
  v_i^T`` (those above ``delta``), the rest go: at most ``ell + p - 1`` rows remain, and a block
  and its Chan row (``ell + 1`` rows) fill the sketch to ``2 ell + p`` again. A shrink lowers
  every direction of ``M^T M`` by at most ``delta`` and its trace by at least ``ell delta``
  (``ell`` directions lose ``delta`` each); summing over shrinks (``error_bound`` is the sum of
  the ``delta``) and the argument of Ghashami et al. (Theorem 1.1) gives the bound above for
  ``C`` itself, the bound of the classic shrink (``p = 0``) with the same ``ell``.
- Why ``p = ell // 2``: the classic shrink lowers every direction each time, so the top ones
  forget old rows and follow the recent noise; left whole, they keep every row. On the table
  of ``experiments/fd_pca.py`` (100,000 x 2,000, 20 planted directions under unit noise) the top
  ``k = 10`` directions of ``ell = 20`` kept 0.99999 of exact PCA's variance (0.981 with
  ``p = 0``). The cost: a shrink handles ``2 ell + p`` rows instead of ``2 ell`` (about 1.2-1.5x
  the update time per row at ``ell = 128``, d = 2,000-4,000) and memory is ``< 2 ell + p``
  sketch rows plus ``< ell`` buffered ones (``< 3.5 ell``, was ``< 3 ell``).
- ``merge`` stacks the two sketches and the Chan row joining their sketched rows, shrinks, and
  passes the other state's buffered rows through the block rule: the same exact additions
  and shrinks, so the bound holds for the merged rows whatever the merge order (the sketch
  itself depends on the order; the bound does not).
- ``sketch()`` (what finalizers read) appends the buffered rows, centered, and their Chan row:
  those rows are exact.

With ``ell >= d`` (more sketch rows than columns) every ``delta`` is 0: the sketch is exact.

Example
-------
>>> import numpy as np
>>> from statetune.states.frequent_directions import FrequentDirections
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(2_000, 40)) @ rng.normal(size=(40, 40))
>>> s = FrequentDirections(40, ell=10, has_target=False); s.update(X)
>>> C = np.cov(X.T) * (len(X) - 1); M = s.sketch()
>>> lam = np.linalg.eigvalsh(C)[::-1]
>>> bool(np.linalg.norm(C - M.T @ M, 2) <= lam[5:].sum() / (10 - 5))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    readonly,
    register_state,
)

__all__ = ["SUB_ROWS", "FrequentDirections", "shrink"]

#: Rows of a batch handled at once (bounds the temporaries of an update to ~3 x SUB_ROWS x d).
SUB_ROWS = 2_048


def shrink(M: np.ndarray, ell: int, protect: int = 0) -> tuple[np.ndarray, float]:
    """``(rows, delta)``: the Frequent Directions shrink of ``M`` to at most ``ell + protect - 1``
    rows, leaving the top ``protect`` directions whole.

    With ``s_1 >= s_2 >= ...`` the singular values of ``M`` and ``v_i`` its right singular
    vectors, ``delta = s_{ell + protect}^2`` (0 when ``M`` has fewer singular values); the rows
    are ``s_i v_i^T`` for ``i <= protect`` and ``sqrt(s_i^2 - delta) v_i^T`` for the ``ell - 1``
    after them (those above ``delta``). So ``0 <= M^T M - rows^T rows <= delta I`` and the
    trace falls by at least ``ell delta``: the two facts the Frequent Directions bound rests on.
    ``protect = 0`` is the shrink of Ghashami et al.; ``protect > 0`` is their parameterized
    "alpha-FD" (Desai, Ghashami and Phillips 2016) with ``ell + protect`` rows and ``alpha =
    ell / (ell + protect)``, whose bound ``tail_k / (alpha (ell + protect) - k)`` is the same
    ``tail_k / (ell - k)``.

    Computed from the small Gram matrix ``M M^T`` (``syrk``, an ``eigh`` of ``m x m``, one
    product for the kept directions): BLAS-3 work, several times faster than an SVD of the
    ``m x d`` rows. Its rounding is ``~eps s_1^2`` in ``M^T M``, the size of the rounding of
    ``M^T M`` itself; the directions of the kept rows are the eigenvectors' images
    ``u_i^T M / s_i``.

    Example
    -------
    >>> import numpy as np
    >>> rows, delta = shrink(np.diag([3.0, 2.0, 1.0]), ell=2)
    >>> rows.shape, round(delta, 12)
    ((1, 3), 4.0)
    >>> rows, delta = shrink(np.diag([3.0, 2.0, 1.0]), ell=2, protect=1)
    >>> np.round(np.diag(rows @ rows.T), 12).tolist(), round(delta, 12)
    ([9.0, 3.0], 1.0)
    """
    if M.shape[0] == 0:
        return M, 0.0
    G = M @ M.T
    lam, U = scipy.linalg.eigh(G, check_finite=False, driver="evd")
    lam, U = lam[::-1], U[:, ::-1]
    lam = np.maximum(lam, 0.0)
    top = ell + protect
    delta = float(lam[top - 1]) if len(lam) >= top else 0.0
    keep = lam[: top - 1].copy()
    keep[protect:] -= delta  # nonincreasing: the kept rows are a prefix
    n = int(np.count_nonzero(keep > 0.0))
    if n == 0:
        return np.zeros((0, M.shape[1])), delta
    V = (U[:, :n].T @ M) / np.sqrt(lam[:n])[:, None]
    return np.sqrt(keep[:n])[:, None] * V, delta


def _check_rows(X: Any, d: int) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(
            f"`X` must have shape (n, {d}) (the state's n_features), but got {X.shape}."
        )
    if not np.issubdtype(X.dtype, np.number) and X.dtype != np.bool_:
        raise TypeError(f"`X` must be numeric, but got dtype {X.dtype}.")
    return X.astype(np.float64, copy=False)


def _first_non_finite(X: np.ndarray, y: np.ndarray | None) -> NonFiniteError | None:
    bad = ~np.isfinite(X)
    if bad.any():
        r = int(np.flatnonzero(bad.any(axis=1))[0])
        c = int(np.flatnonzero(bad[r])[0])
        return NonFiniteError(
            f"Features must be finite, but column {c} holds {X[r, c]} at row {r}.", r, c
        )
    if y is not None and not np.isfinite(y).all():
        r = int(np.flatnonzero(~np.isfinite(y))[0])
        return NonFiniteError(
            f"The target must be finite, but holds {y[r]} at row {r}.", r, "target"
        )
    return None


def _weighted_block(
    Z: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """``(W, mean, var, cxy)`` of the shifted rows ``Z`` (features then, if any, the target):
    weight, weighted mean, per-column scatter about the mean, and the features' co-moment with
    the last column."""
    W = float(w.sum())
    if W <= 0.0:
        p = Z.shape[1]
        return 0.0, np.zeros(p), np.zeros(p), np.zeros(p - 1)
    mean = (w @ Z) / W
    D = Z - mean
    var = w @ (D * D)
    cxy = (w * D[:, -1]) @ D[:, :-1]
    return W, mean, var, cxy


@register_state
class FrequentDirections(Memoized):
    """A Frequent Directions sketch of the centered scatter, with exact sums beside it.

    Parameters
    ----------
    n_features : int
    has_target : bool
        Keep the target's exact mean, variance and co-moment with each feature (``X^T y``,
        what ridge and PCR read).
    ell : int
        Sketch size: the guarantee is ``||C - M^T M||_2 <= tail_k / (ell - k)`` for every
        ``k < ell``; PCA can finalize any ``n_components < ell``; a shrink leaves the top
        ``ell // 2`` directions whole (``protected``). Memory ``< 3.5 ell d`` floats.

    Raises
    ------
    ValueError
        ``ell < 1`` or ``n_features < 1``.
    """

    kind = "frequent_directions"
    #: Scores read from it are approximate (within the bound): validation says so.
    exact_summary = False

    def __init__(self, n_features: int, has_target: bool = True, ell: int = 128) -> None:
        if isinstance(ell, bool) or not isinstance(ell, int | np.integer) or int(ell) < 1:
            raise ValueError(f"`ell >= 1` must hold (an integer), but got ell={ell!r}.")
        if int(n_features) < 1:
            raise ValueError(f"`n_features >= 1` must hold, but got n_features={n_features}.")
        self.n_features, self.has_target, self.ell = int(n_features), bool(has_target), int(ell)
        #: Top directions a shrink leaves whole; rows of a block; sketch rows that trigger a
        #: shrink (module docstring).
        self.protected = self.ell // 2
        self._block_size = self.ell
        self._capacity = 2 * self.ell + self.protected
        p = self.n_features + 1  # the last column is the target (zeros without one)
        self._n_rows = 0
        self._weight = 0.0
        self._shift = np.zeros(p)
        self._mean = np.zeros(p)  # relative to the shift
        self._var = np.zeros(p)  # exact per-column scatter about the mean
        self._cxy = np.zeros(p - 1)  # exact co-moment of each feature with the target
        # the sketched rows: their weight, mean (relative to the shift), sketch and bound
        self._sk_weight = 0.0
        self._sk_mean = np.zeros(p - 1)
        self._B = np.zeros((0, p - 1))
        self._delta = 0.0
        # rows not yet in a block (fewer than ell), relative to the shift, with weights
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._n_pending = 0
        self._derived: dict[Any, Any] = {}

    # ------------------------------------------------------------------ read-outs
    @property
    def n_rows(self) -> int:
        return self._n_rows

    @property
    def weight_sum(self) -> float:
        return self._weight

    @property
    def mean(self) -> np.ndarray:
        """Exact weighted means: the features, then the target (0 without one)."""
        return self._shift + self._mean

    @property
    def feature_scatter_diag(self) -> np.ndarray:
        """Exact ``diag(C)``: each feature's weighted scatter about its mean."""
        return readonly(self._var[:-1])

    @property
    def total_scatter(self) -> float:
        """Exact ``trace(C)`` (the total variance times ``W``)."""
        return float(self._var[:-1].sum())

    @property
    def cross_moment(self) -> np.ndarray:
        """Exact ``sum w (x - mean_x)(y - mean_y)`` per feature (centered ``X^T y``)."""
        return readonly(self._cxy)

    @property
    def target_scatter(self) -> float:
        """Exact ``sum w (y - mean_y)^2``."""
        return float(self._var[-1])

    @property
    def error_bound(self) -> float:
        """``Delta``, the sum of the shrinks: ``0 <= C - M^T M <= Delta I`` (proven), and
        ``Delta <= tail_k(C) / (ell - k)`` for every ``k < ell``."""
        return self._delta

    @property
    def sketch_rows(self) -> int:
        """Rows held by the sketch and the buffer (fewer than ``3 ell + ell // 2``)."""
        return len(self._B) + self._n_pending

    def params(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "has_target": self.has_target, "ell": self.ell}

    def mean_offset(self, other: FrequentDirections) -> np.ndarray:
        """``other.mean - self.mean`` without rounding the large parts first."""
        return (other._mean - self._mean) + (other._shift - self._shift)

    # ------------------------------------------------------------------ update / merge
    def update(self, X: Any, y: Any = None, sample_weight: Any = None) -> None:
        """Fold a batch of rows in (all or nothing: on error the state is unchanged).

        Raises
        ------
        NonFiniteError
            A feature, the target or a weight is NaN or infinite (names row and column).
        """
        X = _check_rows(X, self.n_features)
        n = X.shape[0]
        if self.has_target:
            if y is None:
                raise ValueError("`y` is required: this FrequentDirections state has a target.")
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.ndim != 1 or y.shape[0] != n:
                raise ValueError(f"`y` must be 1-dimensional with {n} rows, but got {y.shape}.")
            y = y.astype(np.float64, copy=False)
        elif y is not None:
            raise ValueError("`y` must be None: this FrequentDirections state has no target.")
        w = check_sample_weight(sample_weight, n)
        if n == 0:
            return
        err = _first_non_finite(X, y)
        if err is not None:
            raise err
        w = np.ones(n) if w is None else w
        t = np.zeros(n) if y is None else y
        shift = np.append(X[0], t[0]) if self._n_rows == 0 else self._shift
        # rows in sub-blocks of SUB_ROWS: temporaries stay O(SUB_ROWS d) whatever the batch
        cuts = range(0, n, SUB_ROWS)
        with np.errstate(all="ignore"):
            stats = [
                _weighted_block(
                    np.column_stack([X[a : a + SUB_ROWS], t[a : a + SUB_ROWS]]) - shift,
                    w[a : a + SUB_ROWS],
                )
                for a in cuts
            ]
        if not all(np.isfinite(v).all() for block in stats for v in block[1:]):
            raise NonFiniteError(
                f"The sums must stay finite, but rows 0..{n - 1} overflow float64 (values near "
                "1e154 or beyond); rescale the data.",
                row=0,
            )
        self._shift = shift  # nothing above touched the state
        for block in stats:
            self._absorb_exact(*block)
        self._n_rows += n
        for a in cuts:
            self._pending.append((X[a : a + SUB_ROWS] - shift[:-1], w[a : a + SUB_ROWS].copy()))
            self._n_pending += len(self._pending[-1][1])
            self._flush()
        self._derived = {}

    def _absorb_exact(self, W: float, mean: np.ndarray, var: np.ndarray, cxy: np.ndarray) -> None:
        """Chan's pairwise merge of the exact per-column sums."""
        total = self._weight + W
        if W <= 0.0:
            return
        delta = mean - self._mean
        f = self._weight * W / total
        self._var = self._var + var + f * delta * delta
        self._cxy = self._cxy + cxy + f * delta[:-1] * delta[-1]
        self._mean = self._mean + delta * (W / total)
        self._weight = total

    def _buffer(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._pending) != 1:
            Z = np.concatenate([np.empty((0, self.n_features)), *[p[0] for p in self._pending]])
            w = np.concatenate([np.empty(0), *[p[1] for p in self._pending]])
            self._pending = [(Z, w)] if len(w) else []
        return self._pending[0] if self._pending else (np.empty((0, self.n_features)), np.empty(0))

    def _block_rows(
        self, Z: np.ndarray, w: np.ndarray, weight: float, mean: np.ndarray
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """Rows whose Gram matrix is the scatter added by the rows ``Z`` (weights ``w``) to
        rows of ``weight`` and ``mean`` sketched before: the rows centered at their own mean
        and the Chan row; with the combined weight and mean."""
        Wb = float(w.sum())
        if Wb <= 0.0:
            return np.zeros((0, self.n_features)), weight, mean
        mb = (w @ Z) / Wb
        rows = np.sqrt(w)[:, None] * (Z - mb)
        total = weight + Wb
        if weight > 0.0:
            chan = np.sqrt(weight * Wb / total) * (mb - mean)
            rows = np.vstack([rows, chan[None, :]])
        return rows, total, mean + (mb - mean) * (Wb / total)

    def _flush(self) -> None:
        """Every full block of ``ell`` buffered rows joins the sketch; shrink at ``2 ell +
        protected`` rows (the ``ell + protected - 1`` kept plus a block and its Chan row)."""
        L = self._block_size
        if self._n_pending < L:
            return
        Z, w = self._buffer()
        start = 0
        while self._n_pending - start >= L:
            rows, self._sk_weight, self._sk_mean = self._block_rows(
                Z[start : start + L], w[start : start + L], self._sk_weight, self._sk_mean
            )
            self._append(rows)
            start += L
        rest = (Z[start:].copy(), w[start:].copy())
        self._pending = [rest] if len(rest[1]) else []
        self._n_pending = len(rest[1])

    def _append(self, rows: np.ndarray) -> None:
        self._B = np.vstack([self._B, rows]) if len(rows) else self._B
        self._shrink_if_full()

    def _shrink_if_full(self) -> None:
        if len(self._B) >= self._capacity:
            self._B, delta = shrink(self._B, self.ell, self.protected)
            self._delta += delta

    def merge(self, other: Any) -> None:
        """Add the rows ``other`` summarizes (disjoint from this state's): stack the sketches
        and the Chan row between them, shrink, and pass ``other``'s buffered rows through the
        block rule. The bound holds for the union (module docstring)."""
        if not isinstance(other, FrequentDirections) or other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} and "
                f"{getattr(other, 'params', lambda: other)()}."
            )
        if other._n_rows == 0:
            return
        if self._n_rows == 0:
            self._shift = other._shift.copy()
        move = other._shift - self._shift  # other's offsets re-expressed about our shift
        self._absorb_exact(other._weight, other._mean + move, other._var, other._cxy)
        self._n_rows += other._n_rows
        if other._sk_weight > 0.0:
            Wa, Wb = self._sk_weight, other._sk_weight
            mb = other._sk_mean + move[:-1]
            rows = other._B
            if Wa > 0.0:
                chan = np.sqrt(Wa * Wb / (Wa + Wb)) * (mb - self._sk_mean)
                rows = np.vstack([rows, chan[None, :]])
                self._sk_mean = self._sk_mean + (mb - self._sk_mean) * (Wb / (Wa + Wb))
            else:
                self._sk_mean = mb.copy()
            self._sk_weight = Wa + Wb
            self._delta += other._delta
            self._B = np.vstack([self._B, rows])
            self._shrink_if_full()
        oZ, ow = other._buffer()
        if len(ow):
            self._pending.append((oZ + move[:-1], ow.copy()))
            self._n_pending += len(ow)
            self._flush()
        self._derived = {}

    # ------------------------------------------------------------------ what finalizers read
    def sketch(self) -> np.ndarray:
        """Rows ``M`` with ``0 <= C - M^T M <= error_bound I`` for the centered scatter ``C``
        of every row seen (read-only, memoized): the sketch plus the buffered rows, exact."""

        def compute() -> np.ndarray:
            Z, w = self._buffer()
            rows, _, _ = self._block_rows(Z, w, self._sk_weight, self._sk_mean)
            return readonly(np.vstack([self._B, rows]))

        out: np.ndarray = self.derived("sketch", compute)
        return out

    def eig(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lam, V)``: eigenvalues of ``M^T M`` (largest first, fewer than ``3.5 ell``) and their
        eigenvectors as rows (memoized), from the SVD of the sketch."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            M = self.sketch()
            if len(M) == 0:
                return np.zeros(0), np.zeros((0, self.n_features))
            _, s, Vt = scipy.linalg.svd(
                M, full_matrices=False, check_finite=False, lapack_driver="gesdd"
            )
            return readonly(s * s), readonly(Vt)

        out: tuple[np.ndarray, np.ndarray] = self.derived("eig", compute)
        return out

    # ------------------------------------------------------------------ round trip
    def copy(self) -> FrequentDirections:
        header, arrays = self.to_arrays()
        return FrequentDirections.from_arrays(header, {k: v.copy() for k, v in arrays.items()})

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": self._n_rows,
            "weight_sum": self._weight,
            "sketch_weight": self._sk_weight,
            "error_bound": self._delta,
        }
        Z, w = self._buffer()
        arrays = {
            "shift": self._shift.copy(),
            "mean": self._mean.copy(),
            "var": self._var.copy(),
            "cxy": self._cxy.copy(),
            "sketch_mean": self._sk_mean.copy(),
            "sketch": self._B.copy(),
            "buffer_Z": Z.copy(),
            "buffer_w": w.copy(),
        }
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> FrequentDirections:
        p = header["params"]
        new = cls(int(p["n_features"]), bool(p["has_target"]), int(p["ell"]))
        d = new.n_features
        got = {k: np.asarray(arrays[k], dtype=np.float64) for k in arrays}
        shapes = {
            "shift": (d + 1,),
            "mean": (d + 1,),
            "var": (d + 1,),
            "cxy": (d,),
            "sketch_mean": (d,),
        }
        bad = [k for k, s in shapes.items() if got[k].shape != s]
        B, Z, w = got["sketch"].reshape(-1, d), got["buffer_Z"].reshape(-1, d), got["buffer_w"]
        if bad or len(Z) != len(w) or len(B) >= new._capacity or len(w) >= new.ell:
            raise ValueError(
                f"FrequentDirections arrays must fit n_features={d}, ell={new.ell} (vectors of "
                f"{d + 1} or {d}, < {new._capacity} sketch rows, < {new.ell} buffered rows with a "
                f"weight each), but got { ({k: got[k].shape for k in got}) }."
            )
        new._n_rows, new._weight = int(header["n_rows"]), float(header["weight_sum"])
        new._sk_weight, new._delta = float(header["sketch_weight"]), float(header["error_bound"])
        new._shift, new._mean, new._var = got["shift"], got["mean"], got["var"]
        new._cxy, new._sk_mean, new._B = got["cxy"], got["sketch_mean"], B
        new._pending = [(Z, w)] if len(w) else []
        new._n_pending = len(w)
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        """Same parameters and rows; exact sums within ``rtol``; the same sketch Gram matrix
        ``M^T M`` within ``rtol`` of its scale (two sketches of the same rows in the same
        order are equal; another merge order gives another sketch within the bound)."""
        if not isinstance(other, FrequentDirections) or other.params() != self.params():
            return False
        if other._n_rows != self._n_rows:
            return False
        if self._n_rows == 0:
            return True
        if not np.isclose(other._weight, self._weight, rtol=rtol, atol=0.0):
            return False
        var = np.maximum(self._var, other._var)
        spread = np.sqrt(var / max(self._weight, 1e-300))
        scale = np.maximum(spread, np.abs(self.mean) * 1e-15) + 1e-300
        if np.any(np.abs(self.mean_offset(other)) > rtol * scale):
            return False
        if np.any(np.abs(self._var - other._var) > rtol * var + 1e-300):
            return False
        root = np.sqrt(var)
        if np.any(np.abs(self._cxy - other._cxy) > rtol * root[:-1] * root[-1] + 1e-300):
            return False
        Ma, Mb = self.sketch(), other.sketch()
        Ga, Gb = Ma.T @ Ma, Mb.T @ Mb
        return bool(np.all(np.abs(Ga - Gb) <= rtol * np.outer(root[:-1], root[:-1]) + 1e-300))

    def __repr__(self) -> str:
        return (
            f"FrequentDirections(n_features={self.n_features}, ell={self.ell}, "
            f"has_target={self.has_target}, n_rows={self._n_rows})"
        )
