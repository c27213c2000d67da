"""Hypothesis settings: every run draws the same examples (``derandomize=True``), so a failure
seen once is seen again on the next run and on another machine. ``HYPOTHESIS_PROFILE=random``
draws fresh examples (a wider search; a failure then prints the blob that reproduces it)."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=40, deadline=None, derandomize=True)
settings.register_profile("random", max_examples=40, deadline=None, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
