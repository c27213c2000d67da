"""``PassOptions``: how a pass runs (parallelism, snapshots, progress), one request object
handed from the public call through the cache to the engine instead of keyword copies.

Example
-------
>>> from statetune.engine.options import PassOptions
>>> PassOptions(n_jobs=2).replace(every=1000).every
1000
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PassOptions"]


@dataclass(frozen=True)
class PassOptions:
    """Options of a pass; none of them changes the states it computes.

    Parameters
    ----------
    n_jobs : int, default 1
        Partitions read in parallel (``-1``: all cores).
    backend : {"threading", "loky"}, optional
        joblib backend when ``n_jobs != 1``; threads by default.
    every : int, optional
        Rows between anytime snapshots in a sequential pass (a parallel pass snapshots after
        each partition); None: the final states only.
    callback : callable, optional
        ``callback(snapshot)`` for each intermediate snapshot.
    progress : callable, optional
        Called with the number of rows just absorbed (for progress bars).
    executor : Executor, optional
        Runs partitions (overrides ``n_jobs``/``backend``).
    """

    n_jobs: int = 1
    backend: str | None = None
    every: int | None = None
    callback: Callable[[Any], Any] | None = None
    progress: Callable[[int], Any] | None = None
    executor: Any = None

    def __post_init__(self) -> None:
        every = self.every
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ValueError(f"`every >= 1` must hold, but got every={every!r}.")

    def replace(self, **changes: Any) -> PassOptions:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)
