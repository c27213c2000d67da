"""Trials on Dask: states scattered once, batches of asked trials as tasks, told back here.

``st.tune(..., executor=st.DaskExecutor(client))`` sends the states to every worker once
(``client.scatter(broadcast=True)``; not per trial, as joblib's Dask backend does, which
overloads the scheduler: joblib#1154). The study stays on the client: trials are asked there
(in batches, TPE's constant liar spreading a batch out), evaluated on the workers, and told
back in order. Two batches are in flight: while the workers run one, the client tells the
one before and asks the next (the sampler sees the running batch through the constant liar).

A Dask task costs about a millisecond of scheduling and a batch a round trip, while a
statetune trial takes from a fraction of a millisecond to seconds. The first trial is run
here and timed; then each task takes enough trials to last about :data:`TASK_SECONDS`
(scheduling overhead a few percent of trial time), and a batch gives every worker thread one
task. Fold reports (pruning) are not made on Dask: a trial's folds run on a worker, away
from the study; every trial is scored on all folds.

Example
-------
>>> from statetune.tuner.dask_trials import trials_per_task
>>> trials_per_task(0.0005), trials_per_task(2.0)
(100, 1)
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from statetune.tuner.objective import TRIAL_ERRORS
from statetune.validation import StateSet
from statetune.validation.scoring import evaluate as validation_evaluate

__all__ = ["TASK_SECONDS", "DaskTrials", "run_trials", "trials_per_task"]

#: Seconds of trials a task should hold: scheduling (~1 ms a task) stays under 2% of it.
TASK_SECONDS = 0.05

#: At most this many trials in one task (a batch is also what the sampler sees at once).
MAX_TRIALS_PER_TASK = 500

#: ``(status, payload, seconds, how)``: "complete" with ``(value, fold_scores)``, or "fail"
#: with the reason; ``how`` says how folds were scored (held-out state or sample).
Outcome = tuple[str, Any, float, str | None]


def trials_per_task(trial_seconds: float) -> int:
    """Trials per task so that a task lasts about :data:`TASK_SECONDS`."""
    if not trial_seconds > 0:
        return MAX_TRIALS_PER_TASK
    return int(min(MAX_TRIALS_PER_TASK, max(1, math.ceil(TASK_SECONDS / trial_seconds))))


def run_trials(
    states: StateSet, items: list[tuple[str, dict[str, Any]]], metric: str
) -> list[Outcome]:
    """Evaluate ``(algorithm, params)`` trials on every fold (the work of one task)."""
    out: list[Outcome] = []
    for alg, params in items:
        how = _How()
        t0 = time.perf_counter()
        try:
            value, folds = validation_evaluate(states, alg, params, metric, how.append_report)
            out.append(("complete", (value, folds), time.perf_counter() - t0, how[0]))
        except TRIAL_ERRORS as err:  # LinAlgError is a ValueError
            reason = f"{type(err).__name__}: {err}"
            out.append(("fail", reason, time.perf_counter() - t0, how[0] if how else None))
    return out


class _How(list[str]):
    """Collects how each fold was scored (held-out state or sample)."""

    def append_report(self, k: int, running: float, how: str) -> None:
        self.append(how)


class DaskTrials:
    """Evaluates the batches of asked trials of ``st.tune`` on a Dask cluster.

    ``pipelined``: ``st.tune`` asks (and tells) one batch on the client while the workers run
    the one before, so the sampler and the storage do not leave the workers idle.

    Parameters
    ----------
    executor : DaskExecutor
        The cluster (its ``client``).
    states : StateSet
        Scattered to every worker once, at construction.
    """

    def __init__(self, executor: Any, states: StateSet) -> None:
        self.client = executor.client
        self.retries = executor.retries
        self.threads = executor.n_jobs
        self.states = self.client.scatter(states, broadcast=True, hash=False)
        self.per_task: int | None = None
        self.token = uuid.uuid4().hex[:8]
        self.tasks = 0
        self.pending: list[Any] = []

    pipelined = True

    @property
    def batch(self) -> int:
        """Trials to ask at once: one task per worker thread (one trial until timed)."""
        return 1 if self.per_task is None else self.per_task * self.threads

    def submit(self, states: StateSet, asked: list[Any], metric: str, report: bool) -> Any:
        """Send a batch of asked ``(trial, algorithm, params)`` to the workers (the first trial
        of the study runs here and is timed, to size the tasks); returns the handle for
        :meth:`collect`. ``report`` is not used: see the module notes."""
        items = [(alg, params) for _, alg, params in asked]
        here: list[Outcome] = []
        if self.per_task is None:  # time one trial here, then size the tasks
            here = run_trials(states, items[:1], metric)
            self.per_task = trials_per_task(here[0][2])
            items = items[1:]
        return asked, here, self._send(items, metric) if items else []

    def collect(self, handle: Any) -> list[Any]:
        """``(status, payload, seconds)`` per trial of a submitted batch, in order; sets each
        trial's ``validation`` user attribute."""
        asked, here, futures = handle
        outcomes = here + self._gather(futures)
        for (trial, _, _), (_, _, _, how) in zip(asked, outcomes, strict=True):
            if how is not None:
                trial.set_user_attr("validation", how)
        return [o[:3] for o in outcomes]

    def run(self, states: StateSet, asked: list[Any], metric: str, report: bool) -> list[Any]:
        """:meth:`submit` then :meth:`collect`."""
        return self.collect(self.submit(states, asked, metric, report))

    def _send(self, items: list[tuple[str, dict[str, Any]]], metric: str) -> list[Any]:
        assert self.per_task is not None
        size = max(1, min(self.per_task, math.ceil(len(items) / self.threads)))
        groups = [items[i : i + size] for i in range(0, len(items), size)]
        futures = []
        for group in groups:
            self.tasks += 1
            futures.append(
                self.client.submit(
                    run_trials,
                    self.states,
                    group,
                    metric,
                    key=f"statetune-trials-{len(group)}-{self.tasks}-{self.token}",
                    retries=self.retries,
                )
            )
        self.pending.extend(futures)
        return futures

    def _gather(self, futures: list[Any]) -> list[Outcome]:
        if not futures:
            return []
        try:
            results = self.client.gather(futures)
        except BaseException:
            self.client.cancel(self.pending)
            self.pending.clear()
            raise
        done = set(map(id, futures))
        self.pending = [f for f in self.pending if id(f) not in done]
        return [o for result in results for o in result]

    def close(self) -> None:
        """Cancel what is still running (an interrupted study) and release the states."""
        if self.pending:
            self.client.cancel(self.pending)
            self.pending.clear()
        self.states.release()
