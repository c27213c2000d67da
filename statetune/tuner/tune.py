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

import gc
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from statetune.algorithms import get_algorithm
from statetune.algorithms.registry import resolve_algorithm, resolve_keys
from statetune.data.source import Source
from statetune.engine import TimeFolds
from statetune.state_cache import StateCache
from statetune.tuner.ask_tell import grid_left, in_loop, quiet_trials
from statetune.tuner.heartbeat import beating
from statetune.tuner.identity import (
    IDENTITY_ATTR,
    choose_study,
    in_space_pruner,
    study_identity,
)
from statetune.tuner.metrics_check import (
    check_metric_applies,
    check_metric_fits_source,
    resolve_metric,
)
from statetune.tuner.objective import sample
from statetune.tuner.owners import (
    Owner,
    TrialCounter,
    active_run,
    fail_stale_trials,
    owned_storage,
)
from statetune.tuner.pruning import DECISION_ATTR, make_auto_pruner
from statetune.tuner.results import TuneResult
from statetune.tuner.space import build_space, params_in_space, to_optuna
from statetune.tuner.storage import DEFAULT_CACHE_DIR, resolve_storage
from statetune.tuner.study_setup import (
    StudyRecoveryWarning,
    check_still_ours,
    check_users_study,
    close_own_trials,
    make_study,
    recover,
)
from statetune.tuner.trial_pool import make_pool
from statetune.validation import StateSet, compute_states

__all__ = ["StudyRecoveryWarning", "tune"]


def tune(
    source: Source | StateSet,
    algorithms: Sequence[str],
    n_trials: int | None = 100,
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
    study: Any = None,
    timeout: float | None = None,
    callbacks: Sequence[Callable[[Any, Any], Any]] | None = None,
    gc_after_trial: bool = False,
    cache_dir: str | Path | None = None,
    cache: StateCache | str | None = None,
    progress: bool = False,
    pass_progress: Callable[[int], Any] | None = None,
    max_lag: int | None = None,
    state_params: Mapping[str, Mapping[str, Any]] | None = None,
    resume: bool | None = None,
    executor: Any = None,
) -> TuneResult:
    """Tune ``algorithms`` on ``source`` with one data pass and an Optuna study.

    Parameters
    ----------
    source : Source or StateSet
        A statetune source (one pass computes every state), or states computed already.
    algorithms : list of str
        Registry names; one study searches across them (an ``algorithm`` choice). ``knn``
        stands for ``knn_regressor`` (numeric target) or ``knn_classifier`` (class labels).
    n_trials : int or None, default 100
        Evaluated trials the study should hold when done: a resumed study runs only the rest.
        Counted: trials inside the current search space that completed, were pruned, or
        failed because their parameters could not be finalized or scored, and trials that
        other live processes are running. Not counted: trials abandoned without evaluation
        (interrupted, or left RUNNING by a process that is gone; they are failed with a
        ``fail_reason``, see :mod:`statetune.tuner.owners`) and, after ``resume=True`` in
        another space, trials outside the current space. None: no limit (needs ``timeout``
        or a ``GridSampler``, which stops when its grid is done).
    cv : int, default 5
        Folds; every trial is scored on each held-out fold's state. For series data (a source
        with series/time columns, or ``st.from_series``) these are rolling-origin folds over
        the last time blocks, never shuffled (see :class:`statetune.TimeFolds`).
    metric : str, optional
        Defaults to the first metric all algorithms can compute (``mse`` for regressors,
        ``accuracy`` for a mix of classifiers, ``log_likelihood`` for generative ones alone).
        A metric the target cannot have (``roc_auc`` of a 3-class target) is refused before
        the first trial, naming the alternatives.
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
        Defaults to a readable name plus a hash of the study's identity, e.g.
        ``ridge+lasso-rmse-1a2b3c4d5e6f``: the identity is the data fingerprint and columns,
        folds and their seed, state parameters (e.g. ``max_lag``), algorithms, search space
        (after bounding by the states) and metric. A rerun with all of these unchanged
        resumes the study; a change starts another (see :mod:`statetune.tuner.identity`).
    search_space : dict, optional
        ``{algorithm: {param: distribution}}`` overrides (Optuna distributions or statetune
        Params). Trial parameters are always named ``"algorithm"`` and
        ``"<algorithm>:<param>"`` (see :mod:`statetune.tuner.space`), so
        ``study.enqueue_trial`` and ``GridSampler`` grids do not depend on the algorithm list.
    sampler, pruner : optional
        Optuna sampler and pruner. Defaults: a seeded TPE; no pruning unless the first
        complete trial's folds take :data:`statetune.tuner.pruning.PRUNE_MIN_FOLD_SECONDS`
        or more each, then a median pruner within each algorithm (folds cost micro- to
        milliseconds, so pruning would save nothing and could hide algorithms; see
        :mod:`statetune.tuner.pruning`).
    study : optuna.Study, optional
        Your own study: its storage, name, sampler and pruner are used (leave ``storage``,
        ``study_name``, ``sampler`` and ``pruner`` unset); its direction must be the
        metric's. An empty study is taken as new; one that holds statetune trials resumes
        under the same rules as a named study (``resume``).
    timeout : float, optional
        Seconds after the pass (as ``study.optimize(timeout=...)``): no new batch of trials
        is asked after them; the running one finishes.
    callbacks : list of callables, optional
        As ``study.optimize(callbacks=...)``: each is called as ``callback(study, trial)``
        with the ``FrozenTrial`` after every told trial; ``study.stop()`` inside one stops
        asking new trials.
    gc_after_trial : bool, default False
        Run ``gc.collect()`` after every told trial (as ``study.optimize``).
    cache : StateCache or path, optional
        Read states through this cache: no pass at all when the data has not changed, only the
        new segments when it grew (see :func:`statetune.compute_states`).
    progress : bool
        Show tqdm progress bars for the pass and the trials. Optuna's per-trial log lines are
        not written while ``tune`` runs (its verbosity and handlers are left as they are).
    max_lag : int, optional
        Series data: lags the pass keeps (default 8); forecasters search ``p`` below it.
    state_params : dict, optional
        Other state parameters by algorithm, e.g. ``{"kmeans": {"k_max": 50}}`` (see
        :func:`statetune.compute_states`); part of the study's identity through the states.
    resume : bool, optional
        None (default): resume the study if it was made with the same identity, start it if
        it does not exist (or exists with no trials and no identity record), refuse if it
        differs (the message says in what). True: continue an existing study even in another
        search space; its trials outside the current space never count toward ``n_trials``
        nor give the best. False: always start a new study.
    executor : DaskExecutor, optional
        Run the pass and the trials on a Dask cluster (``st.DaskExecutor(client)``): states
        are scattered to the workers once, batches of trials run as tasks (see
        :mod:`statetune.tuner.dask_trials`; no fold reports to a pruner).

    Returns
    -------
    TuneResult
    """
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError

    if n_jobs == -1:
        import os

        n_jobs = os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"`n_jobs` must be a positive integer or -1, but got {n_jobs!r}.")
    if executor is not None and not getattr(executor, "distributed", False):
        raise TypeError(
            f"`executor` must be a st.DaskExecutor, but got {type(executor).__name__}; for "
            "local threads pass n_jobs."
        )
    grid = isinstance(
        study.sampler if isinstance(study, optuna.Study) else sampler,
        optuna.samplers.GridSampler,
    )
    if n_trials is None and timeout is None and not grid:
        raise ValueError(
            "`n_trials` may be None only with a `timeout` or a GridSampler (something must "
            "stop the study), but got n_trials=None and neither."
        )
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1
    ):
        raise ValueError(f"`n_trials >= 1` must hold, but got n_trials={n_trials!r}.")
    if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
        raise ValueError(f"`timeout > 0` (seconds) must hold, but got timeout={timeout!r}.")
    callbacks = list(callbacks or [])
    if not all(callable(c) for c in callbacks):
        raise TypeError(f"`callbacks` must be callables (study, trial), but got {callbacks!r}.")
    series = (
        isinstance(source.folds, TimeFolds)
        if isinstance(source, StateSet)
        else source.schema.is_series
    )
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < (1 if series else 2):
        raise ValueError(f"`cv >= {1 if series else 2}` must hold, but got cv={cv!r}.")
    if isinstance(algorithms, str):
        algorithms = [algorithms]
    # an alias ("knn") names the algorithm of the source's task (knn_regressor/_classifier)
    algorithms = list(dict.fromkeys(resolve_algorithm(a, source.schema) for a in algorithms))
    search_space = resolve_keys(search_space, source.schema)
    state_params = resolve_keys(state_params, source.schema)
    for a in algorithms:
        get_algorithm(a)  # unknown names fail before any pass
    metric, maximize = resolve_metric(algorithms, metric)
    check_metric_fits_source(algorithms, metric, source.schema.has_target)
    if study is not None:  # before the pass: a wrong study fails at once
        check_users_study(
            study,
            maximize,
            metric,
            storage=storage,
            study_name=study_name,
            sampler=sampler,
            pruner=pruner,
        )
        storage_obj: Any = study._storage
    else:
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
                state_params=state_params,
                executor=executor,
            )
        finally:
            if bar is not None:
                bar.close()
    timings["pass"] = time.perf_counter() - t0
    check_metric_applies(states, algorithms, metric)  # the classes are known now
    spaces = build_space(states, algorithms, search_space)
    to_optuna(spaces)  # every distribution converts before the first trial
    data_fp = None if isinstance(source, StateSet) else source.fingerprint()
    identity = study_identity(states, algorithms, spaces, metric, maximize, data_fp)
    run = uuid.uuid4().hex
    storage_obj = owned_storage(optuna.storages.get_storage(storage_obj), Owner.this_process(run))
    name, how = choose_study(
        storage_obj, study.study_name if study is not None else study_name, identity, resume
    )
    auto = None
    if study is not None:
        pruner = study.pruner
    elif pruner is None:
        pruner = auto = make_auto_pruner()
    timings.update(sampler=0.0, finalize_and_score=0.0, storage=0.0)
    with active_run(run), quiet_trials():
        batched = n_jobs > 1 or executor is not None  # the sampler sees batches: constant liar
        ours = make_study(storage_obj, name, maximize, seed, batched, sampler, pruner, study)
        if how != "resumed":
            ours.set_user_attr(IDENTITY_ATTR, identity)
            ours.set_user_attr("metric", metric)
            ours.set_user_attr("algorithms", algorithms)
        study_id = storage_obj.get_study_id_from_name(name)
        recover(storage_obj, study_id, name)
        counter = TrialCounter(lambda params: params_in_space(params, spaces))
        if not all(map(counter.in_space, ours.get_trials(deepcopy=False))) and not isinstance(
            ours.pruner,
            optuna.pruners.HyperbandPruner,  # its brackets filter trials already
        ):
            ours.pruner = in_space_pruner(ours.pruner, counter.in_space)
        nop = isinstance(pruner, optuna.pruners.NopPruner)
        if auto is not None:  # a decision made earlier on this study stands
            recorded = ours.user_attrs.get(DECISION_ATTR)
            if isinstance(recorded, str):
                auto.decide(recorded=recorded)
        limit = n_trials if n_trials is not None else float("inf")
        todo = (
            max(0, n_trials - counter.count(ours.get_trials(deepcopy=False))) if n_trials else None
        )
        bar = _bar(progress, "trials", "trial", total=todo)
        done = 0
        pool: Any = make_pool(n_jobs, executor, states)
        phase = "opening the study"
        deadline = None if timeout is None else time.perf_counter() + timeout
        loop_studies = [ours] if study is None else [ours, study]
        stopped = [False]
        inflight: tuple[list[Any], Any] | None = None  # a pipelined pool's running batch

        PRUNED, FAIL = optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL

        def record(asked: list[Any], handle: Any) -> None:
            """Collect a submitted batch's outcomes and tell them to the study."""
            nonlocal phase, done
            t = time.perf_counter()
            phase = "finalizing and scoring"
            outcomes = pool.collect(handle)
            timings["finalize_and_score"] += time.perf_counter() - t
            if auto is not None and not auto.decided:
                secs = [o[2] for o in outcomes if o[0] == "complete"]
                if secs:
                    auto.decide(min(secs) / states.n_folds)
                    ours.set_user_attr(DECISION_ATTR, auto.decision)
            t = time.perf_counter()
            phase = "recording results"
            for (trial, _alg, _params), (status, payload, _secs) in zip(
                asked, outcomes, strict=True
            ):
                try:
                    with in_loop(loop_studies, stopped):
                        if status == "complete":
                            value, folds = payload
                            trial.set_user_attr("fold_scores", folds)
                            ours.tell(trial, value, skip_if_finished=True)
                        elif status == "pruned":
                            ours.tell(trial, state=PRUNED, skip_if_finished=True)
                        else:
                            trial.set_user_attr("fail_reason", payload)
                            ours.tell(trial, state=FAIL, skip_if_finished=True)
                except UpdateFinishedTrialError:
                    warnings.warn(
                        f"Study {name!r}: trial {trial.number} was finished by another process "
                        "before its result was recorded (failed as abandoned: its heartbeat was "
                        "late, e.g. a database outage or a paused machine); its result is "
                        "dropped and the study goes on.",
                        StudyRecoveryWarning,
                        stacklevel=2,
                    )
                    continue
                if callbacks:
                    phase = "running callbacks"
                    frozen = storage_obj.get_trial(trial._trial_id)
                    with in_loop(loop_studies, stopped):
                        for callback in callbacks:
                            callback(study if study is not None else ours, frozen)
                    phase = "recording results"
                if gc_after_trial:
                    gc.collect()
            timings["storage"] += time.perf_counter() - t
            done += len(asked)
            if bar is not None:
                bar.update(len(asked))

        with beating(storage_obj, study_id, run) as first_beat:
            try:
                while True:
                    over = stopped[0] or (deadline is not None and time.perf_counter() >= deadline)
                    if over:
                        batch = 0
                    else:
                        # Count every trial in the study, other workers' running ones included
                        # (and our own batch in flight), so that several processes sharing a
                        # storage stop together at n_trials.
                        trials = ours.get_trials(deepcopy=False)
                        batch = int(min(pool.batch, limit - counter.count(trials)))
                        left = grid_left(ours.sampler, ours)
                        if left is not None:
                            batch = min(batch, left)  # never re-run a grid point: stop when done
                    if batch <= 0:
                        if inflight is not None:  # finish our running batch, then look again
                            record(*inflight)
                            inflight = None
                            continue
                        if over:
                            break
                        others = any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
                        if others and fail_stale_trials(storage_obj, study_id):
                            continue  # a worker counted as running is gone: run its share
                        break
                    check_still_ours(storage_obj, study_id, name, identity)
                    asked = []
                    for _ in range(batch):
                        t = time.perf_counter()
                        phase = "asking for a trial (study.ask, the sampler)"
                        trial = ours.ask()
                        first_beat(trial._trial_id)
                        phase = "sampling its parameters (suggest, the sampler)"
                        alg, params = sample(trial, spaces)
                        timings["sampler"] += time.perf_counter() - t
                        asked.append((trial, alg, params))
                    t = time.perf_counter()
                    phase = "finalizing and scoring"
                    # Report folds only to a pruner that may use them (each report is a
                    # storage write: an fsync in a journal file).
                    report = not (auto is not None and not auto.active) and not nop
                    handle = pool.submit(states, asked, metric, report)
                    timings["finalize_and_score"] += time.perf_counter() - t
                    if inflight is not None:
                        record(*inflight)
                    inflight = (asked, handle)
                    if not pool.pipelined:
                        record(*inflight)
                        inflight = None
            except BaseException as err:  # Ctrl-C or a crash: no trial of this call stays RUNNING
                close_own_trials(storage_obj, study_id, run, err, phase)
                raise
            finally:
                pool.close()
                if bar is not None:
                    bar.close()
    return TuneResult(ours, states, spaces, metric, maximize, timings, done)


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
