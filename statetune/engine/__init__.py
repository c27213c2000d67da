"""The pass: chunking, folds, executors; the resulting ``FoldStates``.

The engine fills *slots* (a role and a :class:`~statetune.states.spec.StateSpec`) and knows
nothing of algorithms; :mod:`statetune.validation` turns algorithm names into slots and
finalizes and scores models from the result.

Example
-------
>>> from statetune.engine import FoldConfig
>>> FoldConfig(5).n_folds
5
"""

from __future__ import annotations

from statetune.engine.cursor import Checkpointer, Cursor, PassInterrupted
from statetune.engine.dask_executor import DaskExecutor
from statetune.engine.executors import Executor, JoblibExecutor, SequentialExecutor, make_executor
from statetune.engine.fold_states import FoldStates
from statetune.engine.folds import FoldConfig
from statetune.engine.options import PassOptions
from statetune.engine.pass_ import iter_pass, run_pass
from statetune.engine.slots import HELD_OUT_SAMPLE, MODEL, Slot
from statetune.engine.time_folds import TimeFolds

__all__ = [
    "HELD_OUT_SAMPLE",
    "MODEL",
    "Checkpointer",
    "Cursor",
    "DaskExecutor",
    "Executor",
    "FoldConfig",
    "FoldStates",
    "JoblibExecutor",
    "PassInterrupted",
    "PassOptions",
    "SequentialExecutor",
    "Slot",
    "TimeFolds",
    "iter_pass",
    "make_executor",
    "run_pass",
]
