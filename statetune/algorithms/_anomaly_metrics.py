"""Metrics of an anomaly detector's scores on held-out rows, with and without labels.

With a label column (1 = anomaly, 0 = normal): ``roc_auc`` and ``average_precision`` of the
anomaly score (scikit-learn's metrics, weighted by the rows' sample weights).

Without labels: the excess-mass (``em``) and mass-volume (``mv``) criteria of Goix (2016),
"How to evaluate the quality of unsupervised anomaly detection algorithms?" (ICML workshop
on anomaly detection; arXiv:1607.01152). Both judge a *scoring function* ``s`` (larger =
more normal) by its level sets ``{s >= u}``: how much of the held-out rows' mass a level set
holds against how much volume it takes. A good scoring function packs much mass into little
volume, as the level sets of the true density do (they are optimal for both criteria).

- ``mv``: the area under the mass-volume curve ``MV(alpha)``, the volume of the smallest
  level set holding a fraction ``alpha`` of the held-out rows, over ``alpha`` in
  ``[0.9, 0.999]``. Smaller is better.
- ``em``: the area under the excess-mass curve ``EM(t) = max_u P(s >= u) - t * Leb(s >= u)``
  over ``t`` in ``[0, EM^-1(0.9)]``. Larger is better.

Masses are fractions of the held-out rows; volumes are Monte Carlo estimates (the fraction of
uniform points of the rows' bounding box in the level set), so both are measured in units of
the box: ``mv`` is Goix's MV divided by the box volume and ``em`` Goix's EM times it (scale
free, comparable across folds). The Monte Carlo volume cannot resolve level sets smaller than
about one point in ``n_points`` of the box, which happens as the number of features grows
(Goix's benchmark uses at most 8): such a level set is refused with a named error rather
than scored as zero volume.

Example
-------
>>> import numpy as np
>>> from statetune.algorithms._anomaly_metrics import excess_mass, mass_volume
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(4000, 1)); U = rng.uniform(X.min(), X.max(), size=(20000, 1))
>>> density = lambda Z: -np.abs(Z[:, 0])  # ranks rows as the true density does
>>> mass_volume(density(X), density(U)) < mass_volume(-density(X), -density(U))
True
>>> excess_mass(density(X), density(U)) > excess_mass(-density(X), -density(U))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "ALPHA_RANGE",
    "EM_MASS",
    "LABEL_METRICS",
    "UNSUPERVISED_METRICS",
    "anomaly_label_score",
    "check_anomaly_labels",
    "excess_mass",
    "mass_volume",
    "uniform_box_points",
]

#: Metrics that need the label column (1 = anomaly, 0 = normal).
LABEL_METRICS = ("roc_auc", "average_precision")
#: Metrics of the scores alone (Goix 2016).
UNSUPERVISED_METRICS = ("em", "mv")
#: The masses ``alpha`` of the mass-volume curve (Goix: 0.9 to 0.999).
ALPHA_RANGE = (0.9, 0.999)
#: The excess-mass curve is integrated while ``EM(t) > EM_MASS`` (Goix: 0.9).
EM_MASS = 0.9
_GRID = 1_000  # points of the trapezoid rules


def uniform_box_points(X: np.ndarray, n_points: int, seed: int) -> np.ndarray:
    """``n_points`` uniform points of the bounding box of ``X``'s rows (seeded)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    return np.random.default_rng(seed).uniform(lo, hi, size=(n_points, X.shape[1]))


def _level_sets(s_X: np.ndarray, s_unif: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mass and volume (fractions) of ``{s >= u}`` for each distinct held-out score ``u``,
    from the largest ``u`` (smallest set) to the smallest."""
    u = np.unique(s_X)[::-1]
    mass = np.searchsorted(np.sort(-s_X), -u, side="right") / len(s_X)
    volume = np.searchsorted(np.sort(-s_unif), -u, side="right") / len(s_unif)
    return mass, volume


def _unresolved(mass: float, n_points: int) -> ValueError:
    return ValueError(
        f"The Monte Carlo volume of a level set must be positive to score it, but the level set "
        f"holding {mass:.3g} of the held-out rows caught none of {n_points} uniform points of "
        "the bounding box (too many features for the volume estimate, or scores that separate "
        "the rows from the box); use a label column and `roc_auc`, or fewer features."
    )


def mass_volume(
    s_X: np.ndarray, s_unif: np.ndarray, alphas: tuple[float, float] = ALPHA_RANGE
) -> float:
    """Area under the mass-volume curve over ``alphas`` (volumes as box fractions); smaller
    is better. ``s_X``: scores of the held-out rows, ``s_unif``: of uniform box points."""
    s_X, s_unif = np.asarray(s_X, dtype=np.float64), np.asarray(s_unif, dtype=np.float64)
    n = len(s_X)
    if n == 0 or len(s_unif) == 0:
        raise ValueError("The mass-volume curve needs held-out rows and box points, but got none.")
    a = np.linspace(alphas[0], alphas[1], _GRID)
    top = np.sort(s_X)[::-1]
    # the smallest level set {s >= u} holding at least alpha of the rows: u = the
    # ceil(alpha n)-th largest score
    k = np.minimum(np.ceil(a * n - 1e-9).astype(np.intp), n)
    u = top[np.maximum(k, 1) - 1]
    vol = len(s_unif) - np.searchsorted(np.sort(s_unif), u, side="left")
    if vol[0] == 0:
        raise _unresolved(float(a[0]), len(s_unif))
    return float(np.trapezoid(vol / len(s_unif), a))


def excess_mass(s_X: np.ndarray, s_unif: np.ndarray, em_mass: float = EM_MASS) -> float:
    """Area under the excess-mass curve ``EM(t)`` for ``t`` in ``[0, t_end]``, ``t_end`` the
    first ``t`` where ``EM(t) <= em_mass`` (volumes as box fractions); larger is better."""
    s_X, s_unif = np.asarray(s_X, dtype=np.float64), np.asarray(s_unif, dtype=np.float64)
    if len(s_X) == 0 or len(s_unif) == 0:
        raise ValueError("The excess-mass curve needs held-out rows and box points, but got none.")
    mass, volume = _level_sets(s_X, s_unif)
    # the whole box: mass 1, volume 1 (EM(0) = 1)
    mass, volume = np.append(mass, 1.0), np.append(volume, 1.0)
    high = mass > em_mass
    if (volume[high] == 0).any():
        raise _unresolved(float(mass[high][volume[high] == 0].max()), len(s_unif))
    # EM(t) = max_i (mass_i - t volume_i) <= em_mass iff t >= (mass_i - em_mass) / volume_i
    t_end = float(((mass[high] - em_mass) / volume[high]).max())
    # only the upper-left frontier of (volume, mass) can reach the maximum
    order = np.lexsort((-mass, volume))
    m_sorted = mass[order]
    keep = order[m_sorted > np.concatenate([[-np.inf], np.maximum.accumulate(m_sorted)[:-1]])]
    t = np.linspace(0.0, t_end, _GRID)
    em = np.full(_GRID, -np.inf)
    for chunk in np.array_split(keep, max(1, len(keep) // 512)):
        em = np.maximum(em, (mass[chunk][:, None] - volume[chunk][:, None] * t).max(axis=0))
    return float(np.trapezoid(em, t))


def check_anomaly_labels(y: Any, metric: str, where: str = "the held-out sample") -> np.ndarray:
    """``y`` as 0/1 integers (1 = anomaly), refused unless every label is 0 or 1."""
    if y is None:
        raise ValueError(
            f"`metric={metric!r}` needs a label column (1 = anomaly, 0 = normal), but the "
            "source has no target; pass target=... or use `em` or `mv` (no labels needed)."
        )
    y = np.asarray(y)
    values = np.unique(y)
    ok = y.dtype.kind in "biuf" and np.isin(values, (0, 1)).all()
    if not ok:
        shown = values[:10].tolist()
        raise ValueError(
            f"`metric={metric!r}` needs a binary label column (1 = anomaly, 0 = normal), but "
            f"{where} holds the labels {shown}{' ...' if len(values) > 10 else ''}."
        )
    return y.astype(np.int64)


def anomaly_label_score(
    anomaly_score: np.ndarray, y: np.ndarray | None, w: np.ndarray | None, metric: str
) -> float:
    """``roc_auc`` or ``average_precision`` of ``anomaly_score`` (larger = more anomalous)
    against 0/1 labels (scikit-learn's metrics, weighted by ``w``)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = check_anomaly_labels(y, metric)
    if len(np.unique(labels)) != 2:
        raise ValueError(
            f"`metric={metric!r}` needs both anomalies (1) and normal rows (0) in the held-out "
            f"sample, but all {len(labels)} of its rows are labeled {int(labels[0])}."
        )
    fn = roc_auc_score if metric == "roc_auc" else average_precision_score
    return float(fn(labels, anomaly_score, sample_weight=w))
