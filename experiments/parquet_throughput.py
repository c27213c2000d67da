"""Parquet pass against reading the same file with pyarrow alone (1,000,000 x 50 + target).

"pyarrow alone" is ``pq.read_table(path)`` (multi-threaded decode into Arrow memory), the
cheapest way a user would load the file before any modelling. Ratio = pyarrow time / pass time.

Run: ``.venv/bin/python experiments/parquet_throughput.py``
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from _common import bar_chart, median_time, regression_data, write_csv

import statetune as st

N, D, K = 1_000_000, 50, 5


def main() -> None:
    X, y = regression_data(N, D)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.parquet"
        table = pa.table({**{f"x{i}": X[:, i] for i in range(D)}, "y": y})
        pq.write_table(table, path, row_group_size=131_072)
        del table
        size_mb = path.stat().st_size / 2**20
        read = median_time(lambda: pq.read_table(path), 5)
        read_batches = median_time(
            lambda: [b.num_rows for b in pq.ParquetFile(path).iter_batches(65_536)], 5
        )
        seq = median_time(
            lambda: st.compute_states(st.from_parquet(path, target="y"), ["ridge"], folds=K), 5
        )
        par = median_time(
            lambda: st.compute_states(
                st.from_parquet(path, target="y"), ["ridge"], folds=K, n_jobs=2
            ),
            5,
        )
    rows = [
        {"variant": "pyarrow read_table", "seconds": round(read, 4), "speed_vs_pyarrow": 1.0},
        {
            "variant": "pyarrow iter_batches",
            "seconds": round(read_batches, 4),
            "speed_vs_pyarrow": round(read / read_batches, 3),
        },
        {
            "variant": "statetune pass, sequential",
            "seconds": round(seq, 4),
            "speed_vs_pyarrow": round(read / seq, 3),
        },
        {
            "variant": "statetune pass, n_jobs=2",
            "seconds": round(par, 4),
            "speed_vs_pyarrow": round(read / par, 3),
        },
    ]
    print(f"file: {size_mb:.0f} MiB, {N:,} rows x {D + 1} columns, snappy, row groups of 131,072")
    for r in rows:
        print(
            f"{r['variant']:<30} {r['seconds']:7.3f} s   {r['speed_vs_pyarrow']:5.2f}x of pyarrow read_table"
        )
    write_csv("parquet_throughput", rows)
    bar_chart(
        "parquet_throughput",
        [r["variant"] for r in rows],
        [r["speed_vs_pyarrow"] for r in rows],
        "speed relative to pq.read_table",
        f"Parquet pass, {N:,} x {D} + target, {K} folds",
    )


if __name__ == "__main__":
    main()
