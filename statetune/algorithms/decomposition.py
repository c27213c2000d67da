"""Principal component analysis finalized from ``Moments`` (eigendecomposition of ``X^T X``).

Equals ``sklearn.decomposition.PCA(svd_solver="full")`` fitted on all rows (components up to
rounding, same sign rule); transform, inverse_transform and score come from scikit-learn's
``PCA``. Like scikit-learn's, this PCA is scale-dependent by definition: it decomposes the RAW
covariance, so a feature in units a million times larger dominates the leading components;
standardize the features first if that is not what you want. (The decomposition itself keeps
the small eigenvalues to full relative accuracy, see :mod:`statetune.algorithms._eigen`.) Held-out metrics come from the held-out fold's moments: mean squared reconstruction
error per row, explained variance (share of held-out variance the components keep) and the
probabilistic-PCA log-likelihood that ``PCA.score`` reports.

Example
-------
>>> import numpy as np
>>> from statetune.states import FrequentDirections, Moments
>>> from statetune.algorithms.decomposition import PCA
>>> X = np.random.default_rng(0).normal(size=(100, 3)) * [3.0, 1.0, 0.1]
>>> s = Moments(3, has_target=False); s.update(X)
>>> PCA.from_state(s, n_components=1).explained_variance_ratio_.round(2)
array([0.91])
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn import decomposition

from statetune.algorithms._checks import check_bool, check_int_range
from statetune.algorithms._eigen import covariance_eigh
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._linear_metrics import unknown_metric
from statetune.algorithms._sketch import (
    SketchServed,
    check_sketch_components,
    set_pca_from_sketch,
    sketch_pca_held_out_score,
)
from statetune.algorithms.params import CategoricalParam, IntParam, Param
from statetune.algorithms.references import Reference, ScaledReference
from statetune.algorithms.references.scaled_regression import pca_reference, pca_view
from statetune.states import FrequentDirections, Moments

__all__ = ["PCA", "check_n_components"]

PCA_METRICS = ("reconstruction_error", "explained_variance", "log_likelihood")


def check_n_components(value: Any, state: Moments, *, limit_by_rows: bool = True) -> int:
    """``1 <= n_components <= min(n_features, n_rows)`` (or ``<= n_features`` when not
    ``limit_by_rows``); ``None`` means that upper bound."""
    high = min(state.n_features, state.n_rows) if limit_by_rows else state.n_features
    if value is None:
        return high
    name = "n_features" if state.n_features <= state.n_rows else "n_rows"
    return check_int_range("n_components", value, 1, high, high_name=name)


class PCA(SketchServed, StateEstimator, decomposition.PCA):
    """PCA from moments, or from a Frequent Directions sketch for wide data (state parameters
    ``sketch``/``ell``, :mod:`statetune.algorithms._sketch`). Also reads the features of a
    state built with a target.

    Scale-dependent by definition (as scikit-learn's): the components are those of the raw
    covariance, not of the correlations.
    """

    needs_target = False
    metrics = PCA_METRICS
    maximize: ClassVar[dict[str, bool]] = {
        "reconstruction_error": False,
        "explained_variance": True,
        "log_likelihood": True,
    }

    def __init__(self, n_components: int | None = None, whiten: bool = False) -> None:
        self.n_components = n_components
        self.whiten = whiten

    # scikit-learn's PCA methods read these.
    svd_solver = "full"
    copy = True

    reference = Reference(
        lambda params, state: decomposition.PCA(svd_solver="full", **params),
        compare=(
            "components_",
            "explained_variance_",
            "explained_variance_ratio_",
            "noise_variance_",
            "transform",
        ),
        scaled=ScaledReference(pca_reference, pca_view, options=({"n_components": None}, {})),
    )

    def _check_hyperparameters(self, state: Moments) -> None:
        if isinstance(state, FrequentDirections):
            check_sketch_components(self.n_components, state, by_rows=True)
            check_bool("whiten", self.whiten)
            return
        check_n_components(self.n_components, state)
        check_bool("whiten", self.whiten)

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        from sklearn.utils.validation import validate_data

        return validate_data(self, X, reset=reset, dtype=np.float64), None

    def fit(self, X: Any, y: Any = None) -> PCA:  # type: ignore[override]
        """Update a fresh state with all rows, then finalize (``y`` is ignored)."""
        return super().fit(X)

    def partial_fit(self, X: Any, y: Any = None) -> PCA:  # type: ignore[override]
        """Update the state with one more batch, then finalize (``y`` is ignored)."""
        return super().partial_fit(X)

    def _finalize(self, state: Moments) -> None:
        if isinstance(state, FrequentDirections):
            set_pca_from_sketch(self, state)
            return
        k = check_n_components(self.n_components, state)
        ev, comps, _ = covariance_eigh(state)
        d = state.n_features
        total = float(ev.sum())
        self.n_components_ = k
        self.components_ = comps[:k].copy()
        self.explained_variance_ = ev[:k].copy()
        self.explained_variance_ratio_ = ev[:k] / total if total > 0 else np.zeros(k)
        self.singular_values_ = np.sqrt(ev[:k] * max(state.weight_sum - 1.0, 0.0))
        self.mean_ = state.mean[:d].copy()
        self.n_samples_ = state.n_rows
        rank_limit = min(d, state.n_rows)
        self.noise_variance_ = float(ev[k:rank_limit].mean()) if k < rank_limit else 0.0
        self._fit_svd_solver = "full"

    @classmethod
    def search_space(cls, state: Moments) -> dict[str, Param]:
        high = min(state.n_features, max(state.n_rows, 1))
        if isinstance(state, FrequentDirections):
            high = max(min(high, state.ell - 1), 1)
        return {
            "n_components": IntParam(1, high),
            "whiten": CategoricalParam((False, True)),
        }

    def held_out_score(self, train: Moments, held: Moments, metric: str) -> float:
        if metric not in PCA_METRICS:
            raise unknown_metric("PCA", metric, PCA_METRICS)
        if isinstance(held, FrequentDirections):
            return sketch_pca_held_out_score(self, train, held, metric)
        d = held.n_features
        W = held.weight_sum
        if W <= 0:
            raise ValueError("`held-out weight > 0` must hold to score, but the fold is empty.")
        delta = train.mean_offset(held)[:d]
        S = held.comoment[:d, :d] + W * np.outer(delta, delta)  # scatter about the train mean
        if metric == "log_likelihood":
            prec = self.get_precision()
            _, logdet = np.linalg.slogdet(prec)
            quad = float(np.sum(prec * S)) / W
            return -0.5 * quad - 0.5 * (d * np.log(2.0 * np.pi) - logdet)
        P = self.components_
        kept = float(np.sum((P @ S) * P))
        sse = max(float(np.trace(S)) - kept, 0.0)
        if metric == "reconstruction_error":
            return sse / W
        total = float(np.trace(held.comoment[:d, :d]))
        return 1.0 - sse / total if total > 0 else 0.0

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
