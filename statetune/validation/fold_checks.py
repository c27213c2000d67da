"""Checks of the folds a pass made, from its fold states (no data read).

Folds come from row positions (:mod:`statetune.engine.folds`): every K consecutive rows hold
each fold once. Rows that cycle with the fold period (four travel modes per traveller and
K = 4) put one phase in each fold, so each held-out fold holds a level the training rows never
saw, and the validation scores are silently pessimistic. The fold states show it: a column
constant within every fold but not across them, or a categorical level of many rows in one
fold only (random placement leaves a level of ``n`` rows in one fold with probability
``K^(1-n)``; ``min_rows`` keeps that negligible).

Example
-------
>>> import numpy as np, pandas as pd, statetune as st
>>> df = pd.DataFrame({"mode": ["air", "train", "bus", "car"] * 30, "x": np.arange(120.0) // 4})
>>> df["y"] = df["x"] * 2
>>> import warnings
>>> with warnings.catch_warnings(record=True) as seen:
...     warnings.simplefilter("always")
...     _ = st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=4)
>>> [w.category.__name__ for w in seen]
['FoldPeriodWarning']
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from statetune.engine.fold_states import FoldStates
from statetune.states.class_moments import ClassMoments
from statetune.states.moments import Moments
from statetune.states.table_moments import TableMoments

__all__ = ["FoldPeriodWarning", "warn_folds_confounded"]


class FoldPeriodWarning(UserWarning):
    """The folds are confounded with a column: the rows cycle with the fold period."""


def warn_folds_confounded(states: FoldStates, min_rows: int = 20) -> None:
    """Warn when the folds are confounded with a column (see the module docstring): a feature
    constant within every fold yet not across them (each fold one phase of a cycle; exact
    zeros of the fold co-moments, which random placement does not give), or, in a table, a
    categorical level of at least ``min_rows`` rows (weighted) in a single fold. Folds of
    fewer than ``min_rows`` rows are not judged."""
    if states.n_folds < 2 or states.folds.is_time:
        return
    for slot in states.slots:
        folds = [states.held_out(slot, k) for k in range(states.n_folds)]
        if all(isinstance(f, ClassMoments) for f in folds):
            folds = [f.total() for f in folds]  # the classes' moments pooled
        if not all(isinstance(f, Moments) for f in folds):
            continue
        if any(f.weight_sum <= 0 or f.n_rows < min_rows for f in folds):
            continue  # small folds can be constant in a column by chance
        d = folds[0].n_features
        if _constant_in_folds(states, folds, d):
            return  # one warning says it
        if isinstance(folds[0], TableMoments):
            _levels_alone(states, folds, min_rows)


def _warn(what: str, n_folds: int) -> None:
    warnings.warn(
        f"{what}: the rows cycle with the fold period ({n_folds} folds come from row positions, "
        "every K consecutive rows one per fold), so each held-out fold differs from its "
        "training rows and the validation scores are off; shuffle the rows, or use a number of "
        "folds prime to the cycle.",
        FoldPeriodWarning,
        stacklevel=5,  # _warn, its check, warn_folds_confounded, compute_states, the caller
    )


def _constant_in_folds(states: FoldStates, folds: list[Any], d: int) -> bool:
    within = np.array([np.diag(f.comoment)[:d] for f in folds])
    means = np.array([f.mean[:d] for f in folds])
    spread = means.max(axis=0) - means.min(axis=0)
    hit = np.flatnonzero((within == 0.0).all(axis=0) & (spread > 0))
    if not hit.size:
        return False
    names = _names(states, folds[0], d)
    shown = ", ".join(repr(names[j]) for j in hit[:5])
    _warn(
        f"Column(s) {shown}{', ...' if hit.size > 5 else ''} take one value in each fold and "
        "another in the next",
        states.n_folds,
    )
    return True


def _levels_alone(states: FoldStates, folds: list[Any], min_rows: int) -> None:
    layout = folds[0].layout
    counts = np.array([f.weight_sum * np.asarray(f.mean[: layout.base_width]) for f in folds])
    start = layout.n_numeric + sum(layout.flagged)
    for name, levels in layout.categorical:
        block = counts[:, start : start + len(levels)]
        start += len(levels)
        held = block > 0.5
        alone = [
            (lvl, int(np.flatnonzero(held[:, j])[0]))
            for j, lvl in enumerate(levels)
            if held[:, j].sum() == 1 and block[:, j].sum() >= min_rows
        ]
        if alone:
            shown = ", ".join(f"{lvl!r}: fold {k}" for lvl, k in alone[:5])
            _warn(
                f"Column {name!r} has {len(alone)} level(s) of {min_rows} or more rows in one "
                f"fold each ({shown}{', ...' if len(alone) > 5 else ''})",
                states.n_folds,
            )
            return


def _names(states: FoldStates, state: Any, d: int) -> list[str]:
    if isinstance(state, TableMoments):
        enc = states.schema.encoding
        if enc is not None:
            return list(enc.base_names())
    names = list(states.schema.features)
    return names if len(names) == d else [f"x{j}" for j in range(d)]
