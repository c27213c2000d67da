"""``statetune tune`` with ``--task auto`` on a target of a few integers (breast cancer's 0/1
read from a CSV) tunes regression, as documented, and now says so and how to tune classes;
a continuous target gets no note."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from statetune.cli import main


def _run(path, target, tmp_path, *flags):
    argv = [
        "tune", str(path), "--target", target, "--trials", "3", "--cv", "3",
        "--storage", "memory", "--no-progress", "--out", str(tmp_path / "out"), *flags,
    ]  # fmt: skip
    return main(argv)


def test_a_zero_one_target_read_as_numbers_gets_a_note(tmp_path, capsys):
    path = tmp_path / "bc.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    assert _run(path, "target", tmp_path) == 0
    captured = capsys.readouterr()
    assert "task: regression" in captured.out
    assert "2 distinct integers" in captured.err and "--task classification" in captured.err


@pytest.mark.parametrize("flags", [(), ("--task", "regression")])
def test_no_note_for_a_continuous_target_or_a_task_given(tmp_path, capsys, flags):
    path = tmp_path / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    assert _run(path, "target", tmp_path, *flags) == 0
    assert "note: target" not in capsys.readouterr().err
