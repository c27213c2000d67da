"""``statetune predict``: folders, output formats, ids, class probabilities, clear errors, atomic
output. Predictions are compared with the saved model's own ``predict``/``predict_proba`` and with
the model finalized through the library from states of the same rows (``st.finalize``)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

import statetune as st
from statetune.cli import main


def _tune(data, target, algorithms, out, *flags):
    argv = [
        "tune", str(data), "--target", target, "--algorithms", algorithms, "--trials", "12",
        "--cv", "3", "--storage", "memory", "--no-progress", "--out", str(out), *flags,
    ]  # fmt: skip
    assert main(argv) == 0
    return out / "best_model"


@pytest.fixture(scope="module")
def regressor(tmp_path_factory, diabetes):
    return _tune(diabetes, "y", "ridge", tmp_path_factory.mktemp("reg") / "res")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, wine):
    return _tune(wine, "cultivar", "lda", tmp_path_factory.mktemp("cls") / "res")


def _read(path):
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".ndjson"])
def test_output_format_follows_the_extension(suffix, regressor, diabetes, tmp_path):
    out = tmp_path / f"pred{suffix}"
    assert main(["predict", str(regressor), str(diabetes), "--out", str(out)]) == 0
    got = _read(out)
    X = pd.read_parquet(diabetes).drop(columns="y")
    want = st.load_model(regressor).predict(X)
    assert list(got.columns) == ["prediction"]
    np.testing.assert_allclose(got["prediction"], want, rtol=1e-12)
    if suffix == ".parquet":
        assert pd.read_parquet(out)["prediction"].dtype == np.float64
    else:
        assert out.read_bytes()[:1] in (b"p", b"{")  # text: a header or a JSON object


def test_unknown_extension_is_refused_before_any_work(regressor, diabetes, tmp_path, capsys):
    out = tmp_path / "pred.txt"
    assert main(["predict", str(regressor), str(diabetes), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "'.txt'" in err and all(s in err for s in (".csv", ".parquet", ".jsonl", ".ndjson"))
    assert not out.exists()


def test_folder_is_read_like_tune_with_ids_passed_through(regressor, diabetes, tmp_path):
    df = pd.read_parquet(diabetes).assign(patient=lambda d: [f"p{i:03d}" for i in range(len(d))])
    folder = tmp_path / "batch"
    (folder / "part2").mkdir(parents=True)
    parts = [df.iloc[:150], df.iloc[150:300], df.iloc[300:]]
    for name, part in zip(["a.csv", "b.csv", "part2/c.csv"], parts, strict=True):
        part.to_csv(folder / name, index=False)
    out = tmp_path / "pred.csv"
    code = main(
        ["predict", str(regressor), str(folder), "--out", str(out), "--id-column", "patient"]
    )
    assert code == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["patient", "prediction"]
    assert sorted(got["patient"]) == sorted(df["patient"])  # every row once, with its id
    X = df.set_index("patient").drop(columns="y")
    want = st.load_model(regressor).predict(X)
    np.testing.assert_allclose(
        got.set_index("patient").loc[X.index, "prediction"], want, rtol=1e-12
    )


def test_predictions_equal_the_model_finalized_from_states(regressor, diabetes, tmp_path):
    out = tmp_path / "pred.parquet"
    assert main(["predict", str(regressor), str(diabetes), "--out", str(out)]) == 0
    df = pd.read_parquet(diabetes)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    saved = st.load_model(regressor)
    states = st.compute_states(st.from_pandas(df, target="y"), ["ridge"], folds=3)
    ours = st.finalize(
        "ridge", states, {"alpha": saved.alpha, "fit_intercept": saved.fit_intercept}
    )
    np.testing.assert_allclose(pd.read_parquet(out)["prediction"], ours.predict(X), rtol=1e-10)
    from sklearn.linear_model import Ridge

    ref = Ridge(alpha=saved.alpha, fit_intercept=saved.fit_intercept).fit(X.to_numpy(), y)
    np.testing.assert_allclose(
        pd.read_parquet(out)["prediction"], ref.predict(X.to_numpy()), rtol=1e-8
    )


def test_proba_writes_one_column_per_class_label(classifier, wine, tmp_path):
    df = pd.read_parquet(wine).assign(row_id=lambda d: np.arange(len(d)) * 10 + 7)
    data = tmp_path / "with_ids.parquet"
    df.to_parquet(data, index=False)
    out = tmp_path / "proba.csv"
    argv = [
        "predict",
        str(classifier),
        str(data),
        "--out",
        str(out),
        "--proba",
        "--id-column",
        "row_id",
    ]
    assert main(argv) == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["row_id", "barbera", "barolo", "grignolino"]  # sorted labels
    assert got["row_id"].tolist() == df["row_id"].tolist()
    X = df.drop(columns=["cultivar", "row_id"])
    saved = st.load_model(classifier)
    np.testing.assert_allclose(got.iloc[:, 1:], saved.predict_proba(X), rtol=1e-10, atol=1e-14)
    # the labels name the right columns: each row's most likely column is scikit-learn's LDA's
    # prediction on all rows, with the same shrinkage and solver
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=saved.shrinkage).fit(
        X, df["cultivar"]
    )
    assert (got.iloc[:, 1:].idxmax(axis=1) == ref.predict(X)).mean() > 0.99


def test_proba_is_refused_for_a_regressor(regressor, diabetes, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", str(regressor), str(diabetes), "--out", str(out), "--proba"]) == 1
    err = capsys.readouterr().err
    assert "--proba" in err and "Ridge" in err and "classifier" in err
    assert not out.exists()


def test_missing_files_say_no_such_file(regressor, tmp_path, capsys):
    missing = tmp_path / "nope.parquet"
    assert main(["predict", str(regressor), str(missing), "--out", "p.csv"]) == 1
    assert f"no such file: {str(missing)!r}" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nomodel"), str(missing), "--out", "p.csv"]) == 1
    assert "no such file: " in capsys.readouterr().err


def test_missing_id_column_is_named(regressor, diabetes, capsys):
    assert (
        main(["predict", str(regressor), str(diabetes), "--out", "p.csv", "--id-column", "pid"])
        == 1
    )
    err = capsys.readouterr().err
    assert "--id-column pid" in err and str(diabetes) in err


def test_output_is_written_atomically(regressor, diabetes, tmp_path, monkeypatch, capsys):
    """A write cut short leaves the earlier file whole and no partial or temp file behind."""
    out = tmp_path / "pred.csv"
    out.write_text("prediction\n1.0\n")

    def cut_short(self, buf, *args, **kwargs):  # writes a part, then the disk is full
        if isinstance(buf, str | os.PathLike):
            with open(buf, "w") as f:
                f.write("prediction\n0.5\n")
        else:
            buf.write("prediction\n0.5\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", cut_short)
    assert main(["predict", str(regressor), str(diabetes), "--out", str(out)]) == 1
    assert out.read_text() == "prediction\n1.0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv"]
    assert "disk is full" in capsys.readouterr().err


def test_an_empty_cell_for_a_model_without_imputation_names_file_column_row(
    regressor, diabetes, tmp_path, capsys
):
    new = pd.read_parquet(diabetes).drop(columns="y")
    column = new.columns[2]
    new.loc[300, column] = None
    path = tmp_path / "new.csv"
    new.to_csv(path, index=False)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(regressor), str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"Column {column!r} must hold a value in every row" in err
    assert "new.csv" in err and "data row 300" in err
    assert not out.exists()
