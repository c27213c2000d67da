"""statsmodels' ``AutoReg`` behind the attributes of
:class:`~statetune.algorithms.autoregressive.AutoRegressive`: the autoregression's independent
reference (statsmodels is imported when fitted, not here).

The rows used are those of a ``LaggedMoments`` state with ``max_lag`` values: the times with at
least ``max_lag`` predecessors, i.e. ``AutoReg(np.diff(y, d), lags=[1..p, s], trend=trend,
exog=exog[d:], hold_back=max_lag - d)``.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0); y = np.zeros(500)
>>> for t in range(1, 500): y[t] = 1.0 + 0.5 * y[t - 1] + rng.normal()
>>> ref = AutoRegReference(p=1, max_lag=3).fit(y)
>>> round(float(ref.coef_[0]), 1), ref.n_obs_
(0.5, 497)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["AutoRegReference"]


class AutoRegReference:
    """``AutoReg`` of the ``d``-times differenced series with lags ``1..p`` (plus
    ``seasonal_lag`` when above ``p``) on the rows of a state with ``max_lag`` values.

    Attributes after :meth:`fit`: ``coef_`` (the lags' coefficients), ``exog_coef_``,
    ``intercept_`` (0 when ``trend="n"``), ``sigma2_``, ``n_obs_``, ``results_`` (statsmodels'
    ``AutoRegResults``). ``alpha`` must be 0: ``AutoReg`` has no penalty.
    """

    def __init__(
        self,
        p: int = 1,
        trend: str = "c",
        alpha: float = 0.0,
        d: int = 0,
        seasonal_lag: int = 0,
        *,
        max_lag: int,
    ) -> None:
        if alpha != 0.0:
            raise ValueError(
                f"`alpha == 0` must hold for statsmodels' AutoReg (no penalty), but got {alpha}."
            )
        self.p, self.trend, self.d, self.seasonal_lag = int(p), trend, int(d), int(seasonal_lag)
        self.max_lag = int(max_lag)

    def _lags(self) -> list[int]:
        s = self.seasonal_lag
        return list(range(1, self.p + 1)) + ([s] if s > self.p else [])

    def fit(self, y: Any, series: Any = None, exog: Any = None) -> AutoRegReference:
        """Fit on one series (``series`` must be None or a single id)."""
        from statsmodels.tsa.ar_model import AutoReg

        if series is not None and len(np.unique(np.asarray(series))) > 1:
            raise ValueError("AutoRegReference fits one series, but `series` holds several ids.")
        y = np.asarray(y, dtype=np.float64)
        x = None if exog is None else np.asarray(exog, dtype=np.float64).reshape(len(y), -1)
        if x is not None and x.shape[1] == 0:
            x = None
        self._history = y
        u = np.diff(y, self.d) if self.d else y
        lags = self._lags()
        res = AutoReg(
            u,
            lags=lags,
            trend=self.trend,
            exog=None if x is None else x[self.d :],
            hold_back=self.max_lag - self.d,
        ).fit()
        params = np.asarray(res.params)
        has_const = self.trend == "c"
        self.intercept_ = float(params[0]) if has_const else 0.0
        rest = params[1:] if has_const else params
        self.coef_ = rest[: len(lags)]
        self.exog_coef_ = rest[len(lags) :]
        self.sigma2_ = float(res.sigma2)
        self.n_obs_ = int(res.nobs)
        self.results_ = res
        return self

    def forecast(self, steps: int = 1) -> np.ndarray:
        """statsmodels' forecasts of the differenced series, integrated back to levels."""
        if self.exog_coef_.size:
            raise ValueError("forecast() here takes no future exogenous rows: fit without exog.")
        out = np.asarray(self.results_.forecast(steps), dtype=np.float64)
        for k in range(self.d - 1, -1, -1):  # undo each difference, innermost last
            level = np.diff(self._history, k) if k else self._history
            out = level[-1] + np.cumsum(out)
        return out
