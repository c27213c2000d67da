"""Data files the CLI tests run on: scikit-learn's diabetes (regression) and wine (labels as
text) as Parquet, and generated rows whose target needs every column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine


@pytest.fixture(autouse=True)
def _cwd(tmp_path, monkeypatch):
    """Every CLI test runs in its own empty folder (the default .statetune/ lands there)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def diabetes(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    df = X.assign(y=y)
    path = tmp_path_factory.mktemp("diabetes") / "diabetes.parquet"
    df.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def wine(tmp_path_factory):
    X, y = load_wine(return_X_y=True, as_frame=True)
    names = np.array(["barolo", "grignolino", "barbera"])
    df = X.assign(cultivar=names[y.to_numpy()])
    path = tmp_path_factory.mktemp("wine") / "wine.parquet"
    df.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def every_column(tmp_path_factory):
    """400 rows, 4 independent columns, a target that needs all four (little noise)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 4))
    y = X @ np.array([4.0, 3.0, 2.0, 1.0]) + 0.1 * rng.normal(size=400)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    path = tmp_path_factory.mktemp("every") / "every.parquet"
    df.to_parquet(path, index=False)
    return path
