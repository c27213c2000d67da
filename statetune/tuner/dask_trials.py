"""Trials on Dask: states scattered once, batches of asked trials as tasks, told back here.

``st.tune(..., executor=st.DaskExecutor(client))`` sends the states to every worker once
(``client.scatter(broadcast=True)``; not per trial, as joblib's Dask backend does, which
overloads the scheduler: joblib#1154). The study stays on the client: trials are asked there
(in batches, TPE's constant liar spreading a batch out), evaluated on the workers, and told
back in order.

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

    @property
    def batch(self) -> int:
        """Trials to ask at once: one task per worker thread (one trial until timed)."""
        return 1 if self.per_task is None else self.per_task * self.threads

    def run(self, states: StateSet, asked: list[Any], metric: str, report: bool) -> list[Any]:
        """``(status, payload, seconds)`` per asked ``(trial, algorithm, params)``, in order;
        sets each trial's ``validation`` user attribute (``report`` is not used: see the
        module notes)."""
        items = [(alg, params) for _, alg, params in asked]
        if self.per_task is None:  # time one trial here, then size the tasks
            outcomes = run_trials(states, items[:1], metric)
            self.per_task = trials_per_task(outcomes[0][2])
            if len(items) > 1:
                outcomes += self._remote(items[1:], metric)
        else:
            outcomes = self._remote(items, metric)
        for (trial, _, _), (_, _, _, how) in zip(asked, outcomes, strict=True):
            if how is not None:
                trial.set_user_attr("validation", how)
        return [o[:3] for o in outcomes]

    def _remote(self, items: list[tuple[str, dict[str, Any]]], metric: str) -> list[Outcome]:
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
        try:
            results = self.client.gather(futures)
        except BaseException:
            self.client.cancel(futures)
            raise
        return [o for result in results for o in result]

    def close(self) -> None:
        """Release the scattered states."""
        self.states.release()
