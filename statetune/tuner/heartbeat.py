"""Heartbeats for the trials of a ``tune`` call on an RDB storage, so other hosts see them live.

statetune's owner records (:mod:`statetune.tuner.owners`) tell a dead owner only on its own
host. Several hosts on one PostgreSQL study need Optuna's heartbeat: a storage opened with
``heartbeat_interval`` (``RDBStorage(url, heartbeat_interval=60)``; ``storage="postgresql://…"``
opens it with :data:`HEARTBEAT_SECONDS`) keeps one timestamp per running trial.
``study.optimize`` records it from a thread; ``st.tune`` asks and tells in batches, so
:func:`beating` beats once for each trial asked and then every interval for every RUNNING
trial of the call, and
:func:`stale_trial_ids` names the trials whose heartbeat is older than the grace period (their
process stopped on some host), which ``tune`` then fails as abandoned: not evaluated, not
counted toward ``n_trials``, run again.

Example
-------
>>> import optuna
>>> from statetune.tuner.heartbeat import heartbeat_interval
>>> heartbeat_interval(optuna.storages.InMemoryStorage()) is None
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["HEARTBEAT_SECONDS", "beating", "heartbeat_interval", "stale_trial_ids"]

#: Heartbeat interval of the RDB storages ``storage="postgresql://..."`` opens (Optuna's grace
#: period is twice that: a trial whose process stopped is failed a minute or two later).
HEARTBEAT_SECONDS = 30


def _inner(storage: Any) -> Any:
    """The Optuna storage under statetune's owner wrapper (or ``storage`` itself)."""
    return getattr(storage, "inner", storage)


def heartbeat_interval(storage: Any) -> int | None:
    """Seconds between heartbeats if ``storage`` keeps them (Optuna's RDB storage opened with
    ``heartbeat_interval``), else None."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    inner = _inner(storage)
    return inner.get_heartbeat_interval() if is_heartbeat_enabled(inner) else None


def stale_trial_ids(storage: Any, study_id: int) -> list[int]:
    """Ids of RUNNING trials whose last heartbeat is older than the storage's grace period
    (empty without heartbeats). Uses Optuna's ``_get_stale_trial_ids`` rather than its public
    ``fail_stale_trials``, which fails them without statetune's abandoned mark and reason (so
    they would count toward ``n_trials`` though never evaluated)."""
    if heartbeat_interval(storage) is None:
        return []
    return list(_inner(storage)._get_stale_trial_ids(study_id))


def _no_beat(trial_id: int) -> None:
    """Without heartbeats: nothing to record."""


@contextmanager
def beating(storage: Any, study_id: int, run: str) -> Iterator[Callable[[int], None]]:
    """Record a heartbeat every interval for each RUNNING trial of the ``tune`` call ``run``
    (its owner record names it), until the block ends; the block gets a function recording a
    first heartbeat for a trial just asked (as ``study.optimize`` records one when a trial
    starts, so a process that dies before the next beat still leaves it stale). Without
    heartbeats both do nothing. A failed write is retried at the next beat: the trial goes
    stale only if writes fail for the whole grace period."""
    interval = heartbeat_interval(storage)
    if interval is None:
        yield _no_beat
        return
    from statetune.tuner.owners import running_trials_of

    inner = _inner(storage)
    stop = threading.Event()

    def first(trial_id: int) -> None:
        try:
            inner.record_heartbeat(trial_id)
        except Exception:  # a lost connection: the beat thread tries again within an interval
            pass

    def beat() -> None:
        while True:
            try:
                for t in running_trials_of(inner, study_id, run):
                    inner.record_heartbeat(t._trial_id)
            except Exception:  # a lost connection: try again at the next beat
                pass
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name="statetune-heartbeat", daemon=True)
    thread.start()
    try:
        yield first
    finally:
        stop.set()
        thread.join(timeout=interval)  # a beat hung on a dead connection must not hold tune
