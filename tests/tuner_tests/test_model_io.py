"""Saved models: round trip, checksum detects corruption, nothing is unpickled."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

import statetune as st
from statetune.algorithms import available_algorithms, get_algorithm
from statetune.state_cache import CorruptEntryError
from statetune.testing import data_for, fill_state, grid_points, make_regression_data
from tests.state_cache_tests.tamper import arrays_sha, fifo_watchdog, header_sha


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


# ---------------------------------------------------------------- issue 9, items 8 and 10
def edit_meta(folder, edit, *, reseal=False):
    """Edit model.json; with ``reseal`` recompute its header checksum too (independently of
    statetune, from the documented format), so only the checks of the fields can tell."""
    meta = json.loads((folder / "model.json").read_text())
    edit(meta)
    if reseal:
        meta["header_checksum"] = header_sha(meta)
    (folder / "model.json").write_text(json.dumps(meta, indent=2))


def double_weights(meta):
    meta["state"]["weight_sum"] *= 2


def more_rows(meta):
    meta["state"]["n_rows"] += 1_000


def other_alpha(meta):
    meta["params"]["alpha"] = 50.0


def other_algorithm(meta):
    meta["algorithm"], meta["params"] = "ridge", {"alpha": 0.5}


@pytest.mark.parametrize("edit", [double_weights, more_rows, other_alpha, other_algorithm])
def test_consistent_edit_of_model_json_is_refused(saved, edit):
    """model.json is covered by its own checksum: an edit that keeps it valid JSON with the
    right array checksum no longer changes the model silently."""
    folder, _, _ = saved
    edit_meta(folder, edit)
    path = re.escape(str(folder / "model.json"))
    with pytest.raises(CorruptEntryError, match=path + ".*must match its header checksum"):
        st.load_model(folder)


def test_model_of_the_old_format_needs_trust_header(saved):
    folder, states, X = saved

    def as_v1(meta):
        meta["format"] = "statetune-model-v1"
        del meta["header_checksum"]

    edit_meta(folder, as_v1)
    with pytest.raises(CorruptEntryError, match=r"older statetune.*trust_header=True"):
        st.load_model(folder)
    model = st.load_model(folder, trust_header=True)
    expected = st.finalize("pcr", states, n_components=2, alpha=0.5).predict(X)
    np.testing.assert_array_equal(model.predict(X), expected)


@pytest.mark.parametrize(
    "key", ["format", "algorithm", "params", "schema", "state", "checksum", "header_checksum"]
)
def test_missing_key_names_the_file_and_the_key(saved, key):
    folder, _, _ = saved
    edit_meta(folder, lambda meta: meta.pop(key))
    with pytest.raises(CorruptEntryError, match=re.escape(f"{str(folder / 'model.json')!r}")) as e:
        st.load_model(folder)
    assert f"must have key {key!r}, but it is missing" in str(e.value)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (("state", "kind"), "must have key 'state.kind', but it is missing"),
        (("state", "params"), "must have key 'state.params', but it is missing"),
        (("state", "n_rows"), "must have 'n_rows'"),
        (("state", "params", "n_features"), "must have 'n_features'"),
        (("schema", "features"), "must have key 'schema.features', but it is missing"),
    ],
)
def test_missing_nested_key_names_the_key(saved, path, says):
    folder, _, _ = saved

    def drop(meta):
        node = meta
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    edit_meta(folder, drop, reseal=True)  # checksum valid: only the field checks can tell
    with pytest.raises(CorruptEntryError, match=re.escape(says)) as e:
        st.load_model(folder)
    assert str(folder) in str(e.value)


@pytest.mark.parametrize("value", [-1, 0.5, "4", 10**12, 2**62])
def test_absurd_sizes_name_the_key_and_allocate_nothing(saved, value):
    folder, _, _ = saved

    def size(meta):
        meta["state"]["params"]["n_features"] = value

    edit_meta(folder, size)
    with pytest.raises(CorruptEntryError, match="must match its header checksum"):
        st.load_model(folder)
    edit_meta(folder, lambda meta: None, reseal=True)
    with pytest.raises(CorruptEntryError, match=r"key 'state\.params\.n_features' must be") as e:
        st.load_model(folder)
    assert str(folder / "model.json") in str(e.value)


@pytest.mark.parametrize(
    "reshape",
    [
        lambda a: a.update(comoment=a["comoment"][:3, :3]),
        lambda a: a.update(mean=a["mean"][:-1]),
        lambda a: a.update(shift=np.zeros((5, 2))),
    ],
)
def test_arrays_whose_shapes_disagree_are_refused(saved, reshape):
    folder, _, _ = saved
    with np.load(folder / "state.npz") as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    reshape(arrays)
    np.savez(folder / "state.npz", **arrays)

    def rechecksum(meta):
        meta["checksum"] = arrays_sha(arrays)

    edit_meta(folder, rechecksum, reseal=True)  # a consistent forgery of both files
    with pytest.raises(CorruptEntryError, match="must be consistent, but") as e:
        st.load_model(folder)
    assert str(folder) in str(e.value) and "shapes" in str(e.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("name", ["model.json", "state.npz"])
def test_fifo_in_a_model_folder_is_refused_without_opening(saved, name):
    folder, _, _ = saved
    (folder / name).unlink()
    os.mkfifo(folder / name)
    with fifo_watchdog(folder / name) as released:
        with pytest.raises(CorruptEntryError, match=r"is a FIFO \(named pipe\); it was not opened"):
            st.load_model(folder)
    assert not released.is_set()


@pytest.mark.parametrize("algorithm", available_algorithms())
def test_every_algorithm_saves_and_loads(tmp_path, algorithm):
    """The size checks accept every saved state: the reloaded model has the same fitted
    attributes as the model finalized from the state in memory."""
    X, y, w = data_for(algorithm, 300, 3)
    state = fill_state(algorithm, X, y, w)
    alg = get_algorithm(algorithm)
    params = grid_points(alg.search_space(state), 0, 0)[1]
    st.save_model(tmp_path / "m", algorithm, state, params)
    loaded, expected = st.load_model(tmp_path / "m"), alg.finalize(state, params)
    fitted = [k for k, v in vars(expected).items() if k.endswith("_") and isinstance(v, np.ndarray)]
    if not fitted and hasattr(expected, "score_samples"):  # a forest of trees: its outputs
        np.testing.assert_array_equal(loaded.score_samples(X), expected.score_samples(X))
        return
    assert fitted
    for name in fitted:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(expected, name), err_msg=name)
