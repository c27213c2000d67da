"""Peak memory of a pass is flat in the number of rows: 1x and 10x data through a chunked source.

Each size runs in a fresh subprocess that streams generated batches of 65,536 x 50 (never
holding the data), so the peak RSS is the pass's own footprint. Also measured for a Parquet
file of 1x and 4x rows (the 10x file would need ~4 GB of disk).

Run: ``.venv/bin/python experiments/pass_memory.py``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import write_csv

CHILD = r"""
import json, resource, sys
import numpy as np
import statetune as st
kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if kind == "batches":
    def gen():
        rng = np.random.default_rng(0)
        beta = rng.standard_normal(50)
        for a in range(0, n, 65536):
            m = min(65536, n - a)
            X = rng.standard_normal((m, 50))
            yield X, X @ beta + rng.standard_normal(m)
    src = st.from_batches(gen())
else:
    src = st.from_parquet(path, target="y")
states = st.compute_states(src, ["ridge", "pca"], folds=5)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": states.n_rows, "peak_rss_mib": peak / 1024, "baseline_rss_mib": base / 1024}))
"""


def run(kind: str, n: int, path: str = "") -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(n), path],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def write_parquet(path: Path, n: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    beta = rng.standard_normal(50)
    with pq.ParquetWriter(
        path,
        pa.schema(
            [*(pa.field(f"x{i}", pa.float64()) for i in range(50)), pa.field("y", pa.float64())]
        ),
    ) as w:
        for a in range(0, n, 131_072):
            m = min(131_072, n - a)
            X = rng.standard_normal((m, 50))
            w.write_table(pa.table({**{f"x{i}": X[:, i] for i in range(50)}, "y": X @ beta}))


def main() -> None:
    rows = []
    for n in (1_000_000, 10_000_000):
        r = run("batches", n)
        rows.append({"source": "generated batches", **r})
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000_000, 4_000_000):
            path = Path(tmp) / f"d{n}.parquet"
            write_parquet(path, n)
            rows.append({"source": "parquet file", **run("parquet", n, str(path))})
            path.unlink()
    for r in rows:
        print(
            f"{r['source']:<18} rows={r['rows']:>11,}  peak RSS {r['peak_rss_mib']:7.1f} MiB (interpreter+imports {r['baseline_rss_mib']:.1f} MiB)"
        )
    write_csv("pass_memory", rows)


if __name__ == "__main__":
    main()
