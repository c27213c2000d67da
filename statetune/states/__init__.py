"""Mergeable summaries of rows (docs/design.md, "state"). Depends on numpy only.

Example
-------
>>> from statetune.states import Moments
>>> Moments(n_features=3).n_rows
0
"""

from __future__ import annotations

from statetune.states._base import (
    FORMAT_VERSION,
    LabelError,
    NonFiniteError,
    State,
    register_state,
    state_class,
    state_from_arrays,
)
from statetune.states.class_counts import ClassCounts, NegativeCountError
from statetune.states.class_moments import ClassMoments
from statetune.states.cooccurrence import CoOccurrence
from statetune.states.frequent_directions import FrequentDirections
from statetune.states.kmeans_coreset import KMeansCoreset
from statetune.states.knn_sample import KNNSample
from statetune.states.lagged_moments import LaggedMoments, SeriesOrderError
from statetune.states.linear_bank import LinearBank
from statetune.states.linear_regression_bank import LinearRegressionBank
from statetune.states.moments import Moments
from statetune.states.reservoir import Reservoir
from statetune.states.table_moments import TableMoments
from statetune.states.target_summary import TargetSummary

__all__ = [
    "FORMAT_VERSION",
    "ClassCounts",
    "ClassMoments",
    "FrequentDirections",
    "CoOccurrence",
    "KMeansCoreset",
    "KNNSample",
    "LaggedMoments",
    "LinearBank",
    "LinearRegressionBank",
    "Moments",
    "LabelError",
    "NegativeCountError",
    "NonFiniteError",
    "Reservoir",
    "SeriesOrderError",
    "State",
    "TableMoments",
    "TargetSummary",
    "register_state",
    "state_class",
    "state_from_arrays",
]
