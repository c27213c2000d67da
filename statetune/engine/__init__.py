"""The pass: chunking, folds, executors; the resulting ``StateSet``.

Example
-------
>>> from statetune.engine import FoldConfig
>>> FoldConfig(5).n_folds
5
"""

from __future__ import annotations

from statetune.engine.cursor import Checkpointer, Cursor, PassInterrupted
from statetune.engine.executors import Executor, JoblibExecutor, SequentialExecutor, make_executor
from statetune.engine.folds import FoldConfig
from statetune.engine.pass_ import compute_states, iter_states
from statetune.engine.stateset import StateSet
from statetune.engine.time_folds import TimeFolds

__all__ = [
    "Checkpointer",
    "Cursor",
    "PassInterrupted",
    "Executor",
    "FoldConfig",
    "JoblibExecutor",
    "SequentialExecutor",
    "StateSet",
    "TimeFolds",
    "compute_states",
    "iter_states",
    "make_executor",
]
