"""Saved models: round trip, checksum detects corruption, nothing is unpickled."""

from __future__ import annotations

import json

import numpy as np
import pytest

import statetune as st
from statetune.testing import make_regression_data


@pytest.fixture
def saved(tmp_path):
    X, y, _ = make_regression_data(300, 4)
    states = st.compute_states(st.from_arrays(X, y), ["pcr"], folds=2)
    folder = st.save_model(tmp_path / "m", "pcr", states, {"n_components": 2, "alpha": 0.5})
    return folder, states, X


def test_round_trip(saved):
    folder, states, X = saved
    model = st.load_model(folder)
    np.testing.assert_array_equal(
        model.predict(X), st.finalize("pcr", states, n_components=2, alpha=0.5).predict(X)
    )
    assert json.loads((folder / "model.json").read_text())["algorithm"] == "pcr"


def test_bit_flip_is_detected(saved):
    folder, _, _ = saved
    with np.load(folder / "state.npz") as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    arrays["comoment"][0, 0] += 1e-9
    np.savez(folder / "state.npz", **arrays)
    with pytest.raises(ValueError, match="must match its checksum, but it does not"):
        st.load_model(folder)


def test_truncated_and_garbage_files(saved):
    folder, _, _ = saved
    data = (folder / "state.npz").read_bytes()
    (folder / "state.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="must be a readable npz"):
        st.load_model(folder)
    (folder / "model.json").write_text("{not json")
    with pytest.raises(ValueError, match="must be valid JSON"):
        st.load_model(folder)
    with pytest.raises(FileNotFoundError, match=r"must hold model\.json"):
        st.load_model(folder / "nowhere")


def test_pickled_payload_is_refused(saved):
    folder, _, _ = saved
    np.savez(folder / "state.npz", shift=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match=r"readable npz|checksum"):
        st.load_model(folder)
