"""PCA, ridge and PCR from a :class:`~statetune.states.FrequentDirections` sketch (wide data).

**Choosing the engine** (a state parameter of ``pca``, ``ridge`` and ``pcr``, passed the way
``max_lag`` is, through ``state_params``)::

    st.compute_states(src, ["pca", "ridge"], folds=5, state_params={
        "pca": {"sketch": "frequent_directions", "ell": 128},
        "ridge": {"sketch": "frequent_directions", "ell": 128}})

- ``sketch="exact"``: the exact :class:`~statetune.states.Moments` (``O(d^2)`` memory,
  ``O(n d^2)`` work);
- ``sketch="frequent_directions"`` (or just ``ell=...``): the sketch of ``ell`` rows
  (``O(d ell)`` memory and work per row); ``ell >= n_features`` gives the exact moments
  instead (the sketch would be exact anyway, and the moments are cheaper there);
- neither (the default): the moments below :data:`SKETCH_MIN_FEATURES` columns, the sketch
  with :data:`DEFAULT_ELL` rows from there on (docs/design.md, "Wide data", gives the
  measurement behind the threshold). A model's own ``fit``/``partial_fit`` keeps the exact
  moments unless told otherwise (scikit-learn's semantics: the exact estimator).

Algorithms given the same parameters share one state in the pass, as with the moments.

**What the sketch serves.** With ``M`` the sketch and ``C`` the exact centered scatter,
``0 <= C - M^T M <= Delta I`` with ``Delta <= tail_k(C) / (ell - k)`` for every ``k < ell``
(:mod:`statetune.states.frequent_directions`). Means, per-column variances (so the total
variance), ``X^T y`` and the target's variance are exact.

- PCA: the top ``n_components < ell`` right singular vectors of ``M``;
  ``explained_variance_ratio_`` divides by the **exact** total variance; ``noise_variance_``
  is the exact total minus the kept variance, spread over the remaining ``min(n, d) - k``
  directions.
  ``explained_variance_`` are the sketch's ``s_i^2 / (W - 1)``: by Weyl's inequality the
  exact ``lambda_i`` lies in ``[s_i^2, s_i^2 + Delta]`` (``sketch_error_bound_ = Delta / (W -
  1)`` gives the interval), and a direction among the sketch's top ``ell // 2`` is never shrunk
  while it stays there, so strong components sit at the bottom of the interval (measured on
  the table of ``experiments/fd_pca.py``, k = 10, ``ell = 20``: their sum 0.003% below the
  exact one, against 3% above with ``s_i^2 + Delta`` and the classic shrink). The classic shrink
  (every direction lowered each time) needed the top of the interval instead.
- Quadratic forms of ``C`` elsewhere use the **trace-corrected sketch**
  ``C_hat = M^T M + rho I`` with ``rho = (trace(C) - |M|_F^2) / d``, the variance the sketch
  missed, spread evenly (``trace(C)`` is exact). Since ``0 <= rho <= Delta``, ``C_hat`` is
  within ``Delta`` of ``C`` as ``M^T M`` is (``-rho I <= C - C_hat <= (Delta - rho) I``), and a
  direction the sketch does not hold gets the average missed variance instead of 0.
- Ridge: ``(C_hat + alpha I)^{-1} X^T y`` with the exact ``X^T y``, for every ``alpha``
  (``alpha + rho > 0``) from one SVD of ``M`` (memoized).
- PCR: ridge on the top ``n_components`` sketched components, variances ``s_i^2 + rho``.

**Held-out scores** come from the held-out fold's sketch and are **approximate**: a quadratic
form ``v^T C_h v`` is read as ``v^T C_hat_h v``, off by at most ``Delta_h |v|^2`` either way.
So a held-out MSE is within ``Delta_h |coef|^2 / W_h`` of the exact one, and PCA's
reconstruction error within ``n_components Delta_h / W_h`` (its explained variance within the
same share of the exact total).

Example
-------
>>> import numpy as np
>>> from statetune.algorithms._sketch import sketch_or_moments
>>> type(sketch_or_moments(5_000, False)).__name__, type(sketch_or_moments(50, False)).__name__
('Moments', 'Moments')
>>> type(sketch_or_moments(5_000, False, "frequent_directions", 64)).__name__
'FrequentDirections'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from statetune.algorithms._eigen import svd_flip_rows
from statetune.algorithms._linear_metrics import (
    REGRESSION_METRICS,
    check_r2_rows,
    unknown_metric,
)
from statetune.data.schema import Schema
from statetune.states import FrequentDirections, Moments
from statetune.states.spec import StateSpec

__all__ = [
    "DEFAULT_ELL",
    "EXACT",
    "SKETCH",
    "SKETCHES",
    "SKETCH_MIN_FEATURES",
    "SketchServed",
    "sketch_alpha_range",
    "sketch_components",
    "sketch_linear_held_out_score",
    "missed_variance",
    "sketch_or_moments",
    "sketch_pca_held_out_score",
    "sketch_ridge",
]

SKETCH = "frequent_directions"
EXACT = "exact"
SKETCHES = (EXACT, SKETCH)
#: From this many features on, ``pca``/``ridge``/``pcr`` default to the sketch (docs/design.md).
SKETCH_MIN_FEATURES = 4_000
#: Sketch rows by default: PCA of up to 127 components; the bound at k=64 is tail/64.
DEFAULT_ELL = 128


def sketch_or_moments(
    n_features: int, has_target: bool, sketch: str | None = None, ell: int | None = None
) -> Moments | FrequentDirections:
    """The state for ``sketch`` (``None``: a sketch if ``ell`` is given, else the moments).

    Raises
    ------
    ValueError
        An unknown ``sketch``, ``ell`` given with ``sketch="exact"``, or ``ell < 1``.
    """
    if sketch is not None and sketch not in SKETCHES:
        raise ValueError(f"`sketch` must be one of {SKETCHES} or None, but got {sketch!r}.")
    if sketch == EXACT and ell is not None:
        raise ValueError(
            f"`ell` is the size of a Frequent Directions sketch, but got ell={ell!r} with "
            "sketch='exact'; drop ell or pass sketch='frequent_directions'."
        )
    if (sketch is None and ell is None) or sketch == EXACT:
        return Moments(n_features, has_target)
    ell = DEFAULT_ELL if ell is None else ell
    if isinstance(ell, bool) or not isinstance(ell, int | np.integer) or int(ell) < 1:
        raise ValueError(f"`ell >= 1` must hold (an integer), but got ell={ell!r}.")
    if int(ell) >= n_features:  # the sketch would be exact: the moments are cheaper then
        return Moments(n_features, has_target)
    return FrequentDirections(n_features, has_target, int(ell))


class SketchServed:
    """Mixin (before ``StateEstimator`` in the bases): the model also finalizes from a
    :class:`FrequentDirections` state, chosen by the state parameters ``sketch``/``ell``."""

    @classmethod
    def make_state(
        cls, n_features: int, has_target: bool, sketch: str | None = None, ell: int | None = None
    ) -> Any:
        """The model's exact state (default) or, with ``sketch``/``ell``, a sketch."""
        state = sketch_or_moments(n_features, has_target, sketch, ell)
        if isinstance(state, FrequentDirections):
            return state
        return super().make_state(n_features, has_target)  # type: ignore[misc]

    @classmethod
    def state_spec(cls, schema: Schema, **state_params: Any) -> StateSpec:
        """As ``StateEstimator.state_spec``; wide numeric data defaults to the sketch."""
        asked = state_params.get("sketch") == SKETCH or state_params.get("ell") is not None
        if schema.encoded:
            if asked:
                raise ValueError(
                    f"A Frequent Directions sketch needs numeric columns without missing "
                    f"values, but the table has categorical columns or missing values; "
                    f"drop sketch/ell for {cls.__name__} or encode the table yourself."
                )
            state_params = {k: v for k, v in state_params.items() if k not in ("sketch", "ell")}
        elif "sketch" not in state_params and "ell" not in state_params:
            if schema.n_features >= SKETCH_MIN_FEATURES:
                state_params = {**state_params, "sketch": SKETCH}
        out: StateSpec = super().state_spec(schema, **state_params)  # type: ignore[misc]
        return out

    @classmethod
    def accepts(cls, spec: StateSpec) -> bool:
        return bool(super().accepts(spec) or spec.has(FrequentDirections))  # type: ignore[misc]

    def _takes(self, state: Any) -> bool:
        return isinstance(state, FrequentDirections) or bool(super()._takes(state))  # type: ignore[misc]

    def _fit_from(self, state: Any, shared: bool) -> None:
        """As ``StateEstimator._fit_from``; a sketch refuses the table and scaling options."""
        if isinstance(state, FrequentDirections):
            for attr in ("min_frequency", "add_indicator"):
                if getattr(self, attr, None) not in (None, False):
                    raise ValueError(
                        f"`{attr}` applies to tables with categorical or missing values, but "
                        f"the state is a Frequent Directions sketch of numeric columns."
                    )
            if getattr(self, "standardize", False):
                raise ValueError(
                    "`standardize=True` needs the exact moments, but the state is a Frequent "
                    "Directions sketch (its error bound does not survive rescaling the "
                    "columns); use standardize=False, or the state parameter sketch='exact'."
                )
        super()._fit_from(state, shared)  # type: ignore[misc]


# ---------------------------------------------------------------- PCA / PCR read-outs
def check_sketch_components(value: Any, state: FrequentDirections, *, by_rows: bool) -> int:
    """``1 <= n_components < ell`` (and ``<= n_features``, ``<= n_rows`` when ``by_rows``);
    ``None`` means the largest allowed."""
    high = min(state.ell - 1, state.n_features)
    if by_rows:
        high = min(high, state.n_rows)
    if value is None:
        if high < 1:
            raise ValueError(
                f"`ell >= 2` must hold to finalize components from a sketch, but got ell={state.ell}."
            )
        return high
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`n_components` must be an integer, but got {value!r}.")
    if int(value) >= state.ell:
        raise ValueError(
            f"`n_components < ell` must hold for a Frequent Directions state, but got "
            f"n_components={value}, ell={state.ell}; build the state with a larger ell."
        )
    if not 1 <= int(value) <= high:
        raise ValueError(
            f"`1 <= n_components <= {high}` must hold (n_features={state.n_features}, "
            f"n_rows={state.n_rows}, ell={state.ell}), but got n_components={value}."
        )
    return int(value)


def sketch_components(state: FrequentDirections, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lam, P)``: the top ``k`` eigenvalues of ``M^T M`` and orthonormal component rows
    (scikit-learn's sign rule); past the sketch's rank, zeros and a seeded orthonormal
    completion."""
    lam, V = state.eig()
    r = min(k, len(lam))
    P, lam_k = np.array(V[:r]), np.concatenate([lam[:r], np.zeros(k - r)])
    if r < k:  # fewer sketched directions than asked: complete the basis (zero variance)
        rng = np.random.default_rng(0)
        Q = np.linalg.qr(np.hstack([P.T, rng.normal(size=(state.n_features, k - r))]))[0]
        P = np.vstack([P, Q[:, r:k].T])
    return lam_k, svd_flip_rows(P)


def set_pca_from_sketch(model: Any, state: FrequentDirections) -> None:
    """Fitted attributes of a scikit-learn ``PCA`` from the sketch (module docstring)."""
    k = check_sketch_components(model.n_components, state, by_rows=True)
    lam, P = sketch_components(state, k)
    d = state.n_features
    denom = max(state.weight_sum - 1.0, 1e-300)
    total = state.total_scatter
    model.n_components_ = k
    model.components_ = P
    model.explained_variance_ = lam / denom
    model.explained_variance_ratio_ = lam / total if total > 0 else np.zeros(k)
    model.singular_values_ = np.sqrt(lam)
    model.mean_ = state.mean[:d].copy()
    model.n_samples_ = state.n_rows
    rank_limit = min(d, state.n_rows)
    rest = max(total - float(lam.sum()), 0.0) / denom
    model.noise_variance_ = rest / (rank_limit - k) if k < rank_limit else 0.0
    model.sketch_error_bound_ = state.error_bound / denom  # in variance units
    model._fit_svd_solver = "full"


def missed_variance(state: FrequentDirections) -> float:
    """``rho = (trace(C) - |M|_F^2) / d``: the scatter the sketch missed, per direction
    (``0 <= rho <= error_bound``; memoized)."""

    def compute() -> float:
        M = state.sketch()
        return max(state.total_scatter - float(np.einsum("ij,ij->", M, M)), 0.0) / state.n_features

    out: float = state.derived("fd_missed_variance", compute)
    return out


def _quad(state: FrequentDirections, P: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``p^T S p`` for each row ``p`` of ``P``, ``S`` the held-out scatter about a mean
    ``delta`` away from its own: the trace-corrected ``|M p|^2 + rho |p|^2`` plus
    ``W (p . delta)^2``."""
    M = state.sketch()
    MP = M @ P.T
    rho = missed_variance(state) * np.einsum("ij,ij->i", P, P)
    return np.einsum("ij,ij->j", MP, MP) + rho + state.weight_sum * (P @ delta) ** 2


def sketch_pca_held_out_score(
    model: Any, train: FrequentDirections, held: FrequentDirections, metric: str
) -> float:
    """PCA's held-out metrics from the held-out sketch (approximate: module docstring)."""
    d, W = held.n_features, held.weight_sum
    if W <= 0:
        raise ValueError("`held-out weight > 0` must hold to score, but the fold is empty.")
    delta = train.mean_offset(held)[:d]
    trace = held.total_scatter + W * float(delta @ delta)
    P = model.components_
    kept = _quad(held, P, delta)
    if metric == "log_likelihood":
        ev, s2 = model.explained_variance_, float(model.noise_variance_)
        if s2 <= 0.0:
            raise ValueError(
                "`noise_variance_ > 0` must hold for the log-likelihood, but the kept "
                f"components hold all the variance (n_components={model.n_components_})."
            )
        diff = np.where(ev > s2, ev - s2, 0.0)
        c = diff * (ev if model.whiten else 1.0) + s2  # covariance along each component
        quad = trace / s2 + float(kept @ (1.0 / c - 1.0 / s2))
        logdet = -(float(np.log(c).sum()) + (d - len(c)) * np.log(s2))
        return -0.5 * quad / W - 0.5 * (d * np.log(2.0 * np.pi) - logdet)
    sse = max(trace - float(kept.sum()), 0.0)
    if metric == "reconstruction_error":
        return sse / W
    total = held.total_scatter
    return 1.0 - sse / total if total > 0 else 0.0


# ---------------------------------------------------------------- ridge / PCR
def _raw_eig(state: FrequentDirections) -> tuple[np.ndarray, np.ndarray]:
    """``(s^2, Vt)`` of the sketch of the raw (uncentered) Gram ``M^T M + W mu mu^T``."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        d = state.n_features
        M = np.vstack([state.sketch(), np.sqrt(state.weight_sum) * state.mean[:d]])
        _, s, Vt = scipy.linalg.svd(
            M, full_matrices=False, check_finite=False, lapack_driver="gesdd"
        )
        return s * s, Vt

    out: tuple[np.ndarray, np.ndarray] = state.derived("fd_raw_eig", compute)
    return out


def sketch_ridge(state: FrequentDirections, alpha: float, fit_intercept: bool) -> np.ndarray:
    """``(C_hat + alpha I)^{-1} X^T y`` (centered when fitting an intercept; raw: plus
    ``W mu mu^T``), ``C_hat = M^T M + rho I`` the trace-corrected sketch."""
    rho = missed_variance(state)
    if not alpha + rho > 0.0:
        raise ValueError(
            f"`alpha > 0` must hold for ridge from a Frequent Directions sketch that missed no "
            f"variance (its Gram matrix has rank < ell={state.ell} <= "
            f"n_features={state.n_features}), but got alpha={alpha}; use alpha > 0 or the "
            "exact moments (sketch='exact')."
        )
    d = state.n_features
    b = np.array(state.cross_moment)
    if fit_intercept:
        lam, Vt = state.eig()
    else:
        lam, Vt = _raw_eig(state)
        b = b + state.weight_sum * state.mean[:d] * state.mean[d]
    Vb = Vt @ b
    shrink = alpha + rho
    return np.asarray(Vt.T @ (Vb / (lam + shrink)) + (b - Vt.T @ Vb) / shrink)


def sketch_alpha_range(state: FrequentDirections) -> tuple[float, float]:
    """As ``alpha_range`` of the moments (from the exact diagonal), but not below 1e-3 of the
    sketch's ``error_bound``: the sketch does not resolve variance much below it."""
    diag = np.asarray(state.feature_scatter_diag)
    pos = diag[diag > 0]
    if pos.size == 0:
        return 1e-6, 1e2
    low = max(1e-6 * float(pos.min()), 1e-3 * state.error_bound, 1e-300)
    return float(10.0 ** np.floor(np.log10(low))), float(10.0 ** np.ceil(np.log10(1e2 * pos.max())))


def sketch_linear_held_out_score(
    coef: np.ndarray,
    intercept: float,
    fit_intercept: bool,
    train: FrequentDirections,
    held: FrequentDirections,
    metric: str,
) -> float:
    """MSE, RMSE or R^2 from the held-out sketch: ``SSE = C_yy - 2 b.C_xy + |M_h b|^2 + W e^2``
    (only ``|M_h b|^2`` is approximate, low by at most ``Delta_h |b|^2``)."""
    if metric not in REGRESSION_METRICS:
        raise unknown_metric("a linear regressor", metric, REGRESSION_METRICS)
    W = held.weight_sum
    if W <= 0:
        raise ValueError(
            "`held-out weight > 0` must hold to score, but the held-out fold is empty."
        )
    b = np.asarray(coef, dtype=np.float64)
    v = np.append(-b, 1.0)
    e = float(train.mean_offset(held) @ v) if fit_intercept else float(held.mean @ v) - intercept
    Mb = held.sketch() @ b
    bCb = float(Mb @ Mb) + missed_variance(held) * float(b @ b)
    quad = held.target_scatter - 2.0 * float(b @ held.cross_moment) + bCb
    sse = max(quad, 0.0) + W * e * e
    mse = sse / W
    if metric == "mse":
        return mse
    if metric == "rmse":
        return float(np.sqrt(mse))
    check_r2_rows(held.n_rows)
    ss_tot = held.target_scatter
    if ss_tot <= 0.0:
        return 1.0 if sse == 0.0 else 0.0
    return 1.0 - sse / ss_tot
