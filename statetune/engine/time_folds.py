"""Time-ordered validation for series: windows of time common to all series, rolling origin.

Blocks
------
Every value has a time ``t``: its timestamp when the source has a time column (int64, datetimes
as nanoseconds since the epoch, or float64), else its position in its own series (0, 1, 2, ...:
positions stand in for time, so without a time column "the same time" means "the same index in
each series", which is only meaningful when the series are aligned at their starts). Values are
grouped into the blocks of a :class:`~statetune.engine.time_grid.TimeGrid`: block width
``B = 2**e`` in the time unit, anchored at time 0 (``block = floor(t / B)``), ``B`` the smallest
power of two such that the blocks from the earliest time ``lo`` to the latest ``hi`` seen number
at most ``max_blocks``. Each block holds the :class:`LaggedMoments` of its values (and, when a
sampled metric is wanted, a reservoir of the lag rows whose target falls in it).

Claim: the blocks at the end of a pass depend only on the final ``lo``, ``hi`` and the values
of each series in time order -- not on chunks, files, the interleaving of series, nor on
appending data later (``st.update``, cached extension).

Proof. Let ``G(lo, hi)`` be the grid above; it is a function of ``lo`` and ``hi`` alone.
Invariant: after each chunk, with ``[lo, hi]`` the range of the times seen so far, block ``j``
holds exactly ``u(V_j)``, the state updated with the values seen whose time falls in block ``j``
of ``G(lo, hi)``, each series in time order. A chunk widens the range to
``[lo', hi'] ⊇ [lo, hi]``; the grid's exponent does not decrease (monotony, see
:mod:`~statetune.engine.time_grid`), and by nesting, block ``a`` of the old grid lies inside
block ``a >> d`` of the new one; so merging the old blocks into the new ones in increasing order
gives ``u(V'_J)`` for the values seen so far: the lagged-moments order rule holds because a
series' values in old block ``a`` all precede its values in block ``a + 1`` (times increase
within a series), and ``merge(u(A), u(B))`` equals ``u`` of ``A`` followed by ``B`` when ``B`` continues ``A`` (exact up to
rounding, the state's merge law; reservoirs keep the rows with the smallest position hashes, so
theirs is exact). Blocks newly in range start empty. Then each value of the chunk goes to the
block of its time; a series' new values are later than all its values seen before, so they
continue that block's record of the series (the update law). The invariant holds after the
chunk; at the end, every block is ``u(values of the series whose time falls in it)`` on the grid
``G(final lo, final hi)``. ∎

Folds (held-out windows)
------------------------
A *unit* is a block holding values together with the empty blocks that follow it (a value
sampled monthly on a grid of 20-day blocks leaves some blocks empty), so every unit holds
values. When the last unit holds fewer than half as many values as the unit before it -- the
data end just after a grid line, or most series stopped early -- it is merged into that unit:
scoring a model on a sliver of time is a poor estimate. Fold ``k`` of ``n_folds`` holds out the
unit ``U - n_folds + k`` (``U`` units), i.e. every value with ``t_k <= t < t_{k+1}`` (grid lines),
and trains on every value with ``t < t_k``, merged in time order: a series that starts late is
validated as soon as it has values in a window, and nothing at or after ``t_k`` is trained on.
One-step predictions of held-out values take their lags from the series' true predecessors,
also those before ``t_k`` (exact metrics add the rows straddling the boundary,
``LaggedMoments.straddle``; the lag-row samples are built from the true predecessors). The
windows depend only on the final blocks (their value counts), so they inherit the claim above.
:meth:`StateSet.fold_windows <statetune.engine.stateset.StateSet.fold_windows>` reports them.

Example
-------
>>> from statetune.engine.time_folds import TimeFolds
>>> f = TimeFolds(n_folds=2, max_blocks=8)
>>> f.grid(0, 99, "i").width
16
>>> f.windows([16, 16, 0, 16, 16, 16, 3])   # a sliver of 3 values joins the unit before it
[(4, 5), (5, 7)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from statetune.engine.folds import FoldConfig, _check_int
from statetune.engine.time_grid import TimeGrid

__all__ = ["FoldWindow", "TimeFolds", "fold_scheme", "folds_from_json", "time_value"]

#: The scheme name persisted with cached states; bump it whenever blocks or windows change.
SCHEME = "time-grid-v2"


def time_value(t: Any) -> Any:
    """A time as the user gave it: int64 times beyond 1e15 in magnitude are nanoseconds since
    the epoch (how datetimes arrive) and become ``pandas.Timestamp``; others stay numbers."""
    v = t.item() if isinstance(t, np.generic) else t
    if isinstance(v, int) and abs(v) > 10**15:
        import pandas as pd

        return pd.Timestamp(v)
    return v


@dataclass(frozen=True)
class FoldWindow:
    """Fold ``fold`` trains on every value with ``t < train_end`` and holds out every value
    with ``held_start <= t < held_end`` (``train_end == held_start``).

    Times are ``pandas.Timestamp`` for datetimes, else numbers; ``by`` says whether ``t`` is a
    timestamp (``"time"``) or each value's position in its series (``"position"``, no time
    column). The window's grid lines fall anywhere (``B`` is a power of two of the time unit,
    e.g. nanoseconds); ``first_held`` and ``last_held`` are the earliest and latest times of
    the values it holds. ``n_train`` and ``n_held`` count values, ``n_series`` the series with
    values in the window (all of them are validated); ``blocks`` is the window's
    ``[start, stop)`` range of grid blocks.
    """

    fold: int
    train_end: Any
    held_start: Any
    held_end: Any
    first_held: Any
    last_held: Any
    n_train: int
    n_held: int
    n_series: int
    by: str
    blocks: tuple[int, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TimeFolds:
    """``n_folds`` rolling-origin windows of time over a grid of at most ``max_blocks`` blocks
    (see the module doc).

    ``seed`` seeds the held-out samples (reservoir keys), not the split.
    """

    n_folds: int = 5
    seed: int = 0
    max_blocks: int = 32
    is_time: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_int("folds", self.n_folds, 1)
        _check_int("seed", self.seed, 0)
        _check_int("max_blocks", self.max_blocks, 2)
        if self.n_folds >= self.max_blocks:
            raise ValueError(
                f"`folds < max_blocks` must hold for time-ordered validation, but got "
                f"folds={self.n_folds}, max_blocks={self.max_blocks}."
            )

    def grid(self, lo: Any, hi: Any, kind: str) -> TimeGrid:
        """The block grid of the times ``[lo, hi]`` (``kind`` ``"i"`` or ``"f"``)."""
        return TimeGrid.cover(lo, hi, kind, self.max_blocks)

    def units(self, counts: Sequence[int]) -> list[tuple[int, int]]:
        """``[start, stop)`` block ranges of the units: a block holding values and the empty
        blocks after it; a last unit with fewer than half the values of the one before joins
        it."""
        c = np.asarray(counts, dtype=np.int64)
        occupied = np.flatnonzero(c > 0)
        if occupied.size == 0:
            return []
        starts = occupied.copy()
        starts[0] = 0  # empty blocks before the first values (none after a pass) train
        stops = np.append(occupied[1:], c.size)
        units = [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
        if len(units) >= 2:
            (a, b), (u, v) = units[-2], units[-1]
            if 2 * int(c[u:v].sum()) < int(c[a:b].sum()):
                units[-2:] = [(a, v)]
        return units

    def windows(self, counts: Sequence[int]) -> list[tuple[int, int]]:
        """Block range ``[start, stop)`` held out by each fold, given the values per block;
        fold ``k`` trains on the blocks before ``start``."""
        units = self.units(counts)
        if len(units) < self.n_folds + 1:
            raise ValueError(
                f"Time-ordered validation needs `folds + 1 <= time blocks` holding values, but "
                f"got folds={self.n_folds} and {len(units)} such block(s) (of "
                f"{len(counts)} in the time grid; a last block holding fewer than half the "
                "values of the one before it joins it): the series span too little time; use "
                "fewer folds or more data."
            )
        return units[len(units) - self.n_folds :]

    def to_json(self) -> dict[str, Any]:
        return {
            "n_folds": int(self.n_folds),
            "seed": int(self.seed),
            "max_blocks": int(self.max_blocks),
            "scheme": SCHEME,
            "grid": "power-of-two width, anchored at time 0, over the range of times",
        }


def folds_from_json(data: dict[str, Any]) -> FoldConfig | TimeFolds:
    """The fold scheme a ``to_json`` describes."""
    scheme = data.get("scheme")
    if scheme == SCHEME:
        return TimeFolds(int(data["n_folds"]), int(data["seed"]), int(data["max_blocks"]))
    if isinstance(scheme, str) and scheme.startswith("time-"):
        raise ValueError(
            f"Time folds must use the scheme {SCHEME!r} (windows of time common to all series), "
            f"but these states were built with {scheme!r} (blocks by position in each series, "
            "which leak the future on panels whose series start at different dates); rebuild "
            "them with compute_states."
        )
    return FoldConfig(int(data["n_folds"]), int(data["seed"]), int(data["group_rows"]))


def fold_scheme(folds: Any, seed: int, is_series: bool) -> FoldConfig | TimeFolds:
    """``folds`` (a count or a scheme) as the scheme a source needs: time windows for series
    (never shuffled), position-hashed folds otherwise."""
    if isinstance(folds, TimeFolds):
        if not is_series:
            raise ValueError(
                "Time-ordered folds need series data, but the source has no series or time "
                "column (use st.from_series, or series=/time= on the source)."
            )
        return folds
    if isinstance(folds, FoldConfig):
        if is_series:
            raise ValueError(
                "Series must be validated in time order, but got FoldConfig (shuffled "
                "folds); pass folds as a number or a TimeFolds."
            )
        return folds
    return TimeFolds(folds, seed) if is_series else FoldConfig(folds, seed)
