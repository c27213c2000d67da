"""One trial: sample an algorithm and its parameters (Optuna suggest calls), then run the fold
loop of :mod:`statetune.validation.scoring` with Optuna reports and pruning; and
:func:`objective`, the same as a callable for a user's own ``study.optimize``.

Each fold's running mean is reported with ``trial.report`` so Optuna pruners can stop a bad
trial after its first folds (``st.tune`` skips the reports while it does not prune, see
:mod:`statetune.tuner.pruning`).

Example
-------
>>> import numpy as np, optuna, statetune as st
>>> X = np.random.default_rng(0).normal(size=(60, 2)); y = X[:, 0]
>>> s = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
>>> from statetune.tuner.objective import evaluate
>>> value, folds = evaluate(s, "ridge", {"alpha": 1e-9}, "r2")
>>> round(value, 6)
1.0
>>> obj = st.objective(s, ["ridge", "lasso"], metric="r2")
>>> study = optuna.create_study(direction=obj.direction, sampler=optuna.samplers.RandomSampler(0))
>>> study.optimize(obj, n_trials=5)
>>> sorted(study.best_params)[0], study.best_value > 0.9
('algorithm', True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from statetune.algorithms import CategoricalParam, FloatParam, IntParam, get_algorithm
from statetune.tuner.space import ALGORITHM_PARAM, build_space, param_name, to_optuna
from statetune.validation import StateSet
from statetune.validation.scoring import evaluate as validation_evaluate

__all__ = ["Objective", "evaluate", "objective", "sample"]

#: Exceptions that fail one trial (its parameters cannot be finalized or scored) rather than
#: the study; the reason is kept as the trial's ``fail_reason`` user attribute.
TRIAL_ERRORS: tuple[type[BaseException], ...] = (ArithmeticError, ValueError, RuntimeWarning)


def sample(trial: Any, spaces: Mapping[str, Mapping[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Draw ``(algorithm, params)`` for ``trial`` (suggest calls run the sampler). The names
    are stable (see :mod:`statetune.tuner.space`): ``"algorithm"`` and
    ``"<algorithm>:<param>"``."""
    alg = str(trial.suggest_categorical(ALGORITHM_PARAM, list(spaces)))
    params: dict[str, Any] = {}
    for p, dist in spaces[alg].items():
        name = param_name(alg, p)
        if isinstance(dist, FloatParam):
            params[p] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        elif isinstance(dist, IntParam):
            params[p] = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        elif isinstance(dist, CategoricalParam):
            params[p] = trial.suggest_categorical(name, list(dist.choices))
        else:  # pragma: no cover - build_space converts every entry
            raise TypeError(f"unsupported distribution {dist!r}")
    return alg, params


def evaluate(
    states: StateSet,
    algorithm: str,
    params: Mapping[str, Any],
    metric: str,
    trial: Any = None,
    report: bool = True,
) -> tuple[float, list[float]]:
    """The fold loop of :func:`statetune.validation.scoring.evaluate` for one Optuna trial:
    records how the scores were computed (``validation`` attribute: held-out state or
    held-out sample) and, with ``report``, reports the running mean after each fold and
    raises ``optuna.TrialPruned`` when the trial's pruner says so."""
    if trial is None:
        return validation_evaluate(states, algorithm, params, metric)
    n_folds = states.n_folds

    def on_fold(k: int, running: float, how: str) -> None:
        if k == 0:
            trial.set_user_attr("validation", how)
        if not report:
            return
        trial.report(running, step=k)
        if k + 1 < n_folds and trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned after fold {k}")

    return validation_evaluate(states, algorithm, params, metric, on_fold)


class Objective:
    """A statetune objective for a user's own Optuna study: ``objective(trial) -> float``.

    Made by :func:`objective`. Each call samples ``"algorithm"`` and its parameters (stable
    names, see :mod:`statetune.tuner.space`), scores them on every fold from the states,
    stores ``fold_scores`` and ``validation`` as user attributes (as :func:`statetune.tune`
    does), reports each fold's running mean and raises ``optuna.TrialPruned`` when the
    study's pruner says so. Parameters that cannot be finalized or scored (e.g. a singular
    system) set the ``fail_reason`` user attribute and return ``nan``, which Optuna records
    as a failed trial while the study goes on.

    Attributes
    ----------
    states, algorithms, metric, spaces
        What it scores; ``spaces`` is the search space after bounding by the states.
    direction : str
        ``"maximize"`` or ``"minimize"``: what the metric wants (pass it to
        ``optuna.create_study``).
    distributions : dict
        The Optuna distributions by parameter name (for a ``GridSampler`` grid, check).
    """

    def __init__(
        self,
        states: StateSet,
        algorithms: Sequence[str],
        metric: str | None = None,
        search_space: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        from statetune.tuner.metrics_check import check_metric_applies, resolve_metric

        if not isinstance(states, StateSet):
            raise TypeError(
                "`states` must be a StateSet (what st.compute_states returns), but got "
                f"{type(states).__name__}; compute them first: "
                "st.compute_states(source, algorithms, folds=5)."
            )
        if isinstance(algorithms, str):
            algorithms = [algorithms]
        self.algorithms = list(dict.fromkeys(algorithms))
        for a in self.algorithms:
            get_algorithm(a)
        self.metric, self.maximize = resolve_metric(self.algorithms, metric)
        check_metric_applies(states, self.algorithms, self.metric)
        self.states = states
        self.spaces = build_space(states, self.algorithms, search_space)
        self.distributions = to_optuna(self.spaces)

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"

    def __call__(self, trial: Any) -> float:
        alg, params = sample(trial, self.spaces)
        try:
            value, folds = evaluate(self.states, alg, params, self.metric, trial)
        except TRIAL_ERRORS as err:
            trial.set_user_attr("fail_reason", f"{type(err).__name__}: {err}")
            return float("nan")
        trial.set_user_attr("fold_scores", folds)
        return value

    def result(self, study: Any) -> Any:
        """A :class:`~statetune.TuneResult` of ``study`` (summary, best model, plots)."""
        from statetune.tuner.results import TuneResult

        direction = study.direction.name.lower()
        if direction != self.direction:
            raise ValueError(
                f"The study's direction must be what metric {self.metric!r} wants "
                f"({self.direction}), but study {study.study_name!r} is set to {direction}."
            )
        return TuneResult(study, self.states, self.spaces, self.metric, self.maximize)

    def __repr__(self) -> str:
        return (
            f"objective({'+'.join(self.algorithms)}, metric={self.metric!r}, "
            f"direction={self.direction!r})"
        )


def objective(
    states: StateSet,
    algorithms: Sequence[str],
    metric: str | None = None,
    search_space: Mapping[str, Mapping[str, Any]] | None = None,
) -> Objective:
    """An objective for your own ``study.optimize``: statetune one objective at a time.

    Parameters
    ----------
    states : StateSet
        From :func:`statetune.compute_states` (one pass; the folds are in the states).
    algorithms : list of str
        Registry names; each trial samples one (parameter ``"algorithm"``).
    metric : str, optional
        As in :func:`statetune.tune`; create the study with ``direction=obj.direction``.
    search_space : dict, optional
        ``{algorithm: {param: distribution}}`` overrides, as in :func:`statetune.tune`.

    Returns
    -------
    Objective
        ``objective(trial) -> float``; ``.result(study)`` gives a
        :class:`~statetune.TuneResult` (best model, summary, plots).

    Examples
    --------
    >>> import numpy as np, optuna, statetune as st
    >>> X = np.random.default_rng(1).normal(size=(200, 3)); y = X @ [1.0, 0.0, 2.0]
    >>> states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
    >>> obj = st.objective(states, ["ridge"], metric="rmse")
    >>> study = optuna.create_study(direction=obj.direction, sampler=optuna.samplers.TPESampler(seed=0))
    >>> study.optimize(obj, n_trials=10)
    >>> obj.result(study).best_algorithm
    'ridge'
    """
    return Objective(states, algorithms, metric, search_space)
