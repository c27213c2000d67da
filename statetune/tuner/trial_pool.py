"""Where ``st.tune`` evaluates a batch of asked trials: this thread, joblib threads, or Dask.

A pool has ``submit(states, asked, metric, report) -> handle`` and ``collect(handle) ->
outcomes`` (one ``(status, payload, seconds)`` per asked ``(trial, algorithm, params)``, in
order). The local pool evaluates in ``submit``; a pool with ``pipelined = True`` (Dask) only
sends the batch there, so ``st.tune`` can ask the next batch while the workers run this one.

Example
-------
>>> import numpy as np, optuna, statetune as st
>>> from statetune.tuner.trial_pool import LocalPool
>>> states = st.compute_states(st.from_arrays(np.eye(6, 2), np.arange(6.0)), ["ridge"], folds=2)
>>> study = optuna.create_study()
>>> pool = LocalPool(1)
>>> out = pool.collect(pool.submit(states, [(study.ask(), "ridge", {"alpha": 1.0})], "mse", False))
>>> out[0][0]
'complete'
"""

from __future__ import annotations

import time
from typing import Any

from statetune.tuner.objective import TRIAL_ERRORS, evaluate
from statetune.validation import StateSet

__all__ = ["PARALLEL_MIN_TRIAL_SECONDS", "LocalPool", "make_pool", "run_trial"]

#: Below this many seconds per trial, thread dispatch costs more than it saves (measured in
#: experiments/trial_parallelism.py: 5-fold trials at d=50 take ~0.4 ms in this thread and
#: are slower with joblib threads or processes).
PARALLEL_MIN_TRIAL_SECONDS = 0.01


def run_trial(
    states: StateSet, alg: str, params: dict[str, Any], metric: str, trial: Any, report: bool
) -> tuple[str, Any, float]:
    """("complete", (value, folds), seconds), ("pruned", msg, s) or ("fail", reason, s).

    The seconds are this thread's CPU time, not wall time: they decide whether to prune and
    whether to use threads, and a loaded machine stretches wall time tenfold where CPU time
    barely moves, so a seeded study decides alike on every run."""
    import optuna

    t0 = time.thread_time()
    try:
        value, folds = evaluate(states, alg, params, metric, trial, report)
        return "complete", (value, folds), time.thread_time() - t0
    except optuna.TrialPruned as err:
        return "pruned", str(err), time.thread_time() - t0
    except TRIAL_ERRORS as err:  # LinAlgError is a ValueError
        return "fail", f"{type(err).__name__}: {err}", time.thread_time() - t0


class LocalPool:
    """Evaluates a batch of asked trials here; one joblib thread pool reused for the study.

    With ``n_jobs > 1`` the first trial runs in this thread and is timed: trials cheaper than
    :data:`PARALLEL_MIN_TRIAL_SECONDS` keep running here (batching and the constant liar still
    apply), heavier ones go to the pool.
    """

    pipelined = False

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self.batch = max(n_jobs, 1)
        self.parallel: Any = None
        self.decided = n_jobs == 1

    def submit(self, states: StateSet, asked: list[Any], metric: str, report: bool) -> Any:
        """Evaluate now (the handle is the outcomes)."""
        return self.run(states, asked, metric, report)

    def collect(self, handle: Any) -> list[Any]:
        return list(handle)

    def run(self, states: StateSet, asked: list[Any], metric: str, report: bool) -> list[Any]:
        if not self.decided:
            first = run_trial(states, asked[0][1], asked[0][2], metric, asked[0][0], report)
            self.decided = True
            if first[2] >= PARALLEL_MIN_TRIAL_SECONDS:
                from joblib import Parallel

                self.parallel = Parallel(n_jobs=self.n_jobs, backend="threading")
                self.parallel.__enter__()
            rest = self.run(states, asked[1:], metric, report) if len(asked) > 1 else []
            return [first, *rest]
        if self.parallel is None or len(asked) == 1:
            return [run_trial(states, a, p, metric, t, report) for t, a, p in asked]
        from joblib import delayed

        jobs = (delayed(run_trial)(states, a, p, metric, t, report) for t, a, p in asked)
        return list(self.parallel(jobs))

    def close(self) -> None:
        if self.parallel is not None:
            self.parallel.__exit__(None, None, None)


def make_pool(n_jobs: int, executor: Any, states: StateSet) -> Any:
    """The local pool, or trials on the cluster of a ``DaskExecutor`` (states scattered once)."""
    if executor is None:
        return LocalPool(n_jobs)
    from statetune.tuner.dask_trials import DaskTrials

    return DaskTrials(executor, states)
