"""Corrupt entries are detected and never loaded; one build for two processes; gc respects locks;
checkpoints survive SIGKILL and Ctrl-C."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.state_cache import CorruptEntryError

from .conftest import COLS, assert_states_equal, frame


def corrupt_truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def corrupt_bitflip(path):
    data = bytearray(path.read_bytes())
    # flip one bit inside the array payload (past the zip headers, before the central directory)
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def corrupt_header(path):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["__header__"] = np.frombuffer(b'{"format": "something-else"}', dtype=np.uint8)
    np.savez(path, **arrays)


def corrupt_payload_consistently(path):
    """Change a state array but keep the old header: only the checksum can tell."""
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["fold0.comoment"] = arrays["fold0.comoment"] * 1.0000001
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "corrupt", [corrupt_truncate, corrupt_bitflip, corrupt_header, corrupt_payload_consistently]
)
def test_corrupt_entry_detected_reported_not_loaded(tmp_path, corrupt, reference):
    df = frame(6_000, 1)
    df.to_parquet(tmp_path / "d.parquet", row_group_size=2_000)
    cache = st.StateCache(tmp_path / "cache")
    src = lambda: st.from_parquet(tmp_path / "d.parquet", target="y")  # noqa: E731
    st.compute_states(src(), ["ridge"], folds=5, cache=cache)
    key = cache.keys()[0]
    corrupt(cache.path(key))
    with pytest.raises(CorruptEntryError):
        cache.load(key)
    assert [r["valid"] for r in cache.verify()] == [False]
    with pytest.warns(st.StateCacheWarning, match="It is ignored and rebuilt"):
        rebuilt = st.compute_states(src(), ["ridge"], folds=5, cache=cache)
    for s1, s2 in zip(
        rebuilt.states_of("moments"), reference(df).states_of("moments"), strict=True
    ):
        assert s1.allclose(s2, 1e-10)
    assert cache.verify()[0]["valid"]


def test_gc_keeps_entries_in_use_and_the_newest(tmp_path):
    cache = st.StateCache(tmp_path)
    for seed in range(3):
        df = frame(500, seed)
        st.compute_states(
            st.from_pandas(df.rename(columns={"f0": f"g{seed}"}), target="y"),
            ["ridge"],
            folds=2,
            cache=cache,
        )
        time.sleep(0.02)
    keys = sorted(cache.keys(), key=lambda k: cache.path(k).stat().st_mtime)
    with cache.lock(keys[0]):
        assert cache.in_use(keys[0])
        deleted = cache.gc(keep_last=1)
    assert set(deleted) == {keys[1]}
    assert set(cache.keys()) == {keys[0], keys[2]}


SAME_STATE = """
import json, sys
import statetune as st
import statetune.state_cache.compute as compute
calls = []
real = compute.run_pass
def spy(*a, **k):
    calls.append(1)
    return real(*a, **k)
compute.run_pass = spy
states = st.compute_states(st.from_csv(sys.argv[1], target="y"), ["ridge"], folds=5, cache=sys.argv[2])
print(json.dumps({"passes": len(calls), "rows": states.n_rows,
                  "c00": states.held_out("moments", 0).comoment[0, 0]}))
"""


def test_two_processes_build_once(tmp_path):
    import json

    df = pd.concat([frame(50_000, s) for s in range(4)], ignore_index=True)
    df.to_csv(tmp_path / "d.csv", index=False)  # CSV: slow enough for the two to overlap
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SAME_STATE, str(tmp_path / "d.csv"), str(tmp_path / "c")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert sum(o["passes"] for o in outs) == 1
    assert outs[0]["rows"] == outs[1]["rows"] == 200_000
    assert outs[0]["c00"] == outs[1]["c00"]


KILLED = """
import sys
import statetune as st
print("start", flush=True)
st.compute_states(st.from_csv(sys.argv[1], target="y"), ["ridge", "pca"], folds=5, cache=sys.argv[2],
                  checkpoint_rows=1, checkpoint_seconds=None)
print("done", flush=True)
"""


def _wait_for_checkpoint(where, proc, timeout=120.0):
    """Return once a checkpoint file is in ``where`` (the pass is mid-way)."""
    end = time.monotonic() + timeout
    while not (where.exists() and any(where.glob("*.npz"))):
        assert proc.poll() is None, "the pass ended before writing any checkpoint"
        assert time.monotonic() < end, f"no checkpoint in {where} after {timeout} s"
        time.sleep(0.01)


def test_sigkill_at_random_points_then_resume(tmp_path, reference):
    data = tmp_path / "data"
    data.mkdir()
    parts = []
    for i in range(4):
        df = frame(250_000, 10 + i)
        df.to_csv(data / f"p{i}.csv", index=False)
        parts.append(df)
    full = pd.concat(parts, ignore_index=True)
    expected = reference(full)
    rng = random.Random(7)
    resumed_from_checkpoint = 0
    for trial in range(4):
        cache_dir = tmp_path / f"cache{trial}"
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED, str(data), str(cache_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
        if trial < 2:
            # Half the kills land after a checkpoint exists, whatever the machine's load (a
            # fixed delay missed every checkpoint when the import alone took a second).
            _wait_for_checkpoint(st.StateCache(cache_dir).checkpoints_dir, proc)
        time.sleep(rng.uniform(0.05, 0.7))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        cache = st.StateCache(cache_dir)
        had_checkpoint = cache.checkpoints_dir.exists() and any(cache.checkpoints_dir.glob("*.npz"))
        resumed_from_checkpoint += had_checkpoint
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no corrupt-entry warning may appear
            states = st.compute_states(
                st.from_csv(data, target="y"), ["ridge", "pca"], folds=5, cache=cache
            )
        assert_states_equal(states, expected)
        assert not any(cache.checkpoints_dir.glob("*.npz"))  # cleared after success
    assert resumed_from_checkpoint >= 2


def test_ctrl_c_saves_partial_states_that_finalize_and_resume(tmp_path, reference):
    parts = [frame(30_000, 40 + i) for i in range(3)]
    for i, df in enumerate(parts):
        df.to_parquet(tmp_path / f"p{i}.parquet", row_group_size=5_000)
    cache = st.StateCache(tmp_path / "c")
    seen = []

    def interrupt_after_40k(rows):
        seen.append(rows)
        if sum(seen) >= 40_000:
            raise KeyboardInterrupt

    with pytest.raises(st.PassInterrupted) as info:
        st.compute_states(
            st.from_parquet(tmp_path, target="y"),
            ["ridge", "pca"],
            folds=5,
            cache=cache,
            progress=interrupt_after_40k,
            checkpoint_rows=None,
            checkpoint_seconds=None,
        )
    partial = info.value.partial
    assert isinstance(info.value, KeyboardInterrupt) and not partial.complete
    assert partial.n_rows == 40_000
    model = st.finalize("ridge", partial, alpha=1.0)
    assert np.isfinite(model.predict(parts[0][COLS].to_numpy()[:5])).all()
    assert 0.0 < partial.validation_score("ridge", {"alpha": 1.0}, "r2") < 1.0
    resumed = st.compute_states(
        st.from_parquet(tmp_path, target="y"), ["ridge", "pca"], folds=5, cache=cache
    )
    assert_states_equal(resumed, reference(pd.concat(parts, ignore_index=True)))


def test_cli_update_and_cache_commands(tmp_path, capsys):
    from statetune.cli import main

    data = tmp_path / "d"
    data.mkdir()
    frame(4_000, 1).to_parquet(data / "a.parquet")
    cache_dir = str(tmp_path / "c")
    assert (
        main(
            [
                "tune",
                str(data),
                "--target",
                "y",
                "--trials",
                "3",
                "--storage",
                "memory",
                "--cache-dir",
                cache_dir,
                "--out",
                str(tmp_path / "r"),
                "--no-progress",
            ]
        )
        == 0
    )
    frame(1_000, 2).to_parquet(data / "b.parquet")
    capsys.readouterr()
    assert main(["update", str(data), "--target", "y", "--cache-dir", cache_dir]) == 0
    assert "4,000 -> 5,000 rows (1,000 new)" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", cache_dir, "ls"]) == 0
    assert "5,000" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", cache_dir, "verify"]) == 0
    key = st.StateCache(cache_dir).keys()[0]
    corrupt_truncate(st.StateCache(cache_dir).path(key))
    assert main(["cache", "--cache-dir", cache_dir, "verify"]) == 1
    assert "CORRUPT" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", cache_dir, "gc"]) == 0
    assert st.StateCache(cache_dir).keys() == []
    assert main(["cache", "--cache-dir", cache_dir, "info", "zzz"]) == 1
    os.environ.pop("STATETUNE_DEBUG", None)
