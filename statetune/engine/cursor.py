"""Where a pass stands: fold states, the segments fully absorbed, and a partly read segment.

A cursor is what a checkpoint saves and what a resumed or incremental pass starts from.
Lineage records are plain dicts (``key``, ``fingerprint``, ``n_rows``) so they go to JSON as is.

Example
-------
>>> from statetune.engine.cursor import Cursor
>>> Cursor(states={}, lineage=[], position=0).partial is None
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Checkpointer", "Cursor", "PassInterrupted"]


@dataclass
class Cursor:
    """Fold states after ``position`` rows: ``lineage`` lists whole segments absorbed, and
    ``partial`` (``key``, ``fingerprint``, ``n_rows``) the rows read of the current one."""

    states: dict[Any, list[Any]]  # slot -> fold states (names of a saved checkpoint)
    lineage: list[dict[str, Any]]
    position: int
    partial: dict[str, Any] | None = None


class PassInterrupted(KeyboardInterrupt):
    """Ctrl-C during a pass. ``partial`` holds the states of the rows read so far (a
    ``StateSet`` with ``complete=False``) and finalizes to working models; with a cache the
    same states were saved as a checkpoint, and calling the pass again resumes from them."""

    def __init__(self, partial: Any) -> None:
        super().__init__(f"pass interrupted after {partial.n_rows} rows")
        self.partial = partial


@dataclass
class Checkpointer:
    """Calls ``save(cursor)`` every ``every_rows`` rows or ``every_seconds`` seconds (whichever
    comes first) at chunk boundaries, and once more when the pass is interrupted."""

    save: Callable[[Cursor], Any]
    every_rows: int | None = 5_000_000
    every_seconds: float | None = 60.0
    _last_rows: int = field(default=0, init=False)
    _last_time: float = field(default_factory=time.monotonic, init=False)

    def due(self, position: int) -> bool:
        rows_due = self.every_rows is not None and position - self._last_rows >= self.every_rows
        time_due = (
            self.every_seconds is not None
            and time.monotonic() - self._last_time >= self.every_seconds
        )
        return rows_due or time_due

    def mark(self, position: int) -> None:
        self._last_rows = position
        self._last_time = time.monotonic()
