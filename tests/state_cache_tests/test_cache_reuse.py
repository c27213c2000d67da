"""Reusing cached passes: a hit rebuilds nothing, an update extends every entry (the sample
included), a missing companion entry or an empty file costs no wrong answer, an update refuses
an intermediate snapshot, and an interrupted pass resumes from whole chunks only.

Reference: the same pass computed from scratch without a cache; a hit is one that warns nothing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.states import Moments
from statetune.testing import make_classification_data

from .conftest import assert_states_equal, frame


def test_cached_classifier_pass_and_update_of_every_entry(tmp_path):
    X, y, _ = make_classification_data(3_000, 4, seed=2)
    df = pd.DataFrame(X, columns=list("abcd"))
    df["label"] = y
    df.iloc[:2_000].to_parquet(tmp_path / "p0.parquet")
    cache = st.StateCache(tmp_path / "c")
    src = lambda: st.from_parquet(tmp_path, target="label")  # noqa: E731
    first = st.compute_states(src(), ["lda"], folds=3, cache=cache)
    assert {(sl.role, sl.spec.kind) for sl in first.fold_states} == {
        ("model", "class_moments"),
        ("held_out_sample", "reservoir"),
    }
    assert len(cache.keys()) == 2
    df.iloc[2_000:].to_parquet(tmp_path / "p1.parquet")
    for key in cache.keys():  # what `statetune update` does: every entry, reservoir included
        st.update(key, src(), cache=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hit: nothing rebuilt
        again = st.compute_states(src(), ["lda"], folds=3, cache=cache)
    scratch = st.compute_states(src(), ["lda"], folds=3)
    assert_states_equal(again, scratch)
    r = st.tune(
        src(),
        ["lda", "gaussian_nb"],
        n_trials=4,
        cv=3,
        cache=cache,
        storage="memory",
        metric="accuracy",
    )
    assert r.best_value > 0.5


def test_missing_companion_entry_rebuilds_all_kinds(tmp_path):
    X, y, _ = make_classification_data(1_000, 3, seed=4)
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}).to_parquet(
        tmp_path / "d.parquet"
    )
    cache = st.StateCache(tmp_path / "c")
    src = lambda: st.from_parquet(tmp_path / "d.parquet", target="y")  # noqa: E731
    st.compute_states(src(), ["qda"], folds=2, cache=cache)
    reservoir_key = next(e["key"] for e in cache.entries() if e["kind"] == "reservoir")
    cache.remove(reservoir_key)
    states = st.compute_states(src(), ["qda"], folds=2, cache=cache)
    assert_states_equal(states, st.compute_states(src(), ["qda"], folds=2))


def test_empty_file_does_not_force_rebuilds(tmp_path):
    frame(300, 1).to_parquet(tmp_path / "a.parquet")
    frame(0, 2).to_parquet(tmp_path / "b.parquet")
    frame(300, 3).to_parquet(tmp_path / "c.parquet")
    cache = st.StateCache(tmp_path / "cache")
    src = lambda: st.from_parquet(tmp_path, target="y")  # noqa: E731
    first = st.compute_states(src(), ["ridge"], folds=3, cache=cache)
    assert [r["n_rows"] for r in first.lineage] == [300, 0, 300]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st.compute_states(src(), ["ridge"], folds=3, cache=cache)


def test_update_refuses_an_intermediate_snapshot():
    X = np.random.default_rng(0).normal(size=(1_000, 3))
    snap = next(iter(st.iter_states(st.from_arrays(X, X[:, 0]), ["ridge"], folds=2, every=400)))
    with pytest.raises(ValueError, match="must be complete"):
        st.update(snap, st.from_arrays(X, X[:, 0]))


def test_interrupt_inside_an_update_never_checkpoints_half_a_chunk(tmp_path, monkeypatch):
    import statetune.data.arrays as arrays_module

    monkeypatch.setattr(arrays_module, "CHUNK_ROWS", 100)
    X = np.random.default_rng(1).normal(size=(1_000, 3))
    y = X.sum(axis=1)
    calls = {"n": 0}
    real = Moments.update

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(Moments, "update", flaky)
    cache = st.StateCache(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        st.compute_states(
            st.from_arrays(X, y),
            ["ridge"],
            folds=3,
            cache=cache,
            checkpoint_rows=100,
            checkpoint_seconds=None,
        )
    monkeypatch.setattr(Moments, "update", real)
    resumed = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3, cache=cache)
    assert_states_equal(resumed, st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3))
