"""Persisted states keyed by spec and lineage: incremental passes, checkpoints, housekeeping.

Example
-------
>>> from statetune.state_cache import StateCache
>>> StateCache().folder.name
'.statetune'
"""

from __future__ import annotations

from statetune.state_cache.cache import DEFAULT_FOLDER, Entry, StateCache, entry_key, entry_spec
from statetune.state_cache.compute import (
    StateCacheWarning,
    cached_pass,
    extend,
    series_group,
    update_entry,
)
from statetune.state_cache.files import DiskFullError, NotRegularFileError
from statetune.state_cache.format import CorruptEntryError, StaleEntryError

__all__ = [
    "DEFAULT_FOLDER",
    "CorruptEntryError",
    "DiskFullError",
    "Entry",
    "NotRegularFileError",
    "StaleEntryError",
    "StateCache",
    "StateCacheWarning",
    "cached_pass",
    "entry_key",
    "entry_spec",
    "extend",
    "series_group",
    "update_entry",
]
