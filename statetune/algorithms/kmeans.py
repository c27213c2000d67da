"""k-means finalized from a :class:`~statetune.states.kmeans_coreset.KMeansCoreset`.

Finalize runs scikit-learn's ``KMeans`` (weighted k-means++ seeding, then Lloyd) on the
coreset's at most ``size`` weighted points, with OpenMP limited to one thread: on a few
thousand points threads cost more than they save (measured on 3,443 points, k = 5..20:
2-5 ms per ``n_init`` on one thread, 50-400 ms with two busy threads). The model is a
scikit-learn ``KMeans``: ``cluster_centers_``, ``predict`` (labels of new rows),
``transform`` (distances to the centers), ``score`` (minus the inertia of the rows given).

``inertia_`` is **an estimate from the coreset**: the weighted cost of the coreset points,
which stands for the sum of squared distances of all rows the state saw to their nearest
center (``inertia_is_coreset_estimate_`` says so). It is **biased low**: Lloyd fits the
centers to those very points (on 40,000 rows of 20-dimensional noise, k = 20: 5.5% below the
cost of all rows at the default coreset size, 15% below at 800 points). An honest estimate
is :func:`statetune.validation.elbow.held_out_inertia` (held-out folds' costs under centers
trained without them; within 1% there). ``labels_`` exists only after ``fit(X)``
(the labels of ``X``); a model finalized from a state labels rows through ``predict``.

Held-out metrics:

- ``inertia``: the held-out fold's coreset (its own, weighted) scored with the trained
  centers, per unit of weight: the mean squared distance of a held-out row to its nearest
  center. It always falls as ``n_clusters`` grows, so it chooses ``n_init``/``init`` for a
  given k rather than k itself.
- ``silhouette``: scikit-learn's ``silhouette_score`` of the held-out sample's first
  :data:`SILHOUETTE_ROWS` rows labeled by ``predict`` (rows unweighted: the sample is
  uniform over rows; sample weights are not used by the silhouette). It peaks at a good k.
  Where it is undefined (the sample falls into one cluster: ``n_clusters=1``, or rows that
  are all alike) it raises :class:`SilhouetteUndefined`, which fails the trial with that
  reason.

Example
-------
>>> import numpy as np
>>> from statetune.states import KMeansCoreset
>>> from statetune.algorithms.kmeans import KMeans
>>> rng = np.random.default_rng(0)
>>> X = np.concatenate([rng.normal(size=(500, 2)), rng.normal(size=(50, 2)) + 10.0])
>>> s = KMeansCoreset(2, k_max=5); s.update(X)
>>> model = KMeans.from_state(s, n_clusters=2)
>>> sorted(np.bincount(model.predict(X)).tolist())
[50, 500]
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn import cluster

from statetune.algorithms._checks import check_int_range
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms.params import CategoricalParam, IntParam, Param
from statetune.algorithms.references import QualityBound
from statetune.states.kmeans_coreset import KMeansCoreset

__all__ = ["KMEANS_METRICS", "SILHOUETTE_ROWS", "KMeans", "SilhouetteUndefined", "kmeans_cost"]

KMEANS_METRICS = ("inertia", "silhouette")
#: Held-out sample rows the silhouette reads (its cost grows with the square of the rows).
SILHOUETTE_ROWS = 2_000
_INITS = ("k-means++", "random")


class SilhouetteUndefined(ValueError):
    """The held-out sample falls into fewer than two clusters (or every row is its own
    cluster): scikit-learn's silhouette is not defined there. A ``ValueError``, so the tuner
    fails the trial with this reason (its ``fail_reason``) and the elbow shows NaN."""


def kmeans_cost(centers: np.ndarray, X: np.ndarray, w: np.ndarray | None = None) -> float:
    """Sum of (weighted) squared distances of rows of ``X`` to their nearest center."""
    X = np.asarray(X, dtype=np.float64)
    shift = X.mean(axis=0) if len(X) else 0.0
    Xc, C = X - shift, np.asarray(centers, dtype=np.float64) - shift
    d2 = (
        np.einsum("ij,ij->i", Xc, Xc)[:, None]
        - 2.0 * (Xc @ C.T)
        + np.einsum("ij,ij->i", C, C)[None, :]
    )
    best = np.maximum(d2.min(axis=1), 0.0)
    return float(best.sum() if w is None else np.asarray(w) @ best)


def _full_data_cost(model: Any, X: Any, y: Any) -> float:
    return kmeans_cost(model.cluster_centers_, X)


def _threadpool() -> Any:
    from threadpoolctl import ThreadpoolController

    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


_CONTROLLER: Any = None


class _OneThreadKMeans(cluster.KMeans):
    """scikit-learn's KMeans, fitted with one OpenMP thread (the reference of the contract
    suite: on a few thousand rows of a shared machine, its threads stall rather than help)."""

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        with _threadpool().limit(limits=1, user_api="openmp"):
            return super().fit(X, y, sample_weight)


class KMeans(StateEstimator, cluster.KMeans):
    """k-means from a coreset, for any ``n_clusters <= k_max`` of the state."""

    state_class = KMeansCoreset
    state_kind = "kmeans_coreset"
    needs_target = False
    metrics = KMEANS_METRICS
    maximize: ClassVar[dict[str, bool]] = {"inertia": False, "silhouette": True}
    sample_metrics = ("silhouette",)

    reference = QualityBound(
        lambda params, state: _OneThreadKMeans(
            n_clusters=params["n_clusters"], n_init=10, random_state=0
        ),
        loss=_full_data_cost,
        max_ratio=1.05,
        scaled=(
            "k-means solves no linear system whose digits scaled features could lose: distances "
            "are computed on rows centered at their weighted mean, and the quality bound "
            "against scikit-learn on all rows is what it declares"
        ),
        params=({"n_clusters": 3, "n_init": 3},),
    )
    expected_failed_checks: ClassVar[dict[str, str]] = {
        "check_sample_weight_equivalence_on_dense_data": (
            "the check shuffles the weighted rows against the repeated ones, so seeded k-means++ "
            "draws other first centers: another numbering of the clusters or another local "
            "optimum (scikit-learn's BisectingKMeans declares the same failure)"
        ),
    }

    # scikit-learn's KMeans methods read these.
    verbose = 0
    copy_x = True
    algorithm = "lloyd"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | None = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    @classmethod
    def make_state(cls, n_features: int, has_target: bool, **state_params: Any) -> Any:
        """A coreset (any target the source has is ignored)."""
        return KMeansCoreset(n_features, **state_params)

    def _check_hyperparameters(self, state: KMeansCoreset) -> None:
        check_int_range("n_clusters", self.n_clusters, 1, state.k_max, high_name="k_max")
        points = len(state.coreset()[1])
        if self.n_clusters > points:
            raise ValueError(
                f"`n_clusters <= points in the state` must hold, but got "
                f"n_clusters={self.n_clusters} and a state of {points} points "
                f"({state.n_rows} rows seen)."
            )
        if self.init not in _INITS:
            raise ValueError(f"`init` must be one of {_INITS}, but got {self.init!r}.")
        check_int_range("n_init", self.n_init, 1, 1_000)
        check_int_range("max_iter", self.max_iter, 1, 1_000_000)

    def _finalize(self, state: KMeansCoreset) -> None:
        P, w = state.coreset()
        with _threadpool().limit(limits=1, user_api="openmp"):
            cluster.KMeans.fit(self, P, sample_weight=w)
        # labels_ of the coreset's points label no row of the data: predict labels rows.
        del self.labels_
        self.inertia_is_coreset_estimate_ = True
        self.coreset_size_ = len(w)

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Update a fresh coreset with all rows, finalize, and label ``X`` (``labels_``)."""
        super().fit(X, None, sample_weight)
        self.labels_ = self.predict(X)
        return self

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Update the coreset with one more batch, then finalize (``y`` is ignored)."""
        return super().partial_fit(X, None, sample_weight)

    def _check_test_data(self, X: Any) -> np.ndarray:
        """Rows as float64 (the centers are float64, whatever the rows' dtype)."""
        out: np.ndarray = super()._check_test_data(X).astype(np.float64, copy=False)
        return out

    @classmethod
    def search_space(cls, state: KMeansCoreset) -> dict[str, Param]:
        points = max(len(state.coreset()[1]), 1) if state.n_rows else state.k_max
        high = max(min(state.k_max, points), 1)
        return {
            "n_clusters": IntParam(min(2, high), high),
            "init": CategoricalParam(_INITS),
            "n_init": IntParam(1, 3),
        }

    def held_out_score(self, train: KMeansCoreset, held: KMeansCoreset, metric: str) -> float:
        if metric not in KMEANS_METRICS:
            raise ValueError(
                f"`metric` must be one of {KMEANS_METRICS} for KMeans, but got {metric!r}."
            )
        if metric == "silhouette":
            raise ValueError(
                "`silhouette` is scored on the held-out sample of rows, not on a coreset."
            )
        if held.weight_sum <= 0:
            raise ValueError("`held-out weight > 0` must hold to score, but the fold is empty.")
        P, w = held.coreset()
        return kmeans_cost(self.cluster_centers_, P, w) / held.weight_sum

    def sample_score(self, train_sample: Any, sample: Any, metric: str) -> float:
        """``silhouette`` of the held-out sample's first :data:`SILHOUETTE_ROWS` rows."""
        from sklearn.metrics import silhouette_score

        if metric != "silhouette":
            raise ValueError(f"`metric` must be 'silhouette' on a sample, but got {metric!r}.")
        X = np.asarray(sample.X)[:SILHOUETTE_ROWS]
        if len(X) == 0:
            raise ValueError("The held-out sample must hold rows to score, but it is empty.")
        C = self.cluster_centers_  # as predict, without its feature-name check on bare rows
        labels = np.argmin((C * C).sum(axis=1) - 2.0 * (X @ C.T), axis=1)
        found = len(np.unique(labels))
        if not 2 <= found <= len(X) - 1:
            raise SilhouetteUndefined(
                f"The silhouette is undefined: it needs `2 <= clusters found <= rows - 1` in the "
                f"held-out sample, but got {found} clusters found on {len(X)} rows "
                f"(n_clusters={self.n_clusters}); the trial fails with this reason."
            )
        return float(silhouette_score(X, labels))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
