"""k-nearest neighbours (``knn_classifier``, ``knn_regressor``) finalized from a
:class:`~statetune.states.KNNSample`: a mergeable sample of rows plus the exact feature moments.

Finalize takes the state's sample (at most ``size`` rows, :meth:`KNNSample.sample`) as the
training rows of scikit-learn's neighbour search (``NearestNeighbors``: the same tree or
brute-force search ``KNeighborsClassifier/Regressor`` build), for any ``n_neighbors <= k_max``:

- ``weights``: ``"uniform"`` or ``"distance"`` (``1 / d``; rows at distance 0 take all the
  weight, as scikit-learn); each neighbour's vote is also multiplied by its row's sample
  weight (all 1 without weights, where the model equals scikit-learn's on the same rows);
- ``p``: 1 (manhattan) or 2 (euclidean) Minkowski distance;
- ``standardize``: features scaled to ``(x - mean) / std`` by the exact weighted mean and
  (population) variance of every row of the state, not of the sample (per fold: the training
  folds' rows), as a ``StandardScaler`` fitted on all rows before the neighbours.

The search structure of each ``(standardize, p)`` is built once per state and shared by every
finalized model (``state.derived``), so a trial's finalize costs no search or tree build.

Tables (a source with categorical columns or missing values; the state's ``encoding``): the
sampled rows are the table's base design, and the preprocessing is fitted fold by fold from
the training rows' exact moments (:class:`~statetune.states.TableMoments`), as for the linear
models: mean imputation with the training rows' means, one-hot columns of the levels the
training rows hold (an unseen level encodes to zeros), levels rarer than ``min_frequency``
grouped, missing indicators with ``add_indicator``, then ``standardize`` with the training
rows' moments of that encoded design. With a sample holding every row this is scikit-learn's
``Pipeline([ColumnTransformer([SimpleImputer(strategy="mean", add_indicator=...),
OneHotEncoder(handle_unknown="ignore", min_frequency=...)]), StandardScaler(),
KNeighbors*()])`` fitted on the training folds; the held-out rows are mapped with the
training folds' preprocessing, never their own. The model applies it at predict to a
DataFrame of the table's columns (``preprocessing_``, ``encoding_``). Search structures and
memoized neighbours of a table are kept for a few designs at a time (an LRU per state), since
``min_frequency`` and ``add_indicator`` change the design from trial to trial.

Trials reuse work: on a held-out sample, the ``min(k_max, sample rows)`` nearest training
neighbours of every held-out row are searched once per fold and ``(standardize, p)`` and
memoized in the held-out sample (:func:`~statetune.algorithms._classifier.sample_memo`); each
trial takes the first ``n_neighbors`` columns, so it costs ``O(n_val * n_neighbors)``.

Metrics (all on the held-out sample of rows, weighted by its sample weights): the classifier's
``accuracy``, ``balanced_accuracy``, ``log_loss``, ``roc_auc``, ``roc_auc_ovr``; the
regressor's ``mse``, ``rmse``, ``r2``, ``mae``.

Example
-------
>>> import numpy as np
>>> from statetune.states import KNNSample
>>> from statetune.algorithms.knn import KNeighborsClassifier
>>> rng = np.random.default_rng(0); X = rng.normal(size=(400, 2)); y = (X[:, 0] > 0).astype(int)
>>> s = KNNSample(2, k_max=10, size=200); s.update(X, y)
>>> model = KNeighborsClassifier.from_state(s, n_neighbors=5, weights="distance")
>>> model.predict(np.array([[2.0, 0.0], [-2.0, 0.0]])).tolist()
[1, 0]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from statetune.algorithms._checks import check_bool, check_int_range
from statetune.algorithms._classifier import (
    CLASSIFIER_MAXIMIZE,
    SAMPLE_MEMO_BYTES,
    check_labels_among,
    sample_memo,
)
from statetune.algorithms._estimator import StateEstimator, check_columns
from statetune.algorithms._label_metrics import LABEL_METRICS, label_score
from statetune.algorithms._linear_metrics import check_r2_rows
from statetune.algorithms._standardize import standardized
from statetune.algorithms.params import CategoricalParam, IntParam, Param
from statetune.algorithms.references import QualityBound
from statetune.data.encoding import TableEncoding
from statetune.data.schema import Schema
from statetune.states.knn_sample import KNNSample
from statetune.states.spec import StateSpec

__all__ = [
    "KNN_CLASSIFIER_METRICS",
    "KNN_REGRESSION_METRICS",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "neighbor_weights",
    "regression_score",
]

KNN_CLASSIFIER_METRICS = LABEL_METRICS
KNN_REGRESSION_METRICS = ("mse", "rmse", "r2", "mae")
_WEIGHTS = ("uniform", "distance")
_P = (1, 2)
_SEARCH = ("auto", "ball_tree", "kd_tree", "brute")
#: Search structures of a table's designs kept per state (over its ``standardize``/``p``
#: choices too), and held-out neighbours kept per held-out sample and ``(standardize, p)``:
#: the least recently used go first (each holds the sample rows in the design, or
#: ``k_max`` neighbours of every held-out row).
TABLE_DESIGNS_KEPT = 8
TABLE_NEIGHBORS_KEPT = 2

_SCALED = (
    "k-nearest neighbours solve no linear system: distances are computed by scikit-learn's "
    "neighbour search on the sampled rows, standardized (when asked) by the exact shifted "
    "moments of the state; the quality bound against scikit-learn on all rows is what it "
    "declares"
)


def neighbor_weights(dist: np.ndarray, weights: str) -> np.ndarray:
    """Vote weights of neighbours at distances ``dist`` (rows x k), as scikit-learn's
    ``_get_weights``: ones, or ``1 / d`` with a row holding a zero distance giving weight 1 to
    its zero-distance neighbours and 0 to the others.

    Example
    -------
    >>> neighbor_weights(np.array([[0.0, 2.0], [1.0, 4.0]]), "distance").tolist()
    [[1.0, 0.0], [1.0, 0.25]]
    """
    if weights == "uniform":
        return np.ones_like(dist)
    with np.errstate(divide="ignore"):
        inv = 1.0 / dist
    inf_mask = np.isinf(inv)
    inf_row = np.any(inf_mask, axis=1)
    inv[inf_row] = inf_mask[inf_row]
    return inv


def _nudged(X: Any) -> np.ndarray:
    """The rows moved by +-5% of each column's spread (a fixed checkerboard of signs): the
    losses of the quality bound are taken there, since a model with distance weights
    predicts its own training rows exactly (a loss of 0 for both)."""
    X = np.asarray(X, dtype=np.float64)
    signs = np.where((np.arange(X.shape[0])[:, None] + np.arange(X.shape[1])) % 2, 1.0, -1.0)
    return X + 0.05 * X.std(axis=0) * signs


def _brier(model: Any, X: Any, y: Any) -> float:
    """Mean squared error of the class probabilities against the one-hot labels, at the
    nudged rows."""
    proba = model.predict_proba(_nudged(X))
    onehot = np.asarray(y)[:, None] == np.asarray(model.classes_)[None, :]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def _mse(model: Any, X: Any, y: Any) -> float:
    """Mean squared error at the nudged rows."""
    return float(np.mean((model.predict(_nudged(X)) - np.asarray(y, dtype=np.float64)) ** 2))


def _reference(kind: str) -> Any:
    def make(params: dict[str, Any], state: Any) -> Any:
        from sklearn import neighbors
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        cls = neighbors.KNeighborsClassifier if kind == "c" else neighbors.KNeighborsRegressor
        knn = cls(
            n_neighbors=params["n_neighbors"],
            weights=params["weights"],
            p=params["p"],
            algorithm=params["algorithm"],
            leaf_size=params["leaf_size"],
        )
        return make_pipeline(StandardScaler(), knn) if params["standardize"] else knn

    return make


#: scikit-learn's check that fails by design for both models.
_WEIGHTS_ARE_VOTES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a sample weight multiplies a neighbour's vote; a row repeated instead fills more "
        "of the k neighbour slots, so the two differ by design"
    ),
}


class _Recent:
    """A small thread-safe LRU of values built on demand (``get(key, build)``): the memo of
    a table's per-design search structures and neighbours, bounded so that tuning
    ``min_frequency`` over many values does not keep a copy of the sample per value."""

    def __init__(self, size: int = TABLE_DESIGNS_KEPT) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: threads may build twice; each gets a result
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class _KNeighbors(StateEstimator):
    """What the classifier and the regressor share: the state, checks, the search, scaling."""

    state_class = KNNSample
    state_kind = "knn_sample"
    takes_encoding = True

    _index: NearestNeighbors
    _sample_y: np.ndarray
    _sample_w: np.ndarray
    _unit_weights: bool
    #: A table's base design -> the fitted design (None for plain rows); the design's key.
    _base_map: sparse.csc_array | None
    _design_key: Any
    encoding_: TableEncoding

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        weights: str = "uniform",
        p: int = 2,
        standardize: bool = False,
        algorithm: str = "auto",
        leaf_size: int = 30,
        add_indicator: bool = False,
        min_frequency: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.p = p
        self.standardize = standardize
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.add_indicator = add_indicator
        self.min_frequency = min_frequency

    @classmethod
    def make_state(cls, n_features: int, has_target: bool, **state_params: Any) -> Any:
        """A :class:`KNNSample` (state parameters ``k_max``, ``size``, ``seed``,
        ``stratify``)."""
        return KNNSample(n_features, has_target, **state_params)

    @classmethod
    def state_spec(cls, schema: Schema, **state_params: Any) -> StateSpec:
        """A :class:`KNNSample` of the source's rows; of a table's base design (state
        parameter ``encoding``) when the table has categorical columns or missing values."""
        if not schema.encoded:
            return super().state_spec(schema, **state_params)
        assert schema.encoding is not None
        if "encoding" in state_params:
            raise ValueError(
                "`encoding` is not a state parameter to give: it is the table's, read from the "
                f"source, but got encoding={state_params['encoding']!r:.60}."
            )
        made = cls.make_state(
            schema.n_features,
            schema.has_target,
            encoding=schema.encoding.to_text(),
            **state_params,
        )
        return StateSpec.for_state(made)

    @classmethod
    def from_state(cls, state: Any, feature_names: Any = None, **params: Any) -> Any:
        """Finalize from ``state``; a table's model takes the table's columns (by name)."""
        model = super().from_state(state, feature_names, **params)
        if model.preprocessing_ is not None:
            names = model.encoding_.names
            model.n_features_in_ = len(names)
            model.feature_names_in_ = np.asarray(names, dtype=object)
        return model

    def _check_hyperparameters(self, state: KNNSample) -> None:
        check_int_range("n_neighbors", self.n_neighbors, 1, state.k_max, high_name="k_max")
        rows = len(state.sample()[2])
        if self.n_neighbors > rows:
            raise ValueError(
                f"`n_neighbors <= rows in the sample` must hold, but got "
                f"n_neighbors={self.n_neighbors} and a sample of {rows} rows with positive "
                f"weight (n_samples = {rows}; {state.n_rows} rows seen)."
            )
        if self.weights not in _WEIGHTS:
            raise ValueError(f"`weights` must be one of {_WEIGHTS}, but got {self.weights!r}.")
        if isinstance(self.p, bool) or self.p not in _P:
            raise ValueError(f"`p` must be one of {_P}, but got {self.p!r}.")
        check_bool("standardize", self.standardize)
        if self.algorithm not in _SEARCH:
            raise ValueError(f"`algorithm` must be one of {_SEARCH}, but got {self.algorithm!r}.")
        check_int_range("leaf_size", self.leaf_size, 1, 1_000_000)
        self._preprocessing_params()  # add_indicator, min_frequency (a table's only)

    def _finalize(self, state: KNNSample) -> None:
        table = state.table
        design_key: Any = None
        if table is None:
            self.preprocessing_ = None
            self._base_map = None
        else:
            ai, mf = self._preprocessing_params()
            design = table.design(ai, mf)
            self.preprocessing_ = design
            self.encoding_ = state.derived(
                "table_encoding", lambda: TableEncoding.from_json(state.encoding)
            )
            # base design -> this fold's design (imputed, encoded); T itself maps the
            # extended base (an indicator for every numeric column), what predict encodes.
            # Sparse (a few non-zeros per column): O(rows x non-zeros) per map, and each
            # design value is one product (x or the mean) plus zeros, so it is exact
            self._base_map = sparse.csc_array(design.T[design.base_rows])
            # the design is a function of (add_indicator, its columns) given the state:
            # values of min_frequency grouping the same levels share one search structure
            design_key = (ai, design.names)
        key = ("knn_index", bool(self.standardize), int(self.p), self.algorithm, self.leaf_size)

        def build() -> tuple[NearestNeighbors, np.ndarray | None, np.ndarray | None]:
            X, _, _ = state.sample()
            mean: np.ndarray | None = None
            scale: np.ndarray | None = None
            X = self._design_rows(X)
            if self.standardize:
                if table is None:
                    mean, scale = state.scaling()
                else:
                    # StandardScaler of the encoded design, from the training rows' moments
                    ai, mf = self._preprocessing_params()
                    scaling = standardized(table.design_state(ai, mf))[1]
                    mean, scale = scaling.mean, scaling.scale
                X = (X - mean) / scale
            index = NearestNeighbors(
                p=int(self.p), algorithm=self.algorithm, leaf_size=self.leaf_size
            )
            return index.fit(X), mean, scale

        if design_key is None:
            index, mean, scale = state.derived(key, build)
        else:
            index, mean, scale = state.derived("knn_table_indexes", _Recent).get(
                (*key, design_key), build
            )
        self._design_key = design_key
        _, y, w = state.sample()
        self._index = index
        self.mean_, self.scale_ = mean, scale
        self.n_samples_fit_ = len(w)
        self.effective_metric_ = "manhattan" if int(self.p) == 1 else "euclidean"
        self.effective_metric_params_: dict[str, Any] = {}
        self._sample_w = w
        self._unit_weights = bool(np.all(w == 1.0))
        self._set_target(state, y)

    def _design_rows(self, X: np.ndarray) -> np.ndarray:
        """Rows of a table's base design in this model's fitted design (others as they are)."""
        if self._base_map is None:
            return X
        return np.asarray(X @ self._base_map, dtype=np.float64)

    def _set_target(self, state: KNNSample, y: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the search ------------------------------------------------------------------------
    def _scaled(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            return X
        return (X - self.mean_) / self.scale_

    def _rows(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "state_")
        if self.preprocessing_ is not None:  # a table's columns, imputed and encoded
            return self._design_matrix(X)
        check_columns(self, X)
        out: np.ndarray = validate_data(self, X, reset=False, dtype=np.float64)
        return out

    def kneighbors(
        self, X: Any, n_neighbors: int | None = None, return_distance: bool = True
    ) -> Any:
        """The ``n_neighbors`` (default: the model's) nearest sampled rows of each row of
        ``X``: distances (in the standardized space when ``standardize``) and indices into
        the sample (scikit-learn's ``kneighbors``; ``X`` is required)."""
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        Xs = self._scaled(self._rows(X))
        return self._index.kneighbors(Xs, k, return_distance=return_distance)

    def _votes(self, dist: np.ndarray) -> np.ndarray:
        return neighbor_weights(dist, self.weights)

    def _neighbors(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        dist, ind = self.kneighbors(X)
        return np.asarray(dist), np.asarray(ind)

    def _memo_neighbors(self, held_sample: Any) -> tuple[np.ndarray, np.ndarray]:
        """The ``min(k_max, sample rows)`` nearest training neighbours of every held-out
        sample row, searched once per (training state, held-out sample, standardize, p; a
        table's design). A table's held-out rows (its base design) are imputed and encoded
        with the training rows' preprocessing."""
        state = self.state_
        k_all = min(state.k_max, self.n_samples_fit_)
        X = np.asarray(held_sample.X, dtype=np.float64)
        name = f"knn_neighbors:{bool(self.standardize)}:{int(self.p)}:{self.algorithm}"
        nbytes = len(X) * k_all * 16

        def search() -> tuple[np.ndarray, np.ndarray]:
            rows = self._design_rows(X)
            dist, ind = self._index.kneighbors(self._scaled(rows), k_all)
            return np.asarray(dist), np.asarray(ind)

        found: tuple[np.ndarray, np.ndarray]
        if self._design_key is None:
            found = sample_memo(held_sample, name, state, nbytes, search)
        elif nbytes > SAMPLE_MEMO_BYTES:
            found = search()
        else:
            token = state.derived(("sample_memo_token", name), object)
            recent = held_sample.derived(
                ("knn_table_neighbors", name), lambda: _Recent(TABLE_NEIGHBORS_KEPT)
            )
            # the token (identity-hashed) stands for this training state as it is now
            found = recent.get((token, self._design_key), search)
        k = self.n_neighbors
        return found[0][:, :k], found[1][:, :k]

    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        raise ValueError(
            f"{metric!r} of k-nearest neighbours needs predictions on held-out rows: it is "
            "scored on the held-out sample of rows, not on the held-out state."
        )

    @classmethod
    def search_space(cls, state: KNNSample) -> dict[str, Param]:
        rows = len(state.sample()[2]) if state.n_rows else state.k_max
        high = max(min(state.k_max, rows), 1)
        return {
            "n_neighbors": IntParam(1, high, log=high > 1),
            "weights": CategoricalParam(_WEIGHTS),
            "p": CategoricalParam(_P),
            "standardize": CategoricalParam((False, True)),
            **cls.preprocessing_space(getattr(state, "table", None)),
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class KNeighborsClassifier(_KNeighbors, ClassifierMixin, BaseEstimator):
    """k-nearest neighbours classification from a sample, for any ``n_neighbors <= k_max``
    (scikit-learn's ``KNeighborsClassifier`` on the sampled rows; module docstring)."""

    y_numeric = False
    metrics = KNN_CLASSIFIER_METRICS
    sample_metrics = KNN_CLASSIFIER_METRICS
    maximize: ClassVar[dict[str, bool]] = {m: CLASSIFIER_MAXIMIZE[m] for m in LABEL_METRICS}
    outputs_2d_ = False

    reference = QualityBound(
        _reference("c"),
        loss=_brier,
        max_ratio=1.05,
        scaled=_SCALED,
        params=({"n_neighbors": 5}, {"n_neighbors": 7, "weights": "distance", "standardize": True}),
    )
    expected_failed_checks: ClassVar[dict[str, str]] = _WEIGHTS_ARE_VOTES

    classes_: np.ndarray

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64)
        check_classification_targets(y)
        return X, y

    def _set_target(self, state: KNNSample, y: Any) -> None:
        y = np.asarray(y)
        if y.dtype.kind == "f":  # the sample is shared with knn_regressor: numbers kept
            frac = np.flatnonzero(y != np.round(y))
            if frac.size:
                raise ValueError(
                    f"Class labels must be discrete, but the sampled target holds {y[frac[0]]} "
                    f"({len(np.unique(y))} distinct values in {len(y)} sampled rows: a "
                    "continuous target); tune knn_regressor instead."
                )
        self.classes_, codes = np.unique(y, return_inverse=True)
        self._sample_y = codes.reshape(-1)

    def _proba(self, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
        """Class probabilities from neighbours (scikit-learn's summation order)."""
        weights = self._votes(dist)
        if not self._unit_weights:
            weights = weights * self._sample_w[ind]
        n, n_classes = len(ind), len(self.classes_)
        # one bincount over (row, class) cells: each cell adds its neighbours' weights in
        # neighbour order from 0.0, as scikit-learn's loop over the neighbour columns does
        cells = self._sample_y[ind] + (np.arange(n) * n_classes)[:, np.newaxis]
        votes = np.bincount(cells.ravel(), weights.ravel(), n * n_classes)
        proba: np.ndarray = np.asarray(votes, dtype=np.float64).reshape(n, n_classes)
        proba /= proba.sum(axis=1)[:, np.newaxis]
        return proba

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted share of each class among the ``n_neighbors`` nearest sampled rows."""
        return self._proba(*self._neighbors(X))

    def predict(self, X: Any) -> np.ndarray:
        """The class of largest weighted vote (ties: the first class, as scikit-learn)."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[proba.argmax(axis=1)])

    def partial_fit(  # type: ignore[override]
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> Any:
        """Update the sample with one more batch, then finalize; ``classes`` (optional) lists
        the labels allowed, as in scikit-learn."""
        check_labels_among(y, classes)
        return super().partial_fit(X, y, sample_weight)

    def sample_score(self, train_sample: Any, held_sample: Any, metric: str) -> float:
        """``metric`` on the held-out sample, from the memoized neighbours (module docstring)."""
        if metric not in KNN_CLASSIFIER_METRICS:
            raise ValueError(
                f"`metric` must be one of {KNN_CLASSIFIER_METRICS} for k-nearest neighbours "
                f"classification, but got {metric!r}."
            )
        y = held_sample.y
        if y is None or len(y) == 0:
            raise ValueError("The held-out sample must hold rows to score, but it is empty.")
        memo: dict[str, np.ndarray] = {}

        def proba() -> np.ndarray:
            if "p" not in memo:
                memo["p"] = self._proba(*self._memo_neighbors(held_sample))
            return memo["p"]

        return label_score(
            metric,
            y,
            held_sample.w,
            self.classes_,
            lambda: np.asarray(self.classes_[proba().argmax(axis=1)]),
            proba,
            type(self).__name__,
        )


class KNeighborsRegressor(_KNeighbors, RegressorMixin, BaseEstimator):
    """k-nearest neighbours regression from a sample, for any ``n_neighbors <= k_max``
    (scikit-learn's ``KNeighborsRegressor`` on the sampled rows; module docstring)."""

    metrics = KNN_REGRESSION_METRICS
    sample_metrics = KNN_REGRESSION_METRICS
    maximize: ClassVar[dict[str, bool]] = {"mse": False, "rmse": False, "r2": True, "mae": False}

    reference = QualityBound(
        _reference("r"),
        loss=_mse,
        max_ratio=1.05,
        scaled=_SCALED,
        params=({"n_neighbors": 5}, {"n_neighbors": 7, "weights": "distance", "standardize": True}),
    )
    expected_failed_checks: ClassVar[dict[str, str]] = _WEIGHTS_ARE_VOTES

    def _set_target(self, state: KNNSample, y: Any) -> None:
        self._sample_y = np.asarray(y, dtype=np.float64)

    def _predict_from(self, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
        yk = self._sample_y[ind]
        if self.weights == "uniform" and self._unit_weights:
            return np.asarray(np.mean(yk, axis=1))
        weights = self._votes(dist)
        if not self._unit_weights:
            weights = weights * self._sample_w[ind]
        return np.asarray(np.sum(yk * weights, axis=1) / np.sum(weights, axis=1))

    def predict(self, X: Any) -> np.ndarray:
        """The (weighted) mean target of the ``n_neighbors`` nearest sampled rows."""
        return self._predict_from(*self._neighbors(X))

    def sample_score(self, train_sample: Any, held_sample: Any, metric: str) -> float:
        """``metric`` on the held-out sample, from the memoized neighbours (module docstring)."""
        if metric not in KNN_REGRESSION_METRICS:
            raise ValueError(
                f"`metric` must be one of {KNN_REGRESSION_METRICS} for k-nearest neighbours "
                f"regression, but got {metric!r}."
            )
        y = held_sample.y
        if y is None or len(y) == 0:
            raise ValueError("The held-out sample must hold rows to score, but it is empty.")
        y = np.asarray(y, dtype=np.float64)
        w = np.asarray(held_sample.w, dtype=np.float64)
        if not w.sum() > 0:
            raise ValueError("`held-out weight > 0` must hold to score, but it is zero.")
        err = y - self._predict_from(*self._memo_neighbors(held_sample))
        return regression_score(metric, y, err, w)


def regression_score(metric: str, y: np.ndarray, err: np.ndarray, w: np.ndarray) -> float:
    """``mse``, ``rmse``, ``mae`` or ``r2`` of residuals ``err`` of targets ``y``, weighted
    (as scikit-learn's ``mean_squared_error``, ``mean_absolute_error``, ``r2_score`` with
    ``sample_weight``)."""
    if metric == "mae":
        return float(np.average(np.abs(err), weights=w))
    mse = float(np.average(err * err, weights=w))
    if metric == "mse":
        return mse
    if metric == "rmse":
        return float(np.sqrt(mse))
    check_r2_rows(len(y))
    mean = np.average(y, weights=w)
    sst = float(np.average((y - mean) ** 2, weights=w))
    return 1.0 - mse / sst if sst > 0 else (1.0 if mse == 0 else 0.0)
