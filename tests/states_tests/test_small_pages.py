"""``small_pages``: numpy's huge-page advice off inside the block, the user's setting after."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from statetune.states import _small_pages as pages


def _current() -> bool:
    """numpy's setting, read by setting it to itself."""
    assert pages._SET is not None
    before = pages._SET(True)
    pages._SET(before)
    return bool(before)


@pytest.mark.skipif(pages._SET is None, reason="this numpy has no huge-page switch")
@pytest.mark.parametrize("setting", [True, False])
def test_off_inside_and_restored_after(setting):
    assert pages._SET is not None
    before = pages._SET(setting)
    try:
        with pages.small_pages():
            assert _current() is False
            a = np.zeros((600, 600))
        assert _current() is setting
        with pytest.raises(RuntimeError), pages.small_pages():
            raise RuntimeError("inside")
        assert _current() is setting  # restored when the block raises too
        assert float(a.sum()) == 0.0
    finally:
        pages._SET(before)


@pytest.mark.skipif(pages._SET is None, reason="this numpy has no huge-page switch")
def test_blocks_in_threads_overlap_and_the_last_restores():
    """Trials finalized in parallel threads are not serialized by the switch (each thread
    waits inside its block for the other to be inside too), and once both have left, the
    user's setting is back."""
    before = _current()
    inside = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(50):
                with pages.small_pages():
                    inside.wait()  # both threads in a block at once
                    assert _current() is False
                    np.empty(10)
                    inside.wait()
        except BaseException as err:  # a broken barrier: the blocks were serialized
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _current() is before
