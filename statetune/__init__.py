"""statetune: hyperparameter tuning from shared, mergeable sufficient statistics.

One pass over the data computes hyperparameter-independent states per fold; every
candidate model is then finalized from a state in milliseconds.

Example
-------
>>> import numpy as np, statetune as st
>>> rng = np.random.default_rng(0); X = rng.normal(size=(500, 4)); y = X @ [1.0, 2, 0, 0]
>>> states = st.compute_states(st.from_arrays(X, y), ["ridge", "pca"], folds=5)
>>> st.finalize("ridge", states, alpha=1e-6).coef_.round(3)
array([1., 2., 0., 0.])
"""

from __future__ import annotations

from typing import Any

from statetune._version import __version__
from statetune.algorithms import available_algorithms, get_algorithm
from statetune.data import (
    from_arrays,
    from_batches,
    from_csv,
    from_dask,
    from_pandas,
    from_parquet,
    from_series,
    from_text,
)
from statetune.engine import DaskExecutor, FoldConfig, PassInterrupted, TimeFolds
from statetune.state_cache import StateCache, StateCacheWarning
from statetune.tuner import TuneResult, load_model, objective, save_model, tune
from statetune.validation import StateSet, compute_states, iter_states, update
from statetune.validation.elbow import elbow, plot_elbow

__all__ = [
    "DaskExecutor",
    "FoldConfig",
    "PassInterrupted",
    "StateCache",
    "StateCacheWarning",
    "StateSet",
    "TimeFolds",
    "TuneResult",
    "__version__",
    "available_algorithms",
    "compute_states",
    "elbow",
    "finalize",
    "from_arrays",
    "from_batches",
    "from_csv",
    "from_dask",
    "from_pandas",
    "from_series",
    "from_parquet",
    "from_text",
    "iter_states",
    "load_model",
    "objective",
    "plot_elbow",
    "save_model",
    "tune",
    "update",
]


def finalize(
    algorithm: str, states: Any, params: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """The model ``algorithm`` fitted on all rows, from ``states`` alone (no data pass).

    Parameters
    ----------
    algorithm : str
        A registry name (see :func:`available_algorithms`).
    states : StateSet or a single state
        What :func:`compute_states` returned, or one state (e.g. a ``Moments``).
    params, **kwargs
        Hyperparameters (scikit-learn names).

    Examples
    --------
    >>> import numpy as np, statetune as st
    >>> X = np.arange(8.0).reshape(4, 2) ** 2; s = st.compute_states(st.from_arrays(X), ["pca"], folds=2)
    >>> st.finalize("pca", s, n_components=1).n_components_
    1
    """
    merged = {**(params or {}), **kwargs}
    if isinstance(states, StateSet):
        return states.finalize(algorithm, merged)
    return get_algorithm(algorithm).finalize(states, merged)
