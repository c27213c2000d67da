"""Issue 9, item 8: a cache entry's JSON header is covered by a checksum and cross-checked
against its key, its spec and its states. A consistent edit of the header (weights doubled,
3 of 5 fold states kept, row counts changed) is refused by ``load`` (naming the file),
reported by ``statetune cache verify``, and rebuilt by ``compute_states``, never used. Entries
written before the header was covered are rebuilt once, not trusted."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import statetune as st
from statetune.state_cache import CorruptEntryError

from .conftest import COLS, frame
from .tamper import read_raw, rewrite_entry

N_ROWS = 6_000


@pytest.fixture
def built(tmp_path):
    """A Parquet file, its cached ridge states (5 folds) and a source factory."""
    df = frame(N_ROWS, 1)
    df.to_parquet(tmp_path / "d.parquet", row_group_size=2_000)
    cache = st.StateCache(tmp_path / "cache")

    def src():
        return st.from_parquet(tmp_path / "d.parquet", target="y")

    st.compute_states(src(), ["ridge"], folds=5, cache=cache)
    (key,) = cache.keys()
    return df, cache, key, src


def assert_matches_data(states, df):
    """Checked against numpy on all rows, not against the cache."""
    total = states.total("moments")
    assert states.n_rows == total.n_rows == len(df)
    assert len(states.states_of("moments")) == 5
    assert total.weight_sum == pytest.approx(len(df), rel=1e-12)
    np.testing.assert_allclose(total.mean, df[[*COLS, "y"]].to_numpy().mean(axis=0), rtol=1e-10)
    centered = df[[*COLS, "y"]].to_numpy() - total.mean
    np.testing.assert_allclose(total.comoment, centered.T @ centered, rtol=1e-8, atol=1e-6)


def double_weights(header, arrays):
    for s in header["states"]:
        s["weight_sum"] *= 2


def keep_three_folds(header, arrays):
    header["states"] = header["states"][:3]
    for name in [n for n in arrays if n.startswith(("fold3.", "fold4."))]:
        del arrays[name]
    header["n_rows"] = sum(s["n_rows"] for s in header["states"])


def change_rows(header, arrays):
    for s in header["states"]:
        s["n_rows"] += 100
    header["n_rows"] += 500
    header["lineage"][0]["n_rows"] += 500


def change_lineage(header, arrays):
    header["lineage"][0]["fingerprint"] = header["lineage"][0]["fingerprint"][::-1]


@pytest.mark.parametrize("edit", [double_weights, keep_three_folds, change_rows, change_lineage])
def test_consistent_header_edit_is_refused_reported_and_rebuilt(built, edit, capsys):
    from statetune.cli import main

    df, cache, key, src = built
    path = cache.path(key)
    rewrite_entry(path, edit)
    with pytest.raises(CorruptEntryError, match=re.escape(str(path))):
        cache.load(key)
    (row,) = cache.verify()
    assert not row["valid"] and str(path) in row["problem"]
    capsys.readouterr()
    assert main(["cache", "--cache-dir", str(cache.folder), "verify"]) == 1
    out = capsys.readouterr().out
    assert f"{key}: CORRUPT" in out and str(path) in out
    with pytest.warns(st.StateCacheWarning, match="It is ignored and rebuilt"):
        rebuilt = st.compute_states(src(), ["ridge"], folds=5, cache=cache)
    assert_matches_data(rebuilt, df)
    assert cache.verify()[0]["valid"]
    assert_matches_data(st.compute_states(src(), ["ridge"], folds=5, cache=cache), df)


def states_rows_only(header, arrays):
    for s in header["states"]:
        s["n_rows"] += 7


def lineage_rows(header, arrays):
    header["lineage"][0]["n_rows"] += 10


def spec_with_three_folds(header, arrays):
    keep_three_folds(header, arrays)
    header["spec"]["folds"]["n_folds"] = 3


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (keep_three_folds, r"must hold one state per fold \(5 in its spec\), but holds 3"),
        (states_rows_only, r"header n_rows equal to its states' rows \(6035\), but it says 6000"),
        (lineage_rows, r"must hold the 6010 rows its lineage lists, but its states hold 6000"),
        (spec_with_three_folds, r"must hold the spec its key .* is the hash of"),
    ],
)
def test_forged_header_fails_the_cross_checks(built, edit, says):
    """Even with both checksums recomputed, a header that disagrees with the key, the spec or
    the states is refused (the checksum guards against damage, the cross-checks against a
    header that is consistent with itself only)."""
    df, cache, key, src = built
    path = cache.path(key)
    rewrite_entry(path, edit, reseal=True)
    with pytest.raises(CorruptEntryError, match=says) as info:
        cache.load(key)
    assert str(path) in str(info.value)
    with pytest.warns(st.StateCacheWarning, match="It is ignored and rebuilt"):
        assert_matches_data(st.compute_states(src(), ["ridge"], folds=5, cache=cache), df)


def test_entry_of_the_old_format_is_rebuilt_once(built):
    """An entry whose checksum does not cover its header (format v1) is not trusted: it is
    rebuilt, with one warning, and used from then on."""
    df, cache, key, src = built
    path = cache.path(key)

    def as_v1(header, arrays):
        header["format"] = "statetune-entry-v1"
        header.pop("header_checksum", None)
        double_weights(header, arrays)  # what v1 could not notice

    rewrite_entry(path, as_v1)
    v1 = path.read_bytes()
    with pytest.warns(st.StateCacheWarning, match="older statetune.*It is ignored and rebuilt"):
        assert_matches_data(st.compute_states(src(), ["ridge"], folds=5, cache=cache), df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rebuilt once: no warning any more
        assert_matches_data(st.compute_states(src(), ["ridge"], folds=5, cache=cache), df)
    assert read_raw(path)[0]["format"] == "statetune-entry-v2"
    path.write_bytes(v1)
    from statetune.state_cache import StaleEntryError

    with pytest.raises(StaleEntryError, match=re.escape(str(path)) + ".*older statetune"):
        cache.load(key)
    assert cache.verify()[0]["status"] == "stale"


def test_consistent_checkpoint_edit_is_not_resumed(tmp_path):
    """A checkpoint whose position was edited consistently is dropped (with a warning) and the
    pass starts over: the states still match the data."""
    parts = [frame(8_000, 40 + i) for i in range(2)]
    for i, part in enumerate(parts):
        part.to_parquet(tmp_path / f"p{i}.parquet", row_group_size=2_000)
    cache = st.StateCache(tmp_path / "c")
    seen = []

    def interrupt(rows):
        seen.append(rows)
        if sum(seen) >= 10_000:
            raise KeyboardInterrupt

    with pytest.raises(st.PassInterrupted):
        st.compute_states(
            st.from_parquet(tmp_path, target="y"),
            ["ridge"],
            folds=5,
            cache=cache,
            progress=interrupt,
            checkpoint_rows=10**9,  # saved on Ctrl-C only
            checkpoint_seconds=None,
        )
    (ckpt,) = cache.checkpoints_dir.glob("*.npz")

    def skip_rows(header, arrays):
        header["position"] += 2_000
        header["partial"]["n_rows"] += 2_000

    rewrite_entry(ckpt, skip_rows)
    with pytest.warns(st.StateCacheWarning, match=r"Checkpoint .* is not used.*header checksum"):
        states = st.compute_states(
            st.from_parquet(tmp_path, target="y"), ["ridge"], folds=5, cache=cache
        )
    import pandas as pd

    assert_matches_data(states, pd.concat(parts, ignore_index=True))
    assert not any(cache.checkpoints_dir.glob("*.npz"))
