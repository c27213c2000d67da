"""``LinearRegressionBank``: many linear regressors trained side by side by mini-batch SGD,
per fold: the :class:`~statetune.states.LinearBank`'s machinery (one product per mini-batch
for every member of every fold's bank, AdaGrad in standardized coordinates, L1 proximal step,
Polyak averages, per-fold banks, averaging merge, epochs) with a numeric target.

A member's ``loss`` is one of ``squared`` (least squares: with ``l1 = 0`` the SGD estimate
of ridge regression on standardized features), ``absolute`` (least absolute deviations) or
``huber`` (quadratic within :data:`~statetune.states._linear_grid.HUBER_DELTA` standard
deviations of the target, linear beyond: the target's, not the residuals', so where the
features explain most of the target's variance a residual rarely passes it, and huber is then
least squares; ``absolute`` is the robust member there), all of the residual in
**standardized target units**
``(prediction - y) / sd(y)``: the target is standardized by the exact running moments of the
rows each bank has processed (kept per fold beside the features', merged exactly), so one
step-size grid fits a target of any scale and offset (a target in the millions, or in
millionths). The objective of a member is ``mean loss + alpha / 2 ||w * sd(X) / sd(y)||^2``
(+ ``l1`` on the same standardized coefficients): for ``squared`` the minimizer in raw units
is scikit-learn's ``Ridge(alpha=alpha * n)`` on standardized features (``n``: the weight of
the rows), whatever the target's scale.

The coefficients are stored in raw units (the scalers move the preconditioning, never the
model); an intercept starts at the mean target of the rows its bank's first step has seen,
so a large offset costs no steps. There is one output (``classes`` holds a single
placeholder ``0``) and no held-out score sketch: regression metrics are scored on the
held-out sample of rows. Merge, views, round trip, epochs and the buffered-rows rule are the
classifier bank's (the buffer carries the target as a last column).

Example
-------
>>> import numpy as np
>>> from statetune.states import LinearRegressionBank
>>> rng = np.random.default_rng(0); X = rng.normal(size=(4000, 3))
>>> y = 2e6 + 1e5 * (X @ [1.0, -2.0, 0.5]) + rng.normal(size=4000)
>>> bank = LinearRegressionBank(3, loss=["squared"], alpha=[1e-6], eta0=[0.5], epochs=2)
>>> bank.update(X, y); bank.next_epoch(); bank.update(X, y)
>>> W, b = bank.coefficients(0)
>>> np.round(W[:, 0] / 1e5, 2).tolist(), round(float(b[0]) / 1e6, 3)
([1.0, -2.0, 0.5], 2.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from statetune.states._base import NonFiniteError, register_state
from statetune.states._linear_grid import HUBER_DELTA, REGRESSION_LOSSES
from statetune.states.linear_bank import LinearBank

__all__ = ["LinearRegressionBank"]

#: d(loss)/d(residual) of each regression loss, residual in standardized target units.
_PSI: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "squared": lambda r: r,
    "absolute": np.sign,
    "huber": lambda r: np.clip(r, -HUBER_DELTA, HUBER_DELTA),
}


@register_state
class LinearRegressionBank(LinearBank):
    """A bank of linear regressors (grid of ``loss x alpha x l1 x eta0``), trained per fold;
    see the module docstring and :class:`~statetune.states.LinearBank` for the parameters
    (``loss`` in ``squared``, ``absolute``, ``huber``; no ``score_bins`` in use)."""

    kind = "linear_regression_bank"
    keeps_scores = False
    #: The first step waits for 64 rows: the target's and features' scalers of two rows (a
    #: batch of one) made steps of ``eta0 * dy / dx``, coefficients of -12 for 1.
    warmup_rows = 64
    losses = REGRESSION_LOSSES
    learns = "a numeric target"
    target_columns = 1

    def _rows(self, X: np.ndarray, y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``[X, y]`` (the target buffered and standardized as a last column), one label."""
        t = np.asarray(y)
        if t.ndim != 1 or len(t) != n:
            raise ValueError(f"`y` must be one value per row ({n}), but got shape {t.shape}.")
        if not (np.issubdtype(t.dtype, np.number) or t.dtype == np.bool_):
            raise TypeError(
                f"A linear regression bank learns a numeric target, but `y` has dtype {t.dtype} "
                "(class labels: use LinearBank, the state of linear_learner)."
            )
        t = t.astype(np.float64)
        bad = ~np.isfinite(t)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise NonFiniteError(
                f"The target must be finite, but holds {t[r]} at row {r}.", r, "target"
            )
        return np.column_stack([X, t]), np.zeros(n, dtype=np.int64)

    def _start_intercepts(self, mean: np.ndarray, active: np.ndarray) -> None:
        d = self.n_features
        fresh = active & (self.steps == 0)
        self.b[fresh] = (mean[fresh, d] + self.shift[d])[:, None, None]

    def _score_gradient(
        self, P: np.ndarray, code: np.ndarray, t: np.ndarray, ys: np.ndarray
    ) -> np.ndarray:
        """d(loss)/d(prediction) in raw units: ``psi(r) / ys`` of the standardized residual
        ``r = (prediction - y) / ys`` (``ys``: the bank's target scale)."""
        scale = ys[None, :, None, None]
        r = (P - self.shift[self.n_features]) - t[:, :, None, None]
        r /= scale
        G = np.empty_like(r)
        for i, lo in enumerate(self.losses):
            G[:, :, self._loss_of == i] = _PSI[lo](r[:, :, self._loss_of == i])
        G /= scale
        return G
