from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from statetune.testing import make_regression_data

COLS = [f"f{i}" for i in range(5)]


def frame(n: int, seed: int) -> pd.DataFrame:
    X, y, _ = make_regression_data(n, len(COLS), seed=seed)
    df = pd.DataFrame(X, columns=COLS)
    df["y"] = y
    return df


@pytest.fixture
def data_dir(tmp_path):
    """A folder of three Parquet files (several row groups each) and the full frame."""
    folder = tmp_path / "data"
    folder.mkdir()
    parts = [frame(9_000, s) for s in range(3)]
    for i, df in enumerate(parts):
        df.to_parquet(folder / f"part-{i:03d}.parquet", row_group_size=2_500)
    return folder, pd.concat(parts, ignore_index=True)


def add_file(folder, i: int, n: int = 3_000) -> pd.DataFrame:
    df = frame(n, 100 + i)
    df.to_parquet(folder / f"part-{i:03d}.parquet", row_group_size=2_500)
    return df


def assert_states_equal(a, b, rtol=1e-10):
    assert a.n_rows == b.n_rows
    assert set(a.fold_states) == set(b.fold_states)
    for kind in a.fold_states:
        for s1, s2 in zip(a.states_of(kind), b.states_of(kind), strict=True):
            assert s1.allclose(s2, rtol), kind


@pytest.fixture
def reference():
    import statetune as st

    def ref(df: pd.DataFrame, folds: int = 5):
        X = df[COLS].to_numpy()
        return st.compute_states(
            st.from_arrays(X, df["y"].to_numpy()), ["ridge", "pca"], folds=folds
        )

    return ref


__all__ = ["COLS", "add_file", "assert_states_equal", "frame", "np"]
