"""``--search-space FILE``: the ``search_space`` dict of :func:`statetune.tune` from JSON or YAML.

The file holds ``{algorithm: {param: spec}}``; a spec is one of

- ``{"type": "float", "low": 0.001, "high": 10, "log": true}`` (``log`` optional, default false),
- ``{"type": "int", "low": 1, "high": 8}`` (``log`` optional),
- ``{"choices": [true, false]}`` (``"type": "categorical"`` optional).

``.json`` files are read as JSON, ``.yaml``/``.yml`` as YAML (the same structure). Errors name
the file and the key (``ridge.alpha.low``).

Example
-------
>>> import json, pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "space.json"
>>> _ = path.write_text(json.dumps({"ridge": {"alpha": {"type": "float", "low": 0.01, "high": 1, "log": True}}}))
>>> load_search_space(str(path), ["ridge"])
{'ridge': {'alpha': FloatParam(low=0.01, high=1.0, log=True)}}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from statetune.algorithms import get_algorithm
from statetune.algorithms.params import CategoricalParam, FloatParam, IntParam, Param
from statetune.algorithms.registry import ALIASES

__all__ = ["load_search_space", "parse_search_space"]

_KEYS = {
    "float": {"type", "low", "high", "log"},
    "int": {"type", "low", "high", "log"},
    "categorical": {"type", "choices"},
}


def load_search_space(path: str, algorithms: Sequence[str]) -> dict[str, dict[str, Param]]:
    """Read and check a search-space file for a study over ``algorithms``."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {path!r} (the --search-space file).")
    text = p.read_text(encoding="utf-8")
    suffix = p.suffix.lower()
    if suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"Search-space file {path!r} must be valid JSON, but line {err.lineno}, column "
                f"{err.colno}: {err.msg}."
            ) from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"Search-space file {path!r} must be valid YAML, but: {err}") from None
    else:
        raise ValueError(
            f"Search-space file {path!r} must end in .json, .yaml or .yml, but ends in "
            f"{p.suffix or 'no extension'!r}."
        )
    return parse_search_space(raw, algorithms, where=f"Search-space file {path!r}")


def parse_search_space(
    raw: Any, algorithms: Sequence[str], where: str = "The search space"
) -> dict[str, dict[str, Param]]:
    """``{algorithm: {param: Param}}`` from plain data; ``where`` starts every error."""
    if not isinstance(raw, dict) or not raw:
        raise ValueError(
            f"{where} must map tuned algorithms to their parameters, but holds {_show(raw)}."
        )
    out: dict[str, dict[str, Param]] = {}
    for alg, params in raw.items():
        if alg not in algorithms:
            raise ValueError(
                f"{where}: key {alg!r} must be a tuned algorithm ({', '.join(algorithms)}); "
                "add it with --algorithms or remove it from the file."
            )
        # an alias (knn) has the hyperparameters of the algorithms it stands for
        names = ALIASES.get(alg, (alg,))
        valid = sorted({p for a in names for p in get_algorithm(a).model().get_params()})
        if not isinstance(params, dict):
            raise ValueError(
                f"{where}: `{alg}` must map parameter names to specs, but holds {_show(params)}."
            )
        out[alg] = {}
        for name, spec in params.items():
            if name not in valid:
                raise ValueError(
                    f"{where}: key `{alg}.{name}` must be a hyperparameter of {alg} "
                    f"({', '.join(valid)}), but is not."
                )
            out[alg][name] = _param(spec, f"{where}: `{alg}.{name}`")
    return out


def _param(spec: Any, where: str) -> Param:
    if not isinstance(spec, dict):
        raise ValueError(
            f'{where} must be a spec such as {{"type": "float", "low": 0.001, "high": 10, '
            f'"log": true}} or {{"choices": [...]}}, but holds {_show(spec)}.'
        )
    kind = spec.get("type", "categorical" if "choices" in spec else None)
    if kind not in _KEYS:
        raise ValueError(
            f"{where}.type must be one of float, int, categorical (or give `choices`), "
            f"but got {_show(kind)}."
        )
    extra = sorted(set(spec) - _KEYS[kind])
    if extra:
        raise ValueError(
            f"{where}: a {kind} spec takes only {sorted(_KEYS[kind])}, but also has {extra}."
        )
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"{where}.choices must be a non-empty list, but got {_show(choices)}.")
        return CategoricalParam(tuple(choices))
    for key in ("low", "high"):
        if key not in spec:
            raise ValueError(f"{where}.{key} must be given for a {kind} range, but is missing.")
    number = int if kind == "int" else (int, float)
    for key in ("low", "high"):
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, number):
            raise ValueError(
                f"{where}.{key} must be {'an int' if kind == 'int' else 'a number'}, "
                f"but got {_show(value)}."
            )
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ValueError(f"{where}.log must be true or false, but got {_show(log)}.")
    try:
        if kind == "int":
            return IntParam(spec["low"], spec["high"], log=log)
        return FloatParam(float(spec["low"]), float(spec["high"]), log=log)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
