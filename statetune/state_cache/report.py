"""``CacheReport``: what a cached pass took from the cache and what it read.

``st.compute_states(..., cache=c)`` and ``st.update(..., cache=c)`` put one on the StateSet
they return (``states.cache_report``) and log it (logger ``statetune.state_cache``, level
INFO).

Example
-------
>>> from statetune.state_cache.report import CacheReport
>>> print(CacheReport("extend", rows_read=1_000, rows_from_cache=99_000, segments_read=1,
...                   segments_from_cache=3))
cache extend: 1,000 rows read (1 segment), 99,000 rows from the cache (3 segments)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTIONS", "CacheReport", "lineage_rows", "logger"]

logger = logging.getLogger("statetune.state_cache")

ACTIONS = {
    "hit": "every state came from the cache; nothing was read",
    "extend": "cached states were extended with the segments they lacked",
    "build": "no cached entry: every row was read and the states saved",
    "rebuild": "a cached lineage no longer matched the source: every row was read again",
    "resumed": "a checkpoint of an interrupted pass was continued",
    "saved": "states in memory were extended and saved into the cache",
}


def lineage_rows(lineage: Sequence[Mapping[str, Any]]) -> int:
    """Rows listed by lineage records."""
    return sum(int(r["n_rows"]) for r in lineage)


def _segments(n: int) -> str:
    return f"{n} segment" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class CacheReport:
    """What one cached pass did.

    Attributes
    ----------
    action : str
        One of :data:`ACTIONS` (``"hit"``, ``"extend"``, ``"build"``, ``"rebuild"``,
        ``"resumed"``, ``"saved"``).
    rows_read : int
        Rows read from the source by this call.
    rows_from_cache : int
        Rows whose states came from the cache (entries, or a checkpoint of an interrupted
        pass) instead of being read.
    segments_read, segments_from_cache : int
        The same in segments (files, arrays); a segment read in part by an interrupted pass
        counts as read.
    """

    action: str
    rows_read: int
    rows_from_cache: int
    segments_read: int
    segments_from_cache: int

    @property
    def n_rows(self) -> int:
        """Rows the states hold."""
        return self.rows_read + self.rows_from_cache

    def __str__(self) -> str:
        return (
            f"cache {self.action}: {self.rows_read:,} rows read "
            f"({_segments(self.segments_read)}), {self.rows_from_cache:,} rows from the cache "
            f"({_segments(self.segments_from_cache)})"
        )

    def log(self) -> CacheReport:
        """Log this report (INFO on ``statetune.state_cache``) and return it."""
        logger.info("%s", self)
        return self
