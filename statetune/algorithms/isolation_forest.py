"""Isolation forest finalized from a :class:`~statetune.states.reservoir.Reservoir` sample.

An isolation forest is built from small subsamples by design (Liu, Ting and Zhou 2008;
scikit-learn draws ``min(256, n)`` rows per tree), so a uniform sample of the rows is all
it needs: the state is a mergeable, chunk-invariant ``Reservoir`` of ``size`` rows (a state
parameter; ``seed`` too), and finalize fits scikit-learn's ``IsolationForest`` on the
sample's rows in the order of their positions in the data, with their sample weights. The
model *is* a scikit-learn ``IsolationForest`` (``score_samples``, ``decision_function``,
``predict`` giving +1 normal / -1 anomaly, ``offset_``): with the same ``random_state`` it
equals ``sklearn.ensemble.IsolationForest`` fitted on those rows. When the sample holds
every row (``size >= n``) that is scikit-learn's forest of all rows.

Hyperparameters (scikit-learn's): ``n_estimators``, ``max_samples`` (rows per tree, at
most the rows in the sample; ``"auto"``: ``min(256, rows)``), ``max_features`` (a fraction
of the features per tree) and ``contamination`` (``"auto"`` or a fraction in (0, 0.5]: only
the threshold of ``predict``, so it is not searched: every metric ranks the scores). The
search space puts ``max_samples`` and ``max_features`` on grids (:data:`MAX_SAMPLES_GRID`,
:data:`MAX_FEATURES_GRID`) so that trials meet forests already grown; any value finalizes.

Trials reuse work (:mod:`statetune.algorithms._forest_cache`): with an integer
``random_state`` scikit-learn's forest is a prefix-extensible sequence of trees, so each
training state grows one forest per effective ``(max_samples, max_features, random_state)``
(``warm_start``, to the largest ``n_estimators`` asked) and a model of ``n`` trees takes its
first ``n`` trees: it equals ``IsolationForest(n_estimators=n)`` fitted on the sample rows.
Each held-out sample keeps the leaf of each of its rows in each tree traversed once, so a
trial scores by summing ``n`` cached path lengths per row: no fit, no traversal. A
``contamination`` other than ``"auto"`` scores the sample's rows the same way (the threshold
``offset_``), refitting nothing. Both caches have byte budgets per state
(:data:`~statetune.algorithms._forest_cache.FOREST_CACHE_BYTES`,
:data:`~statetune.algorithms._forest_cache.DEPTH_CACHE_BYTES`, 256 MiB each), evicting the
least recently used grid point first (an evicted forest grows again, the same trees).

Held-out metrics, all on the pass's held-out sample of rows (their first
:data:`ANOMALY_SAMPLE_ROWS`), scoring the anomaly score ``-score_samples``:

- with a label column (1 = anomaly, 0 = normal): ``roc_auc`` and ``average_precision``;
- without labels: ``em`` (excess mass, larger is better) and ``mv`` (mass volume, smaller is
  better), Goix (2016), with :data:`BOX_POINTS` uniform points of the held-out rows'
  bounding box (see :mod:`statetune.algorithms._anomaly_metrics`).

Example
-------
>>> import numpy as np
>>> from statetune.states import Reservoir
>>> from statetune.algorithms.isolation_forest import IsolationForest
>>> rng = np.random.default_rng(0)
>>> X = np.concatenate([rng.normal(size=(990, 2)), rng.uniform(6, 8, size=(10, 2))])
>>> s = Reservoir(2, has_target=False, size=500); s.update(X)
>>> model = IsolationForest.from_state(s, n_estimators=50)
>>> int((model.predict(X[990:]) == -1).sum())
10
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn import ensemble
from sklearn.ensemble._bagging import MAX_INT
from sklearn.ensemble._iforest import _average_path_length
from sklearn.utils import check_random_state

from statetune.algorithms._anomaly_metrics import (
    LABEL_METRICS,
    UNSUPERVISED_METRICS,
    anomaly_label_score,
    excess_mass,
    mass_volume,
    uniform_box_points,
)
from statetune.algorithms._checks import check_int_range
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._forest_cache import (
    DEPTH_CACHE_BYTES,
    FOREST_CACHE_BYTES,
    ByteLRU,
    grown_forest,
    summed_depths,
)
from statetune.algorithms.params import CategoricalParam, IntParam, Param
from statetune.algorithms.references import QualityBound
from statetune.states.reservoir import Reservoir

__all__ = [
    "ANOMALY_METRICS",
    "ANOMALY_SAMPLE_ROWS",
    "BOX_POINTS",
    "DEFAULT_SAMPLE_SIZE",
    "MAX_FEATURES_GRID",
    "MAX_SAMPLES_GRID",
    "IsolationForest",
    "mv_loss",
]

ANOMALY_METRICS = (*UNSUPERVISED_METRICS, *LABEL_METRICS)
#: Held-out sample rows scored per fold (the score costs rows x trees).
ANOMALY_SAMPLE_ROWS = 10_000
#: Uniform points of the bounding box for the volumes of ``em`` and ``mv``.
BOX_POINTS = 10_000
#: Rows the state keeps per fold by default (a state parameter, ``size``).
DEFAULT_SAMPLE_SIZE = 4_096
#: The search space's ``max_samples`` (at most half the sample's rows): a grid, so that
#: trials meet forests already grown (any integer finalizes).
MAX_SAMPLES_GRID = (16, 32, 64, 128, 256, 512, 1024, 2048)
#: The search space's ``max_features`` (idem; any fraction in (0, 1] finalizes).
MAX_FEATURES_GRID = (0.5, 0.75, 1.0)

# fitted attributes of scikit-learn's forest a finalized model takes: whole, or per tree
_FITTED = (
    "estimator_",
    "n_features_in_",
    "_n_samples",
    "_max_samples",
    "_max_features",
    "_sample_weight",
    "max_samples_",
)
_PER_TREE = (
    "estimators_",
    "estimators_features_",
    "_average_path_length_per_tree",
    "_decision_path_lengths",
)


def _forest_key(model: Any, state: Any) -> tuple[int, int, int] | None:
    """What the trees depend on besides the state's rows: scikit-learn's effective
    ``(max_samples, max_features, random_state)`` integers (None without an integer seed)."""
    seed = model.random_state
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        return None
    rows, d = len(state.w), state.n_features
    ms = model.max_samples
    max_samples = min(256, rows) if isinstance(ms, str) else int(ms)
    mf = model.max_features  # as BaseBagging reads it: an integer is a count of features
    max_features = max(1, int(mf if isinstance(mf, int | np.integer) else mf * d))
    return max_samples, max_features, int(seed)


def mv_loss(model: Any, X: Any, y: Any = None) -> float:
    """The mass-volume area of ``model``'s ``score_samples`` on the rows ``X`` (box of ``X``,
    seeded points): smaller is better (the quality bound's loss, labels not needed)."""
    X = np.asarray(X, dtype=np.float64)
    U = uniform_box_points(X, BOX_POINTS, seed=0)
    return mass_volume(model.score_samples(X), model.score_samples(U))


def _first_rows(sample: Any, n: int) -> np.ndarray:
    """Indices of the ``n`` sampled rows of smallest keys (a uniform sample of ``n`` rows,
    as a reservoir of size ``n`` would keep), in the order of their positions."""
    keys, pos = np.asarray(sample.keys), np.asarray(sample.positions)
    idx = np.arange(len(keys)) if len(keys) <= n else np.argpartition(keys, n - 1)[:n]
    return idx[np.argsort(pos[idx], kind="stable")]


def _reference(params: dict[str, Any], state: Any) -> Any:
    return ensemble.IsolationForest(
        n_estimators=params["n_estimators"],
        max_samples=params["max_samples"],
        max_features=params["max_features"],
        contamination=params["contamination"],
        random_state=params["random_state"],
    )


class IsolationForest(StateEstimator, ensemble.IsolationForest):
    """Isolation forest fitted on a per-fold uniform sample of the rows."""

    state_class = Reservoir
    state_kind = "reservoir"
    needs_target = False
    metrics = ANOMALY_METRICS
    maximize: ClassVar[dict[str, bool]] = {
        "em": True,
        "mv": False,
        "roc_auc": True,
        "average_precision": True,
    }
    sample_metrics = ANOMALY_METRICS
    #: Metrics that need the label column (1 = anomaly, 0 = normal).
    label_metrics = LABEL_METRICS

    reference = QualityBound(
        _reference,
        loss=mv_loss,
        max_ratio=1.05,
        scaled=(
            "an isolation forest splits each feature at uniform points between its sample "
            "minimum and maximum: no sums or linear systems whose digits scaled features lose"
        ),
        params=({"n_estimators": 50},),
    )
    expected_failed_checks: ClassVar[dict[str, str]] = {
        "check_sample_weight_equivalence_on_dense_data": (
            "scikit-learn's IsolationForest draws each tree's rows with probabilities "
            "proportional to the weights, so weights are not repeated rows (scikit-learn "
            "declares the same expected failure for its IsolationForest)"
        ),
    }

    # scikit-learn's IsolationForest methods read these.
    estimator = None
    estimator_params: tuple[str, ...] = ()
    bootstrap = False
    bootstrap_features = False
    oob_score = False
    n_jobs = None
    verbose = 0
    warm_start = False

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        max_samples: int | str = "auto",
        contamination: float | str = "auto",
        max_features: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.random_state = random_state

    @classmethod
    def make_state(
        cls,
        n_features: int,
        has_target: bool,
        size: int = DEFAULT_SAMPLE_SIZE,
        seed: int = 0,
    ) -> Any:
        """A uniform sample of ``size`` rows (any target the source has is not kept: the
        forest learns from the features; labels are read from the held-out sample)."""
        return Reservoir(n_features, has_target=False, size=size, seed=seed)

    def _check_hyperparameters(self, state: Reservoir) -> None:
        rows = len(state.w)
        check_int_range("n_estimators", self.n_estimators, 1, 100_000)
        if not (isinstance(self.max_samples, str) and self.max_samples == "auto"):
            if isinstance(self.max_samples, bool) or not isinstance(
                self.max_samples, int | np.integer
            ):
                raise ValueError(
                    f"`max_samples` must be 'auto' or an integer, but got {self.max_samples!r}."
                )
            if not 2 <= self.max_samples <= rows:
                raise ValueError(
                    f"`2 <= max_samples <= rows in the sample` must hold, but got "
                    f"max_samples={self.max_samples} and a sample of {rows} rows "
                    f"(size={state.size}, {state.n_rows} rows seen); raise the state parameter "
                    "`size` or lower `max_samples`."
                )
        c = self.contamination
        if not (isinstance(c, str) and c == "auto"):
            if isinstance(c, bool) or not isinstance(c, float | int) or not 0 < c <= 0.5:
                raise ValueError(
                    f"`contamination` must be 'auto' or in (0, 0.5], but got contamination={c!r}."
                )
        f = self.max_features
        if isinstance(f, bool) or not isinstance(f, float | int) or not 0 < f <= 1:
            raise ValueError(
                f"`max_features` must be a fraction of the features in (0, 1], but got "
                f"max_features={f!r}."
            )
        if rows < 2:
            raise ValueError(
                f"`rows in the sample >= 2` must hold to grow isolation trees, but got "
                f"n_samples = {rows} in the sample (from {state.n_rows} rows seen)."
            )

    def _finalize(self, state: Reservoir) -> None:
        def rows() -> tuple[np.ndarray, np.ndarray | None]:
            order = np.argsort(state.positions, kind="stable")  # rows in the data's order
            X, w = state.X[order], state.w[order]
            return X, None if np.all(w == 1.0) else w

        self.sample_rows_ = len(state.w)
        self._forest_key = _forest_key(self, state)
        if self._forest_key is None:  # no integer seed: a forest of its own
            X, w = rows()
            ensemble.IsolationForest.fit(self, X, sample_weight=w)
            return
        cache = state.derived(("isolation_forests",), lambda: ByteLRU(FOREST_CACHE_BYTES))
        n = int(self.n_estimators)
        forest = grown_forest(cache, self._forest_key, n, rows)
        for name in _FITTED:
            setattr(self, name, getattr(forest, name))
        for name in _PER_TREE:
            setattr(self, name, getattr(forest, name)[:n])
        self._seeds = check_random_state(self._forest_key[2]).randint(MAX_INT, size=n)
        if isinstance(self.contamination, str):  # "auto"
            self.offset_ = -0.5
        else:  # only the threshold moves: the sample's scores by these n trees, no refit
            X32 = state.derived(
                ("isolation_forest_sample_X32",), lambda: np.asarray(rows()[0], dtype=np.float32)
            )
            scores = self._cached_scores(state, state, "sample", X32)
            self.offset_ = np.percentile(scores, 100.0 * self.contamination)

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> IsolationForest:
        """Update a fresh sample with the rows, then finalize (``y`` is ignored)."""
        out: IsolationForest = super().fit(X, None, sample_weight)
        return out

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> IsolationForest:
        """Offer one more batch to the sample, then finalize (``y`` is ignored)."""
        out: IsolationForest = super().partial_fit(X, None, sample_weight)
        return out

    @classmethod
    def search_space(cls, state: Reservoir) -> dict[str, Param]:
        """``n_estimators`` 50..300; ``max_samples`` on :data:`MAX_SAMPLES_GRID` (powers of
        two, 16..2048, at most half the rows the sample holds, so a training fold's sample
        serves it) and ``max_features`` on :data:`MAX_FEATURES_GRID` (0.5, 0.75, 1): grids,
        so trials of one ``(max_samples, max_features)`` share one grown forest per fold."""
        rows = len(state.w) if state.n_rows else state.size
        high = max(2, min(MAX_SAMPLES_GRID[-1], rows // 2))
        grid = tuple(m for m in MAX_SAMPLES_GRID if m <= high) or (high,)
        return {
            "n_estimators": IntParam(50, 300),
            "max_samples": CategoricalParam(grid),
            "max_features": CategoricalParam(MAX_FEATURES_GRID),
        }

    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        raise ValueError(
            f"`{metric}` of an isolation forest is scored on the held-out sample of rows, "
            "not on a state."
        )

    def score_samples(self, X: Any) -> np.ndarray:
        """scikit-learn's ``score_samples`` (lower is more abnormal), refusing rows that are
        not finite (the sample the trees grew from holds finite rows only)."""
        from sklearn.utils import check_array

        check_array(X, ensure_all_finite=True, dtype="numeric", input_name="X")
        out: np.ndarray = super().score_samples(X)
        return out

    def anomaly_score(self, X: Any) -> np.ndarray:
        """``-score_samples(X)``: larger is more anomalous (Liu et al.'s score in (0, 1])."""
        return -np.asarray(self.score_samples(X))

    def _cached_scores(
        self, state: Any, holder: Any, rows_name: str, X32: np.ndarray
    ) -> np.ndarray:
        """``score_samples`` of the float32 rows ``X32`` held by ``holder`` (the model's
        training ``state`` or a held-out sample; ``rows_name`` names which of its row sets,
        the cached forest is ``state``'s), from the rows' leaves in each tree cached in
        ``holder`` (:func:`summed_depths`): the trees this model has beyond the cached ones
        are traversed once, then a model of ``n`` trees sums the first ``n`` trees' path
        lengths. Without a cached forest (no integer seed, or a model not finalized from a
        state) scikit-learn scores the rows."""
        key = getattr(self, "_forest_key", None)
        if key is None or state is None:
            out: np.ndarray = ensemble.IsolationForest._score_samples(self, X32)
            return np.asarray(out, dtype=np.float64)
        token = state.derived(("isolation_forest_token",), object)  # dropped when it changes
        cache = holder.derived(("isolation_forest_depths",), lambda: ByteLRU(DEPTH_CACHE_BYTES))
        depths = summed_depths(cache, (token, key, rows_name), self, X32)
        # scikit-learn's _compute_score_samples from the summed depths
        denominator = len(self.estimators_) * _average_path_length([self._max_samples])
        scores = 2 ** (
            -np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0)
        )
        return np.asarray(-scores, dtype=np.float64)

    def sample_score(self, train_sample: Any, sample: Any, metric: str) -> float:
        """``metric`` on :data:`ANOMALY_SAMPLE_ROWS` rows of the held-out sample (those of
        smallest keys: a uniform sample of it), scored from the path lengths cached per fold
        and forest (:meth:`_cached_scores`): no tree is traversed twice in a study."""
        if metric not in ANOMALY_METRICS:
            raise ValueError(
                f"`metric` must be one of {ANOMALY_METRICS} for IsolationForest, but got "
                f"{metric!r}."
            )
        rows = sample.derived(
            ("isolation_forest_rows", ANOMALY_SAMPLE_ROWS),
            lambda: _first_rows(sample, ANOMALY_SAMPLE_ROWS),
        )
        if len(rows) == 0:
            raise ValueError("The held-out sample must hold rows to score, but it is empty.")
        X32 = sample.derived(
            ("isolation_forest_X32", ANOMALY_SAMPLE_ROWS),
            lambda: np.asarray(np.asarray(sample.X)[rows], dtype=np.float32),
        )
        state = getattr(self, "state_", None)
        s_X = self._cached_scores(state, sample, "held_out", X32)
        if metric in LABEL_METRICS:
            y = None if sample.y is None else np.asarray(sample.y)[rows]
            w = np.asarray(sample.w)[rows]
            return anomaly_label_score(-s_X, y, None if np.all(w == 1.0) else w, metric)
        seed = int(getattr(sample, "seed", 0))
        U32 = sample.derived(
            ("isolation_forest_box", ANOMALY_SAMPLE_ROWS, BOX_POINTS, seed),
            lambda: np.asarray(
                uniform_box_points(np.asarray(sample.X)[rows], BOX_POINTS, seed), dtype=np.float32
            ),
        )
        s_unif = self._cached_scores(state, sample, "box", U32)
        return excess_mass(s_X, s_unif) if metric == "em" else mass_volume(s_X, s_unif)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False  # the sample keeps finite rows only
        return tags
