"""Linear and quadratic discriminant analysis finalized from ``ClassMoments``.

Equal to scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr" | "eigen", shrinkage=s)`` and
``QuadraticDiscriminantAnalysis(reg_param=r)`` fitted on all rows (``predict_proba`` to 1e-8
relative): class means, priors and the (shrunk) class covariances all come from the class
moments; prediction is scikit-learn's.

Features on very different scales (1e-3 .. 1e12) keep full accuracy: the ``lsqr`` solve and the
Gaussians' precision matrices are Jacobi-scaled (:mod:`statetune.algorithms._scaled_solve`), the
``eigen`` solver decomposes the pencil scaled by ``D^-1 . D^-1`` and maps the eigenvectors back
(``w = D^-1 w'``: the same eigenvalues, and ``w^T S_w w = I`` still holds; computed when
``scalings_`` or ``transform`` is first used, since predictions need only ``S_w^-1``, which
the Cholesky factor of the same scaled ``S_w`` gives: a trial pays no eigendecomposition), its
between-class scatter is formed from the class mean offsets instead of as the difference of two
large matrices, and QDA's rotations are eigenvectors of each class covariance computed to high
relative accuracy (:mod:`statetune.algorithms._graded_eigh`; an ``eigh`` of the covariance
squares the condition number of the rows, which scikit-learn's SVD of the rows does not). The
semantics stay scikit-learn's: ``shrinkage``, ``reg_param`` and ``tol`` act in raw units.

Example
-------
>>> from sklearn.datasets import load_iris
>>> from statetune.states import ClassMoments
>>> from statetune.algorithms.discriminant import LinearDiscriminantAnalysis
>>> X, y = load_iris(return_X_y=True); s = ClassMoments(4); s.update(X, y)
>>> round(LinearDiscriminantAnalysis.from_state(s).score(X, y), 2)
0.98
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from scipy.linalg import lapack
from scipy.special import expit
from sklearn import discriminant_analysis as skda

from statetune.algorithms._checks import check_in_range
from statetune.algorithms._classifier import (
    ClassMomentsEstimator,
    check_priors,
    linear_sample_decision,
    linear_sample_predict,
    normalized_log_proba,
    sample_memo,
    softmax,
)
from statetune.algorithms._graded_eigh import graded_eigh
from statetune.algorithms._scaled_solve import psd_solve, scaled_inverse_logdet
from statetune.algorithms.params import CategoricalParam, FloatParam, Param
from statetune.algorithms.references import Reference, ScaledReference
from statetune.algorithms.references.scaled_classifiers import (
    lda_reference,
    lda_view,
    qda_reference,
    qda_view,
)
from statetune.states import ClassMoments

__all__ = [
    "LinearDiscriminantAnalysis",
    "QuadraticDiscriminantAnalysis",
    "between_class_scatter",
    "shrunk_class_cov",
]


def _empirical(m: Any) -> np.ndarray:
    """Biased (``/W``) covariance of one class's moments."""
    return np.asarray(m.comoment) / m.weight_sum


def _shrunk(cov: np.ndarray, shrinkage: float | None) -> np.ndarray:
    """scikit-learn's ``shrunk_covariance``: ``(1 - s) C + s tr(C)/d I``."""
    if not shrinkage:
        return cov
    d = cov.shape[0]
    mu = np.trace(cov) / d
    out = (1.0 - shrinkage) * cov
    out.flat[:: d + 1] += shrinkage * mu
    return out


def shrunk_class_cov(
    state: ClassMoments, priors: np.ndarray, shrinkage: float | None
) -> np.ndarray:
    """Prior-weighted sum of the (shrunk) class covariances, as ``_class_cov``:
    ``(1 - s) sum_c p_c C_c + s (sum_c p_c tr(C_c) / d) I``. The pooled covariance and its mean
    variance depend on the state and the priors only, so they are memoized in the state
    (``state.derived``): trials that vary ``shrinkage`` pay one scaled copy."""
    pooled, mean_var = state.derived(
        ("lda_pooled_class_cov", np.asarray(priors, dtype=np.float64).tobytes()),
        lambda: _pooled_class_cov(state, priors),
    )
    if not shrinkage:
        return np.array(pooled)
    out = (1.0 - shrinkage) * pooled
    out.flat[:: state.n_features + 1] += shrinkage * mean_var
    return np.asarray(out)


def _pooled_class_cov(state: ClassMoments, priors: np.ndarray) -> tuple[np.ndarray, float]:
    """``sum_c p_c C_c`` (biased class covariances) and ``sum_c p_c tr(C_c) / d``."""
    cov = np.zeros((state.n_features, state.n_features))
    mean_var = 0.0
    for p, m in zip(priors, state.per_class, strict=True):
        c = _empirical(m)
        cov += p * c
        mean_var += float(p * np.trace(c) / state.n_features)
    return cov, mean_var


def _class_eigh(m: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, >= 0) and vectors of a class's empirical covariance, kept to
    the rank its rows allow (the SVD of the rows has ``min(n_rows, d)`` values)."""
    lam, V, _ = graded_eigh(_empirical(m))
    rank_limit = min(m.n_rows, d)
    return lam[:rank_limit], V[:, :rank_limit]


def between_class_scatter(
    state: ClassMoments, priors: np.ndarray, shrinkage: float | None
) -> np.ndarray:
    """scikit-learn's ``S_b = S_t - S_w`` (total minus within, both shrunk), formed without the
    subtraction: with class weights ``w_c`` and mean offsets ``delta_c = mu_c - mu``,
    ``S_t - sum_c p_c C_c = sum_c (w_c - p_c) C_c + sum_c w_c delta_c delta_c^T``, and shrinking
    both adds ``s tr(.)/d I`` of that difference."""
    total = state.total()
    W = total.weight_sum
    B = np.zeros((state.n_features, state.n_features))
    for p, m in zip(priors, state.per_class, strict=True):
        if m.weight_sum <= 0:  # a class without weight has no covariance (nor, then, a prior)
            continue
        w = m.weight_sum / W
        delta = total.mean_offset(m)
        B += (w - p) * _empirical(m) + w * np.outer(delta, delta)
    return _shrunk(B, shrinkage)


#: Fitted attributes of the eigen solver computed on first use (see ``LinearDiscriminantAnalysis``).
_EIGEN_ATTRS = ("scalings_", "explained_variance_ratio_", "xbar_")


def _scaled_cholesky_solve(cov: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``cov^-1 rhs`` through the Cholesky factor of ``cov`` scaled by ``D^-1 . D^-1``
    (``D = sqrt(diag(cov))``): the factorization ``eigh(S_b', S_w')`` starts with, so it fails
    exactly when the eigen solver would, with the same ``LinAlgError``."""
    D = np.sqrt(np.diagonal(cov))
    L, info = lapack.dpotrf(cov / np.outer(D, D), lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError(
            "The within-class covariance must be positive definite for the 'eigen' solver, but "
            f"its scaled Cholesky factorization failed at column {info - 1}; use shrinkage > 0 "
            "or the 'lsqr' solver."
        )
    x, info = lapack.dpotrs(L, rhs / D[:, None], lower=1)
    if info != 0:  # pragma: no cover - invalid arguments only
        raise np.linalg.LinAlgError(f"dpotrs failed with info={info}")
    return np.asarray(x / D[:, None])


class _Discriminant(ClassMomentsEstimator):
    """What LDA and QDA share: priors, classes and means; no sample weights in ``fit``."""

    priors: Any

    def _set_priors_and_means(self, state: ClassMoments) -> None:
        counts = state.class_weights()
        priors = check_priors(self.priors, len(state.classes))
        self.priors_ = counts / counts.sum() if priors is None else priors
        self.classes_ = state.classes.copy()
        self.means_ = state.class_means()

    def fit(self, X: Any, y: Any = None) -> Any:  # type: ignore[override]
        """Update a fresh state with all rows, then finalize (no sample weights, as scikit-learn)."""
        return super().fit(X, y)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> Any:  # type: ignore[override]
        return super().partial_fit(X, y, classes)


class LinearDiscriminantAnalysis(_Discriminant, skda.LinearDiscriminantAnalysis):
    """LDA from class moments (solvers ``"eigen"``, the default here since it also transforms, and
    ``"lsqr"``; ``shrinkage`` in [0, 1]).

    Ledoit-Wolf ``shrinkage="auto"`` needs fourth moments, which the state does not keep.
    """

    covariance_estimator, tol, store_covariance = None, 1e-4, False

    reference = Reference(
        lambda params, state: skda.LinearDiscriminantAnalysis(**params),
        compare=("predict_proba", "means_", "priors_"),
        scaled=ScaledReference(
            lda_reference,
            lda_view,
            options=(
                {"solver": "lsqr", "shrinkage": None},
                {"solver": "eigen", "shrinkage": None},
                {"solver": "lsqr"},
                {"solver": "eigen"},
            ),
        ),
    )

    def __init__(
        self,
        solver: str = "eigen",
        shrinkage: float | None = None,
        priors: Any = None,
        n_components: int | None = None,
    ) -> None:
        self.solver = solver
        self.shrinkage = shrinkage
        self.priors = priors
        self.n_components = n_components

    def _check_hyperparameters(self, state: ClassMoments) -> None:
        self._check_classes(state, "LinearDiscriminantAnalysis")
        if self.solver not in ("lsqr", "eigen"):
            raise ValueError(
                f"`solver` must be 'lsqr' or 'eigen' (the 'svd' solver needs the rows), "
                f"but got {self.solver!r}."
            )
        if self.shrinkage is not None:
            check_in_range("shrinkage", self.shrinkage, 0.0, 1.0)
        check_priors(self.priors, len(state.classes))
        if state.n_rows <= len(state.classes):
            raise ValueError(
                f"`n_rows > n_classes` must hold for LDA, but got n_rows={state.n_rows}, "
                f"n_classes={len(state.classes)}."
            )

    def _finalize(self, state: ClassMoments) -> None:
        self._set_priors_and_means(state)
        shrink = None if self.shrinkage is None else float(self.shrinkage)
        self.covariance_ = shrunk_class_cov(state, self.priors_, shrink)
        n_classes, d = len(self.classes_), state.n_features
        self._max_components = (
            min(n_classes - 1, d) if self.n_components is None else self.n_components
        )
        self._eigen_memo: dict[str, Any] = {}
        if self.solver == "eigen":
            D = np.sqrt(np.diagonal(self.covariance_))
            if not np.all(D > 0):
                raise np.linalg.LinAlgError(
                    "The within-class covariance must be positive definite for the 'eigen' "
                    f"solver, but feature(s) {np.flatnonzero(~(D > 0)).tolist()} have zero "
                    "within-class variance; use shrinkage > 0 or the 'lsqr' solver."
                )
            self._eigen_memo["pending"] = (state, shrink, D)
        self._set_coef(state)
        self._n_features_out = self._max_components

    def __getattr__(self, name: str) -> Any:
        """The eigen solver's ``scalings_``, ``explained_variance_ratio_`` and ``xbar_``,
        computed on first use (``transform``, or reading them) and memoized in ``_eigen_memo``:
        predictions need only ``Sigma^-1``, which a Cholesky factor gives, so tuning never pays
        the generalized eigendecomposition. The memo is a cache of values fixed at finalize:
        what a user reads does not depend on when it was computed."""
        memo = self.__dict__.get("_eigen_memo")
        if name in _EIGEN_ATTRS and memo is not None and "pending" in memo:
            if name not in memo:
                memo.update(self._decompose(*memo["pending"]))
            return memo[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _decompose(self, state: ClassMoments, shrink: float | None, D: np.ndarray) -> dict:
        """The eigen solver's decomposition of the pencil ``(S_b, S_w)`` scaled by
        ``D^-1 . D^-1`` (eigenvectors mapped back: ``w = D^-1 w'``)."""
        Sb = between_class_scatter(state, self.priors_, shrink)
        evals, evecs = linalg.eigh(Sb / np.outer(D, D), self.covariance_ / np.outer(D, D))
        evecs = evecs / D[:, None]
        return {
            "explained_variance_ratio_": np.sort(evals / np.sum(evals))[::-1][
                : self._max_components
            ],
            "scalings_": evecs[:, np.argsort(evals)[::-1]],
            "xbar_": state.total().mean,
        }

    def _set_coef(self, state: ClassMoments) -> None:
        """scikit-learn's ``coef_ = means_ Sigma^-1`` and ``intercept_ = -1/2 mu_c Sigma^-1 mu_c
        + log prior``, from ``mu_c = xbar + delta_c`` with the offsets ``delta_c`` taken from
        the moments: the class contrasts (all that predictions use) then carry no rounding of
        the large common part ``Sigma^-1 xbar`` when the features have large offsets; two
        classes get the contrast itself."""
        total = state.total()
        xbar = total.mean
        deltas = np.array([total.mean_offset(m) for m in state.per_class])
        rhs = np.column_stack([xbar, deltas.T])
        if self.solver == "lsqr":
            G = psd_solve(self.covariance_, rhs)
        else:  # the eigen solver's W W^T = Sigma^-1, through the same scaled Cholesky factor
            G = _scaled_cholesky_solve(self.covariance_, rhs)
        g, S = G[:, 0], G[:, 1:].T  # Sigma^-1 xbar; Sigma^-1 delta_c per class
        quad = 2.0 * deltas @ g + np.einsum("ij,ij->i", deltas, S)  # mu Sigma^-1 mu - xbar part
        log_priors = np.log(self.priors_)
        if len(self.classes_) == 2:
            self.coef_ = (S[1] - S[0]).reshape(1, -1)
            self.intercept_ = np.atleast_1d(
                -0.5 * (quad[1] - quad[0]) + log_priors[1] - log_priors[0]
            )
        else:
            self.coef_ = g + S
            self.intercept_ = -0.5 * (float(xbar @ g) + quad) + log_priors

    def _sample_predict(self, held_sample: Any) -> np.ndarray:
        return linear_sample_predict(self, held_sample.X)

    def _sample_proba(self, held_sample: Any) -> np.ndarray:
        """scikit-learn's ``predict_proba`` on the sample's rows (no validation): the logistic
        of the decision value for two classes, else its softmax."""
        scores = linear_sample_decision(self, held_sample.X)
        if scores.shape[1] == 1:
            p = expit(scores[:, 0])
            return np.column_stack([1 - p, p])
        return softmax(scores)

    def _class_gaussians(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        scaled = scaled_inverse_logdet(self.covariance_)
        if scaled is None:  # not numerically positive definite: as before, unscaled
            prec = np.linalg.inv(self.covariance_)
            logdet = float(np.linalg.slogdet(self.covariance_)[1])
        else:
            prec, logdet = scaled
        return [(mu, prec, logdet) for mu in self.means_]

    def _log_priors(self) -> np.ndarray:
        return np.log(self.priors_)

    @classmethod
    def search_space(cls, state: ClassMoments) -> dict[str, Param]:
        return {"shrinkage": FloatParam(0.0, 1.0)}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class QuadraticDiscriminantAnalysis(_Discriminant, skda.QuadraticDiscriminantAnalysis):
    """QDA from class moments (scikit-learn's ``svd`` solver semantics: ``reg_param``)."""

    solver, shrinkage, covariance_estimator = "svd", None, None

    reference = Reference(
        lambda params, state: skda.QuadraticDiscriminantAnalysis(**params),
        compare=("predict_proba", "means_", "priors_"),
        scaled=ScaledReference(
            qda_reference,
            qda_view,
            options=({"reg_param": 0.0}, {"reg_param": 0.0, "tol": 0.0}, {}),
        ),
    )

    def __init__(
        self,
        reg_param: float = 0.0,
        priors: Any = None,
        store_covariance: bool = False,
        tol: float = 1e-4,
    ) -> None:
        self.reg_param = reg_param
        self.priors = priors
        self.store_covariance = store_covariance
        self.tol = tol

    def _check_hyperparameters(self, state: ClassMoments) -> None:
        self._check_classes(state, "QuadraticDiscriminantAnalysis")
        check_in_range("reg_param", self.reg_param, 0.0, 1.0)
        check_in_range("tol", self.tol, 0.0)
        check_priors(self.priors, len(state.classes))
        for c, m in zip(state.classes.tolist(), state.per_class, strict=True):
            if m.n_rows < 2:
                raise ValueError(
                    f"Every class needs at least 2 rows for its covariance, but class {c!r} has "
                    f"{m.n_rows}."
                )

    def _finalize(self, state: ClassMoments) -> None:
        self._set_priors_and_means(state)
        reg = float(self.reg_param)
        d = state.n_features
        scalings, rotations = [], []
        eigen = state.derived("qda_eigh", lambda: [_class_eigh(m, d) for m in state.per_class])
        for c, m, (lam, V) in zip(self.classes_.tolist(), state.per_class, eigen, strict=True):
            V = V.copy()  # the model owns its rotations; the memo stays intact
            scaling = (1.0 - reg) * lam + reg
            if np.sum(scaling > self.tol) < d:
                need = max(self.tol * 1.01, 1e-3)
                why = (
                    f"its {m.n_rows} rows span fewer than the {d} features"
                    if m.n_rows <= d
                    else f"{int(np.sum(scaling <= self.tol))} of its variances are <= tol={self.tol:g}"
                )
                raise np.linalg.LinAlgError(
                    f"The covariance of class {c!r} must have full rank, but {why}; reg_param >= "
                    f"{need:.3g} (currently {reg}) makes it invertible."
                )
            scalings.append(scaling)
            rotations.append(V)
        self.scalings_, self.rotations_ = scalings, rotations
        if self.store_covariance:
            self.covariance_ = [S * R @ R.T for S, R in zip(scalings, rotations, strict=True)]

    def _sample_decision(self, held_sample: Any) -> np.ndarray:
        """scikit-learn's ``_decision_function`` on the sample's rows (classes x rows), with the
        rotated squares ``((x - mu_c) R_c)^2`` memoized in the sample: they depend on the
        training state only (``reg_param`` and ``priors`` only rescale them), so trials that
        vary those pay one matrix-vector product per class instead of a matrix product
        (``matmul``: measured 2.5x faster than ``einsum`` for 20,000 x 50)."""
        X = held_sample.X
        squares = sample_memo(
            held_sample,
            "qda_rotated_squares",
            self.state_,
            X.nbytes * len(self.rotations_),
            lambda: [
                np.square((X - mu) @ R) for mu, R in zip(self.means_, self.rotations_, strict=True)
            ],
        )
        norm2 = np.empty((len(squares), X.shape[0]))  # classes x rows: contiguous outputs
        for j, (q, S) in enumerate(zip(squares, self.scalings_, strict=True)):
            np.matmul(q, 1.0 / S, out=norm2[j])
        u = np.array([np.sum(np.log(S)) for S in self.scalings_])
        return np.asarray(-0.5 * (norm2 + u[:, None]) + np.log(self.priors_)[:, None])

    def _sample_predict(self, held_sample: Any) -> np.ndarray:
        return np.asarray(self.classes_.take(self._sample_decision(held_sample).argmax(axis=0)))

    def _sample_proba(self, held_sample: Any) -> np.ndarray:
        """scikit-learn's ``predict_proba`` on the sample's rows, from the memoized squares."""
        return normalized_log_proba(self._sample_decision(held_sample).T)

    def _class_gaussians(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        out = []
        for mu, R, S in zip(self.means_, self.rotations_, self.scalings_, strict=True):
            prec = (R / S) @ R.T
            out.append((mu, prec, float(np.sum(np.log(S)))))
        return out

    def _log_priors(self) -> np.ndarray:
        return np.log(self.priors_)

    @classmethod
    def search_space(cls, state: ClassMoments) -> dict[str, Param]:
        return {"reg_param": FloatParam(0.0, 1.0)}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


del CategoricalParam
