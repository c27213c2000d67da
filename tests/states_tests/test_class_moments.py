"""ClassMoments.update: per-class moments equal numpy's, on every path (raw products, the
shifted fallback, weights, several gathered blocks), and errors name the batch row."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.states import ClassMoments, NonFiniteError
from statetune.states._labels import label_codes
from statetune.states.moments import BLOCK_ROWS


def _check(state: ClassMoments, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None):
    classes = np.unique(y)
    assert state.classes.tolist() == classes.tolist()
    for c, m in zip(classes, state.per_class, strict=True):
        Xc = X[y == c]
        wc = np.ones(len(Xc)) if w is None else w[y == c]
        rel = wc @ (Xc - Xc[0]) / wc.sum()  # around a row: exact for large offsets
        com = (Xc - Xc[0] - rel).T @ ((Xc - Xc[0] - rel) * wc[:, None])
        mean = Xc[0] + rel
        assert m.n_rows == len(Xc)
        scale = np.sqrt(np.outer(np.diagonal(com), np.diagonal(com))) + 1e-300
        assert np.all(np.abs(m.comoment - com) <= 1e-10 * scale)
        spread = np.sqrt(np.diagonal(com) / wc.sum())
        assert np.all(np.abs(m.mean - mean) <= 1e-10 * np.maximum(spread, np.abs(mean) * 1e-5))


@pytest.mark.parametrize("offset", [0.0, 1e9])  # 1e9 with spread 1: the raw guard refuses
@pytest.mark.parametrize("n", [7, 3 * BLOCK_ROWS + 5])
def test_moments_equal_numpy_on_strided_views(offset, n):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2 * n, 4)) + offset
    y = rng.integers(0, 5, size=2 * n).astype(float)
    s = ClassMoments(4)
    s.update(X[::2], y[::2])  # a strided view, as the pass hands each fold
    _check(s, X[::2], y[::2])


def test_weights_and_chunks():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((500, 3)), rng.choice(np.array(["a", "b", "c"]), size=500)
    w = rng.random(500)
    s = ClassMoments(3)
    s.update(X[:123], y[:123], w[:123])
    s.update(X[123:], y[123:], w[123:])
    _check(s, X, y, w)


def test_non_finite_names_the_batch_row_and_changes_nothing():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 2)), rng.integers(0, 3, size=40)
    s = ClassMoments(2)
    s.update(X, y)
    before = s.copy()
    bad = X.copy()
    bad[29, 1] = np.nan
    with pytest.raises(NonFiniteError, match="at row 29") as info:
        s.update(bad, y)
    assert (info.value.row, info.value.column) == (29, 1)
    assert s.allclose(before)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([7, 3, 7, 9]),
        np.array([-100, 100, 5], dtype=np.int8),
        np.array([1.0, 0.0, 1.0]),
        np.array([0, 2**40, 0]),  # a wide range: np.unique
        np.array([2**63 + 5, 1], dtype=np.uint64),
        np.array(["b", "a", "b"]),
        np.array([True, False, True]),
    ],
)
def test_label_codes(labels):
    classes, codes, counts = label_codes(labels)
    assert classes.dtype == labels.dtype
    assert classes.tolist() == np.unique(labels).tolist()
    assert (classes[codes] == labels).all()
    assert counts.tolist() == [int((labels == c).sum()) for c in classes]


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_weighted_batch_of_several_blocks_in_one_update(offset):
    """One weighted update of 20,000 rows (three gathered blocks of BLOCK_ROWS): each class's
    rows in a later block must take their own weights (the block's sort order, offset by the
    block's start), not the weights of the first block's rows."""
    rng = np.random.default_rng(11)
    n = 20_000
    assert n > 2 * BLOCK_ROWS
    y = rng.integers(0, 3, size=n)
    X = rng.standard_normal((n, 3)) * (1.0 + y[:, None]) + 3.0 * y[:, None] + offset
    w = rng.uniform(0.1, 5.0, size=n)
    s = ClassMoments(3)
    s.update(X, y, w)
    _check(s, X, y, w)
    for c, m in zip(s.classes.tolist(), s.per_class, strict=True):
        assert m.weight_sum == pytest.approx(w[y == c].sum(), rel=1e-12)
        ref_mean = np.average(X[y == c] - offset, axis=0, weights=w[y == c]) + offset
        np.testing.assert_allclose(m.mean, ref_mean, rtol=1e-12)
