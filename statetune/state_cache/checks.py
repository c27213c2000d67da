"""Cross-checks of a cache entry's or checkpoint's header against its key, its spec and the
states it holds. The header checksum (:mod:`.format`) catches any edit of a header; these checks
catch what a checksum cannot: a header consistent with itself but not with what it claims to
be (a spec that does not hash to its key, four fold states where the spec says five, row counts
of the states, the header and the lineage that disagree), and a header missing a field.

Each check raises :class:`CorruptEntryError` naming the file and the field.

Example
-------
>>> from statetune.state_cache.checks import check_entry_header
>>> check_entry_header("e.npz", "k", {"key": "k"}, hash_spec=str)
Traceback (most recent call last):
...
statetune.state_cache.format.CorruptEntryError: Entry 'e.npz' must have header field 'spec', but it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from statetune.engine.slots import HELD_OUT_SAMPLE
from statetune.state_cache.format import CorruptEntryError
from statetune.states.spec import StateSpec

__all__ = [
    "K_FOLD_SCHEMES",
    "check_checkpoint_header",
    "check_entry_header",
    "check_entry_states",
    "check_states_match_spec",
]

#: Fold schemes that keep exactly one state per fold (time-ordered schemes keep one per time
#: block, a number that grows with the data).
K_FOLD_SCHEMES = ("rotated-strided-groups-v1",)


def _field(where: str, mapping: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in mapping:
        raise CorruptEntryError(
            f"Entry {where!r} must have header field {name!r}, but it is missing."
        )
    value = mapping[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CorruptEntryError(
            f"Entry {where!r} must have header field {name!r} of type {names}, but it is "
            f"{type(value).__name__} {value!r:.80}."
        )
    return value


def _count(where: str, mapping: Mapping[str, Any], name: str) -> int:
    value = _field(where, mapping, name, int)
    if value < 0:
        raise CorruptEntryError(f"Entry {where!r} must have `{name} >= 0`, but it is {value}.")
    return int(value)


def _check_spec(where: str, spec: Any, label: str = "spec") -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise CorruptEntryError(
            f"Entry {where!r} must have a {label} object, but has {type(spec).__name__}."
        )
    _field(where, spec, "kind", str)
    _field(where, spec, "state_params", dict)
    _field(where, spec, "schema", dict)
    folds = _field(where, spec, "folds", dict)
    if _count(where, folds, "n_folds") < 1:
        raise CorruptEntryError(f"Entry {where!r} must have `n_folds >= 1` in its {label}.")
    return spec


def _check_lineage(where: str, lineage: Any) -> list[dict[str, Any]]:
    if not isinstance(lineage, list):
        raise CorruptEntryError(
            f"Entry {where!r} must have a list as lineage, but has {type(lineage).__name__}."
        )
    for i, record in enumerate(lineage):
        if not isinstance(record, dict):
            raise CorruptEntryError(f"Entry {where!r}: lineage record {i} must be an object.")
        _field(where, record, "key", str)
        _count(where, record, "n_rows")
    return lineage


def check_entry_header(
    path: str | os.PathLike[str], key: str, header: Mapping[str, Any], hash_spec: Callable[..., str]
) -> None:
    """The fields ``StateCache.load`` needs are there with their types; the entry holds
    ``key`` and its spec hashes to ``key`` (``hash_spec`` is ``entry_key``); one state header
    per fold of a K-fold spec."""
    where = str(path)
    got = _field(where, header, "key", str)
    if got != key:
        raise CorruptEntryError(f"Entry {where!r} must hold key {key!r}, but holds {got!r}.")
    spec = _check_spec(where, _field(where, header, "spec", dict))
    if hash_spec(spec) != key:
        raise CorruptEntryError(
            f"Entry {where!r} must hold the spec its key {key!r} is the hash of, but its spec "
            f"hashes to {hash_spec(spec)!r}."
        )
    states = _field(where, header, "states", list)
    n_folds = spec["folds"]["n_folds"]
    if spec["folds"].get("scheme") in K_FOLD_SCHEMES and len(states) != n_folds:
        raise CorruptEntryError(
            f"Entry {where!r} must hold one state per fold ({n_folds} in its spec), but holds "
            f"{len(states)}."
        )
    if not states:
        raise CorruptEntryError(f"Entry {where!r} must hold at least one state, but holds none.")
    _check_lineage(where, header.get("lineage"))
    _count(where, header, "n_rows")


def check_states_match_spec(
    path: str | os.PathLike[str], spec: Mapping[str, Any], states: Sequence[Any]
) -> None:
    """Every fold state is of the spec's kind, with the spec's state parameters."""
    want = StateSpec.of(spec["kind"], **spec["state_params"])
    for k, state in enumerate(states):
        if StateSpec.for_state(state) != want:
            raise CorruptEntryError(
                f"Entry {str(path)!r}: fold {k} must hold a {spec['kind']!r} state with the "
                f"spec's state parameters {spec['state_params']}, but holds {state.kind!r} with "
                f"{state.params()}."
            )


def check_entry_states(
    path: str | os.PathLike[str], header: Mapping[str, Any], states: Sequence[Any]
) -> None:
    """Every fold state is of the spec's kind and state parameters; the header's row count is
    the states' total; the lineage lists exactly those rows (except a series' sample of lag
    rows: values without ``max_lag`` predecessors make no lag row)."""
    where = str(path)
    spec = header["spec"]
    check_states_match_spec(where, spec, states)
    total = sum(int(s.n_rows) for s in states)
    if header["n_rows"] != total:
        raise CorruptEntryError(
            f"Entry {where!r} must have header n_rows equal to its states' rows ({total}), but "
            f"it says {header['n_rows']}."
        )
    lag_sample = spec.get("role") == HELD_OUT_SAMPLE and bool(spec["schema"].get("temporal"))
    listed = sum(int(r["n_rows"]) for r in header["lineage"])
    if not lag_sample and listed != total:
        raise CorruptEntryError(
            f"Entry {where!r} must hold the {listed} rows its lineage lists, but its states "
            f"hold {total}."
        )


def check_checkpoint_header(
    path: str | os.PathLike[str], key: str, header: Mapping[str, Any]
) -> None:
    """A checkpoint names its pass key, has a spec and one state header per fold for each
    kind, a lineage, a ``position`` (rows read) and a ``partial`` record or null."""
    where = str(path)
    got = _field(where, header, "key", str)
    if got != key:
        raise CorruptEntryError(f"Checkpoint {where!r} must hold key {key!r}, but holds {got!r}.")
    specs = _field(where, header, "specs", dict)
    states = _field(where, header, "states", dict)
    if set(specs) != set(states):
        raise CorruptEntryError(
            f"Checkpoint {where!r} must hold states of the kinds of its specs "
            f"({sorted(specs)}), but holds {sorted(states)}."
        )
    for kind, spec in specs.items():
        _check_spec(where, spec, f"spec of {kind!r}")
        n_folds = spec["folds"]["n_folds"]
        held = states[kind]
        if not isinstance(held, list) or (
            spec["folds"].get("scheme") in K_FOLD_SCHEMES and len(held) != n_folds
        ):
            raise CorruptEntryError(
                f"Checkpoint {where!r} must hold {n_folds} fold states of {kind!r}, but does not."
            )
    _check_lineage(where, header.get("lineage"))
    _count(where, header, "position")
    partial = header.get("partial")
    if partial is not None:
        _check_lineage(where, [partial])
