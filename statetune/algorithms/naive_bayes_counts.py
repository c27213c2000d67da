"""Count-based naive Bayes (multinomial, complement, Bernoulli) finalized from ``ClassCounts``.

Each model sets exactly the fitted attributes scikit-learn's estimator sets (``classes_``,
``class_count_``, ``feature_count_``, ``class_log_prior_``, ``feature_log_prob_``,
``n_features_in_``, and ``feature_all_`` for complement NB) from the state's per-class sums, so
``predict``, ``predict_proba`` and ``score`` are scikit-learn's own and equal the estimator
fitted on all rows. Only scalar ``alpha`` is supported.

Held-out metric ``"log_likelihood"``: the mean over held-out rows (weighted) of the joint
``log P(c) + log P(x | c)`` that ``predict_joint_log_proba`` gives, computed exactly from the
held-out fold's counts (it is linear in the per-class sums). Complement NB has no generative
likelihood (its weights describe each class's *complement*), so it raises for that metric.

Example
-------
>>> import numpy as np
>>> from sklearn import naive_bayes
>>> from statetune.states.class_counts import ClassCounts
>>> from statetune.algorithms.naive_bayes_counts import MultinomialNB
>>> rng = np.random.default_rng(0)
>>> X, y = rng.poisson(2.0, size=(60, 4)), np.repeat(["a", "b", "c"], 20)
>>> s = ClassCounts(4); s.update(X, y)
>>> ours, ref = MultinomialNB.from_state(s), naive_bayes.MultinomialNB().fit(X, y)
>>> bool(np.allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-12, atol=0))
True
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn import naive_bayes
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from statetune.algorithms._checks import check_bool, check_in_range
from statetune.algorithms._classifier import CLASSIFIER_MAXIMIZE, SAMPLE_METRICS
from statetune.algorithms._estimator import StateEstimator
from statetune.algorithms._label_metrics import UnseenClassError
from statetune.algorithms._linear_metrics import unknown_metric
from statetune.algorithms.algorithm import Algorithm
from statetune.algorithms.params import CategoricalParam, FloatParam, Param
from statetune.algorithms.references import Reference
from statetune.states.class_counts import ClassCounts, align_classes

__all__ = ["ALGORITHMS", "BernoulliNB", "ComplementNB", "MultinomialNB"]

#: scikit-learn's floor for ``alpha`` when ``force_alpha=False``.
ALPHA_FLOOR = 1e-10
#: ``|sum(class_prior) - 1|`` allowed.
PRIOR_SUM_TOL = 1e-6


def _dot_where_positive(counts: np.ndarray, logp: np.ndarray) -> float:
    """``sum(counts * logp)`` over positive counts (``0 * log 0`` counts as 0, as in the limit)."""
    m = counts > 0
    return float(np.dot(counts[m], logp[m]))


_NOT_SCALED = "counts: the features are event counts (no scale to choose) and nothing is solved"
_COUNT_ATTRS = ("class_count_", "feature_count_", "class_log_prior_", "feature_log_prob_")


class _CountNB(StateEstimator):
    """What the three count-based naive Bayes models share."""

    state_class: ClassVar[type[Any]] = ClassCounts
    state_kind: ClassVar[str] = "class_counts"
    y_numeric: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = ("log_likelihood", *SAMPLE_METRICS)
    maximize: ClassVar[dict[str, bool]] = CLASSIFIER_MAXIMIZE
    sample_metrics: ClassVar[tuple[str, ...]] = SAMPLE_METRICS
    features_are_counts: ClassVar[bool] = True

    alpha: Any
    fit_prior: Any
    class_prior: Any
    force_alpha: Any
    classes_: np.ndarray
    class_count_: np.ndarray
    feature_count_: np.ndarray
    class_log_prior_: np.ndarray
    feature_log_prob_: np.ndarray

    def __init__(
        self,
        alpha: float = 1.0,
        fit_prior: bool = True,
        class_prior: Any = None,
        force_alpha: bool = True,
    ) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.force_alpha = force_alpha

    # -- fitting through the state ---------------------------------------------------
    def _validate(self, X: Any, y: Any, reset: bool) -> tuple[Any, Any]:
        X, y = validate_data(self, X, y, reset=reset, accept_sparse="csr", dtype=np.float64)
        check_classification_targets(y)
        return X, y

    def partial_fit(  # type: ignore[override]
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> Any:
        """Update the state with one more batch, then finalize.

        ``classes`` (optional, unlike scikit-learn's) makes labels known before rows of them
        arrive; the labels of ``y`` must then be among them.
        """
        first = not hasattr(self, "state_")
        X, y = self._validate(X, y, reset=first)
        if classes is not None:
            allowed, seen = np.unique(np.asarray(classes)), np.unique(np.asarray(y))
            unknown = seen[align_classes(allowed, seen) < 0]
            if unknown.size:
                raise ValueError(
                    f"`y` labels must be among `classes` ({allowed.tolist()}), but got "
                    f"{unknown.tolist()}."
                )
        if first:
            state = self.make_state(X.shape[1], True)
        else:
            state = self.state_.copy() if self._state_shared else self.state_
        state.update(X, y, sample_weight)
        if classes is not None:
            state.add_classes(classes)
        self._fit_from(state, shared=False)
        return self

    # -- hyperparameters ----------------------------------------------------------------
    def _check_hyperparameters(self, state: ClassCounts) -> None:
        check_in_range("alpha", self.alpha, 0.0)
        check_bool("fit_prior", self.fit_prior)
        check_bool("force_alpha", self.force_alpha)
        if state.n_classes < 2:
            raise ValueError(
                f"`n_classes >= 2` must hold for {type(self).__name__} (naive Bayes needs at "
                f"least 2 classes), but the state holds one class: {state.classes.tolist()[0]!r}."
            )
        self._class_prior(state.n_classes)

    def _class_prior(self, n_classes: int) -> np.ndarray | None:
        if self.class_prior is None:
            return None
        try:
            p = np.asarray(self.class_prior, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"`class_prior` must be None or {n_classes} numbers, but got {self.class_prior!r}."
            ) from None
        if p.ndim != 1 or p.shape[0] != n_classes:
            raise ValueError(
                f"`len(class_prior) == n_classes` must hold, but got len(class_prior)={p.size}, "
                f"n_classes={n_classes}."
            )
        if not (np.isfinite(p).all() and (p >= 0).all()):
            raise ValueError(
                f"`class_prior >= 0` must hold (finite probabilities), but got {p.tolist()}."
            )
        if abs(p.sum() - 1.0) > PRIOR_SUM_TOL:
            raise ValueError(
                f"`sum(class_prior) == 1` must hold, but got sum(class_prior)={p.sum():.10g}."
            )
        return p

    def _alpha(self) -> float:
        alpha = float(self.alpha)
        if alpha < ALPHA_FLOOR and not self.force_alpha:
            warnings.warn(
                "alpha too small will result in numeric errors, setting alpha ="
                f" {ALPHA_FLOOR:.1e}. Use `force_alpha=True` to keep alpha unchanged.",
                UserWarning,
                stacklevel=3,
            )
            return ALPHA_FLOOR
        return alpha

    # -- finalize -----------------------------------------------------------------------
    def _set_counts(self, state: ClassCounts, feature_count: np.ndarray) -> None:
        """``classes_``, ``class_count_``, ``feature_count_``, ``class_log_prior_``."""
        n = state.n_classes
        self.classes_ = np.array(state.classes)
        self.class_count_ = np.array(state.class_count)
        self.feature_count_ = np.array(feature_count)
        self.n_features_in_ = state.n_features
        prior = self._class_prior(n)
        with np.errstate(divide="ignore"):  # a zero prior or class count: log 0 = -inf
            if prior is not None:
                self.class_log_prior_ = np.log(prior)
            elif self.fit_prior:
                self.class_log_prior_ = np.log(self.class_count_) - np.log(self.class_count_.sum())
            else:
                self.class_log_prior_ = np.full(n, -np.log(n))

    @classmethod
    def search_space(cls, state: ClassCounts) -> dict[str, Param]:
        return {
            "alpha": FloatParam(1e-3, 10.0, log=True),
            "fit_prior": CategoricalParam((True, False)),
        }

    # -- held-out score -----------------------------------------------------------------
    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        """Mean held-out joint log-likelihood ``log P(c) + log P(x | c)``, from ``held``."""
        if metric != "log_likelihood":
            raise unknown_metric(type(self).__name__, metric, ("log_likelihood",))
        self._check_fitted()
        if not isinstance(held, ClassCounts):
            raise TypeError(f"`held` must be a ClassCounts state, but got {type(held).__name__}.")
        W = held.weight_sum
        if held.n_rows == 0 or W <= 0:
            raise ValueError("`held-out weight > 0` must hold to score, but the fold is empty.")
        present = np.flatnonzero(held.class_count > 0)
        rows = align_classes(self.classes_, np.asarray(held.classes)[present])
        if (rows < 0).any():
            label = np.asarray(held.classes)[present][rows < 0].tolist()[0]
            raise UnseenClassError(
                "Held-out classes must have been seen in training, but class "
                f"{label!r} was not (its likelihood under the model is 0)."
            )
        return self._held_out_total(held, present, rows) / W

    def _held_out_total(self, held: ClassCounts, present: np.ndarray, rows: np.ndarray) -> float:
        raise NotImplementedError  # pragma: no cover - each model overrides


class MultinomialNB(_CountNB, naive_bayes.MultinomialNB):
    """Multinomial naive Bayes from class counts; equals ``sklearn.naive_bayes.MultinomialNB``.

    ``P(x | c)`` omits the multinomial coefficient (it does not depend on the model), as
    scikit-learn's ``predict_joint_log_proba`` does; so does the held-out log-likelihood.
    """

    reference = Reference(
        lambda params, state: naive_bayes.MultinomialNB(**params),
        compare=(*_COUNT_ATTRS, "predict_proba"),
        scaled=_NOT_SCALED,
    )

    def _finalize(self, state: ClassCounts) -> None:
        self._set_counts(state, state.feature_count)
        alpha = self._alpha()
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = smoothed_fc.sum(axis=1)
        with np.errstate(divide="ignore"):  # alpha = 0 and an unseen feature: log 0 = -inf
            self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _held_out_total(self, held: ClassCounts, present: np.ndarray, rows: np.ndarray) -> float:
        # sum_c [ W_c log P(c) + sum_j F_cj log p_cj ] with the held-out sums W_c, F_cj
        return _dot_where_positive(
            held.class_count[present], self.class_log_prior_[rows]
        ) + _dot_where_positive(held.feature_count[present], self.feature_log_prob_[rows])


class ComplementNB(_CountNB, naive_bayes.ComplementNB):
    """Complement naive Bayes from class counts; equals ``sklearn.naive_bayes.ComplementNB``.

    There is no held-out state metric: complement NB is not a generative model of ``(x, c)``
    (``feature_log_prob_`` holds weights of each class's complement), so ``held_out_score``
    raises for ``"log_likelihood"``; its metrics come from the held-out sample of rows.
    """

    metrics: ClassVar[tuple[str, ...]] = SAMPLE_METRICS

    reference = Reference(
        lambda params, state: naive_bayes.ComplementNB(**params),
        compare=(*_COUNT_ATTRS, "feature_all_", "predict_proba"),
        scaled=_NOT_SCALED,
    )

    def __init__(
        self,
        alpha: float = 1.0,
        fit_prior: bool = True,
        class_prior: Any = None,
        norm: bool = False,
        force_alpha: bool = True,
    ) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.norm = norm
        self.force_alpha = force_alpha

    def _check_hyperparameters(self, state: ClassCounts) -> None:
        super()._check_hyperparameters(state)
        check_bool("norm", self.norm)

    def _finalize(self, state: ClassCounts) -> None:
        self._set_counts(state, state.feature_count)
        alpha = self._alpha()
        self.feature_all_ = self.feature_count_.sum(axis=0)
        comp_count = self.feature_all_ + alpha - self.feature_count_
        with np.errstate(divide="ignore"):  # alpha = 0 and a feature only one class has
            logged = np.log(comp_count / comp_count.sum(axis=1, keepdims=True))
        # scikit-learn predicts with argmax, complement NB with argmin: hence the sign
        if self.norm:
            self.feature_log_prob_ = logged / logged.sum(axis=1, keepdims=True)
        else:
            self.feature_log_prob_ = -logged

    @classmethod
    def search_space(cls, state: ClassCounts) -> dict[str, Param]:
        return {**super().search_space(state), "norm": CategoricalParam((False, True))}

    def held_out_score(self, train: Any, held: Any, metric: str) -> float:
        if metric == "log_likelihood":
            raise ValueError(
                "`metric` must be one ComplementNB can compute from a held-out state, but "
                "complement naive Bayes has no generative likelihood (its weights describe each "
                "class's complement), so 'log_likelihood' is undefined; score it on held-out rows."
            )
        raise unknown_metric("ComplementNB", metric, self.metrics)


class BernoulliNB(_CountNB, naive_bayes.BernoulliNB):
    """Bernoulli naive Bayes from class counts; equals ``sklearn.naive_bayes.BernoulliNB()``.

    ``binarize`` is fixed at 0.0 (a feature is "present" when ``x > 0``): the state's document
    frequencies count ``x > 0``, so it is a class attribute here, not a hyperparameter.
    """

    #: Fixed: ``ClassCounts.doc_freq`` counts ``x > 0`` (read by scikit-learn's ``predict``).
    binarize = 0.0

    reference = Reference(
        lambda params, state: naive_bayes.BernoulliNB(binarize=0.0, **params),
        compare=(*_COUNT_ATTRS, "predict_proba"),
        scaled=_NOT_SCALED,
    )

    def _finalize(self, state: ClassCounts) -> None:
        self._set_counts(state, state.doc_freq)
        alpha = self._alpha()
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = self.class_count_ + alpha * 2
        with np.errstate(divide="ignore", invalid="ignore"):  # alpha = 0: log 0, 0/0
            self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _held_out_total(self, held: ClassCounts, present: np.ndarray, rows: np.ndarray) -> float:
        # sum_c [ W_c log P(c) + sum_j D_cj log p_cj + (W_c - D_cj) log(1 - p_cj) ]
        flp = self.feature_log_prob_[rows]
        with np.errstate(divide="ignore"):
            neg = np.log(1 - np.exp(flp))  # scikit-learn's formula, for identical rounding
        w_c = held.class_count[present]
        d_c = held.doc_freq[present]
        absent = np.maximum(w_c[:, None] - d_c, 0.0)
        return (
            _dot_where_positive(w_c, self.class_log_prior_[rows])
            + _dot_where_positive(d_c, flp)
            + _dot_where_positive(absent, neg)
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # scikit-learn's BernoulliNB binarizes negative values away; ClassCounts refuses them
        # (the state is shared with multinomial and complement NB, which need counts >= 0).
        tags.input_tags.positive_only = True
        return tags


ALGORITHMS = [
    Algorithm(
        "multinomial_nb", MultinomialNB, "classification", "multinomial naive Bayes (counts)"
    ),
    Algorithm(
        "complement_nb",
        ComplementNB,
        "classification",
        "complement naive Bayes (counts; no held-out state metric)",
    ),
    Algorithm(
        "bernoulli_nb",
        BernoulliNB,
        "classification",
        "Bernoulli naive Bayes (presence x > 0)",
    ),
]
