"""LinearBank: per-fold banks never learn from their fold, the pass feeds them every row with
its fold id, the merge is a weighted average (and obeys the laws an average can), the state is
chunk-invariant and round-trips, and bad grids are named."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from statetune.data import from_arrays, from_batches
from statetune.engine import MODEL, PassOptions, Slot, iter_pass, run_pass
from statetune.engine.cursor import Cursor
from statetune.states import LinearBank
from statetune.states.spec import StateSpec
from statetune.testing import npz_round_trip, state_digest
from tests.fold_rule import reference_folds

GRID = {"loss": ["logistic", "hinge"], "alpha": [1e-4], "l1": [0.0, 1e-3], "eta0": [0.5]}


def _data(n=900, d=3, seed=0, classes=("a", "b", "c")):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1][:d] + [0.0, 1e3, -5.0][:d]
    score = X[:, 0] + 0.1 * (X[:, 1] - 1e3) - 10 * (X[:, 2] + 5.0)
    cut = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    y = np.asarray(classes)[np.searchsorted(cut, score)]
    return X, y


def _bank(**kw):
    return LinearBank(3, **{**GRID, "batch_size": 16, **kw})


def test_fold_bank_never_learns_from_its_fold():
    """Bank k is a function of the rows outside fold k only: scrambling fold k's features and
    labels leaves it byte-identical, and changes the other banks."""
    X, y = _data()
    folds = np.arange(len(y)) % 3
    a, b = _bank(), _bank()
    a.update(X, y, folds=folds, n_folds=3)
    X2, y2 = X.copy(), y.copy()
    rng = np.random.default_rng(1)
    in1 = folds == 1
    X2[in1] = rng.normal(size=(in1.sum(), 3)) * 50
    y2[in1] = rng.permutation(y2[in1])
    b.update(X2, y2, folds=folds, n_folds=3)
    assert a.n_banks == 4
    va, vb = a.fold_view(1), b.fold_view(1)
    assert np.array_equal(va.W, vb.W) and np.array_equal(va.Wa, vb.Wa)
    assert va.n_rows == vb.n_rows == int((~in1).sum())
    assert not np.array_equal(a.fold_view(0).W, b.fold_view(0).W)
    assert not np.array_equal(a.fold_view(None).W, b.fold_view(None).W)
    assert a.held_view(1).n_rows == int(in1.sum())


def test_chunk_invariance_is_exact():
    X, y = _data(500)
    w = np.random.default_rng(2).uniform(0.2, 2.0, len(y))
    folds = np.arange(len(y)) % 4
    whole = _bank()
    whole.update(X, y, w, folds=folds, n_folds=4)
    pieces = _bank()
    for a, b in itertools.pairwise([0, 1, 17, 250, 333, 500]):
        pieces.update(X[a:b], y[a:b], w[a:b], folds=folds[a:b], n_folds=4)
    assert state_digest(whole) == state_digest(pieces)
    assert whole.n_pending == 500 % 16


def test_pass_feeds_every_row_with_its_fold_in_order():
    """The engine's fold states equal one bank updated directly with every row and its fold
    from the independent fold rule, for any chunking of the source and in parallel
    partitions merged by averaging (where the rows-per-fold counts stay exact)."""
    X, y = _data(700)
    spec = StateSpec.for_state(_bank())
    slot = Slot(MODEL, spec)
    direct = _bank()
    direct.update(X, y, folds=reference_folds(3, 7, 0, len(y)), n_folds=3)
    for batches in ([(X, y)], [(X[a:b], y[a:b]) for a, b in [(0, 5), (5, 400), (400, 700)]]):
        fs = run_pass(from_batches(batches), [slot], 3, seed=7)
        assert fs.total(slot).allclose(direct)
        for k in range(3):
            assert fs.train(slot, k).allclose(direct.fold_view(k))
            assert fs.held_out(slot, k).n_rows == int((reference_folds(3, 7, 0, 700) == k).sum())
        assert fs.n_rows == 700 and sum(s.n_rows for s in fs.states_of(slot)) == 700
    par = run_pass(from_arrays(X, y), [slot], 3, PassOptions(n_jobs=2), seed=7)
    assert par.total(slot).fold_rows.tolist() == direct.fold_rows.tolist()


def test_more_epochs_are_more_passes_of_the_same_state_and_snapshots_work():
    X, y = _data(600)
    slot = Slot(MODEL, StateSpec.for_state(_bank()))
    src = from_arrays(X, y)
    one = run_pass(src, [slot], 3)
    again = run_pass(
        src,
        [slot],
        3,
        start=Cursor({k: [s.copy() for s in v] for k, v in one.fold_states.items()}, [], 0),
    )
    direct = _bank()
    folds = reference_folds(3, 0, 0, 600)
    direct.update(X, y, folds=folds, n_folds=3)
    direct.update(X, y, folds=folds, n_folds=3)
    assert again.total(slot).allclose(direct)
    snaps = list(iter_pass(src, [slot], 3, PassOptions(every=200)))
    assert [s.n_rows for s in snaps] == [200, 400, 600]
    W, _ = snaps[0].train(slot, 0).coefficients(0)  # anytime: a stopped pass has a bank
    assert np.isfinite(W).all() and np.abs(W).sum() > 0


def _parts(n_parts=3, n=600):
    X, y = _data(n, seed=3)
    bounds = np.linspace(0, n, n_parts + 1).astype(int)
    parts = []
    for a, b in itertools.pairwise(bounds):
        s = _bank()
        s.update(X[a:b], y[a:b], folds=np.arange(a, b) % 2, n_folds=2)
        parts.append(s)
    return X, y, parts


def test_merge_is_the_weighted_average_of_the_parts():
    _, _, (a, b, _) = _parts()
    m = a.copy()
    m.merge(b)
    wa, wb = a.bank_weight, b.bank_weight
    expect = (a.W * wa[None, :, None, None] + b.W * wb[None, :, None, None]) / (wa + wb)[
        None, :, None, None
    ]
    np.testing.assert_allclose(m.W, expect, rtol=1e-12)
    assert m.n_rows == a.n_rows + b.n_rows
    # the same model averaged with itself is itself (rows counted twice)
    twice = a.copy()
    twice.merge(a)
    np.testing.assert_allclose(twice.W, a.W, rtol=1e-12)
    assert twice.n_rows == 2 * a.n_rows


def test_merge_laws_of_an_average():
    """Commutative, associative to rounding, unchanged by an empty state; merged in any order,
    the finalized scores agree (each part has its own shift: intercepts move between them)."""
    X, y, parts = _parts()
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    right = parts[-1].copy()
    for p in reversed(parts[:-1]):
        right.merge(p)
    assert left.allclose(right, 1e-10)
    bc = parts[1].copy()
    bc.merge(parts[2])
    a_bc = parts[0].copy()
    a_bc.merge(bc)
    assert a_bc.allclose(left, 1e-10)
    for k in (None, 0, 1):
        for avg in (True, False):
            W1, b1 = left.fold_view(k).coefficients(1, avg)
            W2, b2 = right.fold_view(k).coefficients(1, avg)
            np.testing.assert_allclose(X @ W1 + b1, X @ W2 + b2, rtol=1e-9, atol=1e-9)
    e = _bank()
    e.merge(left)
    assert e.allclose(left)
    f = left.copy()
    f.merge(_bank())
    assert f.allclose(left)
    with pytest.raises(ValueError, match="fold scheme"):
        other = _bank()
        other.update(X[:10], y[:10])
        left.copy().merge(other)


def test_round_trip_and_class_growth():
    X, y = _data(100)
    s = _bank()
    s.update(X[:50], np.where(y[:50] == "c", "a", y[:50]))  # "c" arrives later
    s.update(X[50:], y[50:])
    assert s.classes.tolist() == ["a", "b", "c"]
    back = npz_round_trip(s)
    assert state_digest(back) == state_digest(s)
    np.testing.assert_array_equal(back.coefficients(0)[0], s.coefficients(0)[0])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"loss": []}, "grid must not be empty, but `loss`"),
        ({"alpha": []}, "grid must not be empty, but `alpha`"),
        ({"eta0": []}, "grid must not be empty, but `eta0`"),
        ({"eta0": [0.0]}, r"`eta0` values must be finite and > 0"),
        ({"eta0": [-0.1]}, r"`eta0` values must be finite and > 0"),
        ({"eta0": [float("nan")]}, r"`eta0` values must be finite"),
        ({"alpha": [-1e-3]}, r"`alpha` values must be finite and >= 0"),
        ({"loss": ["log"]}, "`loss` must hold distinct values of"),
        ({"l1": [0.0, 0.0]}, "must not repeat"),
        ({"batch_size": 0}, "batch_size >= 1"),
    ],
)
def test_bad_grid_is_named(kw, match):
    with pytest.raises(ValueError, match=match):
        _bank(**kw)


def test_merge_of_buffered_rows_commutes():
    """States still buffering (no step yet, different shifts) merge the same either way."""
    X, y = _data(3)
    a, b = _bank(), _bank()
    a.update(X[:1], y[:1])
    b.update(X[1:], y[1:])
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    assert ab.allclose(ba) and ab.n_pending == 3
