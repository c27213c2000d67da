"""A state's memo under threads (``st.tune(n_jobs=2)`` shares states between joblib threads):
threads computing the same key at once all get one object, so a cache kept in the memo is
one cache, not several that each lose the others' entries."""

from __future__ import annotations

import threading
import time

from statetune.states import Moments


def test_threads_deriving_one_key_at_once_share_the_first_value():
    state = Moments(2)
    barrier = threading.Barrier(4)
    got = []

    def compute():
        time.sleep(0.02)  # all four are inside compute before any stores
        return object()

    def worker():
        barrier.wait()
        got.append(state.derived("cache", compute))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4
    assert len({id(v) for v in got}) == 1
    assert state.derived("cache", object) is got[0]
