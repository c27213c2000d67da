"""The embedded default dataset of the main job: a realistic regression table, made locally.

1,000,000 rows, 50 features: correlated groups of features (a low-rank factor structure),
columns on different scales and with offsets (prices, counts, rates), a sparse linear signal
with noise, and a target in real units. Written once to Parquet (row groups of 131,072)
and reused afterwards; nothing is downloaded.

Example
-------
>>> from statetune.demo_data import make_table
>>> make_table(1000, seed=0).shape
(1000, 51)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_PATH", "ensure_demo_parquet", "make_table"]

DEFAULT_PATH = Path("data") / "demo_regression.parquet"
N_FEATURES = 50


def make_table(n_rows: int, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """Rows ``start .. start + n_rows - 1`` of the demo table (deterministic per row block)."""
    rng = np.random.default_rng([seed, start])
    structure = np.random.default_rng(seed)  # the same for every block
    k = 8
    loadings = structure.normal(size=(k, N_FEATURES)) * structure.uniform(0.2, 1.0, size=N_FEATURES)
    scales = 10.0 ** structure.uniform(-2, 3, size=N_FEATURES)
    offsets = structure.choice([0.0, 0.0, 10.0, 1e3, 1e5], size=N_FEATURES)
    beta = structure.normal(size=N_FEATURES) * (structure.uniform(size=N_FEATURES) < 0.3)
    factors = rng.normal(size=(n_rows, k))
    Z = factors @ loadings + 0.7 * rng.normal(size=(n_rows, N_FEATURES))
    X = offsets + scales * Z
    y = 100.0 + Z @ beta + 2.0 * rng.normal(size=n_rows)
    df = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(N_FEATURES)])
    df["y"] = y
    return df


def ensure_demo_parquet(
    path: str | Path = DEFAULT_PATH, n_rows: int = 1_000_000, seed: int = 0
) -> Path:
    """Write the demo table to ``path`` unless it already holds ``n_rows`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if path.exists():
        try:
            if pq.ParquetFile(path).metadata.num_rows == n_rows:
                return path
        except Exception:  # a torn file from an interrupted write: rebuild it
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    block = 131_072
    writer = None
    try:
        for start in range(0, n_rows, block):
            table = pa.Table.from_pandas(
                make_table(min(block, n_rows - start), seed, start), preserve_index=False
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=block)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return path
