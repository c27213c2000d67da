"""What ``st.tune``'s ask-and-tell loop needs that ``study.optimize`` does by itself.

``grid_left``: a ``GridSampler``'s points not yet run (so the loop stops when the grid is
done, never re-running a point); ``in_loop``: ``study.stop()`` working during ``tell`` and
callbacks (optuna#5141); ``quiet_trials``: no per-trial INFO lines while a progress bar
shows them, without touching the user's logging settings.

Example
-------
>>> import optuna
>>> from statetune.tuner.ask_tell import grid_left
>>> sampler = optuna.samplers.GridSampler({"x": [1, 2, 3]})
>>> study = optuna.create_study(sampler=sampler)
>>> grid_left(sampler, study), grid_left(optuna.samplers.RandomSampler(), study)
(3, None)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["grid_left", "in_loop", "quiet_trials"]


def grid_left(sampler: Any, study: Any) -> int | None:
    """A ``GridSampler``'s grid points neither evaluated nor running (None: not a grid)."""
    import optuna

    if not isinstance(sampler, optuna.samplers.GridSampler):
        return None
    try:  # GridSampler's own bookkeeping (trial system attributes grid_id, search_space)
        n = int(sampler._n_min_trials)
        seen = {
            t.system_attrs["grid_id"]
            for t in study._storage.get_all_trials(study._study_id, deepcopy=False)
            if "grid_id" in t.system_attrs
            and (t.state.is_finished() or t.state == optuna.trial.TrialState.RUNNING)
            and sampler._same_search_space(t.system_attrs["search_space"])
        }
        return len(set(range(n)) - seen)
    except AttributeError:  # pragma: no cover - another Optuna's internals
        return 0 if sampler.is_exhausted(study) else None


@contextmanager
def in_loop(studies: Sequence[Any], stopped: list[bool]) -> Iterator[None]:
    """Let ``study.stop()`` work during ``tell`` and callbacks as inside ``study.optimize``
    (ask/tell alone raises, optuna#5141: ``GridSampler`` calls it when its grid is done);
    ``stopped[0]`` becomes True when it was called."""
    local = [(s, getattr(s, "_thread_local", None)) for s in studies]
    before = [getattr(tl, "in_optimize_loop", None) for _, tl in local]
    for _, tl in local:
        if tl is not None:
            tl.in_optimize_loop = True
    try:
        yield
    except RuntimeError as err:
        if "Study.stop" not in str(err):
            raise
        stopped[0] = True  # an Optuna without the flag: the trial was stored (tell's finally)
    finally:
        for (s, tl), was in zip(local, before, strict=True):
            if tl is not None:
                tl.in_optimize_loop = bool(was)
            if getattr(s, "_stop_flag", False):
                s._stop_flag = False
                stopped[0] = True


class _QuietTrials(logging.Filter):
    """Drops Optuna's one INFO line per told trial ("Trial 3 finished with value ...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and str(record.msg).startswith("Trial "))


@contextmanager
def quiet_trials() -> Iterator[None]:
    """While ``tune`` runs: no per-trial log lines (a progress bar shows them), without
    touching Optuna's verbosity or the user's handlers."""
    logger = logging.getLogger("optuna.study.study")
    f = _QuietTrials()
    logger.addFilter(f)
    try:
        yield
    finally:
        logger.removeFilter(f)
