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
    cached_pass_reported,
    extend,
    save_states,
    series_group,
    update_entry,
    update_entry_reported,
)
from statetune.state_cache.files import DiskFullError, NotRegularFileError
from statetune.state_cache.format import CorruptEntryError, StaleEntryError
from statetune.state_cache.report import CacheReport

__all__ = [
    "CacheReport",
    "DEFAULT_FOLDER",
    "CorruptEntryError",
    "DiskFullError",
    "Entry",
    "NotRegularFileError",
    "StaleEntryError",
    "StateCache",
    "StateCacheWarning",
    "cached_pass",
    "cached_pass_reported",
    "entry_key",
    "entry_spec",
    "extend",
    "save_states",
    "series_group",
    "update_entry",
    "update_entry_reported",
]
