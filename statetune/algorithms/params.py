"""Hyperparameter declarations: the parameters one algorithm declares, as plain data.

Each algorithm's ``search_space(state)`` returns ``{name: Param}`` built from these classes.
Plain frozen dataclasses keep the algorithms importable without Optuna and make spaces
easy to print, compare and serialize; :meth:`to_optuna` gives the Optuna distribution.
The joint space of a study (several algorithms, user overrides, Optuna names) is built
from these declarations in :mod:`statetune.tuner.space`.

Example
-------
>>> from statetune.algorithms.params import FloatParam
>>> p = FloatParam(1e-3, 1e3, log=True)
>>> p.contains(1.0), p.contains(1e4)
(True, False)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

__all__ = ["CategoricalParam", "FloatParam", "IntParam", "Param", "describe_space", "round_bounds"]


@dataclass(frozen=True)
class FloatParam:
    """A float in ``[low, high]``, optionally log-uniform."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high or (self.log and self.low <= 0):
            raise ValueError(
                f"`low <= high` (and `low > 0` when log) must hold, but got "
                f"low={self.low}, high={self.high}, log={self.log}."
            )

    def contains(self, value: Any) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high

    def to_optuna(self) -> Any:
        import optuna

        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log)


@dataclass(frozen=True)
class IntParam:
    """An integer in ``[low, high]``."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"`low <= high` must hold, but got low={self.low}, high={self.high}.")

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (self.low <= value <= self.high)
        )

    def to_optuna(self) -> Any:
        import optuna

        return optuna.distributions.IntDistribution(self.low, self.high, log=self.log)


@dataclass(frozen=True)
class CategoricalParam:
    """One of a fixed tuple of choices."""

    choices: tuple[Any, ...]

    def contains(self, value: Any) -> bool:
        return value in self.choices

    def to_optuna(self) -> Any:
        import optuna

        return optuna.distributions.CategoricalDistribution(self.choices)


Param = FloatParam | IntParam | CategoricalParam


def round_bounds(low: float, high: float, digits: int = 3) -> tuple[float, float]:
    """``low`` rounded down and ``high`` rounded up to ``digits`` significant digits.

    Data-derived bounds then do not depend on the last bits of a state (which vary with the
    order rows were merged in, e.g. the pass's ``n_jobs``), so a seeded study asks the same
    trials however the pass ran.

    >>> round_bounds(0.000235151109, 167922.9389)
    (0.000235, 168000.0)
    """
    import math

    def rnd(x: float, up: bool) -> float:
        if x <= 0 or not math.isfinite(x):
            return x
        e = math.floor(math.log10(x)) - digits + 1
        q = x / 10.0**e
        q = math.ceil(q - 1e-9) if up else math.floor(q + 1e-9)
        return float(f"{q * 10.0**e:.{digits + 2}g}")

    return rnd(low, False), rnd(high, True)


def describe_space(space: dict[str, Param], from_data: Collection[str] = ()) -> dict[str, str]:
    """Human-readable one-liners, for ``statetune info`` and error messages.

    Parameters named in ``from_data`` are marked as having bounds that follow the state.

    >>> describe_space({"alpha": FloatParam(1e-3, 10.0, log=True)}, from_data=["alpha"])
    {'alpha': 'float in [0.001, 10] (log, bounds from the data)'}
    """
    out = {}
    for name, p in space.items():
        notes = []
        if isinstance(p, CategoricalParam):
            text = f"one of {list(p.choices)}"
        else:
            kind = "int" if isinstance(p, IntParam) else "float"
            text = f"{kind} in [{p.low:g}, {p.high:g}]"
            notes += ["log"] if p.log else []
        notes += ["bounds from the data"] if name in from_data else []
        out[name] = text + (f" ({', '.join(notes)})" if notes else "")
    return out
