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


@pytest.mark.skipif(pages._SET is None, reason="this numpy has no huge-page switch")
def test_nested_blocks_in_one_thread():
    before = _current()
    with pages.small_pages():
        with pages.small_pages():
            assert _current() is False
        assert _current() is False  # the outer block is still open
    assert _current() is before


def _advised(a: np.ndarray) -> bool | None:
    """Whether the kernel marks the mapping holding ``a`` for huge pages (``hg`` in its
    VmFlags); None where /proc/self/smaps is not there."""
    try:
        text = open("/proc/self/smaps").read()
    except OSError:
        return None
    address = a.ctypes.data + (1 << 16)  # numpy advises from the next page boundary
    inside = False
    for line in text.splitlines():
        head = line.split()[0] if line else ""
        if "-" in head and ":" not in head:
            lo, hi = (int(x, 16) for x in head.split("-"))
            inside = lo <= address < hi
        elif inside and line.startswith("VmFlags:"):
            return " hg" in line
    return None


@pytest.mark.skipif(pages._SET is None, reason="this numpy has no huge-page switch")
def test_arrays_made_inside_get_no_huge_page_advice():
    """On Linux, the kernel's own record: numpy's advice is on a 40 MiB array made outside a
    block and on none made inside (zeros, empty, a ufunc's output). Above glibc's largest mmap
    threshold (32 MiB), so each is a new mapping, not heap memory an earlier test advised."""
    n = 5 << 20
    outside = np.zeros(n)
    if not _advised(outside):
        pytest.skip("numpy's huge-page advice is not visible here (no THP, or not Linux)")
    with pages.small_pages():
        made = [np.zeros(n), np.empty(n), np.add(outside, 1.0)]
    assert [_advised(a) for a in made] == [False, False, False]
