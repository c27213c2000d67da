"""``Slot``: a state the pass fills, named by its role and its spec.

The pass fills one list of fold states per slot. A slot's *role* says why the state is there:
``MODEL`` states are what algorithms finalize from; the ``HELD_OUT_SAMPLE`` is the pass's own
sample of rows for metrics that need row-by-row predictions. Two slots with equal specs but
different roles are different states, so an algorithm whose state is itself a sample (a
reservoir for k-nearest neighbours) never collides with the held-out sample.

Example
-------
>>> from statetune.engine.slots import MODEL, Slot
>>> from statetune.states.spec import StateSpec
>>> slot = Slot(MODEL, StateSpec.of("moments", n_features=2, has_target=True))
>>> str(slot)
'model:moments(has_target=True, n_features=2)'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from statetune.states.spec import StateSpec

__all__ = ["HELD_OUT_SAMPLE", "MODEL", "ROLES", "Slot", "unique_slots"]

#: States algorithms finalize from.
MODEL = "model"
#: The pass's sample of rows, scored row by row for metrics no state computes exactly.
HELD_OUT_SAMPLE = "held_out_sample"
ROLES = (MODEL, HELD_OUT_SAMPLE)


@dataclass(frozen=True)
class Slot:
    """One state of the pass: its ``role`` (:data:`ROLES`) and its :class:`StateSpec`."""

    role: str
    spec: StateSpec

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"`role` must be one of {ROLES}, but got {self.role!r}.")

    def __str__(self) -> str:
        return f"{self.role}:{self.spec}"


def unique_slots(slots: Iterable[Slot]) -> list[Slot]:
    """``slots`` without repeats, in first-seen order (algorithms sharing a spec share it)."""
    return list(dict.fromkeys(slots))
