"""The figures behind docs/scaling.md's "on paper" estimate, measured on this machine.

- bytes a ``Moments`` state of d=100 features plus target takes on the wire (``to_arrays``:
  the arrays plus the JSON header; and its pickle), per fold and for the 5 folds of a partition;
- time to merge two such states (the step of the merge tree), and to rebuild one from its
  arrays (what a receiving worker does);
- (all on one core: one BLAS thread) the single-core pass over Parquet at d=100 (``st.compute_states(..., n_jobs=1)``, 5 folds,
  ridge): rows and bytes per second, file bytes and in-memory (float64) bytes;
- the ``Moments.update`` rate alone on in-memory float64 rows (the pass without reading).

Run: ``.venv/bin/python experiments/scaling_on_paper.py``; writes results/scaling_on_paper.csv.
"""

from __future__ import annotations

import json
import pickle
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from _common import regression_data, run_times, spread, write_csv
from threadpoolctl import threadpool_limits

import statetune as st
from statetune.states import Moments

D = 100
FOLDS = 5


def wire_bytes(state: Moments) -> tuple[int, int]:
    header, arrays = state.to_arrays()
    raw = len(json.dumps(header).encode()) + sum(a.nbytes for a in arrays.values())
    return raw, len(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    with threadpool_limits(1):  # per core: one BLAS thread (the machine is shared)
        _main()


def _main() -> None:
    rows = []
    X, y = regression_data(200_000, D)
    a, b = Moments(D), Moments(D)
    a.update(X[:100_000], y[:100_000])
    b.update(X[100_000:], y[100_000:])
    raw, pickled = wire_bytes(a)
    rows.append({"figure": "moments d=100 to_arrays bytes (one fold)", "value": raw})
    rows.append({"figure": "moments d=100 pickle bytes (one fold)", "value": pickled})
    rows.append({"figure": f"moments d=100 to_arrays bytes ({FOLDS} folds)", "value": FOLDS * raw})
    print(f"Moments d={D}: to_arrays {raw:,} B, pickle {pickled:,} B per fold")

    n = 200
    merge = []
    for _ in range(7):
        copies = [a.copy() for _ in range(n)]  # merge changes its target: one copy per merge
        t0 = time.perf_counter()
        for c in copies:
            c.merge(b)
        merge.append((time.perf_counter() - t0) / n)
    header, arrays = a.to_arrays()
    load = [
        t / n for t in run_times(lambda: [Moments.from_arrays(header, arrays) for _ in range(n)], 7)
    ]
    rows.append({"figure": "merge two d=100 states, us", "value": 1e6 * statistics.median(merge)})
    rows.append({"figure": "from_arrays d=100 state, us", "value": 1e6 * statistics.median(load)})
    print(f"merge of two d={D} states: {spread(merge, 'us', 1e6, 1)}")
    print(f"from_arrays of one: {spread(load, 'us', 1e6, 1)}")

    update = run_times(lambda: Moments(D).update(X, y), repeat=5, warmup=1)
    rate = len(X) / statistics.median(update)
    rows.append({"figure": "Moments.update d=100 rows/s (one core)", "value": rate})
    print(f"Moments.update, 200k x {D} in memory: {rate / 1e6:.2f} M rows/s ({spread(update)})")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.parquet"
        cols = {f"x{i}": X[:, i] for i in range(D)} | {"y": y}
        pq.write_table(pa.table(cols), path, row_group_size=50_000)
        size = path.stat().st_size

        def parquet_pass() -> None:
            st.compute_states(st.from_parquet(path, target="y"), ["ridge"], folds=FOLDS, n_jobs=1)

        times = run_times(parquet_pass, repeat=5, warmup=1)
    med = statistics.median(times)
    mem_bytes = X.nbytes + y.nbytes
    rows.append({"figure": "parquet pass d=100 rows/s (one core)", "value": len(X) / med})
    rows.append({"figure": "parquet pass d=100 file MB/s (one core)", "value": size / med / 1e6})
    rows.append({"figure": "parquet file bytes per row", "value": size / len(X)})
    print(
        f"Parquet pass, 200k x {D}, 5 folds, n_jobs=1: {spread(times)}: "
        f"{len(X) / med / 1e6:.2f} M rows/s, {size / med / 1e6:.0f} MB/s of file "
        f"({size / len(X):.0f} B/row), {mem_bytes / med / 1e6:.0f} MB/s as float64"
    )
    write_csv("scaling_on_paper", rows)


if __name__ == "__main__":
    main()
