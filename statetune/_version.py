"""The package version, in a module of its own so any module can import it at top level.

``statetune/__init__.py`` re-exports it; modules inside the package import it from here
(importing it from ``statetune`` would run the package's ``__init__`` and its imports).

Example
-------
>>> from statetune._version import __version__
>>> __version__.count(".")
2
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
