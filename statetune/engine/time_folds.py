"""Time-ordered validation for series: consecutive blocks of each series, rolling origin.

The ``i``-th value of every series (counting from its first value) falls in block
``i // B``. The block size ``B`` is the smallest power of two that keeps the number of blocks
within ``max_blocks`` for the longest series seen: as data grows, ``B`` doubles and
neighbouring blocks are merged (exactly, by the order rule of lagged moments). So the blocks
depend on the per-series counts only, never on how the data was chunked, and appending data
never moves a value to an earlier block.

Validation is rolling-origin over the last ``n_folds`` blocks: fold ``k`` holds out block
``N - n_folds + k`` (``N`` blocks in all) and trains on every block before it, in order.
Nothing is shuffled: a model is always scored on values later than all its training values.

Example
-------
>>> from statetune.engine.time_folds import TimeFolds
>>> f = TimeFolds(n_folds=3, max_blocks=8)
>>> f.block_size(100), f.held_block(0, n_blocks=7)
(16, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from statetune.engine.folds import FoldConfig, _check_int

__all__ = ["TimeFolds", "fold_scheme", "folds_from_json"]


@dataclass(frozen=True)
class TimeFolds:
    """``n_folds`` rolling-origin validation blocks among at most ``max_blocks`` time blocks.

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

    def block_size(self, longest: int) -> int:
        """``B``: the smallest power of two with ``longest <= max_blocks * B``."""
        size = 1
        while longest > self.max_blocks * size:
            size *= 2
        return size

    def held_block(self, k: int, n_blocks: int) -> int:
        """Index of the block fold ``k`` holds out (training uses the blocks before it)."""
        if not 0 <= k < self.n_folds:
            raise ValueError(f"`0 <= fold < {self.n_folds}` must hold, but got fold={k}.")
        if n_blocks < self.n_folds + 1:
            raise ValueError(
                f"Time-ordered validation needs `folds + 1 <= time blocks`, but got "
                f"folds={self.n_folds} and {n_blocks} block(s): the series are too short "
                f"(the longest has {n_blocks} value(s) per block of the split); use fewer "
                "folds or more data."
            )
        return n_blocks - self.n_folds + k

    def to_json(self) -> dict[str, Any]:
        return {
            "n_folds": int(self.n_folds),
            "seed": int(self.seed),
            "max_blocks": int(self.max_blocks),
            "scheme": "time-blocks-v1",
        }


def folds_from_json(data: dict[str, Any]) -> FoldConfig | TimeFolds:
    """The fold scheme a ``to_json`` describes."""
    if data.get("scheme") == "time-blocks-v1":
        return TimeFolds(int(data["n_folds"]), int(data["seed"]), int(data["max_blocks"]))
    return FoldConfig(int(data["n_folds"]), int(data["seed"]), int(data["group_rows"]))


def fold_scheme(folds: Any, seed: int, is_series: bool) -> FoldConfig | TimeFolds:
    """``folds`` (a count or a scheme) as the scheme a source needs: time blocks for series
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
