"""Tuning: Optuna studies whose trials finalize models from states; results, plots, model files.

Example
-------
>>> from statetune.tuner import tune, TuneResult
>>> callable(tune)
True
"""

from __future__ import annotations

from statetune.tuner.model_io import load_model, save_model
from statetune.tuner.objective import Objective, objective
from statetune.tuner.results import TuneResult
from statetune.tuner.tune import tune

__all__ = ["Objective", "TuneResult", "load_model", "objective", "save_model", "tune"]
