"""Opening the study ``st.tune`` runs in, and cleaning up after runs that are gone.

``make_study`` creates (or loads) the study, or sees a user's study through statetune's
storage; ``check_users_study`` checks a user's study against the metric; ``recover`` fails
trials left RUNNING by a process that is gone (``StudyRecoveryWarning``);
``check_still_ours`` refuses a study another run took meanwhile with other settings;
``close_own_trials`` fails this call's own trials when it is interrupted.

Example
-------
>>> from statetune.tuner.study_setup import make_study
>>> make_study(None, "s", maximize=True, seed=0, parallel=False, sampler=None, pruner=None).direction.name
'MAXIMIZE'
"""

from __future__ import annotations

import warnings
from typing import Any

from statetune.tuner.identity import IDENTITY_ATTR
from statetune.tuner.owners import TrialCounter, abandon_run, fail_stale_trials, sigint_deferred

__all__ = [
    "StudyRecoveryWarning",
    "check_still_ours",
    "check_users_study",
    "close_own_trials",
    "make_study",
    "recover",
]


class StudyRecoveryWarning(UserWarning):
    """Trials left RUNNING by a process that is gone were failed, or RUNNING trials without an
    owner record were found (the message lists them)."""


def make_study(
    storage: Any,
    name: str,
    maximize: bool,
    seed: int,
    parallel: bool,
    sampler: Any,
    pruner: Any,
    users: Any = None,
) -> Any:
    """The study trials run in: ``users`` (the user's study) seen through ``storage`` (which
    records trial owners) with its sampler and pruner, or one created (or loaded)."""
    import optuna
    from optuna.exceptions import ExperimentalWarning

    if users is not None:
        return optuna.Study(study_name=name, storage=storage, sampler=users.sampler, pruner=pruner)
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


def check_users_study(study: Any, maximize: bool, metric: str, **others: Any) -> None:
    """A study passed to ``tune`` brings its storage, name, sampler and pruner; its
    direction must be the metric's."""
    import optuna

    if not isinstance(study, optuna.Study):
        raise TypeError(f"`study` must be an optuna.Study, but got {type(study).__name__}.")
    given = [k for k, v in others.items() if v is not None]
    if given:
        raise ValueError(
            f"`study` brings its own storage, name, sampler and pruner, so {', '.join(given)} "
            f"must be left unset, but got {', '.join(f'{k}={others[k]!r}' for k in given)}."
        )
    if len(study.directions) != 1:
        raise ValueError(
            "`study` must have one objective (statetune scores one metric), but study "
            f"{study.study_name!r} has {len(study.directions)} directions."
        )
    want = "maximize" if maximize else "minimize"
    has = study.direction.name.lower()
    if has != want:
        raise ValueError(
            f"The study's direction must be what metric {metric!r} wants ({want}), but study "
            f"{study.study_name!r} is set to {has}; create it with direction={want!r}, or "
            f"choose a metric that is to be {has}d."
        )


def check_still_ours(storage: Any, study_id: int, name: str, identity: Any) -> None:
    """Another run that opened the same empty study at the same moment may have recorded
    other settings last: its trials and ours would not be comparable."""
    recorded = storage.get_study_user_attrs(study_id).get(IDENTITY_ATTR)
    if recorded is not None and recorded != identity:
        from statetune.tuner.identity import identity_diff

        what = "; ".join(f"{k} ({v})" for k, v in identity_diff(identity, recorded))
        raise ValueError(
            f"A study must hold trials of one identity, but study {name!r} was taken by "
            f"another run with other settings meanwhile (they differ in: {what}); pass "
            "another study_name."
        )


def recover(storage: Any, study_id: int, name: str) -> None:
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


def close_own_trials(storage: Any, study_id: int, run: str, err: BaseException, phase: str) -> None:
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
