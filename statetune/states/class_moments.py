"""``ClassMoments``: one :class:`Moments` of the features per class label.

Sufficient for linear and quadratic discriminant analysis, Gaussian naive Bayes and ridge
classification (one-vs-rest ridge needs only class counts, means and the pooled scatter).
A batch is sorted by label once (one copy) and each class's contiguous rows update that class's
moments; merging unites the class sets (a class unseen by one side is fine).

Example
-------
>>> import numpy as np
>>> from statetune.states import ClassMoments
>>> s = ClassMoments(2); s.update(np.array([[0.0, 1], [2, 3], [4, 5]]), np.array(["a", "b", "a"]))
>>> s.classes.tolist(), [m.n_rows for m in s.per_class]
(['a', 'b'], [2, 1])
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    register_state,
)
from statetune.states._labels import (
    as_labels,
    decode_labels,
    encode_labels,
    label_codes,
    union_labels,
)
from statetune.states.capabilities import Subtractable
from statetune.states.moments import (
    BLOCK_ROWS,
    RAW_PATH_MIN_RATIO,
    Moments,
    _centered_block,
    _chan,
    _first_row,
    _locate_non_finite,
)

__all__ = ["ClassMoments"]


@register_state
class ClassMoments(Memoized, Subtractable):
    """Per-class count, mean and centered co-moments of ``X`` (labels from ``y``).

    Parameters
    ----------
    n_features : int
    has_target : bool, default True
        Must be True: class-conditional moments need labels.
    """

    kind = "class_moments"

    def __init__(self, n_features: int, has_target: bool = True) -> None:
        if not has_target:
            raise ValueError(
                "`has_target` must be True: class moments need class labels (a target)."
            )
        if int(n_features) < 1:
            raise ValueError(f"`n_features >= 1` must hold, but got n_features={n_features}.")
        self.n_features = int(n_features)
        self.has_target = True
        self.classes: np.ndarray = np.empty(0, dtype=np.int64)
        self.per_class: list[Moments] = []
        self._derived: dict[Any, Any] = {}

    # ---------------------------------------------------------------- properties
    @property
    def n_rows(self) -> int:
        return sum(m.n_rows for m in self.per_class)

    @property
    def weight_sum(self) -> float:
        return float(sum(m.weight_sum for m in self.per_class))

    def params(self) -> dict[str, Any]:
        return {"n_features": self.n_features}

    def class_weights(self) -> np.ndarray:
        """Weight (row count when unweighted) of each class, in ``classes`` order."""
        return np.array([m.weight_sum for m in self.per_class])

    def class_means(self) -> np.ndarray:
        return np.array([m.mean for m in self.per_class]).reshape(
            len(self.per_class), self.n_features
        )

    def total(self) -> Moments:
        """Moments of all rows (the merge of every class), memoized."""

        def build() -> Moments:
            out = Moments(self.n_features, has_target=False)
            for m in self.per_class:
                out.merge(m)
            return out

        return self.derived("total", build)

    # ---------------------------------------------------------------- update / merge
    def update(self, X: Any, y: Any = None, sample_weight: Any = None) -> None:
        """Fold a batch in (all or nothing). ``y`` holds class labels."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"`X` must have shape (n, {self.n_features}), but got {X.shape}.")
        if y is None:
            raise ValueError("`y` is required: class moments need class labels.")
        n, d = X.shape
        labels = as_labels(y, n)
        w = check_sample_weight(sample_weight, n)
        if n == 0:
            return
        X = X if X.dtype == np.float64 else X.astype(np.float64)
        batch_classes, codes, counts = label_codes(labels)
        batch_list = batch_classes.tolist()
        current = dict(zip(self.classes.tolist(), self.per_class, strict=True))
        states = [current.get(c) or Moments(d, has_target=False) for c in batch_list]
        shifts = [m._shift if m.n_rows else None for m in states]
        accs: list[Any] = [None] * len(batch_list)
        for a in range(0, n, BLOCK_ROWS):  # blocks of rows, each gathered once by class
            b = min(a + BLOCK_ROWS, n)
            block_codes = codes[a:b]
            order = np.argsort(block_codes, kind="stable")  # a radix sort of small codes
            # fancy indexing gathers strided fold views directly (np.take first makes the
            # whole view contiguous: measured 0.51 ms vs 0.80 ms per 8,192 x 50 block)
            Xs = X[a:b][order]
            tally = np.bincount(block_codes, minlength=len(batch_list))
            present = np.flatnonzero(tally)
            edges = np.concatenate(([0], np.cumsum(tally[present]))).tolist()
            raw = None if w is not None else _raw_classes(Xs, edges)
            for j, i in enumerate(present.tolist()):
                lo, hi = edges[j], edges[j + 1]
                if raw is not None and raw[0][j]:
                    bw, bmean, bcom = float(hi - lo), raw[1][j], raw[2][j]
                    if shifts[i] is None:
                        shifts[i] = bmean.copy()
                    bmean -= shifts[i]
                    block: Any = (bw, bmean, bcom)
                else:
                    try:
                        shifts[i], block = _block_moments(
                            Xs[lo:hi], None if w is None else w[a + order[lo:hi]], shifts[i]
                        )
                    except NonFiniteError as err:
                        row = a + int(order[lo + (err.row or 0)])
                        raise NonFiniteError(
                            _relocate(str(err), err.row or 0, row), row=row, column=err.column
                        ) from None
                if block is not None:
                    accs[i] = block if accs[i] is None else _chan(*accs[i], *block)
        # commit: nothing above touched the state
        zero = (0.0, np.zeros(d), np.zeros((d, d)))
        for m, shift, acc, k in zip(states, shifts, accs, counts.tolist(), strict=True):
            m._commit(shift, zero if acc is None else acc, k)
        if not (
            batch_classes.dtype == self.classes.dtype and all(c in current for c in batch_list)
        ):
            classes = union_labels(self.classes, batch_classes)  # a new class
            current.update(zip(batch_list, states, strict=True))
            self.per_class = [current[c] for c in classes.tolist()]
            self.classes = classes
        self._derived = {}

    def _compatible(self, other: Any) -> ClassMoments:
        if not isinstance(other, ClassMoments):
            raise TypeError(
                f"`other` must be a ClassMoments state, but got {type(other).__name__}."
            )
        if other.n_features != self.n_features:
            raise ValueError(
                f"States must share parameters to combine, but got n_features={self.n_features} "
                f"and {other.n_features}."
            )
        return other

    def merge(self, other: Any) -> None:
        """Absorb a state of disjoint rows; classes are united."""
        other = self._compatible(other)
        classes = union_labels(self.classes, other.classes)
        mine = dict(zip(self.classes.tolist(), self.per_class, strict=True))
        theirs = dict(zip(other.classes.tolist(), other.per_class, strict=True))
        out = []
        for c in classes.tolist():
            m = mine.get(c)
            t = theirs.get(c)
            if m is None:
                out.append(t.copy())  # type: ignore[union-attr]
            else:
                if t is not None:
                    m.merge(t)
                out.append(m)
        self.classes, self.per_class = classes, out
        self._derived = {}

    def subtract(self, other: Any) -> None:
        """Undo ``merge(other)`` (all or nothing; classes left empty are dropped)."""
        other = self._compatible(other)
        mine = {c: m.copy() for c, m in zip(self.classes.tolist(), self.per_class, strict=True)}
        for c, t in zip(other.classes.tolist(), other.per_class, strict=True):
            if c not in mine:
                raise ValueError(
                    f"`other` must summarize a subset of these rows, but has class {c!r}."
                )
            mine[c].subtract(t)
        keep = [c for c in self.classes.tolist() if mine[c].n_rows > 0]
        self.classes = self.classes[[i for i, c in enumerate(self.classes.tolist()) if c in keep]]
        self.per_class = [mine[c] for c in keep]
        self._derived = {}

    # ---------------------------------------------------------------- round trip
    def copy(self) -> ClassMoments:
        new = ClassMoments(self.n_features)
        new.classes = self.classes.copy()
        new.per_class = [m.copy() for m in self.per_class]
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header: dict[str, Any] = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "classes": encode_labels(self.classes),
            "per_class": [],
        }
        arrays: dict[str, np.ndarray] = {}
        for i, m in enumerate(self.per_class):
            h, a = m.to_arrays()
            header["per_class"].append(h)
            arrays.update({f"c{i}.{k}": v for k, v in a.items()})
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> ClassMoments:
        new = cls(int(header["params"]["n_features"]))
        new.classes = decode_labels(header["classes"])
        new.per_class = []
        for i, h in enumerate(header["per_class"]):
            own = {k[len(f"c{i}.") :]: v for k, v in arrays.items() if k.startswith(f"c{i}.")}
            new.per_class.append(Moments.from_arrays(h, own))
        if len(new.per_class) != len(new.classes):
            raise ValueError(
                f"ClassMoments must hold one state per class, but got {len(new.per_class)} "
                f"states for {len(new.classes)} classes."
            )
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        if not isinstance(other, ClassMoments) or other.n_features != self.n_features:
            return False
        if self.classes.tolist() != other.classes.tolist():
            return False
        return all(
            a.allclose(b, rtol) for a, b in zip(self.per_class, other.per_class, strict=True)
        )

    def __repr__(self) -> str:
        return f"ClassMoments(n_features={self.n_features}, classes={self.classes.tolist()}, n_rows={self.n_rows})"


def _raw_classes(Xs: np.ndarray, edges: list[int]) -> tuple[np.ndarray, ...]:
    """``(ok, means, co-moments)`` of each class's contiguous rows ``Xs[edges[j]:edges[j+1]]``
    from raw products: one ``syrk`` and one ``gemv`` per class, the rest vectorized over
    classes. ``ok[j]`` is False where that would lose precision (the guard of
    :func:`statetune.states.moments._raw_block`) or is not finite; those classes take the
    shifted two-pass path."""
    k, d = len(edges) - 1, Xs.shape[1]
    G = np.empty((k, d, d))
    S = np.empty((k, d))
    ones = np.ones(max(hi - lo for lo, hi in itertools.pairwise(edges)))
    for j, (lo, hi) in enumerate(itertools.pairwise(edges)):
        B = Xs[lo:hi]
        np.matmul(B.T, B, out=G[j])
        np.matmul(ones[: hi - lo], B, out=S[j])
    with np.errstate(all="ignore"):  # non-finite sums are refused below
        raw = np.diagonal(G, axis1=1, axis2=2).copy()
        means = S / np.diff(edges)[:, None]
        G -= S[:, :, None] * means[:, None, :]
        ok = np.isfinite(raw.sum(axis=1) + S.sum(axis=1))
        ok &= (np.diagonal(G, axis1=1, axis2=2) >= RAW_PATH_MIN_RATIO * raw).all(axis=1)
    return ok.tolist(), means, G


def _block_moments(
    B: np.ndarray, w: np.ndarray | None, shift: np.ndarray | None
) -> tuple[np.ndarray, tuple[float, np.ndarray, np.ndarray] | None]:
    """``(shift, (weight, mean - shift, co-moments))`` of the contiguous rows ``B`` (one class
    of a gathered block) by the shifted two-pass formula of :meth:`Moments._reduce`. The
    shift is the state's, or chosen here for a class's first rows. ``None`` for zero weight.

    Raises
    ------
    NonFiniteError
        A NaN or infinite value (its ``row`` is a row of ``B``).
    """
    if shift is None:
        shift = _first_row(B, None)
    with np.errstate(all="ignore"):  # non-finite sums are checked explicitly
        bw, bmean, bcom = _centered_block(B, None, w, shift, np.empty(B.shape))
    if bw == 0.0:
        return shift, None
    if not (np.isfinite(bmean).all() and np.isfinite(np.diagonal(bcom)).all()):
        raise _locate_non_finite(B, None, 0)
    return shift, (bw, bmean, bcom)


def _relocate(message: str, local: int, row: int) -> str:
    """Rewrite 'at row <local>' in a per-class error to the row of the batch."""
    return message.replace(f"at row {local}", f"at row {row}")
