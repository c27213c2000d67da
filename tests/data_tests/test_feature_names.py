"""Feature names: a table's own columns are kept even when called ``x0 .. xN`` (only the
names a source makes up for an array are not), and ``predict`` checks the columns of a
DataFrame against the model's, naming the missing and extra ones or the changed order."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import statetune as st


def frame(names):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, len(names)))
    df = pd.DataFrame(X, columns=names)
    df["y"] = X @ np.arange(1.0, len(names) + 1) + 0.1 * rng.normal(size=200)
    df["label"] = np.where(df["y"] > 0, "hi", "lo")
    return df


@pytest.mark.parametrize("names", [["x0", "x1", "x2"], ["a", "b", "c"]])
def test_table_columns_keep_their_names_even_x0_to_xn(names, tmp_path):
    df = frame(names)
    states = st.compute_states(st.from_pandas(df.drop(columns="label"), target="y"), ["ridge"])
    model = states.finalize("ridge", {"alpha": 1.0})
    assert list(model.feature_names_in_) == names
    X = df[names]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X)  # no "X does not have valid feature names" warning
    with pytest.raises(ValueError, match=rf"lacks \['{names[2]}'\] and has extra \['z'\]"):
        model.predict(X.rename(columns={names[2]: "z"}))
    with pytest.raises(ValueError, match="must be in the order"):
        model.predict(X[names[::-1]])
    st.save_model(tmp_path, "ridge", states, {"alpha": 1.0})
    assert list(st.load_model(tmp_path).feature_names_in_) == names


def test_array_sources_make_up_names_a_model_does_not_keep(tmp_path):
    df = frame(["a", "b", "c"])
    states = st.compute_states(st.from_arrays(df[["a", "b", "c"]].to_numpy(), df["y"]), ["ridge"])
    model = states.finalize("ridge", {"alpha": 1.0})
    assert not hasattr(model, "feature_names_in_")
    st.save_model(tmp_path, "ridge", states, {"alpha": 1.0})
    loaded = st.load_model(tmp_path)
    assert not hasattr(loaded, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.predict(df[["a", "b", "c"]].to_numpy())
    restored = pickle.loads(pickle.dumps(states.schema))
    assert restored == states.schema and type(restored.features) is type(states.schema.features)


def test_classifier_predict_names_missing_and_extra_columns():
    df = frame(["x0", "x1", "x2"])
    states = st.compute_states(st.from_pandas(df.drop(columns="y"), target="label"), ["lda"])
    model = states.finalize("lda")
    assert list(model.feature_names_in_) == ["x0", "x1", "x2"]
    with pytest.raises(ValueError, match=r"(?s)unseen at fit time:.*x9.*missing:.*x1"):
        model.predict(df[["x0", "x2"]].assign(x9=1.0))
