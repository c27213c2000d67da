"""Capabilities: what a state can do beyond the protocol, declared on its type.

Code outside ``states/`` (the engine, the cache, validation, testing) asks a state or a spec
for a capability (``isinstance(state, Ordered)``, ``spec.has(Sampling)``), never for its kind
string, so a new kind of state is served by the code that serves its capabilities.

- :class:`Ordered`: rows must arrive in time order within each series; the pass feeds it values
  with series ids and times (``update(y, exog, series, time=...)``), validation is in time
  order, and merges follow an order rule instead of commuting. Its ``n_features`` is the width
  of the rows it derives (lag rows), which a sample of those rows must match.
- :class:`Sampling`: holds a bounded sample of rows; ``update`` takes the rows' global
  ``positions`` so the sample does not depend on chunking.
- :class:`Subtractable`: ``subtract(other)`` undoes ``merge(other)`` exactly.
- :class:`FoldBanks`: one state learns every fold's model; the pass feeds it every row with
  its fold id (``update(X, y, w, folds=..., n_folds=K)``) in fold 0's place (the other folds'
  states stay empty), and the training and held-out states of fold ``k`` are its
  ``fold_view(k)`` and ``held_view(k)`` (the state of all rows: ``fold_view(None)``).
- :class:`AveragingMerge`: ``merge`` averages models learned on each side (weighted by the
  rows each learned from) instead of giving the state of the union: it is commutative,
  associative to rounding, unchanged by an empty state, and chunk-invariant, but
  ``merge(u(A), u(B))`` is not ``u(A u B)``.
- :class:`Epochs`: the state learns from ``epochs`` reads of the same rows (a state parameter);
  the pass reads the source again for it after the first read (alone, sequentially, the rows at
  their same global positions, so their fold ids are identical), calling ``next_epoch()``
  before each later read; rows read again are learned from but not counted again (``n_rows``
  stays the rows of the lineage). Such a state cannot absorb new rows alone once past epoch 1.
- :class:`ReadsSparse`: ``update`` reads ``scipy.sparse`` rows in place; the pass densifies a
  sparse chunk (one at a time, bounded) for every other state.

Example
-------
>>> from statetune.states import Moments, Reservoir
>>> from statetune.states.capabilities import Sampling, Subtractable
>>> issubclass(Reservoir, Sampling), issubclass(Moments, Subtractable)
(True, True)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AveragingMerge",
    "Epochs",
    "FoldBanks",
    "Ordered",
    "ReadsSparse",
    "Sampling",
    "Subtractable",
    "capabilities_of",
]


class Ordered:
    """Rows in time order per series; merges follow the order rule ("b continues a")."""

    n_features: int


class Sampling:
    """A bounded sample of rows; ``update(X, y, w, positions=...)`` takes global positions."""

    def update(
        self, X: Any, y: Any = None, w: Any = None, *, positions: Any
    ) -> None:  # pragma: no cover - implemented by the states
        raise NotImplementedError


class Subtractable:
    """``subtract(other)`` removes the rows ``other`` summarizes (undoes a merge)."""

    def subtract(self, other: Any) -> None:  # pragma: no cover - implemented by the states
        raise NotImplementedError


class FoldBanks:
    """Learns the models of every fold in one state from rows given with their fold ids."""

    def update(
        self, X: Any, y: Any = None, w: Any = None, *, folds: Any = None, n_folds: int | None = None
    ) -> None:  # pragma: no cover - implemented by the states
        raise NotImplementedError

    def fold_view(self, k: int | None) -> Any:  # pragma: no cover - implemented by the states
        raise NotImplementedError

    def held_view(self, k: int) -> Any:  # pragma: no cover - implemented by the states
        raise NotImplementedError


class AveragingMerge:
    """``merge`` averages the two sides' models (weighted), not the state of the union."""


class Epochs:
    """Learns from ``epochs`` reads of the rows; ``epoch`` is the read it is in (1-based)."""

    epochs: int
    epoch: int

    def next_epoch(self) -> None:  # pragma: no cover - implemented by the states
        raise NotImplementedError


class ReadsSparse:
    """``update`` takes ``scipy.sparse`` rows (CSR) as they are, without densifying them."""


def capabilities_of(cls: type) -> list[str]:
    """Names of the capabilities ``cls`` declares (for listings and messages)."""
    caps = (Ordered, ReadsSparse, Sampling, Subtractable, FoldBanks, AveragingMerge, Epochs)
    return [c.__name__ for c in caps if issubclass(cls, c)]
