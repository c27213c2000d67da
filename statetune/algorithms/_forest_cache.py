"""Isolation forests grown once per state and extended by prefix, and the per-tree depths of
held-out rows, cached so that a study's trials fit no forest and traverse no tree.

scikit-learn's ``IsolationForest`` with an integer ``random_state`` is a prefix-extensible
sequence of trees: ``BaseBagging`` draws one seed per tree from ``RandomState(random_state)``
in order, and ``warm_start=True`` grows trees ``N .. M-1`` after the first ``N`` with the same
seeds. So the first ``n`` trees of a forest grown to ``N >= n`` trees *are* the trees of
``IsolationForest(n_estimators=n)`` fitted on the same rows, and its score of a row is
``-2 ** (-depth_n / (n * c(max_samples)))``, ``depth_n`` the sum of the row's first ``n``
per-tree path lengths (with scikit-learn's average-path-length correction at the leaf).

- :func:`grown_forest`: one forest per ``(max_samples, max_features, random_state)`` of a
  state (the effective integers scikit-learn uses, so ``"auto"`` and ``256`` share one),
  grown with ``warm_start`` to the largest ``n_estimators`` asked so far.
- :func:`cumulative_depths`: for a fixed set of rows, the running sums of the per-tree path
  lengths over the trees (rows x trees scored so far), extended when a model with more trees
  asks; a model with ``n`` trees reads column ``n - 1``: ``O(rows)`` per trial. The running
  sum adds the trees in scikit-learn's order starting from 0.0, as its scoring loop does, so
  the scores are the same floats.

Memory is bounded by a byte budget per state (:data:`FOREST_CACHE_BYTES` for a training
state's forests, :data:`DEPTH_CACHE_BYTES` for a held-out sample's depth sums), evicting the
least recently used combination first (the entry just used is always kept). An evicted forest
is grown again when asked (same seeds, same trees).

Example
-------
>>> import numpy as np
>>> from statetune.algorithms._forest_cache import ByteLRU
>>> lru = ByteLRU(100); lru.put("a", 1, 60); lru.put("b", 2, 60)
>>> lru.get("a") is None, lru.get("b")
(True, 2)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import ensemble
from sklearn.tree._tree import NODE_DTYPE

__all__ = [
    "DEPTH_CACHE_BYTES",
    "FOREST_CACHE_BYTES",
    "ByteLRU",
    "cumulative_depths",
    "forest_nbytes",
    "grown_forest",
]

#: Byte budget of the forests kept per training state (least recently used evicted first).
FOREST_CACHE_BYTES = 256 * 2**20
#: Byte budget of the per-tree depth sums kept per held-out sample (idem).
DEPTH_CACHE_BYTES = 256 * 2**20
# per node: the Node record, its value (one float64) and the two per-node path arrays
_NODE_BYTES = NODE_DTYPE.itemsize + 8 + 16


class ByteLRU:
    """A least-recently-used map bounded by the bytes its entries declare; the most recent
    entry is always kept. ``lock`` serializes users that build and insert an entry."""

    def __init__(self, budget: int) -> None:
        self.budget = int(budget)
        self.lock = threading.RLock()
        self._entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self.nbytes = 0
        self.evictions = 0

    def get(self, key: Any) -> Any:
        """The value under ``key`` (marked most recent), or None."""
        with self.lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Any, value: Any, nbytes: int) -> None:
        """Store ``value`` (``nbytes`` large) as the most recent entry, then evict the least
        recent ones while the total exceeds the budget."""
        with self.lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.nbytes -= old[1]
            self._entries[key] = (value, int(nbytes))
            self.nbytes += int(nbytes)
            while self.nbytes > self.budget and len(self._entries) > 1:
                _, (_, size) = self._entries.popitem(last=False)
                self.nbytes -= size
                self.evictions += 1

    def __len__(self) -> int:
        return len(self._entries)


def forest_nbytes(forest: Any) -> int:
    """An estimate of a fitted isolation forest's memory (its trees' nodes)."""
    return sum(int(t.tree_.node_count) for t in forest.estimators_) * _NODE_BYTES + 1024


def grown_forest(
    cache: ByteLRU,
    key: tuple[int, int, int],
    n_estimators: int,
    rows: Callable[[], tuple[np.ndarray, np.ndarray | None]],
) -> Any:
    """scikit-learn's ``IsolationForest`` of ``key = (max_samples, max_features,
    random_state)`` (integers) with at least ``n_estimators`` trees, grown with
    ``warm_start`` from the cached forest of fewer trees when there is one. ``rows()`` gives
    the training rows and their weights (or None) when trees must be grown."""
    with cache.lock:
        forest = cache.get(key)
        if forest is not None and len(forest.estimators_) >= n_estimators:
            return forest
        X, w = rows()
        if forest is None:
            max_samples, max_features, seed = key
            forest = ensemble.IsolationForest(
                n_estimators=n_estimators,
                max_samples=max_samples,
                max_features=max_features,
                random_state=seed,
                warm_start=True,
            )
        forest.set_params(n_estimators=n_estimators)
        forest.fit(X, sample_weight=w)
        cache.put(key, forest, forest_nbytes(forest))
        return forest


def _tree_terms(model: Any, X32: np.ndarray, t: int) -> np.ndarray:
    """Tree ``t``'s path length of each row with the leaf's average-path-length correction,
    as scikit-learn's ``_parallel_compute_tree_depths`` adds it."""
    subsample = model._max_features != X32.shape[1]
    Xs = X32[:, model.estimators_features_[t]] if subsample else X32
    leaves = model.estimators_[t].apply(Xs, check_input=False)
    terms: np.ndarray = (
        model._decision_path_lengths[t][leaves]
        + model._average_path_length_per_tree[t][leaves]
        - 1.0
    )
    return terms


def cumulative_depths(cache: ByteLRU, key: Any, model: Any, X32: np.ndarray) -> np.ndarray:
    """Running sums over ``model``'s trees of the rows' per-tree path lengths (rows x
    ``len(model.estimators_)``), from the entry ``key`` of the same rows and a forest whose
    trees begin with ``model``'s; the trees beyond the entry's are traversed and appended."""
    n = len(model.estimators_)
    with cache.lock:
        have = cache.get(key)
        done = 0 if have is None else have.shape[1]
        if done >= n:
            out: np.ndarray = have[:, :n]
            return out
        grown = np.empty((X32.shape[0], n), dtype=np.float64, order="F")  # a tree per column
        if done:
            grown[:, :done] = have
        for t in range(done, n):
            grown[:, t] = _tree_terms(model, X32, t)
        # in scikit-learn's order from 0.0: each column adds one tree to the previous sum
        if done:
            grown[:, done] += grown[:, done - 1]
        np.cumsum(grown[:, done:], axis=1, out=grown[:, done:])
        cache.put(key, grown, grown.nbytes)
        return grown
