"""``--sampler`` and ``--pruner``: the Optuna objects behind the CLI's names.

A study's space is mixed and conditional: the ``algorithm`` choice, then that algorithm's
floats, ints and categories. The samplers offered are those that handle such a space:

- ``tpe`` (default): what :func:`statetune.tune` makes itself, a seeded multivariate TPE
  (with constant liar when ``--jobs > 1``);
- ``random``: Optuna's ``RandomSampler``, seeded; a baseline, and a fair sweep;
- ``qmc``: a scrambled Sobol ``QMCSampler``, seeded; space-filling over the numeric parameters
  of one algorithm (categorical and per-algorithm parameters are sampled at random).

Not offered: CMA-ES and GP (continuous spaces, extra packages), grid (needs a list of values
per parameter). Pruners stop a trial after some of its folds: ``auto`` (what ``tune`` chooses),
``none``, ``median``, ``hyperband``, ``successive_halving``.

Example
-------
>>> type(make_sampler("random", seed=0)).__name__
'RandomSampler'
>>> make_sampler("tpe", seed=0) is None  # statetune.tune's own seeded TPE
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["PRUNERS", "SAMPLERS", "make_pruner", "make_sampler"]

SAMPLERS = {
    "tpe": "seeded multivariate TPE, statetune's default",
    "random": "uniform random search",
    "qmc": "scrambled Sobol sequence over numeric parameters (one algorithm)",
}
PRUNERS = {
    "auto": "statetune's default",
    "none": "every trial scores all folds",
    "median": "stop a trial scoring worse than the median of earlier trials at a fold",
    "hyperband": "Hyperband over folds",
    "successive_halving": "asynchronous successive halving over folds",
}


def make_sampler(name: str, seed: int) -> Any:
    """The sampler named ``name`` seeded with ``seed``; ``None`` for ``tpe`` (tune's own)."""
    import optuna

    if name == "tpe":
        return None
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=True, seed=seed, warn_independent_sampling=False
            )
    raise ValueError(f"`--sampler` must be one of {', '.join(SAMPLERS)}, but got {name!r}.")


def make_pruner(name: str) -> Any:
    """The pruner named ``name``; ``None`` for ``auto`` (tune's own default)."""
    import optuna

    pruners: dict[str, Callable[[], Any]] = {
        "auto": lambda: None,
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    }
    if name not in pruners:
        raise ValueError(f"`--pruner` must be one of {', '.join(PRUNERS)}, but got {name!r}.")
    return pruners[name]()
