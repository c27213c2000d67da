"""``statetune cache`` options after the subcommand, ``cache gc`` and lock files, and
``tune --storage memory`` leaving ``./.statetune`` alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from statetune.cli import main


def _tune(data, *flags):
    argv = ["tune", str(data), "--target", "y", "--algorithms", "ridge", "--trials", "5",
            "--cv", "3", "--no-progress", "--out", "res", *flags]  # fmt: skip
    assert main(argv) == 0


@pytest.mark.parametrize("before", [True, False])
@pytest.mark.parametrize("command", [["ls"], ["verify"], ["gc"]])
def test_cache_dir_before_or_after_the_subcommand(before, command, diabetes, capsys):
    _tune(diabetes, "--cache-dir", "elsewhere", "--storage", "memory")
    key = next(Path("elsewhere/states").glob("*.npz")).stem
    capsys.readouterr()
    opt = ["--cache-dir", "elsewhere"]
    argv = ["cache", *opt, *command] if before else ["cache", *command, *opt]
    assert main(argv) == 0
    out = capsys.readouterr().out
    if command != ["gc"]:
        assert key in out  # the entry of the folder named, not of ./.statetune
    else:
        assert "deleted 0 entries" in out and Path(f"elsewhere/states/{key}.npz").exists()
    assert not Path(".statetune").exists()


def test_cache_info_with_the_option_after_the_key(diabetes, capsys):
    _tune(diabetes, "--cache-dir", "c2", "--storage", "memory")
    key = next(Path("c2/states").glob("*.npz")).stem
    capsys.readouterr()
    assert main(["cache", "info", key[:8], "--cache-dir", "c2"]) == 0
    assert key in capsys.readouterr().out


def test_gc_removes_the_lock_files_of_the_entries_it_deletes(diabetes, capsys):
    _tune(diabetes)  # journal and states in ./.statetune
    states = Path(".statetune/states")
    keys = {p.stem for p in states.glob("*.npz")}
    assert keys and {p.stem for p in states.glob("*.lock")} == keys
    capsys.readouterr()
    assert main(["cache", "gc", "--keep-last", "0"]) == 0
    assert sorted(capsys.readouterr().out.split(": ", 1)[1].strip().split(", ")) == sorted(keys)
    assert sorted(p.name for p in states.iterdir()) == []


def test_gc_removes_lock_files_left_without_an_entry(diabetes):
    _tune(diabetes)
    states = Path(".statetune/states")
    for p in states.glob("*.npz"):
        p.unlink()  # as an older gc left them: the entry gone, its lock file not
    stray = states / "0123456789abcdef0123.lock"
    stray.write_text("")
    assert main(["cache", "gc"]) == 0
    assert sorted(p.name for p in states.iterdir()) == []


def test_gc_keeps_the_lock_file_of_an_entry_in_use(diabetes, capsys):
    import statetune as st

    _tune(diabetes)
    cache = st.StateCache(".statetune")
    (key,) = cache.keys()
    with cache.lock(key):  # a pass is building or extending it
        assert main(["cache", "gc", "--keep-last", "0"]) == 0
        assert "deleted 0 entries" in capsys.readouterr().out
        assert cache.path(key).exists() and (cache.states_dir / f"{key}.lock").exists()


def test_storage_memory_writes_nothing_to_dot_statetune(diabetes):
    _tune(diabetes, "--storage", "memory")
    assert not Path(".statetune").exists() or not any(Path(".statetune").rglob("*"))
    assert Path("res/best_model/model.json").exists()
    # a cache folder named on the command line is still used
    _tune(diabetes, "--storage", "memory", "--cache-dir", "kept")
    assert list(Path("kept/states").glob("*.npz"))
    assert not Path(".statetune").exists()
