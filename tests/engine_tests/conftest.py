"""One Dask cluster for the Dask tests (starting one, and importing statetune in new worker
processes, costs seconds on a shared machine): two single-threaded in-process workers. The
slow tests start worker processes of their own (pickling, and a worker process killed)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_client():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
