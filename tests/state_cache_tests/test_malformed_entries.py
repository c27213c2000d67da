"""Issue 9, item 9: one malformed entry (a header without "spec", a dangling symbolic link, a
directory or a FIFO at an entry's path, a checkpoint without "position") is reported and
skipped: ``cache ls/verify/gc`` and ``compute_states`` neither crash nor hang. Non-regular files
are refused without being opened (opening a FIFO blocks until someone writes to it). On a
read-only cache folder ``ls`` and ``verify`` work and attempt no write."""

from __future__ import annotations

import builtins
import errno
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import statetune as st

from .conftest import COLS, frame
from .tamper import fifo_watchdog, rewrite_entry

CLI = "import sys; from statetune.cli import main; sys.exit(main(sys.argv[1:]))"


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a child process: a hang (a FIFO opened) fails instead of blocking."""
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout
    )


def assert_matches_data(states, df):
    total = states.total("moments")
    assert states.n_rows == total.n_rows == len(df)
    np.testing.assert_allclose(total.mean, df[[*COLS, "y"]].to_numpy().mean(axis=0), rtol=1e-10)


# ------------------------------------------------------------------ malformed entries
def no_spec(path: Path) -> None:
    rewrite_entry(path, lambda h, a: h.pop("spec"), reseal=True)  # both checksums valid


def dangling_link(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone.npz")


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "notes.txt").write_text("someone's files")


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


MALFORMED = {
    no_spec: ("corrupt", "must have header field 'spec', but it is missing"),
    dangling_link: ("not a file", "a dangling symbolic link"),
    directory: ("not a file", "is a directory"),
    fifo: ("not a file", r"is a FIFO \(named pipe\); it was not opened"),
}


@pytest.fixture
def junk_cache(tmp_path):
    """A cache with one valid entry and one entry of each malformed kind."""
    cache = st.StateCache(tmp_path / "cache")
    keys = {}
    for i, make in enumerate([None, *MALFORMED]):
        df = frame(300, i).rename(columns={"f0": f"g{i}"})  # a schema (key) per entry
        st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=2, cache=cache)
        (key,) = set(cache.keys()) - set(keys.values())
        if make is not None:
            make(cache.path(key))
        keys[make] = key
    return cache, keys


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_cli_ls_verify_gc_report_malformed_entries_and_go_on(junk_cache):
    cache, keys = junk_cache
    folder = str(cache.folder)
    ls = cli("cache", "--cache-dir", folder, "ls")
    assert ls.returncode == 0, ls.stderr
    lines = {line.split()[0]: line for line in ls.stdout.splitlines()[1:]}
    assert set(lines) == set(keys.values())
    assert lines[keys[None]].endswith("ok")
    for make, (status, _) in MALFORMED.items():
        assert lines[keys[make]].endswith(status), make.__name__
    verify = cli("cache", "--cache-dir", folder, "verify")
    assert verify.returncode == 1, verify.stderr
    out = {line.split(":")[0]: line for line in verify.stdout.splitlines()}
    assert out[keys[None]] == f"{keys[None]}: ok"
    for make, (status, problem) in MALFORMED.items():
        line = out[keys[make]]
        assert line.startswith(f"{keys[make]}: {status.upper()}: "), line
        assert str(cache.path(keys[make])) in line
        assert pytest.importorskip("re").search(problem, line), line
    gc = cli("cache", "--cache-dir", folder, "gc")
    assert gc.returncode == 0, gc.stderr
    assert "is a directory, not a cache entry; left alone" in gc.stderr
    deleted = {keys[no_spec], keys[dangling_link], keys[fifo]}
    assert gc.stdout.strip() == f"deleted 3 entries: {', '.join(sorted(deleted))}"
    assert set(cache.keys()) == {keys[None], keys[directory]}
    assert (cache.path(keys[directory]) / "notes.txt").read_text() == "someone's files"
    assert {r["key"]: r["status"] for r in cache.verify()} == {
        keys[None]: "ok",
        keys[directory]: "not a file",
    }


@pytest.mark.parametrize("make", list(MALFORMED), ids=lambda f: f.__name__)
def test_compute_states_reports_a_malformed_entry_and_rebuilds(tmp_path, make):
    if make is fifo and not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    df = frame(2_000, 3)
    df.to_parquet(tmp_path / "d.parquet")
    cache = st.StateCache(tmp_path / "cache")

    def run():
        return st.compute_states(
            st.from_parquet(tmp_path / "d.parquet", target="y"), ["ridge"], folds=3, cache=cache
        )

    run()
    (key,) = cache.keys()
    path = cache.path(key)
    make(path)
    with fifo_watchdog(path) as released, pytest.warns(st.StateCacheWarning) as caught:
        states = run()
    assert not released.is_set(), "the FIFO was opened (a reader blocked on it)"
    messages = [str(w.message) for w in caught]
    assert any(str(path) in m and "It is ignored and rebuilt" in m for m in messages), messages
    assert_matches_data(states, df)
    if make is directory:  # never deleted: the states are used without being cached
        assert any("Cache entry not saved" in m for m in messages), messages
        assert (path / "notes.txt").read_text() == "someone's files"
        assert cache.verify()[0]["status"] == "not a file"
    else:  # replaced by a good entry
        assert cache.verify() == [{"key": key, "valid": True, "status": "ok", "problem": None}]
        assert path.is_file() and not path.is_symlink()


# ------------------------------------------------------------------ checkpoints
def no_position(path: Path) -> None:
    rewrite_entry(path, lambda h, a: h.pop("position"), reseal=True)


def no_specs(path: Path) -> None:
    rewrite_entry(path, lambda h, a: h.pop("specs"), reseal=True)


@pytest.mark.parametrize(
    "make", [no_position, no_specs, directory, fifo, dangling_link], ids=lambda f: f.__name__
)
def test_malformed_checkpoint_is_reported_and_the_pass_starts_over(tmp_path, make):
    if make is fifo and not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    parts = [frame(4_000, 50 + i) for i in range(2)]
    for i, part in enumerate(parts):
        part.to_parquet(tmp_path / f"p{i}.parquet", row_group_size=1_000)
    cache = st.StateCache(tmp_path / "c")
    seen = []

    def interrupt(rows):
        seen.append(rows)
        if sum(seen) >= 5_000:
            raise KeyboardInterrupt

    def run(**kw):
        return st.compute_states(
            st.from_parquet(tmp_path, target="y"), ["ridge"], folds=5, cache=cache, **kw
        )

    with pytest.raises(st.PassInterrupted):
        run(progress=interrupt, checkpoint_rows=10**9, checkpoint_seconds=None)
    (ckpt,) = cache.checkpoints_dir.glob("*.npz")
    make(ckpt)
    with fifo_watchdog(ckpt) as released, pytest.warns(st.StateCacheWarning) as caught:
        states = run()
    assert not released.is_set(), "the FIFO was opened (a reader blocked on it)"
    messages = [str(w.message) for w in caught]
    assert any(f"Checkpoint {str(ckpt)!r} is not used" in m for m in messages), messages
    if make in (no_position, no_specs):
        field = "'position'" if make is no_position else "'specs'"
        assert any(field in m for m in messages), messages
    assert_matches_data(states, pd.concat(parts, ignore_index=True))
    assert (ckpt / "notes.txt").exists() if make is directory else not os.path.lexists(ckpt)


# ------------------------------------------------------------------ read-only cache folder
class WriteGuard:
    """Records (and refuses with EACCES) every attempt to create, change or delete anything
    under ``root``: what a read-only folder would refuse. Needed because the tests may run as
    root, whom ``chmod`` does not stop."""

    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = str(root.resolve())
        self.attempts: list[str] = []
        real_os_open, real_open = os.open, builtins.open

        def guarded_os_open(path, flags, *args, **kwargs):
            if flags & self.WRITE_FLAGS:
                self.check("os.open", path)
            return real_os_open(path, flags, *args, **kwargs)

        def guarded_open(file, mode="r", *args, **kwargs):
            if isinstance(file, str | os.PathLike) and any(c in mode for c in "wax+"):
                self.check("open", file)
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(os, "open", guarded_os_open)
        monkeypatch.setattr(builtins, "open", guarded_open)
        monkeypatch.setattr(io, "open", guarded_open)
        for name in ("replace", "rename", "unlink", "remove", "mkdir", "rmdir", "chmod", "utime"):
            monkeypatch.setattr(os, name, self.refusing(name, getattr(os, name)))

    def check(self, what: str, path) -> None:
        if isinstance(path, str | os.PathLike):
            full = os.path.abspath(os.fspath(path))
            if full == self.root or full.startswith(self.root + os.sep):
                self.attempts.append(f"{what} {full}")
                raise PermissionError(errno.EACCES, "read-only cache folder (test)", full)

    def refusing(self, name, real):
        def call(path, *args, **kwargs):
            self.check(f"os.{name}", path)
            return real(path, *args, **kwargs)

        return call


@pytest.fixture
def read_only(tmp_path):
    """Make a folder tree read-only (restored afterwards so it can be deleted)."""
    changed = []
    chmod = os.chmod  # the real one, even if a test replaced it

    def make(folder: Path) -> None:
        for path in [folder, *folder.rglob("*")]:
            mode = path.stat().st_mode
            changed.append((path, mode))
            chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    yield make
    for path, mode in reversed(changed):
        chmod(path, mode)


def test_ls_and_verify_work_on_a_read_only_cache(tmp_path, monkeypatch, capsys, read_only):
    from statetune.cli import main

    cache = st.StateCache(tmp_path / "cache")
    keys = []
    for i in range(2):
        df = frame(300, i).rename(columns={"f0": f"g{i}"})
        st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=2, cache=cache)
        keys.append((set(cache.keys()) - set(keys)).pop())
    path = cache.path(keys[1])
    path.write_bytes(path.read_bytes()[:100])  # one corrupt entry
    assert list(cache.states_dir.glob("*.lock"))  # lock files exist: probed, never written
    read_only(cache.folder)
    if os.geteuid() != 0:  # as root chmod stops nothing; the guard below checks either way
        with pytest.raises(PermissionError):
            (cache.states_dir / "probe").write_bytes(b"")
    guard = WriteGuard(cache.folder, monkeypatch)
    capsys.readouterr()
    assert main(["cache", "--cache-dir", str(cache.folder), "ls"]) == 0
    out = capsys.readouterr().out
    assert f"{keys[0]}" in out and f"{keys[1]}" in out and "corrupt" in out
    assert main(["cache", "--cache-dir", str(cache.folder), "verify"]) == 1
    out = capsys.readouterr().out
    assert f"{keys[0]}: ok" in out and f"{keys[1]}: CORRUPT: " in out
    assert [e["valid"] for e in st.StateCache(cache.folder).entries()] == [
        k == keys[0] for k in sorted(keys)
    ]
    assert guard.attempts == []
