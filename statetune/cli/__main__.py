"""``python -m statetune.cli``: the ``statetune`` command."""

from __future__ import annotations

import sys

from statetune.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
