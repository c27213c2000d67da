"""``TargetSummary``: the target alone, summarized: weighted count, mean and centered sum of
squares of a numeric target, or the weight of each class of a labelled one.

Sufficient for the baselines every study should show next to its models: the mean predictor
(regression) and the class prior (classification), and for their exact held-out scores
(``SSE = M2_h + W_h (mean_h - c)^2``; a class prior's log-likelihood and accuracy from the
held-out class weights). It reads ``y`` and ``w`` only, so it costs a pass next to nothing.
Batches merge with Chan's pairwise rule (no large sums cancel), classes by union.

Example
-------
>>> import numpy as np
>>> from statetune.states import TargetSummary
>>> s = TargetSummary(1); s.update(np.zeros((3, 1)), np.array([1.0, 2.0, 6.0]))
>>> s.mean, s.m2
(3.0, 14.0)
>>> c = TargetSummary(labels=True); c.update(None, np.array(["b", "a", "b"]))
>>> c.classes.tolist(), c.class_weights.tolist()
(['a', 'b'], [1.0, 2.0])
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
from statetune.states._labels import (
    as_labels,
    decode_labels,
    encode_labels,
    label_codes,
    union_labels,
)

__all__ = ["TargetSummary"]


@register_state
class TargetSummary(Memoized):
    """Weighted count, mean and ``M2 = sum w (y - mean)^2`` of a numeric target, or (with
    ``labels=True``) the weight of each class, kept sorted as scikit-learn's ``classes_``.

    Parameters
    ----------
    n_features : int, default 0
        Width of the rows the target comes with (checked, not summarized: models finalized
        from the summary know what ``X`` they predict from).
    labels : bool, default False
        The target holds class labels (strings, booleans, integers meant as classes).
    """

    kind = "target_summary"

    def __init__(self, n_features: int = 0, labels: bool = False) -> None:
        if int(n_features) < 0:
            raise ValueError(f"`n_features >= 0` must hold, but got n_features={n_features}.")
        self.n_features = int(n_features)
        self.labels = bool(labels)
        self._n_rows = 0
        self._weight = 0.0
        self._mean = 0.0
        self._m2 = 0.0
        self.classes: np.ndarray = np.empty(0, dtype=np.int64)
        self._class_weights = np.empty(0)
        self._derived: dict[Any, Any] = {}

    # ---------------------------------------------------------------- properties
    @property
    def n_rows(self) -> int:
        return self._n_rows

    @property
    def weight_sum(self) -> float:
        return self._weight

    @property
    def mean(self) -> float:
        """Weighted mean of a numeric target (0.0 before any weight)."""
        self._numeric("mean")
        return self._mean

    @property
    def m2(self) -> float:
        """``sum w (y - mean)^2`` of a numeric target."""
        self._numeric("m2")
        return self._m2

    @property
    def class_weights(self) -> np.ndarray:
        """Weight (row count when unweighted) of each class, in ``classes`` order."""
        if not self.labels:
            raise ValueError("`class_weights` needs labels=True, but this summary is numeric.")
        return self._class_weights.copy()

    def _numeric(self, what: str) -> None:
        if self.labels:
            raise ValueError(f"`{what}` needs a numeric target, but this summary holds labels.")

    def params(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "labels": self.labels}

    # ---------------------------------------------------------------- update / merge
    def update(self, X: Any = None, y: Any = None, sample_weight: Any = None) -> None:
        """Fold a batch in (all or nothing); ``X`` (or None) is only checked for its width,
        ``y`` is required."""
        if X is not None:
            shape = np.shape(X)
            if len(shape) != 2 or shape[1] != self.n_features:
                raise ValueError(f"`X` must have shape (n, {self.n_features}), but got {shape}.")
        if y is None:
            raise ValueError("`y` is required: a target summary needs the target.")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"`y` must be 1-dimensional, but got shape {y.shape}.")
        n = y.shape[0]
        w = check_sample_weight(sample_weight, n)
        if n == 0:
            return
        if self.labels:
            self._update_labels(as_labels(y, n), w)
        else:
            self._update_numeric(y, w)
        self._n_rows += n
        self._derived = {}

    def _update_numeric(self, y: np.ndarray, w: np.ndarray | None) -> None:
        if y.dtype.kind not in "iufb":
            raise TypeError(f"`y` must be numeric, but has dtype {y.dtype}.")
        y = y.astype(np.float64, copy=False)
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            r = int(bad[0])
            raise NonFiniteError(
                f"The target must be finite, but row {r} holds {y[r]}.", row=r, column="target"
            )
        ww = np.ones_like(y) if w is None else w
        W = float(ww.sum())
        if W <= 0.0:
            return
        mean = float(ww @ y) / W
        dev = y - mean
        m2 = float(ww @ (dev * dev))
        if not np.isfinite(m2):
            r = int(np.flatnonzero(~np.isfinite(ww * dev * dev))[0])
            raise NonFiniteError(
                f"The target's sum of squares must stay within float64, but overflows at row {r}.",
                row=r,
                column="target",
            )
        self._combine(W, mean, m2)

    def _combine(self, W: float, mean: float, m2: float) -> None:
        """Chan's pairwise update with a summary of weight ``W``."""
        total = self._weight + W
        delta = mean - self._mean
        self._mean += delta * (W / total)
        self._m2 += m2 + delta * delta * (self._weight * W / total)
        self._weight = total

    def _update_labels(self, labels: np.ndarray, w: np.ndarray | None) -> None:
        classes, codes, counts = label_codes(labels)
        weights = (
            counts.astype(np.float64)
            if w is None
            else np.bincount(codes, weights=w, minlength=classes.size)
        )
        self._add_classes(classes, weights)

    def _add_classes(self, classes: np.ndarray, weights: np.ndarray) -> None:
        union = union_labels(self.classes, classes)
        out = np.zeros(union.size)
        out[np.searchsorted(union, self.classes)] += self._class_weights
        out[np.searchsorted(union, classes)] += weights
        self.classes, self._class_weights = union, out
        self._weight = float(out.sum())

    def _compatible(self, other: Any) -> TargetSummary:
        if not isinstance(other, TargetSummary):
            raise TypeError(
                f"`other` must be a TargetSummary state, but got {type(other).__name__}."
            )
        if other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} and "
                f"{other.params()}."
            )
        return other

    def merge(self, other: Any) -> None:
        """Absorb a summary of disjoint rows."""
        other = self._compatible(other)
        if self.labels:
            if other.classes.size:
                self._add_classes(other.classes, other._class_weights)
        elif other._weight > 0.0:
            self._combine(other._weight, other._mean, other._m2)
        self._n_rows += other._n_rows
        self._derived = {}

    # ---------------------------------------------------------------- round trip
    def copy(self) -> TargetSummary:
        new = TargetSummary(self.n_features, self.labels)
        new._n_rows, new._weight, new._mean, new._m2 = (
            self._n_rows,
            self._weight,
            self._mean,
            self._m2,
        )
        new.classes = self.classes.copy()
        new._class_weights = self._class_weights.copy()
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header: dict[str, Any] = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": self._n_rows,
            "classes": encode_labels(self.classes),
        }
        arrays = {
            "moments": np.array([self._weight, self._mean, self._m2]),
            "class_weights": self._class_weights.copy(),
        }
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> TargetSummary:
        params = header["params"]
        new = cls(int(params["n_features"]), bool(params["labels"]))
        new._n_rows = int(header["n_rows"])
        moments = np.asarray(arrays["moments"], dtype=np.float64)
        weights = np.asarray(arrays["class_weights"], dtype=np.float64)
        classes = decode_labels(header["classes"])
        if moments.shape != (3,) or weights.shape != classes.shape or new._n_rows < 0:
            raise ValueError(
                "A TargetSummary must hold 3 moments and one weight per class, but got "
                f"{moments.shape} moments and {weights.shape} weights for {classes.size} classes."
            )
        new._weight, new._mean, new._m2 = (float(v) for v in moments)
        new.classes, new._class_weights = classes, weights
        if new.labels:
            new._weight = float(weights.sum())
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        if not isinstance(other, TargetSummary) or other.params() != self.params():
            return False
        if self._n_rows != other._n_rows or self.classes.tolist() != other.classes.tolist():
            return False
        mine = np.array([self._weight, self._mean, self._m2])
        theirs = np.array([other._weight, other._mean, other._m2])
        scale = max(abs(self._mean), np.sqrt(self._m2 / self._weight) if self._weight else 0.0)
        return bool(
            np.allclose(mine, theirs, rtol=rtol, atol=rtol * max(scale, 1e-300))
            and np.allclose(self._class_weights, other._class_weights, rtol=rtol)
        )

    def __repr__(self) -> str:
        if self.labels:
            return f"TargetSummary(labels=True, classes={self.classes.tolist()}, n_rows={self._n_rows})"
        return f"TargetSummary(mean={self._mean:.6g}, weight={self._weight:.6g}, n_rows={self._n_rows})"
