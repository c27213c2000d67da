"""``st.tune``: one pass for every algorithm, then an Optuna study finalizing trials from states.

Trials are asked in batches of ``n_jobs`` (TPE with ``constant_liar`` so a batch spreads out),
evaluated in parallel threads (finalize is pure; numpy and LAPACK release the GIL) and told
back. With ``n_jobs=1`` the study is sequential and, with a fixed ``seed``, reproducible: the
same trials and the same best parameters on every run. With ``n_jobs > 1`` the set of trials
depends on completion order, as in any parallel Optuna study; every trial's value is still
exact for its parameters.

Example
-------
>>> import numpy as np, statetune as st
>>> rng = np.random.default_rng(0); X = rng.normal(size=(300, 4)); y = X @ [1.0, 0, 0, 2] + rng.normal(size=300)
>>> r = st.tune(st.from_arrays(X, y), ["ridge", "lasso"], n_trials=20, cv=3, metric="rmse", storage="memory")
>>> r.best_value < 1.2
True
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from statetune.algorithms import get_algorithm
from statetune.data.source import Source
from statetune.engine import TimeFolds
from statetune.state_cache import StateCache
from statetune.tuner.identity import (
    IDENTITY_ATTR,
    choose_study,
    in_space_pruner,
    study_identity,
)
from statetune.tuner.objective import evaluate, sample
from statetune.tuner.owners import (
    Owner,
    TrialCounter,
    abandon_run,
    active_run,
    fail_stale_trials,
    owned_storage,
    sigint_deferred,
)
from statetune.tuner.results import TuneResult
from statetune.tuner.space import build_space, params_in_space, to_optuna
from statetune.tuner.storage import DEFAULT_CACHE_DIR, resolve_storage
from statetune.validation import StateSet, compute_states

__all__ = ["StudyRecoveryWarning", "tune"]


class StudyRecoveryWarning(UserWarning):
    """Trials left RUNNING by a process that is gone were failed, or RUNNING trials without an
    owner record were found (the message lists them)."""


def _check_metric(algorithms: Sequence[str], metric: str | None) -> tuple[str, bool]:
    algs = [get_algorithm(a) for a in algorithms]
    if metric is None:  # the first metric every algorithm can compute
        common = [m for m in algs[0].metrics if all(m in a.metrics for a in algs)]
        metric = common[0] if common else algs[0].default_metric
    for a in algs:
        if metric not in a.metrics:
            raise ValueError(
                f"`metric` must be one every tuned algorithm can compute, but {a.name!r} cannot "
                f"compute {metric!r} (it offers {', '.join(a.metrics)})."
            )
    directions = {a.maximize(metric) for a in algs}
    return metric, directions.pop()


def _make_study(
    storage: Any, name: str, maximize: bool, seed: int, parallel: bool, sampler: Any, pruner: Any
) -> Any:
    import optuna
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        sampler = sampler or optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=parallel
        )
    return optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize" if maximize else "minimize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )


def _run_trial(
    states: StateSet, alg: str, params: dict[str, Any], metric: str, trial: Any
) -> tuple[str, Any, float]:
    """("complete", (value, folds), seconds), ("pruned", msg, s) or ("fail", reason, s)."""
    import optuna

    t0 = time.perf_counter()
    try:
        value, folds = evaluate(states, alg, params, metric, trial)
        return "complete", (value, folds), time.perf_counter() - t0
    except optuna.TrialPruned as err:
        return "pruned", str(err), time.perf_counter() - t0
    except (ArithmeticError, ValueError, np.linalg.LinAlgError, RuntimeWarning) as err:
        return "fail", f"{type(err).__name__}: {err}", time.perf_counter() - t0


def tune(
    source: Source | StateSet,
    algorithms: Sequence[str],
    n_trials: int = 100,
    cv: int = 5,
    metric: str | None = None,
    *,
    n_jobs: int = 1,
    seed: int = 0,
    storage: Any = None,
    study_name: str | None = None,
    search_space: Mapping[str, Mapping[str, Any]] | None = None,
    sampler: Any = None,
    pruner: Any = None,
    cache_dir: str | Path | None = None,
    cache: StateCache | str | None = None,
    progress: bool = False,
    pass_progress: Callable[[int], Any] | None = None,
    max_lag: int | None = None,
    resume: bool | None = None,
) -> TuneResult:
    """Tune ``algorithms`` on ``source`` with one data pass and an Optuna study.

    Parameters
    ----------
    source : Source or StateSet
        A statetune source (one pass computes every state), or states computed already.
    algorithms : list of str
        Registry names; one study searches across them (an ``algorithm`` choice).
    n_trials : int, default 100
        Evaluated trials the study should hold when done: a resumed study runs only the rest.
        Counted: trials inside the current search space that completed, were pruned, or
        failed because their parameters could not be finalized or scored, and trials that
        other live processes are running. Not counted: trials abandoned without evaluation
        (interrupted, or left RUNNING by a process that is gone; they are failed with a
        ``fail_reason``, see :mod:`statetune.tuner.owners`) and, after ``resume=True`` in
        another space, trials outside the current space.
    cv : int, default 5
        Folds; every trial is scored on each held-out fold's state. For series data (a source
        with series/time columns, or ``st.from_series``) these are rolling-origin folds over
        the last time blocks, never shuffled (see :class:`statetune.TimeFolds`).
    metric : str, optional
        Defaults to the first metric all algorithms can compute (``mse`` for regressors,
        ``accuracy`` for a mix of classifiers, ``log_likelihood`` for generative ones alone).
    n_jobs : int, default 1
        Parallel workers for the pass and for trials.
    seed : int, default 0
        Seeds the folds and the TPE sampler.
    storage : None, "memory", str or optuna storage
        None: an Optuna ``JournalStorage`` file in ``cache_dir`` (embedded, multi-process safe;
        a journal damaged by a cut-short write is repaired on open, see
        :mod:`statetune.tuner.journal`);
        "memory": not persisted; else any Optuna storage URL.
    study_name : str, optional
        Defaults to a hash of the study's identity: data fingerprint and columns, folds and
        their seed, state parameters (e.g. ``max_lag``), algorithms, search space (after
        bounding by the states) and metric. A rerun with all of these unchanged resumes the
        study; a change starts another (see :mod:`statetune.tuner.identity`).
    search_space : dict, optional
        ``{algorithm: {param: distribution}}`` overrides (Optuna distributions or statetune Params).
    sampler, pruner : optional
        Optuna sampler and pruner (defaults: seeded TPE; Optuna's ``MedianPruner``).
    cache : StateCache or path, optional
        Read states through this cache: no pass at all when the data has not changed, only the
        new segments when it grew (see :func:`statetune.compute_states`).
    progress : bool
        Show tqdm progress bars for the pass and the trials.
    max_lag : int, optional
        Series data: lags the pass keeps (default 8); forecasters search ``p`` below it.
    resume : bool, optional
        None (default): resume the study if it was made with the same identity, start it if
        it does not exist, refuse if it differs (the message says in what). True: continue
        an existing study even in another search space; its trials outside the current space
        never count toward ``n_trials`` nor give the best. False: always start a new study.

    Returns
    -------
    TuneResult
    """
    import optuna

    if n_jobs == -1:
        import os

        n_jobs = os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"`n_jobs` must be a positive integer or -1, but got {n_jobs!r}.")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"`n_trials >= 1` must hold, but got n_trials={n_trials!r}.")
    series = (
        isinstance(source.folds, TimeFolds)
        if isinstance(source, StateSet)
        else source.schema.is_series
    )
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < (1 if series else 2):
        raise ValueError(f"`cv >= {1 if series else 2}` must hold, but got cv={cv!r}.")
    if isinstance(algorithms, str):
        algorithms = [algorithms]
    algorithms = list(dict.fromkeys(algorithms))
    for a in algorithms:
        get_algorithm(a)  # unknown names fail before any pass
    metric, maximize = _check_metric(algorithms, metric)
    storage_obj = resolve_storage(storage, cache_dir or DEFAULT_CACHE_DIR)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    if isinstance(source, StateSet):
        states = source
        if states.n_folds != cv:
            raise ValueError(
                f"`cv` must match the states' folds ({states.n_folds}), but got cv={cv}."
            )
    else:
        bar = _bar(progress, "pass", "rows")
        try:
            states = compute_states(
                source,
                algorithms,
                folds=cv,
                seed=seed,
                n_jobs=n_jobs,
                cache=cache,
                progress=_chain(bar, pass_progress),
                max_lag=max_lag,
                metrics=[metric],
            )
        finally:
            if bar is not None:
                bar.close()
    timings["pass"] = time.perf_counter() - t0
    spaces = build_space(states, algorithms, search_space)
    to_optuna(spaces)  # every distribution converts before the first trial
    data_fp = None if isinstance(source, StateSet) else source.fingerprint()
    identity = study_identity(states, algorithms, spaces, metric, maximize, data_fp)
    run = uuid.uuid4().hex
    storage_obj = owned_storage(optuna.storages.get_storage(storage_obj), Owner.this_process(run))
    name, how = choose_study(storage_obj, study_name, identity, resume)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timings.update(sampler=0.0, finalize_and_score=0.0, storage=0.0)
    with active_run(run):
        study = _make_study(storage_obj, name, maximize, seed, n_jobs > 1, sampler, pruner)
        if how != "resumed":
            study.set_user_attr(IDENTITY_ATTR, identity)
            study.set_user_attr("metric", metric)
            study.set_user_attr("algorithms", algorithms)
        study_id = storage_obj.get_study_id_from_name(name)
        _recover(storage_obj, study_id, name)
        counter = TrialCounter(lambda params: params_in_space(params, spaces))
        if not all(map(counter.in_space, study.get_trials(deepcopy=False))) and not isinstance(
            study.pruner,
            optuna.pruners.HyperbandPruner,  # its brackets filter trials already
        ):
            study.pruner = in_space_pruner(study.pruner, counter.in_space)
        todo = max(0, n_trials - counter.count(study.get_trials(deepcopy=False)))
        bar = _bar(progress, "trials", "trial", total=todo)
        done = 0
        pool = _Pool(n_jobs)
        phase = "opening the study"
        try:
            while True:
                # Count every trial in the study, other workers' running ones included, so that
                # several processes sharing a storage stop together at n_trials.
                trials = study.get_trials(deepcopy=False)
                batch = min(max(n_jobs, 1), n_trials - counter.count(trials))
                if batch <= 0:
                    others = any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
                    if others and fail_stale_trials(storage_obj, study_id):
                        continue  # a worker counted as running is gone: run its share
                    break
                asked = []
                for _ in range(batch):
                    t = time.perf_counter()
                    phase = "asking for a trial (study.ask, the sampler)"
                    trial = study.ask()
                    phase = "sampling its parameters (suggest, the sampler)"
                    alg, params = sample(trial, spaces)
                    timings["sampler"] += time.perf_counter() - t
                    asked.append((trial, alg, params))
                t = time.perf_counter()
                phase = "finalizing and scoring"
                outcomes = pool.run(states, asked, metric)
                timings["finalize_and_score"] += time.perf_counter() - t
                t = time.perf_counter()
                phase = "recording results"
                for (trial, _alg, _params), (status, payload, _secs) in zip(
                    asked, outcomes, strict=True
                ):
                    if status == "complete":
                        value, folds = payload
                        trial.set_user_attr("fold_scores", folds)
                        study.tell(trial, value)
                    elif status == "pruned":
                        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    else:
                        trial.set_user_attr("fail_reason", payload)
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                timings["storage"] += time.perf_counter() - t
                done += batch
                if bar is not None:
                    bar.update(batch)
        except BaseException as err:  # Ctrl-C or a crash: no trial of this call stays RUNNING
            _close_own_trials(storage_obj, study_id, run, err, phase)
            raise
        finally:
            pool.close()
            if bar is not None:
                bar.close()
    return TuneResult(study, states, spaces, metric, maximize, timings, done)


def _recover(storage: Any, study_id: int, name: str) -> None:
    """Fail trials left RUNNING by processes that are gone; report unowned RUNNING ones."""
    stale = fail_stale_trials(storage, study_id)
    if stale:
        warnings.warn(
            f"Study {name!r}: trial(s) {stale} were left RUNNING by a tune call that stopped "
            "without closing them (its process was killed, or its last journal write was "
            "lost); they were failed with a fail_reason and do not count toward n_trials.",
            StudyRecoveryWarning,
            stacklevel=3,
        )
    unowned = TrialCounter.unowned(storage.get_all_trials(study_id, deepcopy=False))
    if unowned:
        warnings.warn(
            f"Study {name!r}: trial(s) {unowned} are RUNNING without an owner record (started "
            "by an older statetune or another Optuna client), so whether their process still "
            "runs is unknown; they do not count toward n_trials. If nothing runs them, fail "
            "them: study.tell(number, state=optuna.trial.TrialState.FAIL).",
            StudyRecoveryWarning,
            stacklevel=3,
        )


def _close_own_trials(
    storage: Any, study_id: int, run: str, err: BaseException, phase: str
) -> None:
    """Fail the trials this call still runs (found by owner record: even a trial whose
    ``study.ask()`` was interrupted before it returned). Best effort: a failure here leaves
    them to the next run's check of owners that are gone."""
    what = (
        type(err).__name__ if isinstance(err, KeyboardInterrupt) else f"{type(err).__name__}: {err}"
    )
    reason = f"interrupted by {what} while {phase}; not evaluated, not counted toward n_trials"
    with sigint_deferred():
        try:
            abandon_run(storage, study_id, run, reason)
        except Exception:  # e.g. the disk is still full: the owner record covers it
            pass


#: Below this many seconds per trial, thread dispatch costs more than it saves (measured in
#: experiments/trial_parallelism.py: 5-fold trials at d=50 take ~0.4 ms in this thread and
#: are slower with joblib threads or processes).
PARALLEL_MIN_TRIAL_SECONDS = 0.01


class _Pool:
    """Evaluates a batch of asked trials; one joblib thread pool reused for the whole study.

    With ``n_jobs > 1`` the first trial runs in this thread and is timed: trials cheaper than
    :data:`PARALLEL_MIN_TRIAL_SECONDS` keep running here (batching and the constant liar still
    apply), heavier ones go to the pool.
    """

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self.parallel: Any = None
        self.decided = n_jobs == 1

    def run(self, states: StateSet, asked: list[Any], metric: str) -> list[Any]:
        if not self.decided:
            first = _run_trial(states, asked[0][1], asked[0][2], metric, asked[0][0])
            self.decided = True
            if first[2] >= PARALLEL_MIN_TRIAL_SECONDS:
                from joblib import Parallel

                self.parallel = Parallel(n_jobs=self.n_jobs, backend="threading")
                self.parallel.__enter__()
            return [first, *self.run(states, asked[1:], metric)] if len(asked) > 1 else [first]
        if self.parallel is None or len(asked) == 1:
            return [_run_trial(states, a, p, metric, t) for t, a, p in asked]
        from joblib import delayed

        jobs = (delayed(_run_trial)(states, a, p, metric, t) for t, a, p in asked)
        return list(self.parallel(jobs))

    def close(self) -> None:
        if self.parallel is not None:
            self.parallel.__exit__(None, None, None)


def _bar(enabled: bool, desc: str, unit: str, total: int | None = None) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "rows", leave=True)


def _chain(bar: Any, extra: Callable[[int], Any] | None) -> Callable[[int], Any] | None:
    if bar is None and extra is None:
        return None

    def report(rows: int) -> None:
        if bar is not None:
            bar.update(rows)
        if extra is not None:
            extra(rows)

    return report
