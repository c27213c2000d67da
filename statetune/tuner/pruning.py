"""The default pruner of :func:`statetune.tune`: none, unless folds are expensive.

A trial's folds finalize a model from states and score a held-out state: microseconds to tens of
milliseconds each (``experiments/pruning_cost.py``). Pruning then saves little, and
it costs what matters: a pruned trial leaves no value for the sampler, and an algorithm whose
first trials are compared with another algorithm's better ones may never complete a trial
(in ``make run`` 125 of 200 trials were pruned and the best classifier of one data set had
no complete trial). So the default is :class:`AutoPruner`: no pruning, and no
``trial.report`` storage write per fold, until the first complete trial shows that one fold
takes at least :data:`PRUNE_MIN_FOLD_SECONDS`. Then it prunes with Optuna's
``MedianPruner`` comparing each trial only with trials *of the same algorithm* (each
algorithm's first :data:`STARTUP_TRIALS` complete trials are never pruned), so pruning can
never hide an algorithm.

Example
-------
>>> from statetune.tuner.pruning import AutoPruner
>>> p = AutoPruner()
>>> p.decide(fold_seconds=0.0001)
False
>>> p.active, AutoPruner().decide(fold_seconds=5.0)
(False, True)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DECISION_ATTR",
    "PRUNE_MIN_FOLD_SECONDS",
    "STARTUP_TRIALS",
    "AutoPruner",
    "make_auto_pruner",
    "per_algorithm_pruner",
]

#: Seconds one fold of the first complete trial must take before the default prunes.
#: Measured (experiments/pruning_cost.py, 100 trials, 5 folds, a 2-core machine shared with
#: other jobs, so times are noisy): Optuna's MedianPruner over all algorithms left wine's lda
#: and gaussian_nb with no complete trial, and pcr at rmse 1.74 and 6.71 instead of 1.00;
#: pruning within each algorithm kept every algorithm's best value in all four data sets.
#: With folds of 1-3 ms (wine, 20k x 20) it saved nothing measurable (the sampler takes
#: most of the time, and a ``trial.report`` costs 0.05 ms in memory, 0.5-12 ms in a journal
#: file: an fsync per write); with folds of 40-120 ms (digits, 50k x 200) it saved 23-55%
#: of the trial time. The decision rests on a timing, and pruning changes which trials
#: the sampler learns from, so the time is the trial thread's CPU time (a loaded machine
#: stretches wall time tenfold, CPU time barely) and the threshold sits well above the folds
#: of ordinary data: a seeded study prunes, or not, on every run alike. The decision is recorded on the study (:data:`DECISION_ATTR`) and a resumed
#: study or another worker keeps it. Pass ``pruner=`` to choose yourself.
PRUNE_MIN_FOLD_SECONDS = 0.2
#: Study user attribute: ``"none"`` or ``"median within each algorithm"``.
DECISION_ATTR = "statetune:pruning"
#: Complete trials per algorithm before pruning may stop one of its trials.
STARTUP_TRIALS = 5


def _algorithm_of(trial: Any) -> Any:
    return trial.params.get("algorithm")


class _SameAlgorithmView:
    """A study seen through the trials of one algorithm (for pruners)."""

    def __init__(self, study: Any, algorithm: Any) -> None:
        self._study = study
        self._algorithm = algorithm

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[Any]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if _algorithm_of(t) == self._algorithm]

    def _get_trials(
        self, deepcopy: bool = True, states: Any = None, use_cache: bool = False
    ) -> list[Any]:
        trials = self._study._get_trials(deepcopy, states, use_cache)
        return [t for t in trials if _algorithm_of(t) == self._algorithm]

    @property
    def trials(self) -> list[Any]:
        return self.get_trials()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


def per_algorithm_pruner(inner: Any) -> Any:
    """``inner`` (an Optuna pruner) comparing each trial only with trials of its algorithm."""
    from optuna.pruners import BasePruner

    class _PerAlgorithm(BasePruner):
        def __init__(self, pruner: Any) -> None:
            self.inner = pruner

        def prune(self, study: Any, trial: Any) -> bool:
            view = _SameAlgorithmView(study, _algorithm_of(trial))
            return bool(self.inner.prune(view, trial))

    return _PerAlgorithm(inner)


def _base() -> type:
    from optuna.pruners import BasePruner

    return BasePruner


class AutoPruner:
    """No pruning until :meth:`decide` sees expensive folds; then a per-algorithm median
    pruner. Use :func:`make_auto_pruner` for an Optuna ``BasePruner`` instance."""

    def __init__(self) -> None:
        self.decided = False
        self.active = False
        self.inner: Any = None

    def decide(self, fold_seconds: float | None = None, recorded: str | None = None) -> bool:
        """Settle whether to prune, from one complete trial's seconds per fold or from the
        decision ``recorded`` on the study earlier (:data:`DECISION_ATTR`); the result."""
        if not self.decided:
            self.decided = True
            if recorded is not None:
                self.active = recorded != "none"
            else:
                self.active = fold_seconds is not None and fold_seconds >= PRUNE_MIN_FOLD_SECONDS
            if self.active:
                import optuna

                self.inner = per_algorithm_pruner(
                    optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=1)
                )
        return self.active

    @property
    def decision(self) -> str:
        return "median within each algorithm" if self.active else "none"

    def prune(self, study: Any, trial: Any) -> bool:
        return bool(self.active and self.inner.prune(study, trial))


def make_auto_pruner() -> Any:
    """An Optuna pruner (``BasePruner``) with :class:`AutoPruner`'s behaviour."""

    class _Auto(AutoPruner, _base()):  # type: ignore[misc]
        pass

    return _Auto()
