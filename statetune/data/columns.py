"""Column names checked against the ones a model was fitted on, naming what differs.

Example
-------
>>> from statetune.data.columns import check_column_names
>>> check_column_names(["a", "b"], ["a", "b"], "The columns", "the model", "`X`")
>>> check_column_names(["a", "b"], ["b", "a"], "The columns", "the model", "`X`")
Traceback (most recent call last):
...
ValueError: The columns must be in the order the model was fitted on (['a', 'b']), but `X` has them as ['b', 'a'].
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["check_column_names"]


def check_column_names(
    want: Sequence[str], got: Sequence[str], subject: str, fitted_by: str, where: str
) -> None:
    """Raise unless ``got`` is ``want`` in order: the message names the missing and extra
    columns, or says the order differs (``subject``: what is checked, ``fitted_by``: who was
    fitted on ``want``, ``where``: what holds ``got``)."""
    want, got = list(want), list(got)
    if got == want:
        return
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    if missing or extra:
        raise ValueError(
            f"{subject} must be those {fitted_by} was fitted on ({want}), but {where} lacks "
            f"{missing} and has extra {extra}."
        )
    raise ValueError(
        f"{subject} must be in the order {fitted_by} was fitted on ({want}), but {where} has "
        f"them as {got}."
    )
