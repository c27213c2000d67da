"""Epochs as a state parameter of the linear bank: ``state_params={"linear_learner":
{"epochs": E}}`` makes the pass read the source E times for the bank; the models equal those
of the same rows fed again by hand (the earlier two-pass-with-cursor way), the rows keep their
folds and are counted once, the cache keys on epochs and never appends rows to such a bank."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st
from statetune.data import from_arrays
from statetune.engine import MODEL, Slot, run_pass
from statetune.engine.cursor import Cursor
from statetune.state_cache.format import StateCacheWarning
from statetune.states import LinearBank
from statetune.states.spec import StateSpec
from tests.fold_rule import reference_folds

GRID = {"loss": ["logistic", "hinge"], "alpha": [1e-4], "l1": [0.0, 1e-3], "eta0": [0.5]}
MODEL_ARRAYS = ("W", "b", "Wa", "ba", "HW", "Hb", "steps", "bank_weight", "pend_X", "pend_code")


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 10.0, 0.1] + [0.0, 1e3, -5.0]
    score = X[:, 0] + 0.1 * (X[:, 1] - 1e3) - 10 * (X[:, 2] + 5.0)
    y = np.where(score + rng.normal(size=n) > 0, "yes", "no")
    return X, y


def _same_models(a, b):
    for name in MODEL_ARRAYS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12)
    held = a.mom_w > 0
    np.testing.assert_allclose(a.mom_mean[held], b.mom_mean[held], rtol=1e-12, atol=1e-9)


def test_epochs_parameter_equals_two_passes_with_a_cursor():
    X, y = _data()
    src = from_arrays(X, y)
    one = Slot(MODEL, StateSpec.for_state(LinearBank(3, **GRID, batch_size=16)))
    two = Slot(MODEL, StateSpec.for_state(LinearBank(3, **GRID, batch_size=16, epochs=2)))
    assert one.spec != two.spec and one.spec.key() != two.spec.key()
    first = run_pass(src, [one], 3)
    cursor = Cursor({k: [s.copy() for s in v] for k, v in first.fold_states.items()}, [], 0)
    by_hand = run_pass(src, [one], 3, start=cursor).total(one)  # the earlier way
    got = run_pass(src, [two], 3)
    bank = got.total(two)
    _same_models(bank, by_hand)
    assert bank.epoch == 2 and bank.steps[-1] == 2 * 600 // 16  # the buffer spans epochs
    # the rows keep their folds (the independent fold rule) and are counted once
    folds = reference_folds(3, 0, 0, 600)
    assert bank.fold_rows.tolist() == np.bincount(folds, minlength=3).tolist()
    assert got.n_rows == 600 and by_hand.n_rows == 1200
    direct = LinearBank(3, **GRID, batch_size=16, epochs=2)
    direct.update(X, y, folds=folds, n_folds=3)
    direct.next_epoch()
    direct.update(X, y, folds=folds, n_folds=3)
    assert bank.allclose(direct)
    for k in range(3):
        assert got.train(two, k).allclose(direct.fold_view(k))
    with pytest.raises(ValueError, match="`epoch <= epochs` must hold"):
        direct.next_epoch()


def test_compute_states_takes_epochs_and_the_cache_keys_on_them(tmp_path):
    X, y = _data(400, seed=1)
    src = st.from_arrays(X, y)
    kw = {"folds": 3, "cache": tmp_path}
    one = st.compute_states(src, ["linear_learner"], **kw)
    three = st.compute_states(
        src, ["linear_learner"], state_params={"linear_learner": {"epochs": 3}}, **kw
    )
    assert "400 rows read" in str(three.cache_report)  # a new entry, not epoch 1's
    again = st.compute_states(
        src, ["linear_learner"], state_params={"linear_learner": {"epochs": 3}}, **kw
    )
    assert "0 rows read" in str(again.cache_report)
    slot1, slot3 = one.model_slot("linear_learner"), three.model_slot("linear_learner")
    assert slot3.spec.kwargs()["epochs"] == 3 and slot1.spec.kwargs()["epochs"] == 1
    b1, b3 = one.total(slot1), three.total(slot3)
    assert again.total(slot3).allclose(b3) and b3.epoch == 3 and b3.n_rows == b1.n_rows == 400
    assert b3.steps[-1] > 2 * b1.steps[-1]
    with pytest.raises(ValueError, match="several epochs must be rebuilt to take new rows"):
        st.update(three, st.from_arrays(X[:10], y[:10]))


def test_cache_rebuilds_a_bank_of_several_epochs_when_files_are_added(tmp_path):
    """A new file after the cached ones: a one-epoch bank is extended (new rows only), a bank
    of several epochs is rebuilt (each epoch rereads every row) and equals a fresh pass."""
    import pandas as pd

    X, y = _data(500, seed=2)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    files = [tmp_path / "one.csv", tmp_path / "two.csv"]
    frame[:400].to_csv(files[0], index=False)
    frame[400:].to_csv(files[1], index=False)
    cache, params = tmp_path / "cache", {"linear_learner": {"epochs": 2}}
    for p in ({}, params):
        st.compute_states(
            st.from_csv(files[:1], target="label"),
            ["linear_learner"],
            folds=3,
            cache=cache,
            state_params=p,
        )
    plain = st.compute_states(
        st.from_csv(files, target="label"), ["linear_learner"], folds=3, cache=cache
    )
    assert "extend" in str(plain.cache_report) and "100 rows read" in str(plain.cache_report)
    with pytest.warns(StateCacheWarning, match="several epochs reread every row"):
        two = st.compute_states(
            st.from_csv(files, target="label"),
            ["linear_learner"],
            folds=3,
            cache=cache,
            state_params=params,
        )
    assert "500 rows read" in str(two.cache_report)
    fresh = st.compute_states(
        st.from_csv(files, target="label"), ["linear_learner"], folds=3, state_params=params
    )
    bank = two.total(two.model_slot("linear_learner"))
    assert bank.n_rows == 500 and bank.allclose(fresh.total(fresh.model_slot("linear_learner")))


def test_bad_epochs_are_named():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="`epochs >= 1` must hold"):
            LinearBank(3, epochs=bad)
