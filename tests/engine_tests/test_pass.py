"""The pass: executors agree, anytime snapshots work, shared states, error paths."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st
from statetune.engine import JoblibExecutor
from statetune.states import Moments
from statetune.testing import make_regression_data
from tests.fold_rule import reference_folds


@pytest.fixture(scope="module")
def big():
    return make_regression_data(150_000, 8, seed=5, weighted=False)


def fold_equal(a, b, rtol=1e-10):
    assert a.n_rows == b.n_rows
    for kind in a.fold_states:
        for s1, s2 in zip(a.states_of(kind), b.states_of(kind), strict=True):
            assert s1.allclose(s2, rtol)


def test_states_equal_direct_update_per_fold(big):
    X, y, _ = big
    states = st.compute_states(st.from_arrays(X, y), ["ridge", "pca"], folds=5, seed=9)
    assert [sl.spec.kind for sl in states.fold_states] == [
        "moments"
    ]  # ridge and pca share one state
    fold = reference_folds(5, 9, 0, len(X))

    for k in range(5):
        ref = Moments(8)
        ref.update(X[fold == k], y[fold == k])
        assert states.held_out("moments", k).allclose(ref)
    total = Moments(8)
    total.update(X, y)
    assert states.total("moments").allclose(total)


@pytest.mark.parametrize(("n_jobs", "backend"), [(2, "threading"), (2, "loky")])
def test_parallel_equals_sequential(big, n_jobs, backend):
    X, y, _ = big
    src = st.from_arrays(X, y)
    seq = st.compute_states(src, ["ridge"], folds=5)
    par = st.compute_states(src, ["ridge"], folds=5, n_jobs=n_jobs, backend=backend)
    fold_equal(seq, par)


def test_anytime_snapshots_finalize(big):
    X, y, _ = big
    seen = []
    final = st.compute_states(
        st.from_arrays(X, y), ["ridge", "pca"], folds=3, every=40_000, callback=seen.append
    )
    assert [s.n_rows for s in seen] == [40_000, 80_000, 120_000]
    assert all(not s.complete for s in seen) and final.complete
    for snap in seen:
        model = st.finalize("ridge", snap, alpha=1.0)
        assert np.isfinite(model.predict(X[:3])).all()
        assert snap.validation_score("ridge", {"alpha": 1.0}, "r2") > 0.5
    # snapshots are copies: later rows did not leak into them
    assert seen[0].total("moments").n_rows == 40_000


def test_parallel_anytime_yields_per_partition(big):
    X, y, _ = big
    snaps = list(st.iter_states(st.from_arrays(X, y), ["ridge"], folds=2, n_jobs=2, every=1))
    assert snaps[-1].complete and snaps[-1].n_rows == len(X)
    assert len(snaps) >= 2 and all(s.n_rows < len(X) for s in snaps[:-1])


def test_appending_rows_keeps_old_fold_states(big):
    """Each fold of the first 100,000 rows holds the rows the fold rule gives them (an
    independent implementation, tests/fold_rule.py); after appending 50,000 rows each fold is
    its old state plus the appended rows of that fold: no old row moved."""
    X, y, _ = big
    m = 100_000
    old = st.compute_states(st.from_arrays(X[:m], y[:m]), ["ridge"], folds=5)
    new = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5)
    fold = reference_folds(5, 0, 0, len(X))
    for k in range(5):
        head = np.flatnonzero(fold[:m] == k)
        ref = Moments(8)
        ref.update(X[head], y[head])
        assert old.held_out("moments", k).allclose(ref)
        appended = m + np.flatnonzero(fold[m:] == k)
        assert 0 < len(appended) < len(X) - m
        grown = old.held_out("moments", k).copy()
        extra = Moments(8)
        extra.update(X[appended], y[appended])
        grown.merge(extra)
        assert new.held_out("moments", k).allclose(grown)
        assert new.held_out("moments", k).n_rows == len(head) + len(appended)


def test_custom_executor_is_used(big):
    X, y, _ = big
    calls = []

    class Spy(JoblibExecutor):
        def map(self, fn, items):
            items = list(items)
            calls.append(len(items))
            return super().map(fn, items)

    st.compute_states(st.from_arrays(X, y), ["ols"], folds=2, executor=Spy(2))
    assert calls and calls[0] >= 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"algorithms": ["nope"]}, r"`algorithm` must be one of \['ols', 'ridge'"),
        ({"algorithms": []}, "must name at least one algorithm"),
        ({"folds": 0}, "`folds >= 1` must hold"),
        ({"every": 0}, "`every >= 1` must hold"),
        ({"n_jobs": 0}, "`n_jobs` must be a positive integer or -1"),
    ],
)
def test_bad_arguments(kwargs, match):
    X, y, _ = make_regression_data(50, 2)
    args = {"algorithms": ["ridge"], **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        st.compute_states(st.from_arrays(X, y), **args)


def test_fewer_rows_than_folds_and_missing_target():
    X, y, _ = make_regression_data(3, 2)
    with pytest.raises(ValueError, match="`folds <= n_rows` must hold, but got folds=5, n_rows=3"):
        st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5)
    with pytest.raises(ValueError, match="'ridge' needs a target, but the source has none"):
        st.compute_states(st.from_arrays(X), ["ridge"], folds=2)
    with pytest.raises(TypeError, match="`source` must be a statetune source"):
        st.compute_states(X, ["ridge"])


def test_nan_is_reported_with_global_row_and_column(big):
    X, y, _ = big
    X = X.copy()
    X[123_457, 6] = np.nan
    with pytest.raises(
        ValueError, match=r"Column 'x6' must be finite, but holds nan at row 123457"
    ):
        st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5)
    y = y.copy()
    y[77] = np.inf
    X[123_457, 6] = 0.0
    with pytest.raises(ValueError, match=r"Column 'y' must be finite, but holds inf at row 77"):
        st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5, n_jobs=2)
