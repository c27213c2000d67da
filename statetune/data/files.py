"""Finding the files of a file source: a path, a directory, a glob, or a list of them.

Example
-------
>>> from statetune.data.files import expand_paths
>>> expand_paths([], ".csv")
Traceback (most recent call last):
...
ValueError: A file source must name at least one file, but got none.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence

__all__ = ["expand_paths"]


def expand_paths(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], suffix: str
) -> list[str]:
    """Files in a stable order: directories are searched recursively for ``*suffix``."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: list[str] = []
    for item in items:
        p = os.fspath(item)
        if os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(p, "**", f"*{suffix}"), recursive=True))
            if not found:
                raise FileNotFoundError(f"Directory {p!r} must hold *{suffix} files, but has none.")
            out.extend(found)
        elif any(ch in p for ch in "*?["):
            found = sorted(glob.glob(p, recursive=True))
            if not found:
                raise FileNotFoundError(f"Pattern {p!r} must match files, but matches none.")
            out.extend(found)
        elif os.path.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"File {p!r} must exist, but does not.")
    if not out:
        raise ValueError("A file source must name at least one file, but got none.")
    return out
