"""The architecture, checked by the code itself: imports run one way between the layers, and no
code outside ``states/`` compares a state kind string (it asks for a capability instead)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import statetune
from statetune.states._base import _REGISTRY

PACKAGE = Path(statetune.__file__).parent

#: Each layer and the layers it may import (DESIGN: cli -> tuner -> validation ->
#: {algorithms, state_cache, engine} -> {states, data}).
LAYERS: dict[str, set[str]] = {
    "states": set(),
    "data": set(),
    "engine": {"states", "data"},
    "state_cache": {"engine", "states", "data"},
    "algorithms": {"states", "data"},
    "validation": {"algorithms", "state_cache", "engine", "states", "data"},
    "tuner": {"validation", "algorithms", "state_cache", "engine", "states", "data"},
}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "statetune" and parts[1] in LAYERS else None


def imports(path: Path) -> list[tuple[int, str]]:
    """Every ``statetune...`` module a file imports (top level and inside functions)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
    return [(n, m) for n, m in out if m == "statetune" or m.startswith("statetune.")]


def layer_files() -> list[Path]:
    return sorted(p for name in LAYERS for p in (PACKAGE / name).rglob("*.py"))


@pytest.mark.parametrize("path", layer_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down_the_layers(path):
    own = path.relative_to(PACKAGE).parts[0]
    allowed = LAYERS[own] | {own, "_version"}
    bad = []
    for line, module in imports(path):
        if module in ("statetune", "statetune._version"):
            if module == "statetune":
                bad.append(f"line {line}: imports the package root")
            continue
        target = layer_of(module) or module.split(".")[1]
        if target not in allowed:
            bad.append(f"line {line}: {own} imports {module}")
    assert not bad, f"{path.relative_to(PACKAGE)}: " + "; ".join(bad)


def test_the_layer_check_catches_an_upward_import(tmp_path):
    """The check above can fail: an engine file importing the algorithms is caught."""
    bad = tmp_path / "pass_.py"
    bad.write_text("def f():\n    from statetune.algorithms import get_algorithm\n")
    assert imports(bad) == [(2, "statetune.algorithms")]
    assert layer_of("statetune.algorithms") not in LAYERS["engine"]


def kind_comparisons(path: Path, kinds: set[str]) -> list[str]:
    """``x == "moments"``-style comparisons (and ``in`` tests) against a registered kind."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Constant) and side.value in kinds:
                    found.append(f"line {node.lineno}: compares with {side.value!r}")
    return found


def test_no_kind_string_comparison_outside_states():
    kinds = set(_REGISTRY)
    assert {"moments", "lagged_moments", "reservoir", "class_counts"} <= kinds
    found = {
        str(p.relative_to(PACKAGE)): hits
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.relative_to(PACKAGE).parts[0] != "states"
        for hits in [kind_comparisons(p, kinds)]
        if hits
    }
    assert not found, found


def test_the_kind_check_catches_a_comparison(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text('if spec["kind"] == "reservoir":\n    pass\n')
    assert kind_comparisons(bad, {"reservoir"}) == ["line 1: compares with 'reservoir'"]


def test_states_import_nothing_of_ours_but_states():
    bad = [
        (str(p.relative_to(PACKAGE)), m)
        for p in sorted((PACKAGE / "states").glob("*.py"))
        for _, m in imports(p)
        if not m.startswith("statetune.states")
    ]
    assert not bad, bad
