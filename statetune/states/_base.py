"""What every state shares: the array/header round trip and the state registry.

A state is a mergeable summary of rows. This module holds the small pieces all states
use; it imports nothing of ours (docs/design.md: ``states`` depend on numpy only).

Example
-------
>>> from statetune.states import Moments, state_from_arrays
>>> m = Moments(n_features=2)
>>> header, arrays = m.to_arrays()
>>> state_from_arrays(header, arrays).n_rows
0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "LabelError",
    "Memoized",
    "NonFiniteError",
    "check_sample_weight",
    "readonly",
    "State",
    "register_state",
    "state_class",
    "state_from_arrays",
]

FORMAT_VERSION = 1


class Memoized:
    """Mixin of the states: ``derived(key, compute)`` memoizes a quantity derived from the
    state (an eigendecomposition, projections of sample rows) in ``_derived``, which the state
    empties on every change. The memo is not part of the state's arrays and is dropped when
    pickled, so finalizers stay pure while trials sharing a state reuse its factorizations."""

    def derived(self, key: Any, compute: Callable[[], Any]) -> Any:
        memo: dict[Any, Any] = self.__dict__.setdefault("_derived", {})
        try:
            return memo[key]
        except KeyError:
            value = compute()
            # two threads may compute the same key at once: both get the first value stored
            # (one cache object, not two that each lose the other's entries)
            return memo.setdefault(key, value)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_derived"] = {}
        return state


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view (a state's arrays handed out without a copy)."""
    v = a.view()
    v.flags.writeable = False
    return v


class NonFiniteError(ValueError):
    """A batch holds NaN or infinity (or overflowed); carries where, for a better message.

    ``row`` is the index within the batch handed to ``update``; ``column`` is a feature index,
    or the string ``"target"`` or ``"sample_weight"``. The state was not changed.
    """

    def __init__(self, message: str, row: int | None = None, column: int | str | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


class LabelError(ValueError):
    """A batch's target holds a value that is not a class label; carries where, so the pass
    can name the source row (``row``: the index within the batch handed to ``update``).

    ``what`` is what the column must hold and ``hint`` the way out, for the pass's message.
    The state was not changed.
    """

    def __init__(self, message: str, row: int, what: str, hint: str = "") -> None:
        super().__init__(message)
        self.row = row
        self.column = "target"
        self.what = what
        self.hint = hint


def check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """``None``, or the weights as a float64 vector of ``n`` finite values >= 0.

    Raises
    ------
    ValueError, TypeError
        A wrong shape or a non-numeric dtype.
    NonFiniteError
        A negative, NaN or infinite weight (names its row; column ``"sample_weight"``).
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"`sample_weight` must be 1-dimensional with {n} rows, but got shape {w.shape}."
        )
    if not np.issubdtype(w.dtype, np.number) and w.dtype != np.bool_:
        raise TypeError(f"`sample_weight` must be numeric, but got dtype {w.dtype}.")
    w = w.astype(np.float64, copy=False)
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
    if bad.size:
        r = int(bad[0])
        raise NonFiniteError(
            f"Sample weights must be finite and >= 0, but got {w[r]} at row {r}.",
            row=r,
            column="sample_weight",
        )
    return w


@runtime_checkable
class State(Protocol):
    """The contract of docs/design.md: update, merge, round trip, copy."""

    kind: str

    @property
    def n_rows(self) -> int: ...

    def params(self) -> dict[str, Any]: ...

    def update(self, X: Any, y: Any = None, sample_weight: Any = None) -> None: ...

    def merge(self, other: Any) -> None: ...

    def copy(self) -> Any: ...

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool: ...


S = TypeVar("S")
_REGISTRY: dict[str, Any] = {}


def register_state(cls: type[S]) -> type[S]:
    """Class decorator: make a state class loadable by its ``kind`` name."""
    _REGISTRY[cls.kind] = cls  # type: ignore[attr-defined]
    return cls


def state_class(kind: str) -> Any:
    """Return the state class registered under ``kind``."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ValueError(
            f"`kind` must name a registered state ({sorted(_REGISTRY)}), but got {kind!r}."
        ) from None


def state_from_arrays(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Any:
    """Rebuild any registered state from ``to_arrays()`` output (no pickle involved)."""
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"`format_version == {FORMAT_VERSION}` must hold, but the header says {version!r}."
        )
    loader: Callable[..., Any] = state_class(str(header["kind"])).from_arrays
    return loader(header, arrays)
