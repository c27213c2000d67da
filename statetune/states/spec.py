"""``StateSpec``: a state's kind plus its state parameters; hashable, JSON-able, builds its state.

Algorithms declare the specs they need; the engine and the cache take specs only (they never
know algorithm names). Two algorithms that need equal specs share one state in the pass.

Example
-------
>>> from statetune.states.spec import StateSpec
>>> spec = StateSpec.of("moments", n_features=3, has_target=True)
>>> spec.build().n_features, spec == StateSpec.from_json(spec.to_json())
(3, True)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from statetune.states._base import state_class

__all__ = ["StateSpec"]


def _plain(value: Any) -> Any:
    """A JSON scalar (numpy scalars become Python ones); lists become tuples (hashable)."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(
        f"State parameters must be JSON scalars or lists of them, but got {value!r} "
        f"({type(value).__name__})."
    )


@dataclass(frozen=True)
class StateSpec:
    """What to build: ``kind`` (a registered state) and its state parameters.

    Parameters never include hyperparameters: they change the summary itself (sketch size,
    max lag, reservoir size and seed, feature count).
    """

    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, kind: str, **params: Any) -> StateSpec:
        """A spec from keyword parameters (sorted, so equal specs compare and hash equal)."""
        return cls(kind, tuple(sorted((k, _plain(v)) for k, v in params.items())))

    @classmethod
    def for_state(cls, state: Any) -> StateSpec:
        """The spec an existing state was built from."""
        return cls.of(state.kind, **state.params())

    @property
    def state_class(self) -> type[Any]:
        """The registered class of ``kind`` (for capability checks without building)."""
        return state_class(self.kind)

    def kwargs(self) -> dict[str, Any]:
        """The parameters as constructor keywords."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.params}

    def build(self) -> Any:
        """An empty state of this spec."""
        return self.state_class(**self.kwargs())

    def has(self, capability: type) -> bool:
        """Whether this spec's state class declares ``capability`` (see ``capabilities``)."""
        return issubclass(self.state_class, capability)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": self.kwargs()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StateSpec:
        return cls.of(str(data["kind"]), **dict(data.get("params") or {}))

    def key(self) -> str:
        """A short stable hash of the spec (for file names and messages)."""
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params)
        return f"{self.kind}({inner})"
