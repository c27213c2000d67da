"""The version has one source, ``statetune/_version.py``, and the package reads it from there.

Independent references: the installed distribution's metadata (``importlib.metadata``, filled
by the build backend from pyproject.toml) and the source text of every module (``ast``).
"""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import statetune

PACKAGE = Path(statetune.__file__).parent


def test_version_module_is_the_one_the_package_exports() -> None:
    from statetune import _version

    assert _version.__all__ == ["__version__"]
    assert statetune.__version__ is _version.__version__
    assert "__version__" in statetune.__all__


def test_installed_metadata_reads_the_version_module() -> None:
    from statetune._version import __version__

    assert importlib.metadata.version("statetune") == __version__


def _reads_package_version(tree: ast.AST) -> list[int]:
    """Lines that take ``__version__`` from the package (``statetune``) rather than ``_version``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "statetune" and node.level == 0:
            if any(alias.name == "__version__" for alias in node.names):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "__version__"
            and isinstance(node.value, ast.Name)
            and node.value.id in {"statetune", "st"}
        ):
            lines.append(node.lineno)
    return lines


def test_no_module_reads_the_version_through_the_package() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = _reads_package_version(ast.parse(path.read_text(), filename=str(path)))
        if lines:
            found[str(path.relative_to(PACKAGE))] = lines
    assert found == {}, (
        "Modules inside statetune must import `from statetune._version import __version__` at "
        f"top level, but these read it through the package: {found}"
    )


def test_the_scan_sees_an_import_inside_a_function() -> None:
    package = "statetune"
    source = f"def f():\n    from {package} import __version__\n    return __version__\n"
    assert _reads_package_version(ast.parse(source)) == [2]
    assert _reads_package_version(ast.parse("import statetune\nv = statetune.__version__\n")) == [2]
    assert _reads_package_version(ast.parse("from statetune._version import __version__\n")) == []
