"""In-memory arrays are hashed only when a cache, a study name or an update needs it: a pass
as a user writes it (new source, no cache) reads each byte once, for the states."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st
import statetune.data.arrays as arrays_module
from statetune.data.fingerprint import array_fingerprint


@pytest.fixture
def hashes(monkeypatch):
    calls: list[int] = []

    def counting(*arrays):
        calls.append(1)
        return array_fingerprint(*arrays)

    monkeypatch.setattr(arrays_module, "array_fingerprint", counting)
    return calls


def data(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, -2.0, 0.5] + rng.normal(size=n)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_pass_without_cache_hashes_nothing(hashes, n_jobs):
    X, y = data()
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5, n_jobs=n_jobs)
    assert hashes == []
    assert states.fingerprint is None and states.lineage[0]["fingerprint"] is None
    assert states.n_rows == 2_000


def test_a_cached_pass_hashes_once_and_recognizes_the_same_arrays(hashes, tmp_path):
    X, y = data()
    first = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5, cache=tmp_path)
    assert len(hashes) == 1 and first.fingerprint is not None
    again = st.compute_states(
        st.from_arrays(X.copy(), y.copy()), ["ridge"], folds=5, cache=tmp_path
    )
    assert len(hashes) == 2  # the new source is hashed, then served from the cache
    assert again.fingerprint == first.fingerprint
    X[0, 0] += 1e-12  # one changed value is other data
    with pytest.warns(st.StateCacheWarning, match="changed since it was cached"):
        changed = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5, cache=tmp_path)
    assert changed.fingerprint != first.fingerprint


def test_update_hashes_the_new_rows_only_and_skips_them_the_second_time(hashes):
    X, y = data()
    old = st.compute_states(st.from_arrays(X[:1_500], y[:1_500]), ["ridge"], folds=5)
    assert hashes == []
    new = st.update(old, st.from_arrays(X[1_500:], y[1_500:]))
    assert len(hashes) == 1 and new.n_rows == 2_000
    assert st.update(new, st.from_arrays(X[1_500:], y[1_500:])) is new  # already absorbed


def test_tuning_names_its_study_by_the_data(hashes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default journal lands here
    X, y = data()
    a = st.tune(st.from_arrays(X, y), ["ridge"], n_trials=2, cv=3, progress=False)
    b = st.tune(st.from_arrays(X, y), ["ridge"], n_trials=2, cv=3, progress=False)
    c = st.tune(st.from_arrays(X, y + 1.0), ["ridge"], n_trials=2, cv=3, progress=False)
    assert len(hashes) == 3
    assert a.study.study_name == b.study.study_name != c.study.study_name


def test_update_with_rows_that_may_repeat_unfingerprinted_ones_says_so(hashes):
    X, y = data()
    old = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5)  # no fingerprint kept
    with pytest.warns(st.StateCacheWarning, match="cannot be told"):
        twice = st.update(old, st.from_arrays(X, y))
    assert twice.n_rows == 4_000  # absorbed as asked, and said
