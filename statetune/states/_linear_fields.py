"""The arrays and sizes a linear bank holds, declared once for the mixins that work on them
(:mod:`statetune.states._linear_sgd`, :mod:`statetune.states._linear_views`); the bank itself
(:class:`~statetune.states.LinearBank`) creates them.

Example
-------
>>> from statetune.states import LinearBank
>>> from statetune.states._linear_fields import BankFields
>>> issubclass(LinearBank, BankFields)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BankFields"]


class BankFields:
    """Type declarations of a linear bank's attributes (no behaviour)."""

    n_features: int
    n_folds: int
    n_members: int
    batch_size: int
    epoch: int
    epochs: int
    score_bins: int
    classes: np.ndarray
    shift: np.ndarray
    fold_rows: np.ndarray
    fold_weight: np.ndarray
    class_rows: np.ndarray
    mom_w: np.ndarray
    mom_mean: np.ndarray
    mom_m2: np.ndarray
    W: np.ndarray
    b: np.ndarray
    Wa: np.ndarray
    ba: np.ndarray
    HW: np.ndarray
    Hb: np.ndarray
    steps: np.ndarray
    bank_weight: np.ndarray
    pend_X: np.ndarray
    pend_code: np.ndarray
    pend_w: np.ndarray
    pend_fold: np.ndarray
    score_hist: np.ndarray
    _derived: dict[Any, Any]
