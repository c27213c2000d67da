"""The package metadata: an SPDX license expression with its license file (PEP 639), so that
setuptools prints no license deprecation warning at install; the console script."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_expression_with_its_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    meta = project["project"]
    assert meta["license"] == "Apache-2.0"  # a string, not the deprecated {text = ...} table
    files = meta["license-files"]
    assert files and all(list(ROOT.glob(pattern)) for pattern in files)
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    # setuptools reads both keys from 77.0 on; an older one would refuse the string
    (req,) = [r for r in project["build-system"]["requires"] if r.startswith("setuptools")]
    low = re.search(r">=\s*(\d+)", req)
    assert low and int(low.group(1)) >= 77


def test_installed_metadata_and_console_script():
    meta = importlib.metadata.metadata("statetune")
    assert meta["License-Expression"] == "Apache-2.0"
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts["statetune"] == "statetune.cli:main"
