"""``statetune tune --task cluster`` (k-means from a coreset, no target) and ``predict`` of the
cluster labels, checked against scikit-learn's ``KMeans`` fitted on all rows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

import statetune as st
from statetune.cli import main


@pytest.fixture()
def blobs(tmp_path):
    """Four separated clusters of unequal sizes in five columns, written as Parquet."""
    X, _ = make_blobs(
        n_samples=[1500, 700, 300, 100], n_features=5, cluster_std=0.6, random_state=3
    )
    path = tmp_path / "blobs.parquet"
    pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).to_parquet(path, index=False)
    return path, X


def test_tune_cluster_then_predict_labels_like_sklearn_kmeans(blobs, tmp_path, capsys):
    path, X = blobs
    out = tmp_path / "res"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. a feature-name warning per trial
        argv = "tune DATA --task cluster --trials 12 --cv 3 --metric silhouette".split()
        argv += ["--storage", "memory", "--no-progress", "--out", str(out)]
        code = main([argv[0], str(path), *argv[2:]])
    assert code == 0
    text = capsys.readouterr().out
    assert "task: cluster; algorithms: kmeans" in text
    model = st.load_model(out / "best_model")
    assert model.n_clusters == 4  # the silhouette of the held-out samples finds the 4 blobs
    pred = tmp_path / "labels.csv"
    assert main(["predict", str(out / "best_model"), str(path), "--out", str(pred)]) == 0
    labels = pd.read_csv(pred).iloc[:, -1].to_numpy()
    np.testing.assert_array_equal(labels, model.predict(pd.read_parquet(path)))
    ref = KMeans(n_clusters=4, n_init=10, random_state=0).fit(X)
    assert adjusted_rand_score(ref.labels_, labels) == 1.0


def test_cluster_takes_no_target_and_other_tasks_need_one(blobs, capsys):
    path, _ = blobs
    assert main(["tune", str(path), "--task", "cluster", "--target", "f0"]) == 1
    assert "`--task cluster` tunes k-means on the feature columns alone" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # bad usage: argparse's exit code
        main(["tune", str(path)])
    assert info.value.code == 2
    assert "for data without a target use --task cluster" in capsys.readouterr().err
