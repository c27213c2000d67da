"""Saving and loading finalized models without pickle.

A saved model is a folder with ``state.npz`` (the state's arrays, ``allow_pickle=False``) and
``model.json`` (algorithm, hyperparameters, schema, the state's header, library version, a
SHA-256 checksum of the arrays and a SHA-256 checksum of ``model.json`` itself, taken over a
canonical serialization of its other fields). Both files are written before either replaces
an older model, so a full disk leaves the old model intact. Loading refuses anything but
regular files without opening them, verifies both checksums, checks every field it uses and
every size the state's header states against the arrays (a clear error naming the file and
the key, never a ``KeyError`` or an allocation of a size nobody saved), and finalizes again:
the model is a pure function of state and parameters, so nothing executable is ever stored,
and opening a model someone else wrote cannot run code.

Example
-------
>>> import numpy as np, tempfile, statetune as st
>>> X = np.random.default_rng(0).normal(size=(40, 2)); y = X @ [1.0, 2.0]
>>> s = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=2)
>>> folder = tempfile.mkdtemp()
>>> _ = st.save_model(folder, "ridge", s, {"alpha": 1e-6})
>>> st.load_model(folder).coef_.round(3)
array([1., 2.])
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from statetune._version import __version__
from statetune.algorithms import get_algorithm
from statetune.data.schema import Schema
from statetune.state_cache.files import NotRegularFileError, atomic_write_many, open_regular
from statetune.state_cache.format import (
    CorruptEntryError,
    arrays_checksum,
    canonical_json,
    header_checksum,
)
from statetune.states import state_from_arrays
from statetune.validation import StateSet

__all__ = ["LEGACY_MODEL_FORMATS", "MODEL_FORMAT", "load_model", "save_model"]

MODEL_FORMAT = "statetune-model-v2"
LEGACY_MODEL_FORMATS = ("statetune-model-v1",)  # its checksum did not cover model.json

#: The fields of model.json that loading uses, with their JSON types.
_FIELDS: dict[str, tuple[type, ...]] = {
    "algorithm": (str,),
    "params": (dict,),
    "schema": (dict, type(None)),
    "state": (dict,),
    "checksum": (str,),
}
#: State parameters that size a state's arrays; none can exceed the arrays' largest dimension.
_SIZES = ("n_features", "max_lag", "n_exog")


def save_model(
    folder: str | os.PathLike[str], algorithm: str, states: Any, params: Mapping[str, Any]
) -> Path:
    """Save the model ``algorithm(params)`` of ``states`` (a StateSet: its total state).

    Raises
    ------
    statetune.state_cache.files.DiskFullError
        The disk is full (names the file; an older model in ``folder`` stays intact).
    """
    alg = get_algorithm(algorithm)
    if isinstance(states, StateSet):
        state, schema = states.total(states.model_slot(algorithm)), states.schema.to_json()
    else:
        state, schema = states, None
    alg.finalize(state, dict(params))  # refuse to save what would not load
    header, arrays = state.to_arrays()
    meta = {
        "format": MODEL_FORMAT,
        "algorithm": algorithm,
        "params": dict(params),
        "schema": schema,
        "state": header,
        "checksum": arrays_checksum(arrays),
        "statetune_version": __version__,
    }
    meta = json.loads(canonical_json(meta))  # what a reader will see (tuples become lists)
    meta["header_checksum"] = header_checksum(meta)
    folder = Path(folder)
    atomic_write_many(
        [
            (folder / "state.npz", lambda f: np.savez(f, **arrays)),
            (folder / "model.json", lambda f: f.write(json.dumps(meta, indent=2).encode())),
        ]
    )
    return folder


def load_model(folder: str | os.PathLike[str], *, trust_header: bool = False) -> Any:
    """Load a model saved by :func:`save_model` (checksums verified; no pickle).

    Parameters
    ----------
    trust_header : bool, default False
        Also load a model of the earlier format ``statetune-model-v1``, whose checksum covers
        ``state.npz`` but not ``model.json`` (an edit of ``model.json`` would go unnoticed).
        Without it such a model is refused; saving it again makes it verifiable.

    Raises
    ------
    FileNotFoundError
        ``folder`` has no ``model.json``.
    statetune.state_cache.CorruptEntryError
        A file fails a check: not a regular file, not JSON or npz, a key missing or of the
        wrong type, a checksum that does not match, sizes that disagree with the arrays. The
        message names the file and the key.
    """
    folder = Path(folder)
    json_path, npz_path = folder / "model.json", folder / "state.npz"
    meta = _read_meta(folder, json_path)
    where = repr(str(json_path))
    fmt = meta.get("format", _MISSING)
    if fmt is _MISSING:
        raise CorruptEntryError(f"{where} must have key 'format', but it is missing.")
    if fmt in LEGACY_MODEL_FORMATS:
        if not trust_header:
            raise CorruptEntryError(
                f"{where} must have format {MODEL_FORMAT!r}, but has {fmt!r}, written by an "
                "older statetune whose checksum does not cover model.json, so an edit of it "
                "would go unnoticed. Save the model again with this version, or load it anyway "
                "with st.load_model(folder, trust_header=True)."
            )
    elif fmt != MODEL_FORMAT:
        raise CorruptEntryError(f"{where} must have format {MODEL_FORMAT!r}, but has {fmt!r}.")
    for key, types in _FIELDS.items():
        _need(where, meta, key, types)
    if fmt == MODEL_FORMAT:
        _need(where, meta, "header_checksum", (str,))
        if meta["header_checksum"] != header_checksum(meta):
            raise CorruptEntryError(
                f"{where} must match its header checksum, but does not: model.json was edited "
                "or damaged."
            )
    arrays = _read_arrays(folder, npz_path)
    if arrays_checksum(arrays) != meta["checksum"]:
        raise CorruptEntryError(
            f"state.npz in {str(folder)!r} must match its checksum, but it does not (corrupt)."
        )
    state = _state(where, folder, meta["state"], arrays)
    schema = meta["schema"]
    names = None
    if schema is not None:
        listed = _need(where, schema, "features", (list,), "schema.")
        if not all(isinstance(n, str) for n in listed):
            raise CorruptEntryError(f"{where} key 'schema.features' must list column names.")
        names = Schema.features_from_json(schema)  # made-up names x0.. are not kept
    try:
        alg = get_algorithm(meta["algorithm"])
    except ValueError as err:
        raise CorruptEntryError(f"{where} key 'algorithm': {err}") from None
    try:
        model = alg.finalize(state, meta["params"], names)
    except (ValueError, TypeError, KeyError) as err:
        raise CorruptEntryError(
            f"{where}: the model {meta['algorithm']}({meta['params']}) must finalize from its "
            f"saved state, but: {type(err).__name__}: {err}"
        ) from None
    model.statetune_schema_ = schema
    return model


_MISSING = object()


def _read_meta(folder: Path, path: Path) -> dict[str, Any]:
    try:
        with open_regular(path) as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Model folder {str(folder)!r} must hold model.json, but does not."
        ) from None
    except NotRegularFileError as err:
        raise CorruptEntryError(f"Saved model file {err}") from None
    try:
        meta = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptEntryError(
            f"model.json in {str(folder)!r} must be valid JSON, but: {err}"
        ) from None
    if not isinstance(meta, dict):
        raise CorruptEntryError(
            f"{str(path)!r} must hold a JSON object, but holds a {type(meta).__name__}."
        )
    return meta


def _read_arrays(folder: Path, path: Path) -> dict[str, np.ndarray]:
    try:
        with open_regular(path) as f, np.load(f, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Model folder {str(folder)!r} must hold state.npz, but does not."
        ) from None
    except NotRegularFileError as err:
        raise CorruptEntryError(f"Saved model file {err}") from None
    except Exception as err:
        raise CorruptEntryError(
            f"state.npz in {str(folder)!r} must be a readable npz, but: {err}"
        ) from None


def _need(
    where: str, mapping: Mapping[str, Any], key: str, types: tuple[type, ...], prefix: str = ""
) -> Any:
    if key not in mapping:
        raise CorruptEntryError(f"{where} must have key {prefix + key!r}, but it is missing.")
    value = mapping[key]
    if not isinstance(value, types):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
        raise CorruptEntryError(
            f"{where} key {prefix + key!r} must be {names}, but is {type(value).__name__} "
            f"{value!r:.80}."
        )
    return value


def _size_params(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """``(key path, value)`` of every size parameter anywhere in a state header."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}"
            if key in _SIZES:
                yield sub, value
            yield from _size_params(value, sub)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _size_params(value, f"{path}[{i}]")


def _state(where: str, folder: Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """The saved state, after checking its header's fields and sizes against the arrays."""
    _need(where, header, "kind", (str,), "state.")
    _need(where, header, "params", (dict,), "state.")
    largest = max((max(a.shape, default=1) for a in arrays.values()), default=0)
    for key, value in _size_params(header, "state"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise CorruptEntryError(
                f"{where} key {key!r} must be an integer, but is {type(value).__name__} {value!r:.80}."
            )
        if not 0 <= value <= largest:
            raise CorruptEntryError(
                f"{where} key {key!r} must be between 0 and the largest dimension of the arrays "
                f"in state.npz ({largest}), but is {value}."
            )
    try:
        return state_from_arrays(header, arrays)
    except KeyError as err:
        raise CorruptEntryError(
            f"The state saved in {str(folder)!r} must have {err.args[0]!r} (a key of 'state' in "
            "model.json or an array of state.npz), but it is missing."
        ) from None
    except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as err:
        raise CorruptEntryError(
            f"The state saved in {str(folder)!r} (model.json key 'state' and state.npz) must be "
            f"consistent, but: {type(err).__name__}: {err}"
        ) from None
