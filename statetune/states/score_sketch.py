"""``ScoreSketch``: a mergeable, fixed-bin histogram of held-out decision scores per class.

Binary decision scores ``s`` (``sigmoid(s)`` is the model's probability of the positive class)
fall into ``n_bins`` fixed bins, uniform in probability: the edges are ``logit(i / n_bins)``,
``i = 1 .. n_bins - 1``. The sketch keeps the weight of the negative and the positive rows in
each bin: memory ``2 x n_bins`` whatever the number of rows, merged by adding counts (exactly:
commutative, associative, chunk-invariant).

What it answers, and how well:

- **Every cut at an edge is exact**: the weight of positives and of all rows scoring at least
  ``logit(i / n_bins)`` is a sum of whole bins, so the precision, recall and F1 of the rule
  ``sigmoid(s) >= i / n_bins`` are those of the rows themselves.
- :meth:`best_f1`: the edge with the best F1. The best F1 over *every* cut of the rows exceeds it
  by at most ``2 * (most positive weight in one bin) / (positive weight)`` (:meth:`f1_bound`):
  moving the best cut up to the next edge drops the positives of its bin only (``F1 = 2 TP /
  (P + predicted)`` loses at most ``2 a / P`` when ``a`` positives and some negatives leave).
- :meth:`precision_at_recall`: the best precision among the edges with recall ``>= target``
  (scikit-learn's precision/recall counting). The best over every cut exceeds it by at most
  ``(heaviest negative bin) / (target * positive weight)`` (:meth:`precision_bound`): taking the
  whole bin of the best cut keeps the recall and adds at most that bin's negatives.
- :meth:`platt`: Platt scaling (a sigmoid ``sigmoid(a s + b)`` fitted by weighted log loss) on
  the bins' scores, each bin at the logit of its middle probability: calibrated probabilities for
  members whose scores are not probabilities (hinge, squared loss).

Example
-------
>>> import numpy as np
>>> from statetune.states.score_sketch import ScoreSketch
>>> rng = np.random.default_rng(0); pos = rng.uniform(size=5000) < 0.3
>>> sk = ScoreSketch(64); sk.add(rng.normal(size=5000) + 2.0 * pos, pos)
>>> t, f1 = sk.best_f1(); bool(0 < t < 1 and f1 > 0.5)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit

__all__ = ["ScoreSketch", "score_bins"]


def _edges(n_bins: int) -> np.ndarray:
    return np.asarray(logit(np.arange(1, n_bins) / n_bins))


def score_bins(scores: np.ndarray, n_bins: int) -> np.ndarray:
    """The bin of each score: ``i`` where ``logit(i / n) <= s < logit((i + 1) / n)``."""
    return np.searchsorted(_edges(n_bins), scores, side="right")


class ScoreSketch:
    """Weighted counts of the negative (row 0) and positive (row 1) rows' scores per bin.

    Parameters
    ----------
    n_bins : int
        Bins uniform in probability (at least 2).
    counts : array of shape (2, n_bins), optional
        Counts to start from (a slice of a larger state's histogram).
    """

    def __init__(self, n_bins: int = 256, counts: Any = None) -> None:
        if isinstance(n_bins, bool) or int(n_bins) < 2:
            raise ValueError(f"`n_bins >= 2` must hold, but got n_bins={n_bins}.")
        self.n_bins = int(n_bins)
        self.counts = np.zeros((2, self.n_bins))
        if counts is not None:
            c = np.asarray(counts, dtype=np.float64)
            if c.shape != (2, self.n_bins):
                raise ValueError(f"`counts` must have shape (2, {self.n_bins}), but got {c.shape}.")
            self.counts = c.copy()

    def add(self, scores: Any, positive: Any, w: Any = None) -> None:
        """Count rows with decision ``scores``; ``positive`` marks the positive class."""
        s = np.asarray(scores, dtype=np.float64).reshape(-1)
        pos = np.asarray(positive, dtype=bool).reshape(-1)
        wt = np.ones(len(s)) if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
        if not (len(s) == len(pos) == len(wt)):
            raise ValueError(
                f"`scores`, `positive` and `w` must have one value per row, but got "
                f"{len(s)}, {len(pos)} and {len(wt)}."
            )
        if not np.isfinite(s).all():
            r = int(np.flatnonzero(~np.isfinite(s))[0])
            raise ValueError(f"Scores must be finite, but row {r} holds {s[r]}.")
        np.add.at(self.counts, (pos.astype(np.intp), score_bins(s, self.n_bins)), wt)

    def merge(self, other: ScoreSketch) -> None:
        if other.n_bins != self.n_bins:
            raise ValueError(
                f"Sketches must share their bins to merge, but got n_bins={self.n_bins} and "
                f"{other.n_bins}."
            )
        self.counts = self.counts + other.counts

    # -- the curve at the edges ---------------------------------------------------------
    def _curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Thresholds ``i / n`` (``i = 0``: every row), weight of positives and of all rows
        predicted positive at each, and the positive weight."""
        neg, pos = self.counts
        P = float(pos.sum())
        if P <= 0 or float(neg.sum()) <= 0:
            raise ValueError(
                "The held-out score sketch must hold rows of both classes, but it holds "
                f"{P:g} positive and {float(neg.sum()):g} negative weight."
            )
        tp = np.cumsum(pos[::-1])[::-1]
        pp = np.cumsum((pos + neg)[::-1])[::-1]
        return np.arange(self.n_bins) / self.n_bins, tp, pp, P

    def best_f1(self) -> tuple[float, float]:
        """``(threshold, F1)``: the edge ``sigmoid(s) >= threshold`` of the best F1 (ties: the
        highest threshold); ``threshold`` 0 means every row is predicted positive."""
        t, tp, pp, P = self._curve()
        f1 = 2.0 * tp / (P + pp)
        i = int(len(f1) - 1 - np.argmax(f1[::-1]))
        return float(t[i]), float(f1[i])

    def precision_at_recall(self, target: float) -> tuple[float, float, float]:
        """``(threshold, precision, recall)`` of the edge with the best precision among those
        whose recall is at least ``target`` (ties: the highest threshold)."""
        if isinstance(target, bool) or not 0 < float(target) <= 1:
            raise ValueError(f"`target_recall` must be in (0, 1], but got {target!r}.")
        t, tp, pp, P = self._curve()
        recall = tp / P
        prec = np.where(pp > 0, tp / np.where(pp > 0, pp, 1.0), 1.0)
        ok = recall >= float(target) - 1e-12
        i = int(np.flatnonzero(ok & (prec == prec[ok].max()))[-1])
        return float(t[i]), float(prec[i]), float(recall[i])

    def f1_bound(self) -> float:
        """How far the best F1 over every cut of the rows can exceed :meth:`best_f1`."""
        _, _, _, P = self._curve()
        return float(2.0 * self.counts[1].max() / P)

    def precision_bound(self, target: float) -> float:
        """How far the best precision at recall ``>= target`` over every cut of the rows can
        exceed :meth:`precision_at_recall`."""
        _, _, _, P = self._curve()
        return float(self.counts[0].max() / (float(target) * P))

    # -- calibration ---------------------------------------------------------------------
    def platt(self) -> tuple[float, float]:
        """``(a, b)`` of Platt scaling ``P(positive | s) = sigmoid(a s + b)``, fitted by
        weighted log loss on the bins (each at the logit of its middle probability).

        The bins are uniform in probability, so the two end bins hold every score beyond
        ``logit(1/n_bins)`` (about +-5.5 logits at 256 bins) at their middles: scores far out
        (hinge or squared members with large margins) are pulled in, which flattens ``a``.
        The fit is exact for scores inside the end bins' edges; tested against a sigmoid fit
        on the exact scores to 0.02 in probability."""
        self._curve()  # both classes present
        mid = np.asarray(logit((np.arange(self.n_bins) + 0.5) / self.n_bins))
        used = self.counts.sum(axis=0) > 0
        s, neg, pos = mid[used], self.counts[0, used], self.counts[1, used]
        total = float(neg.sum() + pos.sum())

        def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
            z = ab[0] * s + ab[1]
            # -log sigmoid(z) = logaddexp(0, -z); -log(1 - sigmoid(z)) = logaddexp(0, z)
            value = float(pos @ np.logaddexp(0.0, -z) + neg @ np.logaddexp(0.0, z)) / total
            g = (neg + pos) * expit(z) - pos  # d loss / d z per bin
            return value, np.array([g @ s, g.sum()]) / total

        out = minimize(loss, np.array([1.0, 0.0]), jac=True, method="BFGS")
        return float(out.x[0]), float(out.x[1])

    def __repr__(self) -> str:
        return f"ScoreSketch(n_bins={self.n_bins}, weight={float(self.counts.sum()):g})"
