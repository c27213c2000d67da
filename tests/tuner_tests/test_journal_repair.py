"""Issue 9, item 7: a damaged study journal is repaired, never left unreadable.

A write cut short (full disk, killed process) leaves a partial last line; the next append was
glued onto it and every later read failed with ``Expecting ':' delimiter``. The repair keeps
every complete record (a record glued after a partial one included), drops only the partial
bytes, keeps a copy of the damaged file, says which file, and leaves a journal plain Optuna
reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import optuna
import pytest
from hypothesis import given
from hypothesis import strategies as hs

import statetune as st
from statetune.testing import make_regression_data
from statetune.tuner.journal import (
    JournalDamagedError,
    JournalRepairedWarning,
    repair_journal,
    scan_journal,
)
from statetune.tuner.owners import ABANDONED_ATTR
from statetune.tuner.storage import resolve_storage
from statetune.tuner.tune import StudyRecoveryWarning


def _tune(folder, n_trials, **kw):
    X, y, _ = make_regression_data(500, 3, seed=8)
    return st.tune(
        st.from_arrays(X, y),
        ["ridge"],
        n_trials=n_trials,
        cv=3,
        cache_dir=folder,
        study_name="s",
        **kw,
    )


def _plain(folder):
    """The study as plain Optuna reads it."""
    backend = optuna.storages.journal.JournalFileBackend(str(folder / "optuna_journal.log"))
    return optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(backend))


def _records(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


def _evaluated(trials):
    return [
        t
        for t in trials
        if t.state.name in ("COMPLETE", "PRUNED")
        or (t.state.name == "FAIL" and ABANDONED_ATTR not in t.system_attrs)
    ]


def test_partial_last_line_is_cut_then_the_study_resumes(tmp_path):
    _tune(tmp_path, 8)
    journal = tmp_path / "optuna_journal.log"
    intact = journal.read_bytes()
    damaged = intact[:-25]  # the last record (the last trial's result) cut mid-way
    journal.write_bytes(damaged)
    n_lines = intact.count(b"\n")
    lost = r"trial\(s\) \[7\] were left RUNNING"  # its final record was the one cut
    with pytest.warns(StudyRecoveryWarning, match=lost), pytest.warns(JournalRepairedWarning) as w:
        r = _tune(tmp_path, 12)
    msg = next(str(x.message) for x in w if x.category is JournalRepairedWarning)
    assert f"The study journal {journal} was damaged at line {n_lines} of {n_lines} " in msg
    backups = sorted(tmp_path.glob("optuna_journal.log.damaged-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == damaged and str(backups[0]) in msg
    # every complete record is still there, in order: the cut one is the only loss
    repaired = journal.read_bytes()
    assert repaired.startswith(intact[: intact.rstrip(b"\n").rfind(b"\n") + 1])
    # the trial whose result was cut is failed (its owner call is over) and run again
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = _tune(tmp_path, 12)  # reads after the appends: no damage left
    assert again.n_new_trials == 0
    study = _plain(tmp_path)
    assert all(t.state.is_finished() for t in study.trials)
    assert len(_evaluated(study.trials)) == 12
    assert r.best_value == pytest.approx(study.best_value)


def test_glued_line_keeps_the_glued_record(tmp_path):
    _tune(tmp_path, 5)
    journal = tmp_path / "optuna_journal.log"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])  # cut mid-record
    # what a plain Optuna writer then does: glues its record, and more lines follow
    backend = optuna.storages.journal.JournalFileBackend(str(journal))
    glued = {"op_code": 2, "worker_id": "w-1", "study_id": 0, "user_attr": {"note": "glued"}}
    after = {"op_code": 2, "worker_id": "w-1", "study_id": 0, "user_attr": {"more": 1}}
    backend.append_logs([glued])
    backend.append_logs([after])
    with pytest.raises(json.JSONDecodeError, match="Expecting"):
        _plain(tmp_path)  # the issue: every later read fails
    report = scan_journal(journal)
    assert report.damaged_lines == [len(lines)] and report.recovered == 1
    assert report.dropped_bytes == 40
    with (
        pytest.warns(StudyRecoveryWarning, match=r"trial\(s\) \[4\] were left RUNNING"),
        pytest.warns(JournalRepairedWarning, match=rf"line {len(lines)} of {len(lines) + 1}"),
    ):
        _tune(tmp_path, 8)
    study = _plain(tmp_path)
    assert study.user_attrs["note"] == "glued" and study.user_attrs["more"] == 1
    assert all(t.state.is_finished() for t in study.trials)
    assert len(_evaluated(study.trials)) == 8
    assert [r for r in _records(journal.read_bytes()) if r.get("user_attr") == {"note": "glued"}]


def test_damage_met_mid_run_names_the_file_and_the_remedy(tmp_path):
    storage = resolve_storage(None, tmp_path)
    optuna.create_study(storage=storage, study_name="s")
    journal = tmp_path / "optuna_journal.log"
    n = journal.read_bytes().count(b"\n")
    with open(journal, "ab") as f:  # another writer's damage, after this one opened it
        f.write(
            b'{"op_code":2,"worker_id":"x","stu'
            + b'{"op_code":2,"worker_id":"x","study_id":0,"user_attr":{"a":1}}\n'
        )
        f.write(b'{"op_code":2,"worker_id":"x","study_id":0,"user_attr":{"b":2}}\n')
    with pytest.raises(JournalDamagedError) as err:
        storage.get_all_studies()
    msg = str(err.value)
    assert str(journal) in msg and f"damaged at line {n + 1} of {n + 2}" in msg
    assert "statetune repairs it when it opens the journal" in msg
    assert f"statetune.tuner.journal.repair_journal({str(journal)!r})" in msg
    with pytest.warns(JournalRepairedWarning):
        again = resolve_storage(None, tmp_path)
    assert optuna.load_study(study_name="s", storage=again).user_attrs == {"a": 1, "b": 2}


DISK_FULL = textwrap.dedent(
    """
    import resource, signal, sys, os
    import statetune as st
    from statetune.testing import make_regression_data
    folder = sys.argv[1]
    size = os.path.getsize(os.path.join(folder, "optuna_journal.log"))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 700, resource.RLIM_INFINITY))
    X, y, _ = make_regression_data(500, 3, seed=8)
    try:
        st.tune(st.from_arrays(X, y), ["ridge"], n_trials=30, cv=3, cache_dir=folder, study_name="s")
    except OSError as err:
        print("ERROR", err)
        sys.exit(3)
    """
)


def test_a_write_that_hits_a_full_disk_leaves_no_partial_record(tmp_path):
    _tune(tmp_path, 4)
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 3, proc.stderr
    journal = tmp_path / "optuna_journal.log"
    assert f"Writing the study journal {journal} failed" in proc.stdout
    assert "its partial record was removed, the journal stays readable" in proc.stdout
    data = journal.read_bytes()
    assert data.endswith(b"\n") and not scan_journal(journal).damaged
    # plain Optuna reads it (a trial the full disk kept from being closed stays RUNNING, with
    # its owner record: the next run fails it)
    assert _plain(tmp_path).trials
    with warnings.catch_warnings():
        warnings.simplefilter("error", JournalRepairedWarning)  # nothing to repair
        warnings.simplefilter("ignore", UserWarning)
        _tune(tmp_path, 10)
    assert len(_evaluated(_plain(tmp_path).trials)) == 10


_text = hs.text(alphabet=hs.sampled_from('ab{}":,\\ é\n'), max_size=12)
_record = hs.fixed_dictionaries(
    {
        "op_code": hs.integers(0, 9),
        "worker_id": _text,
        "user_attr": hs.dictionaries(
            _text, hs.one_of(_text, hs.integers(), hs.just({"op_code": 1})), max_size=3
        ),
    }
)


@given(
    records=hs.lists(_record, min_size=2, max_size=8),
    where=hs.integers(0, 7),
    cut=hs.floats(0.0, 0.999),
    junk=hs.sampled_from([b"", b"\x00" * 16]),
)
def test_repair_keeps_every_complete_record(tmp_path_factory, records, where, cut, junk):
    """Any record cut anywhere (and the next glued on, or NUL bytes a crash left): every
    other record survives in order, and nothing else."""
    where = where % len(records)
    blobs = [json.dumps(r, separators=(",", ":")).encode() for r in records]
    partial = blobs[where][: int(cut * len(blobs[where]))] + junk
    data = b"".join(b + b"\n" for b in blobs[:where]) + partial
    data += b"".join(b + b"\n" for b in blobs[where + 1 :])
    path = tmp_path_factory.mktemp("j") / "journal.log"
    path.write_bytes(data)
    kept = [r for i, r in enumerate(records) if i != where]
    if not partial:  # nothing was written of it: an intact journal
        assert repair_journal(path, warn=False) is None
    else:
        report = repair_journal(path, warn=False)
        assert report is not None and report.dropped_bytes == len(partial)
        assert report.backup is not None and report.backup.read_bytes() == data
    assert _records(path.read_bytes()) == kept
