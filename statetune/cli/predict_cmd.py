"""``statetune predict`` and ``statetune forecast``: a saved model's outputs to a file.

``predict`` reads a file or a folder as ``tune`` does (every ``.parquet`` or every ``.csv``
file under it, in the sources' order) in chunks of rows, never a file whole, and writes each
chunk's outputs as it goes; the output's format follows ``--out``'s extension
(:data:`statetune.cli._common.OUTPUT_FORMATS`) and the file is written atomically (a failure
part-way leaves no output). A table model's categorical columns are read as text, as in
training. ``--id-column`` copies a column through; ``--proba`` writes a classifier's class
probabilities, one column per class label. An anomaly detector (isolation forest) writes
``anomaly_score`` (larger is more anomalous) and ``prediction`` (+1 normal, -1 anomaly).

Example
-------
>>> from statetune.cli.predict_cmd import proba_columns
>>> proba_columns([0, 1, "b"])
['0', '1', 'b']
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from statetune.cli._common import EXIT_OK, data_files, output_format, write_frame, write_frames

__all__ = ["proba_columns", "run_forecast", "run_predict"]


def proba_columns(classes: Any) -> list[str]:
    """Output column names of class probabilities: each class label as text."""
    return [str(c) for c in list(classes)]


def _load(folder: str) -> Any:
    import statetune as st

    if not Path(folder).exists():
        raise FileNotFoundError(f"no such file: {folder!r} (a best_model folder).")
    return st.load_model(folder)


def _features(model: Any) -> list[str]:
    """The columns the model reads: its ``feature_names_in_`` (a table's columns, before its
    encoding), else its schema's features, else ``x0..``."""
    if hasattr(model, "feature_names_in_"):
        return [str(c) for c in model.feature_names_in_]
    schema = getattr(model, "statetune_schema_", None)
    if schema:
        return list(schema["features"])
    return [f"x{i}" for i in range(model.n_features_in_)]


def _categorical(model: Any) -> set[str]:
    """The columns a table model one-hot encodes (read as text, as in training)."""
    enc = getattr(model, "encoding_", None)
    return {c.name for c in enc.categorical} if enc is not None else set()


def _chunks(
    path: str, features: list[str], categorical: set[str], id_column: str | None = None
) -> Iterator[Any]:
    """The file's rows in frames of :data:`CHUNK_ROWS`, read as the sources read them (index
    columns are not columns; a CSV row with the wrong field count, or a non-number in a numeric
    feature column, refused with its file and line); categorical features and, in a CSV, the
    ``id_column`` as text (missing ids as None)."""
    from statetune.data.table_files import CHUNK_ROWS, _columns, _frames

    columns = _columns(path, ())
    numeric = [c for c in features if c in columns and c not in categorical]
    # text as in training; the id column as text too: it is copied, never computed with, and
    # a type guessed per chunk would turn "000150" into 150 in a chunk of numeric-looking ids
    wanted = {*categorical, *([id_column] if id_column else [])}
    text = {c for c in wanted if c in columns and c not in numeric}
    for _, df in _frames(path, columns, text, CHUNK_ROWS, numeric):
        yield df


def _check_columns(columns: Any, path: str, args: argparse.Namespace, features: list[str]) -> None:
    missing = [c for c in features if c not in columns]
    if missing:
        raise ValueError(
            f"The data must hold the model's feature columns, but {path!r} lacks {missing}."
        )
    if args.id_column and args.id_column not in columns:
        raise ValueError(
            f"`--id-column {args.id_column}` must name a column of the data, but {path!r} has "
            f"only {list(columns)}."
        )


def _check_present(df: Any, path: str, features: list[str]) -> None:
    """A model fitted without a table encoding has no imputation: an empty cell is refused
    with its file, column and data row (scikit-learn's message named none of them)."""
    import numpy as np

    missing = df[features].isna().to_numpy()
    if missing.any():
        r, j = (int(v[0]) for v in np.nonzero(missing))
        raise ValueError(
            f"Column {features[j]!r} must hold a value in every row to predict (the model was "
            f"fitted on data without missing values, so it imputes none), but {path!r} has "
            f"none at data row {df.index[r]}."
        )


def _predict_frame(model: Any, df: Any, args: argparse.Namespace, features: list[str]) -> Any:
    import numpy as np
    import pandas as pd

    X = df[features]
    if args.proba:
        P = np.asarray(model.predict_proba(X))
        out = pd.DataFrame(P, columns=proba_columns(model.classes_), index=df.index)
    elif hasattr(model, "anomaly_score"):  # an anomaly detector: +1 normal / -1 anomaly
        out = pd.DataFrame(
            {
                "anomaly_score": np.asarray(model.anomaly_score(X)),
                "prediction": np.asarray(model.predict(X)),
            },
            index=df.index,
        )
    elif hasattr(model, "predict"):
        out = pd.DataFrame({"prediction": np.asarray(model.predict(X))}, index=df.index)
    else:
        Z = model.transform(X)
        out = pd.DataFrame(Z, columns=[f"component_{i}" for i in range(Z.shape[1])], index=df.index)
    if args.id_column:
        if args.id_column in out.columns:
            raise ValueError(
                f"`--id-column {args.id_column}` must differ from the output columns "
                f"({list(out.columns)}), but equals one; rename the column."
            )
        ids = df[args.id_column].to_numpy()
        if ids.dtype == object:  # text ids: a missing one is None (null), not the float NaN
            ids = np.where(pd.isna(ids), None, ids)
        out.insert(0, args.id_column, ids)
    return out.reset_index(drop=True)


def _predictions(
    model: Any, files: list[str], args: argparse.Namespace, features: list[str]
) -> Iterator[Any]:
    """Each file's predictions, one chunk of rows at a time, in the files' order."""
    categorical = _categorical(model)
    rows = 0
    for path in files:
        for df in _chunks(path, features, categorical, args.id_column):
            _check_columns(df.columns, path, args, features)
            if getattr(model, "encoding_", None) is None:
                _check_present(df, path, features)
            if len(df):
                rows += len(df)
                yield _predict_frame(model, df, args, features)
    if rows == 0:
        raise ValueError(f"The data must hold at least one row to predict, but {files} hold none.")


def run_predict(args: argparse.Namespace) -> int:
    output_format(args.out)  # refuse an unknown extension before any work
    model = _load(args.model)
    if args.proba and not hasattr(model, "predict_proba"):
        raise ValueError(
            f"`--proba` needs a classifier with class probabilities (predict_proba), but "
            f"{args.model!r} holds a {type(model).__name__}, which has none; drop --proba to "
            "write its predictions."
        )
    _, files = data_files(args.data)
    features = _features(model)
    dest, rows = write_frames(_predictions(model, files, args, features), args.out)
    where = f" from {len(files)} files" if len(files) > 1 else ""
    print(f"wrote {rows} rows{where} to {dest}")
    return EXIT_OK


def run_forecast(args: argparse.Namespace) -> int:
    import pandas as pd

    output_format(args.out)
    model = _load(args.model)
    if not hasattr(model, "forecast"):
        raise ValueError(
            f"The model must forecast (tuned with --task forecast), but {args.model!r} holds a "
            f"{type(model).__name__}; use `statetune predict`."
        )
    if args.steps < 1:
        raise ValueError(f"`--steps >= 1` must hold, but got --steps {args.steps}.")
    if getattr(model, "n_exog_", 0):
        schema = getattr(model, "statetune_schema_", None) or {}
        names = list(schema.get("features", [])) or f"{model.n_exog_} columns"
        raise ValueError(
            f"The model uses exogenous columns {names}, whose future values forecasting needs; "
            "forecast in Python with model.forecast(steps=..., series=..., exog=future_rows), "
            "or tune on the series alone (drop those columns)."
        )
    frames = []
    for key in model.state_.series_ids.tolist():
        values = model.forecast(steps=args.steps, series=key)
        frames.append(
            pd.DataFrame({"series": key, "step": range(1, args.steps + 1), "forecast": values})
        )
    out = pd.concat(frames, ignore_index=True)
    dest = write_frame(out, args.out)
    print(f"wrote {len(out)} forecasts ({len(frames)} series x {args.steps} steps) to {dest}")
    return EXIT_OK
