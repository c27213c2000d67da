"""``python -m statetune``: the ``statetune`` command (see :mod:`statetune.cli`)."""

from __future__ import annotations

import sys

from statetune.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
