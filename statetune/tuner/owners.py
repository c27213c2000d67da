"""Who runs a trial: an owner record on every trial, so that no trial stays RUNNING forever.

Every trial statetune asks is created with its owner in the same storage write (a trial system
attribute, :data:`OWNER_ATTR`): host name, boot id, process id and process start time (so a
reused process id is not mistaken for the owner), and a token of the ``tune`` call. Then:

- when a ``tune`` call stops on an exception (Ctrl-C landing in ``study.ask()``, a ``suggest``
  call, the sampler, a finalize or a storage write), it fails every trial it still runs,
  found through the owner record even when ``ask`` never returned the trial;
- when a study is opened, RUNNING trials whose owner is gone (killed with ``kill -9``, a
  crashed machine's process after a reboot, or a ``tune`` call of this very process that is no
  longer running) are failed;
- both carry a ``fail_reason`` user attribute saying why and the system attribute
  :data:`ABANDONED_ATTR`; such trials were never evaluated, so they do not count toward
  ``n_trials`` (see :class:`TrialCounter`) and a resumed study runs them again.

Liveness is checked on this host only (``/proc`` on Linux, ``os.kill(pid, 0)`` elsewhere): a
trial owned by a process of another host counts as running. Optuna's heartbeat would cover
that, but ``JournalStorage`` has none (only ``RDBStorage`` implements it).

Example
-------
>>> from statetune.tuner.owners import Owner, owner_alive
>>> me = Owner.this_process("run-1")
>>> owner_alive({**me.to_json(), "pid": 2**22 + 1})  # no such process on this host
False
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "ABANDONED_ATTR",
    "OWNER_ATTR",
    "Owner",
    "TrialCounter",
    "abandon",
    "abandon_run",
    "active_run",
    "fail_stale_trials",
    "owned_storage",
    "owner_alive",
    "running_trials_of",
    "sigint_deferred",
]

#: Trial system attribute: the owner record (:meth:`Owner.to_json`).
OWNER_ATTR = "statetune:owner"
#: Trial system attribute on trials failed without evaluation: ``"interrupted"`` or
#: ``"owner_gone"``.
ABANDONED_ATTR = "statetune:abandoned"

#: Tokens of the ``tune`` calls running in this process.
_ACTIVE_RUNS: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _boot_id() -> str | None:
    text = _read("/proc/sys/kernel/random/boot_id")
    return text.strip() if text else None


def _proc_start(pid: int) -> tuple[int, str] | None:
    """(start time in clock ticks since boot, state letter) of ``pid`` from ``/proc``."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the name in parentheses may hold spaces
    try:
        return int(fields[19]), fields[0]  # stat fields 22 (starttime) and 3 (state)
    except (IndexError, ValueError):  # pragma: no cover - not Linux's format
        return None


@dataclass(frozen=True)
class Owner:
    """The process (and ``tune`` call) running a trial."""

    host: str
    pid: int
    run: str
    boot: str | None = None
    started: int | None = None

    @classmethod
    def this_process(cls, run: str) -> Owner:
        pid = os.getpid()
        proc = _proc_start(pid)
        return cls(socket.gethostname(), pid, run, _boot_id(), proc[0] if proc else None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def describe(record: Mapping[str, Any]) -> str:
        return f"process {record.get('pid')} on host {record.get('host')!r}"


def owner_alive(record: Any) -> bool | None:
    """Whether the owner of a trial still runs it: True/False, or None when this host cannot
    tell (another host, or no usable record)."""
    if not isinstance(record, Mapping) or not isinstance(record.get("pid"), int):
        return None
    if record.get("host") != socket.gethostname():
        return None
    boot = _boot_id()
    if record.get("boot") and boot and record["boot"] != boot:
        return False  # the host rebooted since
    pid = record["pid"]
    proc = _proc_start(pid)
    if proc is not None:
        started, state = proc
        if record.get("started") is not None and record["started"] != started:
            return False  # the process id was reused
        if state in ("Z", "X"):
            return False  # exited, not yet reaped
        if pid == os.getpid():
            with _ACTIVE_LOCK:
                return record.get("run") in _ACTIVE_RUNS  # this process: only while its call runs
        return True
    if os.path.isdir("/proc/self"):
        return False  # Linux, and no such process
    try:  # pragma: no cover - platforms without /proc
        os.kill(pid, 0)
    except ProcessLookupError:  # pragma: no cover
        return False
    except PermissionError:  # pragma: no cover - another user's process
        return True
    if pid == os.getpid():  # pragma: no cover
        with _ACTIVE_LOCK:
            return record.get("run") in _ACTIVE_RUNS
    return True  # pragma: no cover


@contextmanager
def active_run(run: str) -> Iterator[None]:
    """Mark the ``tune`` call ``run`` as running in this process."""
    with _ACTIVE_LOCK:
        _ACTIVE_RUNS.add(run)
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE_RUNS.discard(run)


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold off the first Ctrl-C while closing trials (a second one interrupts)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.getsignal(signal.SIGINT)

    def first(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, old)

    try:
        signal.signal(signal.SIGINT, first)
    except (ValueError, TypeError):  # pragma: no cover - no signals here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _trial_template(owner: Owner) -> Any:
    from optuna.trial import FrozenTrial, TrialState

    return FrozenTrial(
        number=-1,
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.now(),
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs={},
        system_attrs={OWNER_ATTR: owner.to_json()},
        intermediate_values={},
        trial_id=-1,
    )


def _owned_storage_class() -> type:
    from optuna.storages import BaseStorage

    class _OwnedStorage(BaseStorage):
        """An Optuna storage that writes the owner record with each new trial, in the same
        write (``create_new_trial`` with a template), and passes everything else on."""

        def __init__(self, inner: Any, owner: Owner) -> None:
            self.inner = inner
            self.owner = owner

        def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
            return self.inner.create_new_trial(
                study_id, template_trial or _trial_template(self.owner)
            )

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    def forward(name: str) -> Callable[..., Any]:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return getattr(self.inner, name)(*args, **kwargs)

        method.__name__ = name
        return method

    for name in dir(BaseStorage):
        if not name.startswith("_") and name != "create_new_trial":
            setattr(_OwnedStorage, name, forward(name))
    _OwnedStorage.__abstractmethods__ = frozenset()
    return _OwnedStorage


_OWNED_STORAGE: list[type] = []


def owned_storage(inner: Any, owner: Owner) -> Any:
    """Wrap an Optuna storage so every trial it creates carries ``owner`` (see module doc)."""
    if not _OWNED_STORAGE:
        _OWNED_STORAGE.append(_owned_storage_class())
    return _OWNED_STORAGE[0](inner, owner)


def abandon(storage: Any, trial: Any, code: str, reason: str) -> bool:
    """Fail a RUNNING trial without evaluation; False if it finished meanwhile."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    try:
        storage.set_trial_system_attr(trial._trial_id, ABANDONED_ATTR, code)
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
        return bool(storage.set_trial_state_values(trial._trial_id, TrialState.FAIL))
    except UpdateFinishedTrialError:
        return False


def _running(storage: Any, study_id: int) -> list[Any]:
    from optuna.trial import TrialState

    return storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))


def running_trials_of(storage: Any, study_id: int, run: str) -> list[Any]:
    """The RUNNING trials whose owner record names the ``tune`` call ``run``."""
    out = []
    for t in _running(storage, study_id):
        record = t.system_attrs.get(OWNER_ATTR)
        if isinstance(record, Mapping) and record.get("run") == run:
            out.append(t)
    return out


def abandon_run(storage: Any, study_id: int, run: str, reason: str) -> list[int]:
    """Fail every RUNNING trial of the ``tune`` call ``run``; their numbers."""
    return [
        t.number
        for t in running_trials_of(storage, study_id, run)
        if abandon(storage, t, "interrupted", reason)
    ]


def fail_stale_trials(storage: Any, study_id: int) -> list[int]:
    """Fail RUNNING trials whose owner is gone (see :func:`owner_alive`), or, on a storage
    with heartbeats, whose owner on another host stopped beating; their numbers."""
    from statetune.tuner.heartbeat import heartbeat_interval, stale_trial_ids

    done = []
    me = f"process {os.getpid()} on host {socket.gethostname()!r}"
    silent = set(stale_trial_ids(storage, study_id))
    for t in _running(storage, study_id):
        record = t.system_attrs.get(OWNER_ATTR)
        alive = owner_alive(record)
        if alive is False:
            why = "stopped without closing it (killed, or its last journal write was lost)"
        elif alive is None and t._trial_id in silent:
            grace = 2 * (heartbeat_interval(storage) or 0)
            why = f"sent no heartbeat for over {grace} s (its process or host stopped)"
        else:
            continue
        who = Owner.describe(record) if isinstance(record, Mapping) else "unknown"
        reason = (
            f"abandoned: its owner, {who}, {why}; failed when {me} resumed the study. Not "
            "evaluated and not counted toward n_trials."
        )
        if abandon(storage, t, "owner_gone", reason):
            done.append(t.number)
    return done


class TrialCounter:
    """Counts the trials toward ``n_trials``: evaluated ones inside the search space
    (COMPLETE, PRUNED, or FAIL because its parameters could not be finalized or scored) and
    the ones running now in a live process. Abandoned trials (interrupted, owner gone) do not
    count, nor RUNNING trials without an owner record (left by another Optuna client; they are
    reported by :meth:`unowned`).

    ``inside(params)`` says whether a trial's parameters lie in the current search space.
    Finished trials cannot change: verdicts on them are kept, and the leading run of finished
    trials is counted once, so each count looks at the newer trials only.
    """

    def __init__(self, inside: Callable[[Mapping[str, Any]], bool]) -> None:
        self.inside = inside
        self._inside: dict[int, bool] = {}
        self._prefix = 0  # trials[:_prefix] are finished ...
        self._prefix_count = 0  # ... and this many of them count

    def in_space(self, t: Any) -> bool:
        """Whether finished trial ``t`` lies in the search space (unfinished ones: True)."""
        if not t.state.is_finished():
            return True
        verdict = self._inside.get(t._trial_id)
        if verdict is None:
            verdict = self._inside[t._trial_id] = bool(self.inside(t.params))
        return verdict

    def _counts(self, t: Any) -> bool:
        from optuna.trial import TrialState

        if t.state == TrialState.RUNNING:
            return OWNER_ATTR in t.system_attrs
        if not t.state.is_finished():
            return False  # WAITING: asked by the next trial of the loop
        if t.state == TrialState.FAIL and ABANDONED_ATTR in t.system_attrs:
            return False
        return self.in_space(t)

    def count(self, trials: Sequence[Any]) -> int:
        """Trials toward ``n_trials`` among ``trials`` (a study's, in order)."""
        if len(trials) < self._prefix:  # another study's list: start over
            self._prefix = self._prefix_count = 0
        while self._prefix < len(trials) and trials[self._prefix].state.is_finished():
            self._prefix_count += self._counts(trials[self._prefix])
            self._prefix += 1
        rest = trials[self._prefix :]
        return self._prefix_count + sum(self._counts(t) for t in rest)

    @staticmethod
    def unowned(trials: Sequence[Any]) -> list[int]:
        from optuna.trial import TrialState

        return [
            t.number
            for t in trials
            if t.state == TrialState.RUNNING and OWNER_ATTR not in t.system_attrs
        ]
