"""The scikit-learn surface shared by every finalized model.

A model class here is both things at once: what :func:`statetune.finalize` returns (fitted
attributes set from a state, no data touched) and a plain estimator whose ``fit`` is
update + finalize and whose ``partial_fit`` is update (then finalize, so the model is always
usable). Prediction and scoring come from the scikit-learn base classes.

Example
-------
>>> import numpy as np
>>> from statetune.algorithms import Ridge
>>> X = np.arange(20.0).reshape(10, 2); y = X @ [1.0, 2.0]
>>> Ridge(alpha=1e-9).fit(X, y).predict(X[:1]).round(6)
array([2.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from statetune.algorithms._checks import check_bool
from statetune.algorithms.params import CategoricalParam, IntParam, Param
from statetune.algorithms.references import NoReference, QualityBound, Reference
from statetune.data.columns import check_column_names
from statetune.data.encoding import TableEncoding
from statetune.data.schema import GeneratedNames, Schema
from statetune.states import Moments, TableMoments
from statetune.states.spec import StateSpec

__all__ = [
    "PREPROCESSING_PARAMS",
    "StateEstimator",
    "check_columns",
    "model_params",
    "refuse_encoded",
]

#: Hyperparameters of the preprocessing (of tables, ``takes_encoding`` models; and the
#: ``standardize`` step of the linear models), which the references without a preprocessing
#: step (a bare scikit-learn estimator) do not take.
PREPROCESSING_PARAMS = ("add_indicator", "min_frequency", "standardize")


def model_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without the preprocessing hyperparameters (for a bare reference estimator)."""
    return {k: v for k, v in params.items() if k not in PREPROCESSING_PARAMS}


def refuse_encoded(name: str, schema: Schema) -> None:
    """Raise, naming the columns, when ``schema``'s table needs preprocessing that the model
    ``name`` cannot take (it would otherwise see zeros for missing values, silently wrong)."""
    enc = schema.encoding
    if enc is None or not enc.needed:
        return
    cats = [c.name for c in enc.categorical]
    miss = [c.name for c in enc.numeric if c.missing]
    what = []
    if miss:
        what.append(f"missing values in {miss}")
    if cats:
        what.append(f"categorical columns {cats}")
    raise ValueError(
        f"{name!r} must get numeric columns without missing values, but the table has "
        f"{' and '.join(what)}; tune ols, ridge, lasso, elastic_net, pcr or knn (they impute and "
        "one-hot encode fold by fold), or impute and encode the table yourself."
    )


def check_columns(model: Any, X: Any) -> None:
    """Raise when a DataFrame ``X`` does not have the columns ``model`` was fitted on, in
    their order, naming the missing and extra ones."""
    names = getattr(model, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns"):
        return
    want = [str(c) for c in names]
    got = [str(c) for c in X.columns]
    check_column_names(want, got, "The columns of `X`", type(model).__name__, "`X`")


class StateEstimator:
    """Mixin: fit/partial_fit through a state (a :class:`~statetune.states.Moments` by default).

    Subclasses set ``state_class`` (and ``state_kind``), ``needs_target``, ``y_numeric``,
    ``metrics`` and implement ``_finalize(state)``, ``_check_hyperparameters(state)``,
    ``search_space(state)`` and ``held_out_score(train, held, metric)``; a state class whose
    constructor is not ``(n_features, has_target)`` overrides ``make_state``.

    Each model class also declares, in its own body, the independent ``reference`` it must
    match (:mod:`statetune.algorithms.references`); the contract suite
    (:mod:`statetune.testing`) fails a registered model without one.
    """

    state_class: ClassVar[type[Any]] = Moments
    state_kind: ClassVar[str] = "moments"
    needs_target: ClassVar[bool] = True
    #: False for classifiers: the target holds class labels.
    y_numeric: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = ()
    #: For each metric: True if larger is better.
    maximize: ClassVar[dict[str, bool]] = {}
    #: Metrics scored on a held-out sample of rows rather than on the held-out state.
    sample_metrics: ClassVar[tuple[str, ...]] = ()
    #: The data it learns from: plain rows (tables), series (values in time order), or both.
    for_rows: ClassVar[bool] = True
    for_series: ClassVar[bool] = False
    #: True when the features are event counts (the contract suite tests on count data).
    features_are_counts: ClassVar[bool] = False
    #: True when the model imputes and one-hot encodes a table fold by fold from a
    #: :class:`~statetune.states.TableMoments` state (hyperparameters ``add_indicator`` and
    #: ``min_frequency``; k-nearest neighbours from the ``TableMoments`` inside a table's
    #: ``KNNSample``); other models refuse tables with missing or categorical columns.
    takes_encoding: ClassVar[bool] = False
    #: The fitted preprocessing (a ``Design``) when finalized from a table's state, else None.
    preprocessing_: Any = None

    # -- what the contract suite (statetune.testing) checks the model against -------------
    #: The independent reference: a ``Reference`` (exact: the scikit-learn or statsmodels
    #: estimator it equals), a ``QualityBound`` (approximate state) or a ``NoReference``
    #: (why none exists), declared in each model class's own body. None here, so a new
    #: model without its own declaration fails the suite (an inherited one does not count).
    reference: ClassVar[Reference | QualityBound | NoReference | None] = None
    #: scikit-learn estimator checks this model is expected to fail: check name -> reason.
    expected_failed_checks: ClassVar[dict[str, str]] = {}
    #: Why scikit-learn's estimator checks cannot run on this model at all (None: they run).
    estimator_checks_exempt: ClassVar[str | None] = None

    # Provided by scikit-learn's BaseEstimator / set when fitted (declared for type checkers).
    get_params: Callable[..., dict[str, Any]]
    n_features_in_: int
    feature_names_in_: np.ndarray
    state_: Any
    _state_shared: bool

    # -- to be provided by the model class ---------------------------------------
    def _check_hyperparameters(self, state: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _finalize(self, state: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def search_space(cls, state: Any) -> dict[str, Param]:  # pragma: no cover - abstract
        raise NotImplementedError

    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    def _finalize_from(self, state: Any) -> None:
        """``_finalize``, after any step of the model's own between state and finalizer (the
        linear models' ``standardize``)."""
        self._finalize(state)

    # -- shared machinery ----------------------------------------------------------
    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags, with the truth about array inputs: states compute through
        numpy (float64), so the estimators do not support the array API (scikit-learn's
        array-API checks do not apply to them)."""
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.array_api_support = False
        return tags

    @classmethod
    def make_state(cls, n_features: int, has_target: bool) -> Any:
        """The empty state a pass fills for this model (shared by models of one state kind)."""
        return cls.state_class(n_features, has_target)

    @classmethod
    def state_spec(cls, schema: Schema, **state_params: Any) -> StateSpec:
        """The spec of the state this model finalizes from, for data of ``schema``
        (``state_params``: the model's own state parameters, such as a series' ``max_lag``)."""
        if schema.encoded:
            if not cls.takes_encoding:
                refuse_encoded(cls.__name__, schema)
            assert schema.encoding is not None
            made = TableMoments(schema.n_features, schema.has_target, schema.encoding.to_text())
            return StateSpec.for_state(made)
        made = cls.make_state(schema.n_features, schema.has_target, **state_params)
        return StateSpec.for_state(made)

    @classmethod
    def accepts(cls, spec: StateSpec) -> bool:
        """Whether a state of ``spec`` serves this model (its state class, any parameters)."""
        return issubclass(spec.state_class, cls.state_class)

    @classmethod
    def from_state(cls, state: Any, feature_names: Any = None, **params: Any) -> StateEstimator:
        """Finalize a model from a state without touching data (the state is not changed)."""
        model = cls(**params)
        model._fit_from(state, shared=True)
        if isinstance(state, TableMoments):
            enc = model.encoding_
            model.n_features_in_ = len(enc.names)
            model.feature_names_in_ = np.asarray(enc.names, dtype=object)
            return model
        model.n_features_in_ = state.n_features
        if feature_names is not None and not isinstance(feature_names, GeneratedNames):
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        return model

    def _takes(self, state: Any) -> bool:
        """Whether this model finalizes from ``state`` (its state class; mixins add kinds)."""
        return isinstance(state, self.state_class)

    def _fit_from(self, state: Any, shared: bool) -> None:
        if not self._takes(state):
            raise TypeError(
                f"`state` must be a {self.state_class.__name__} state for {type(self).__name__}, "
                f"but got {type(state).__name__}."
            )
        if self.needs_target and not getattr(state, "has_target", True):
            raise ValueError(
                f"{type(self).__name__} needs a target, but the state was built without one "
                "(pass target=... to the source)."
            )
        if state.n_rows == 0:
            raise ValueError(
                f"`n_rows >= 1` must hold to finalize {type(self).__name__}, but the state is empty."
            )
        if state.weight_sum <= 0.0:
            raise ValueError(
                f"`sum(sample_weight) > 0` must hold to finalize {type(self).__name__}, "
                f"but the sample weights of all {state.n_rows} rows are zero."
            )
        inner = state
        if isinstance(state, TableMoments):
            if not self.takes_encoding:
                raise ValueError(
                    f"{type(self).__name__} must get numeric columns without missing values, "
                    "but the state is a table's (categorical columns or missing values); tune "
                    "ols, ridge, lasso, elastic_net, pcr or knn on it."
                )
            add_indicator, min_frequency = self._preprocessing_params()
            self.preprocessing_ = state.design(add_indicator, min_frequency)
            self.encoding_ = state.derived(
                "table_encoding", lambda: TableEncoding.from_json(state.encoding)
            )
            inner = state.design_state(add_indicator, min_frequency)
        else:
            self.preprocessing_ = None
        self._check_hyperparameters(inner)
        self._finalize_from(inner)
        self.state_ = state
        self._state_shared = shared

    # -- preprocessing of tables (models with ``takes_encoding``) --------------------
    def _preprocessing_params(self) -> tuple[bool, int | None]:
        add_indicator = getattr(self, "add_indicator", False)
        min_frequency = getattr(self, "min_frequency", None)
        check_bool("add_indicator", add_indicator)
        if min_frequency is not None and (
            isinstance(min_frequency, bool)
            or not isinstance(min_frequency, int | np.integer)
            or min_frequency < 1
        ):
            raise ValueError(
                f"`min_frequency` must be None or an integer >= 1, but got {min_frequency!r}."
            )
        return bool(add_indicator), None if min_frequency is None else int(min_frequency)

    @staticmethod
    def preprocessing_space(state: Any) -> dict[str, Param]:
        """The preprocessing hyperparameters a table's state offers: ``add_indicator`` when
        a numeric column has missing values, ``min_frequency`` when a column is categorical."""
        if not isinstance(state, TableMoments):
            return {}
        out: dict[str, Param] = {}
        if any(state.layout.flagged):
            out["add_indicator"] = CategoricalParam((False, True))
        if state.layout.categorical:
            high = max(2, min(1000, int(state.weight_sum // 20)))
            out["min_frequency"] = IntParam(1, high, log=True)
        return out

    @staticmethod
    def bounds_state(state: Any) -> Any:
        """The state search-space bounds are read from: a table's narrowest design (no
        indicators, infrequent levels grouped), else ``state`` itself."""
        if not isinstance(state, TableMoments):
            return state
        space = StateEstimator.preprocessing_space(state)
        top = space.get("min_frequency")
        return state.design_state(False, None if top is None else int(top.high))  # type: ignore[union-attr]

    def _design_matrix(self, X: Any) -> np.ndarray:
        """The rows of ``X`` (a DataFrame or array of the table's columns) in the fitted
        design: the training rows' means, levels and groups (unseen levels: zeros)."""
        self._check_fitted()
        base = self.encoding_.encode(X, extended=True, where="`X`")
        return np.asarray(base @ self.preprocessing_.T)

    def _design_states(self, train: Any, held: Any) -> tuple[Any, Any]:
        """The training and held-out states in this model's fitted design."""
        if self.preprocessing_ is None:
            return train, held
        ai, mf = self._preprocessing_params()
        return train.design_state(ai, mf), self.preprocessing_.apply(held)

    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, Any]:
        if self.needs_target:
            return validate_data(
                self, X, y, reset=reset, y_numeric=self.y_numeric, dtype=np.float64
            )
        return validate_data(self, X, reset=reset, dtype=np.float64), None

    def _fit_state(self, n_features: int) -> Any:
        """The empty state ``fit`` and a first ``partial_fit`` fill (a model whose state
        holds a grid overrides it: the grid of this model's own hyperparameters)."""
        return self.make_state(n_features, self.needs_target)

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Update a fresh state with all rows, then finalize."""
        X, y = self._validate(X, y, reset=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        state = self._fit_state(X.shape[1])
        state.update(X, y, sample_weight)
        self._fit_from(state, shared=False)
        return self

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Update the state with one more batch, then finalize (cheap: no old rows reread)."""
        first = not hasattr(self, "state_")
        X, y = self._validate(X, y, reset=first)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if first:
            state = self._fit_state(X.shape[1])
        else:
            state = self.state_.copy() if self._state_shared else self.state_
        state.update(X, y, sample_weight)
        self._fit_from(state, shared=False)
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(self, "state_")
