"""``StateSet``: fold states plus what algorithms do with them (finalize, search space, score a
fold, cross-validate), with no data pass.

The engine's :class:`~statetune.engine.fold_states.FoldStates` holds states by slot; a
``StateSet`` adds the algorithm names the states were computed for and finds, for any
algorithm, the slot whose spec it accepts (so two algorithms of one state share it).

Example
-------
>>> import numpy as np, statetune as st
>>> rng = np.random.default_rng(0); X = rng.normal(size=(200, 3)); y = X @ [1.0, 0, 2] + 0.1
>>> states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=4)
>>> round(states.validation_score("ridge", {"alpha": 1e-6}, metric="r2"), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from statetune.algorithms import available_algorithms, get_algorithm
from statetune.algorithms._label_metrics import UnseenClassError
from statetune.algorithms.algorithm import Algorithm
from statetune.algorithms.registry import resolve_algorithm
from statetune.engine.fold_states import FoldStates
from statetune.engine.slots import MODEL, Slot
from statetune.engine.time_folds import TimeFolds

__all__ = ["StateSet", "algorithms_served"]


def algorithms_served(states: FoldStates) -> list[str]:
    """Registered algorithms some model slot of ``states`` serves (for states loaded from a
    cache entry, which records specs, not names)."""
    out = []
    for name in available_algorithms():
        alg = get_algorithm(name)
        if any(s.role == MODEL and alg.accepts(s.spec) for s in states.fold_states):
            out.append(name)
    return out


class StateSet(FoldStates):
    """Fold states of one pass, and the algorithms they were computed for.

    Treat it as read-only: finalizing and scoring never change it, so threads may share it.
    """

    #: What a cached pass did (rows read, rows from the cache): a
    #: :class:`~statetune.state_cache.CacheReport`, or None without a cache.
    cache_report: Any = None

    def __init__(
        self,
        *args: Any,
        algorithms: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.algorithms = tuple(algorithms)

    @classmethod
    def of(cls, states: FoldStates, algorithms: Sequence[str] | None = None) -> StateSet:
        """``states`` as a StateSet (the same fold states, no copy); ``algorithms`` default to
        every registered algorithm its model slots serve."""
        if isinstance(states, StateSet) and algorithms is None:
            return states
        names = algorithms_served(states) if algorithms is None else algorithms
        return cls(
            states.schema,
            states.folds,
            states.fold_states,
            algorithms=names,
            complete=states.complete,
            fingerprint=states.fingerprint,
            lineage=states.lineage,
        )

    def model_slot(self, name: str) -> Slot:
        """The slot whose state ``name`` finalizes from (the first model slot it accepts)."""
        return self._algorithm(name)[1]

    def _algorithm(self, name: str) -> tuple[Algorithm, Slot]:
        name = resolve_algorithm(name, self.schema)  # "knn": its classifier or regressor
        alg = get_algorithm(name)
        slots = [s for s in self.fold_states if s.role == MODEL and alg.accepts(s.spec)]
        if not slots:
            raise ValueError(
                f"{name!r} needs the {alg.state_kind!r} state, but this set was computed for "
                f"{list(self.algorithms)}; pass {name!r} to compute_states."
            )
        if alg.needs_target and not self.schema.has_target:
            raise ValueError(f"{name!r} needs a target, but the source has none (pass target=...).")
        return alg, slots[0]

    def search_space(self, name: str) -> dict[str, Any]:
        """The algorithm's search space, bounded by the total state."""
        alg, slot = self._algorithm(name)
        return alg.search_space(self.total(slot))

    def finalize(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """The model of ``name`` fitted on all rows, from the states alone."""
        alg, slot = self._algorithm(name)
        return alg.finalize(self.total(slot), {**(params or {}), **kwargs}, self.schema.features)

    def score_fold(
        self, name: str, params: Mapping[str, Any], metric: str, k: int
    ) -> tuple[float, str]:
        """Train ``name`` on every fold but ``k`` and score it on fold ``k``.

        Returns the score and how it was computed: from the held-out state exactly, or on the
        held-out sample of rows (metrics that need row-by-row predictions).
        """
        try:
            return self._score_fold(name, params, metric, k)
        except UnseenClassError as err:  # the scorer cannot know the fold: name it here
            raise UnseenClassError(
                f"{err} They are in fold {k} only (held out, so no training rows hold them); "
                "use fewer folds, or drop classes this rare."
            ) from None

    def _score_fold(
        self, name: str, params: Mapping[str, Any], metric: str, k: int
    ) -> tuple[float, str]:
        alg, slot = self._algorithm(name)
        held = self.held_out(slot, k)
        if held.n_rows == 0:
            raise ValueError(f"Fold {k} must hold rows to validate, but it is empty.")
        train = self.train(slot, k)
        model = alg.finalize(train, dict(params), self.schema.features)
        if metric not in alg.sample_metrics:
            note = getattr(model, "validation_note", None)  # what the model's metric measures
            if note is not None:
                how = str(note(metric))
            elif getattr(held, "exact_summary", True):
                how = "held-out state (exact)"
            else:
                how = "held-out state (approximate: a sketch)"
            return float(model.held_out_score(train, held, metric)), how
        sample_slot = self.sample_slot()
        if sample_slot is None:
            raise ValueError(
                f"`metric={metric!r}` is scored on a held-out sample of rows, but these states "
                "were computed without one (for exact metrics only); compute them with "
                f"metrics=[{metric!r}] or without `metrics`."
            )
        sample = self.held_out(sample_slot, k)
        if hasattr(model, "sample_score"):
            score = model.sample_score(self.train(sample_slot, k), sample, metric)
            return float(score), f"held-out sample of {len(sample.w)} rows"
        from statetune.validation.sample_metrics import sample_score

        X = sample.X
        if getattr(model, "feature_names_in_", None) is not None:
            import pandas as pd

            X = pd.DataFrame(X, columns=list(self.schema.features))
        score = sample_score(model, X, sample.y, sample.w, metric)
        return score, f"held-out sample of {len(sample.w)} rows"

    def fold_scores(
        self, name: str, params: Mapping[str, Any] | None = None, metric: str | None = None
    ) -> np.ndarray:
        """Score of each fold: train on the other folds, score on the held-out fold."""
        alg, _ = self._algorithm(name)
        metric = metric or alg.default_metric
        if metric not in alg.metrics:
            raise ValueError(
                f"`metric` must be one {name!r} can compute ({', '.join(alg.metrics)}), "
                f"but got {metric!r}."
            )
        if self.n_folds < 2 and not isinstance(self.folds, TimeFolds):
            raise ValueError("`folds >= 2` must hold to validate, but the states have 1 fold.")
        return np.array(
            [self.score_fold(name, params or {}, metric, k)[0] for k in range(self.n_folds)]
        )

    def validation_score(
        self, name: str, params: Mapping[str, Any] | None = None, metric: str | None = None
    ) -> float:
        """Mean over folds of :meth:`fold_scores` (no data pass)."""
        return float(np.mean(self.fold_scores(name, params, metric)))

    def __repr__(self) -> str:
        return (
            f"StateSet(n_rows={self.n_rows}, folds={self.n_folds}, "
            f"states={[str(s) for s in self.fold_states]}, algorithms={list(self.algorithms)}, "
            f"complete={self.complete})"
        )
