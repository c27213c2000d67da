"""Executors run the per-partition work of a pass: sequentially, or with joblib.

The pass maps partitions to fold states and merges them, so any executor with an ordered
``map`` fits (Dask joins through the same interface later). Threads share the source without
copying (numpy and BLAS release the GIL); processes (loky) memory-map large arrays.

Example
-------
>>> from statetune.engine.executors import make_executor
>>> list(make_executor(1).map(abs, [-1, 2]))
[1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

__all__ = ["Executor", "JoblibExecutor", "SequentialExecutor", "make_executor"]


class Executor(Protocol):
    """Runs ``fn`` over items, yielding results in the items' order as they complete."""

    n_jobs: int

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]: ...


class SequentialExecutor:
    """In this thread, one item after another."""

    n_jobs = 1

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield fn(item)


class JoblibExecutor:
    """Threads (``backend="threading"``, default) or joblib's loky processes (``"loky"``).

    Threads run on the standard library's ``concurrent.futures.ThreadPoolExecutor``: joblib's
    threading ``Parallel`` costs about 13 ms per call to set up (measured: 4 trivial tasks,
    13-17 ms against 0.3 ms, 2 cores), a sixth of a 1M x 50 pass. With threads, BLAS is
    limited to one thread per worker during the map, so workers do not oversubscribe the
    cores (measured faster on 2 cores: experiments/pass_throughput.py).
    """

    def __init__(self, n_jobs: int = 2, backend: str = "threading") -> None:
        if backend not in ("threading", "loky"):
            raise ValueError(f"`backend` must be 'threading' or 'loky', but got {backend!r}.")
        self.n_jobs = n_jobs
        self.backend = backend

    def _limits(self) -> AbstractContextManager[Any]:
        if self.backend != "threading":
            return nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if self.backend == "threading":
            from concurrent.futures import ThreadPoolExecutor

            with self._limits(), ThreadPoolExecutor(self.n_jobs, "statetune-pass") as pool:
                yield from pool.map(fn, items)
            return
        from joblib import Parallel, delayed

        par = Parallel(n_jobs=self.n_jobs, backend=self.backend, return_as="generator")
        yield from par(delayed(fn)(item) for item in items)


def make_executor(n_jobs: int = 1, backend: str | None = None) -> Executor:
    """``SequentialExecutor`` for ``n_jobs == 1``, else a ``JoblibExecutor``."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"`n_jobs` must be a positive integer or -1, but got {n_jobs!r}.")
    if n_jobs == -1:
        import os

        n_jobs = os.cpu_count() or 1
    if n_jobs == 1 and backend is None:
        return SequentialExecutor()
    return JoblibExecutor(n_jobs, backend or "threading")
