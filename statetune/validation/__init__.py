"""Validation: from algorithm names to slots, and from fold states to models and scores.

Sits between the algorithms and the tuner, above the engine and the cache: it turns names
into the slots a pass fills (:mod:`~statetune.validation.plan`), wraps the fold states a pass
returns as a :class:`StateSet` that finalizes and scores (:mod:`~statetune.validation.stateset`),
and holds the fold loop every trial runs (:mod:`~statetune.validation.scoring`).

Example
-------
>>> import numpy as np, statetune as st
>>> X = np.random.default_rng(0).normal(size=(60, 2)); y = X[:, 0]
>>> s = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
>>> type(s).__name__, s.algorithms
('StateSet', ('ridge',))
"""

from __future__ import annotations

from statetune.validation.facade import compute_states, iter_states, update
from statetune.validation.plan import plan_slots
from statetune.validation.scoring import evaluate
from statetune.validation.stateset import StateSet

__all__ = ["StateSet", "compute_states", "evaluate", "iter_states", "plan_slots", "update"]
