"""Saving and loading finalized models without pickle.

A saved model is a folder with ``state.npz`` (the state's arrays, ``allow_pickle=False``) and
``model.json`` (algorithm, hyperparameters, schema, the state's header, library version and a
SHA-256 checksum of the arrays). Loading verifies the checksum and finalizes again: the model
is a pure function of state and parameters, so nothing executable is ever stored, and opening a
model someone else wrote cannot run code.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from statetune.algorithms import get_algorithm
from statetune.engine import StateSet
from statetune.state_cache.format import arrays_checksum, atomic_write
from statetune.states import state_from_arrays

__all__ = ["load_model", "save_model"]

MODEL_FORMAT = "statetune-model-v1"


def save_model(
    folder: str | os.PathLike[str], algorithm: str, states: Any, params: Mapping[str, Any]
) -> Path:
    """Save the model ``algorithm(params)`` of ``states`` (a StateSet: its total state)."""
    alg = get_algorithm(algorithm)
    if isinstance(states, StateSet):
        state, schema = states.total(alg.state_kind), states.schema.to_json()
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
        "statetune_version": _version(),
    }
    folder = Path(folder)
    atomic_write(folder / "state.npz", lambda f: np.savez(f, **arrays))
    atomic_write(folder / "model.json", lambda f: f.write(json.dumps(meta, indent=2).encode()))
    return folder


def load_model(folder: str | os.PathLike[str]) -> Any:
    """Load a model saved by :func:`save_model` (checksum verified; no pickle)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "model.json").read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Model folder {str(folder)!r} must hold model.json, but does not."
        ) from None
    except json.JSONDecodeError as err:
        raise ValueError(f"model.json in {str(folder)!r} must be valid JSON, but: {err}") from None
    if meta.get("format") != MODEL_FORMAT:
        raise ValueError(
            f"model.json must have format {MODEL_FORMAT!r}, but has {meta.get('format')!r}."
        )
    try:
        with np.load(folder / "state.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as err:
        raise ValueError(
            f"state.npz in {str(folder)!r} must be a readable npz, but: {err}"
        ) from None
    if arrays_checksum(arrays) != meta["checksum"]:
        raise ValueError(
            f"state.npz in {str(folder)!r} must match its checksum, but it does not (corrupt)."
        )
    state = state_from_arrays(meta["state"], arrays)
    names = None if meta.get("schema") is None else meta["schema"]["features"]
    model = get_algorithm(meta["algorithm"]).finalize(state, meta["params"], names)
    model.statetune_schema_ = meta.get("schema")
    return model


def _version() -> str:
    from statetune import __version__

    return __version__
