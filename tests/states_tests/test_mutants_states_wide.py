"""Tests for the survivors of the 20-mutants-per-module run over ``states/class_moments.py`` and
``states/moments.py`` (issue 17, ``make mutation``). References: numpy on all rows."""

from __future__ import annotations

import numpy as np
import pytest

from statetune.states import ClassMoments, Moments

RTOL = 1e-10


def _class_data(seed, labels):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(len(labels), 3)) * [1.0, 10.0, 0.1] + [5.0, -2.0, 0.0]
    return X, np.asarray(labels)


def _check_against_numpy(state, X, y):
    """Each class's row count, weight, mean and scatter equal numpy on that class's rows."""
    assert state.classes.tolist() == sorted(set(y.tolist()))
    for c, m in zip(state.classes.tolist(), state.per_class, strict=True):
        rows = X[y == c]
        assert m.n_rows == len(rows) and m.weight_sum == pytest.approx(len(rows))
        np.testing.assert_allclose(m.mean, rows.mean(axis=0), rtol=RTOL, atol=1e-12)
        D = rows - rows.mean(axis=0)
        np.testing.assert_allclose(m.comoment, D.T @ D, rtol=RTOL, atol=1e-10)


@pytest.mark.parametrize("swap", [False, True])
def test_class_moments_merge_keeps_classes_only_the_other_side_saw(swap):
    """``merge`` unites the class sets: a class seen only by ``other`` is kept with its rows
    (a dropped ``out.append(t.copy())`` left it out)."""
    X1, y1 = _class_data(0, ["a", "b", "a", "b", "a"] * 4)
    X2, y2 = _class_data(1, ["b", "c", "c", "b", "d"] * 4)
    s1, s2 = ClassMoments(3), ClassMoments(3)
    s1.update(X1, y1)
    s2.update(X2, y2)
    left, right = (s2, s1) if swap else (s1, s2)
    left.merge(right)
    _check_against_numpy(left, np.r_[X1, X2], np.r_[y1, y2])


def test_class_moments_subtract_leaves_the_other_rows():
    """``subtract`` of a state over a subset of the rows leaves the state of the remaining rows
    (classes left empty are dropped); a state with a class never seen is refused."""
    X, y = _class_data(2, ["a", "b", "c", "a", "b", "a"] * 5)
    whole, part = ClassMoments(3), ClassMoments(3)
    whole.update(X, y)
    take = (np.arange(len(y)) % 3 == 0) | (y == "c")  # every "c" row: class c empties
    part.update(X[take], y[take])
    whole.subtract(part)
    _check_against_numpy(whole, X[~take], y[~take])

    foreign = ClassMoments(3)
    foreign.update(X[:2], np.array(["a", "z"]))
    fresh = ClassMoments(3)
    fresh.update(X, y)
    with pytest.raises(ValueError, match="subset of these rows"):
        fresh.subtract(foreign)


def test_moments_allclose_on_data_near_the_underflow_scale():
    """Two states of the same rows at scale 1e-150 (co-moments ~1e-298, products of two
    variances underflow to 0): ``allclose`` must still say equal; the ``+ 1e-300`` floor of the
    co-moment tolerance is what keeps rounding-level differences (~1e-314) inside it."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(64, 3)) * 1e-150
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=64) * 1e-150
    whole, a, b = Moments(3), Moments(3), Moments(3)
    whole.update(X, y)
    a.update(X[:23], y[:23])
    b.update(X[23:], y[23:])
    a.merge(b)
    Z = np.c_[X, y]
    D = Z - Z.mean(axis=0)
    for s in (whole, a):  # both really summarize these rows (numpy on all rows)
        np.testing.assert_allclose(s.comoment, D.T @ D, rtol=1e-9, atol=0)
    assert not np.array_equal(whole.comoment, a.comoment), "rounding must differ for the test"
    assert whole.allclose(a) and a.allclose(whole)


def test_moments_allclose_tells_opposite_cross_moments_apart_at_large_scale():
    """Data around 1e100: the same counts, means and variances, cross-moments of opposite
    sign. ``sqrt(outer(var, var))`` overflowed to inf there and called them equal."""
    from statetune.states import Moments

    rng = np.random.default_rng(5)
    a = rng.normal(size=(200, 1))
    noise = rng.normal(size=(200, 1)) * 0.1
    X1 = np.hstack([a, a + noise]) * 1e100
    X2 = np.hstack([a, -a - noise]) * 1e100
    X2[:, 1] += 2 * X1[:, 1].mean()  # same mean for column 1 in both
    m1, m2 = Moments(2, False), Moments(2, False)
    m1.update(X1)
    m2.update(X2)
    c1, c2 = np.cov(X1.T / 1e100), np.cov(X2.T / 1e100)
    assert np.sign(c1[0, 1]) != np.sign(c2[0, 1])  # numpy: the cross-moments differ in sign
    assert not m1.allclose(m2)
    assert m1.allclose(m1.copy())


@pytest.mark.parametrize("loader", ["iris", "wine"])
def test_class_moments_unweighted_raw_path_on_real_tables_equals_numpy(loader):
    """Unweighted rows take the raw-product path per class (guarded against lost digits):
    on real tables (means far from zero, variances far from one) each class's mean and
    co-moment equal numpy's on that class's rows."""
    from sklearn import datasets

    from statetune.states import ClassMoments

    X, y = getattr(datasets, f"load_{loader}")(return_X_y=True)
    s = ClassMoments(X.shape[1])
    s.update(X, y)
    assert s.classes.tolist() == sorted(set(y.tolist()))
    for c, m in zip(s.classes.tolist(), s.per_class, strict=True):
        Xc = X[y == c]
        centered = Xc - Xc.mean(axis=0)
        np.testing.assert_allclose(m.mean, Xc.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(
            m.comoment, centered.T @ centered, rtol=1e-9, atol=1e-12 * np.abs(Xc).max() ** 2
        )


def test_moments_allclose_sees_a_shifted_mean():
    """Equal co-moments, means apart by half a standard deviation: not close."""
    from statetune.states import Moments

    X = np.random.default_rng(2).normal(size=(300, 3)) + np.array([5.0, -2.0, 1e3])
    a, b = Moments(3, False), Moments(3, False)
    a.update(X)
    b.update(X + np.array([0.5, 0.0, 0.0]))
    assert not a.allclose(b) and not b.allclose(a)
    assert a.allclose(a.copy())


def test_moments_overflow_names_the_row_far_from_the_column_not_its_large_neighbours():
    """Every value lies near 1e154 (squares near 1e308, no co-moment overflow around the
    mean); row 7 lies 1e160 away: the error names row 7, the value to rescale, as numpy on
    the deviations from the column's smallest value would."""
    from statetune.states import Moments

    X = 1e154 + np.random.default_rng(3).normal(size=(10, 1)) * 1e140
    X[7, 0] = 1e160
    dev = (X[:, 0] - X[np.argmin(np.abs(X[:, 0])), 0]) ** 2
    with np.errstate(over="ignore"):
        first = int(np.flatnonzero(~np.isfinite(np.cumsum(dev)))[0])
    assert first == 7
    with pytest.raises(ValueError, match="row 7"):
        Moments(1, False).update(X)


def test_class_moments_raw_path_means_of_classes_centered_near_zero():
    """Classes whose means lie far inside their spread (rows and their mirror images, plus
    1e-6): the raw-product path's guard passes, so its means and co-moments must be right
    on their own; checked against numpy per class."""
    from statetune.states import ClassMoments

    rng = np.random.default_rng(11)
    Z = rng.normal(size=(150, 3))
    X = np.vstack([Z, -Z, 2 * Z, -2 * Z]) + 1e-6
    y = np.repeat([0, 0, 1, 1], 150)
    s = ClassMoments(3)
    s.update(X, y)
    for c, m in zip(s.classes.tolist(), s.per_class, strict=True):
        Xc = X[y == c]
        centered = Xc - Xc.mean(axis=0)
        np.testing.assert_allclose(m.mean, Xc.mean(axis=0), rtol=1e-6, atol=1e-15)
        np.testing.assert_allclose(m.comoment, centered.T @ centered, rtol=1e-10)
