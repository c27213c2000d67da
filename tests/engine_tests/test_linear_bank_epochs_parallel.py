"""Epochs on a parallel pass (threads, Dask): the first read is parallel (partitions merged by
averaging), the later reads are sequential from the merged bank, so the result equals the
parallel one-epoch bank fed the rows again by hand."""

from __future__ import annotations

import numpy as np
import pytest

import statetune as st
from statetune.engine import MODEL, PassOptions, Slot, run_pass
from statetune.engine.cursor import Cursor
from statetune.states import LinearBank
from statetune.states.spec import StateSpec

GRID = {"loss": ["logistic", "hinge"], "alpha": [1e-4], "eta0": [0.5], "batch_size": 16}


def _data(n=2000):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.2]
    return X, np.where(X @ [1.0, 0.2, -3.0] + rng.normal(size=n) > 0, 1, 0)


@pytest.mark.parametrize("where", ["threads", "dask"])
def test_later_epochs_continue_the_merged_bank_sequentially(where, request):
    X, y = _data()
    src = st.from_arrays(X, y)
    if where == "dask":
        options = PassOptions(executor=st.DaskExecutor(request.getfixturevalue("dask_client")))
    else:
        options = PassOptions(n_jobs=2)
    one = Slot(MODEL, StateSpec.for_state(LinearBank(3, **GRID)))
    three = Slot(MODEL, StateSpec.for_state(LinearBank(3, **GRID, epochs=3)))
    first = run_pass(src, [one], 3, options)
    states = {one: [s.copy() for s in first.fold_states[one]]}
    for _ in range(2):  # by hand: the same rows again, sequentially, from the merged bank
        states = run_pass(src, [one], 3, start=Cursor(states, [], 0)).fold_states
    by_hand = states[one][0]
    got = run_pass(src, [three], 3, options)
    bank = got.total(three)
    assert bank.epoch == 3 and got.n_rows == 2000 and by_hand.n_rows == 3 * 2000
    for name in ("W", "b", "Wa", "ba", "HW", "Hb", "steps", "bank_weight", "pend_X"):
        np.testing.assert_allclose(getattr(bank, name), getattr(by_hand, name), rtol=1e-12)
