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
- :func:`summed_depths`: for a fixed set of rows, the leaf each row reaches in each tree
  traversed so far (rows x trees, ``uint16`` for trees of fewer than 65,536 nodes) and each
  tree's per-node path length; extended when a model with more trees asks; a model with ``n``
  trees sums the first ``n`` trees' path lengths: ``O(rows x n)`` per trial, no traversal.
  The sum adds the trees in scikit-learn's order starting from 0.0, as its scoring loop
  does, so the scores are the same floats.

Memory is bounded by a byte budget per state (:data:`FOREST_CACHE_BYTES` for a training
state's forests, :data:`DEPTH_CACHE_BYTES` for a held-out sample's leaf indices), evicting the
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
    "forest_nbytes",
    "grown_forest",
    "summed_depths",
]

#: Byte budget of the forests kept per training state (least recently used evicted first).
FOREST_CACHE_BYTES = 256 * 2**20
#: Byte budget of the per-tree depth sums kept per held-out sample (idem).
DEPTH_CACHE_BYTES = 256 * 2**20
# per node: the Node record, its value (one float64) and the two per-node path arrays
_NODE_BYTES = NODE_DTYPE.itemsize + 8 + 16


class ByteLRU:
    """A least-recently-used map bounded by the bytes its entries declare; the most recent
    entry is always kept. ``lock`` guards the map; :meth:`key_lock` serializes the users that
    build or extend the entry of one key, so entries of different keys are built at once (an
    isolation forest of one grid point grows while another's trials run)."""

    def __init__(self, budget: int) -> None:
        self.budget = int(budget)
        self.lock = threading.RLock()
        self._entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._key_locks: dict[Any, threading.RLock] = {}
        self.nbytes = 0
        self.evictions = 0

    def key_lock(self, key: Any) -> threading.RLock:
        """The lock of ``key``'s entry (one per key, kept after an eviction: a key is a grid
        point, there are few)."""
        with self.lock:
            return self._key_locks.setdefault(key, threading.RLock())

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
    the training rows and their weights (or None) when trees must be grown. Only callers of
    the same ``key`` wait for each other."""
    with cache.key_lock(key):
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


class _Leaves:
    """The leaf of each row in each tree scored so far (rows x trees, a tree per column, the
    smallest unsigned integers that hold the node indices) and each tree's per-node path
    length with the average-path-length correction (``depth + c(node samples) - 1``)."""

    def __init__(self, n_rows: int) -> None:
        self.leaves = np.empty((n_rows, 0), dtype=np.uint16, order="F")
        self.tables: list[np.ndarray] = []

    @property
    def nbytes(self) -> int:
        return int(self.leaves.nbytes + sum(t.nbytes for t in self.tables))

    def extend(self, model: Any, X32: np.ndarray, n: int) -> None:
        """Traverse ``model``'s trees ``len(tables) .. n - 1`` with the rows."""
        done = len(self.tables)
        nodes = max(int(model.estimators_[t].tree_.node_count) for t in range(n))
        dtype = np.result_type(self.leaves.dtype, np.min_scalar_type(nodes))
        grown = np.empty((X32.shape[0], n), dtype=dtype, order="F")
        grown[:, :done] = self.leaves
        subsample = model._max_features != X32.shape[1]  # as scikit-learn's scoring
        for t in range(done, n):
            Xs = X32[:, model.estimators_features_[t]] if subsample else X32
            grown[:, t] = model.estimators_[t].apply(Xs, check_input=False)
            # the term scikit-learn's _parallel_compute_tree_depths adds, per node
            table = model._decision_path_lengths[t] + model._average_path_length_per_tree[t] - 1.0
            self.tables.append(table)
        self.leaves = grown

    def depths(self, n: int) -> np.ndarray:
        """The rows' summed path lengths in the first ``n`` trees, added tree by tree from
        0.0 in scikit-learn's order (the same floats as its scoring loop)."""
        out = np.zeros(self.leaves.shape[0])
        for t in range(n):
            out += self.tables[t][self.leaves[:, t]]
        return out


def summed_depths(cache: ByteLRU, key: Any, model: Any, X32: np.ndarray) -> np.ndarray:
    """The rows' path lengths summed over ``model``'s ``n`` trees, from the entry ``key`` of
    the same rows and a forest whose trees begin with ``model``'s: trees the entry has not
    traversed yet are traversed once and kept (as leaf indices); then ``O(rows x n)``."""
    n = len(model.estimators_)
    with cache.key_lock(key):
        entry = cache.get(key)
        if entry is None:
            entry = _Leaves(X32.shape[0])
        if len(entry.tables) < n:
            entry.extend(model, X32, n)
            cache.put(key, entry, entry.nbytes)
        return entry.depths(n)
