"""Folds come from row positions, so rows that cycle with the fold period confound the folds
with a column; the pass's fold states show it and a warning names the column. Data:
statsmodels' ``modechoice`` (210 travellers x 4 modes, rows cycling air, train, bus, car):
with 4 folds each held-out fold held one mode the training rows never saw (LDA log loss 0.77
against 0.47 for shuffled K-fold)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.datasets as smd

import statetune as st
from statetune.validation.fold_checks import FoldPeriodWarning


def _modechoice():
    df = smd.modechoice.load_pandas().data
    return df, df["choice"].to_numpy(int)


@pytest.mark.parametrize("algorithm", ["lda", "ridge_classifier", "gaussian_nb"])
def test_a_numeric_column_cycling_with_the_folds_is_named(algorithm):
    df, y = _modechoice()
    X = df[["mode", "ttme", "invc", "invt", "gc", "hinc", "psize"]].to_numpy(float)
    with pytest.warns(FoldPeriodWarning, match=r"'x0' take one value in each fold"):
        st.compute_states(st.from_arrays(X, y), [algorithm], folds=4)


def test_a_categorical_level_in_one_fold_is_named():
    df, _ = _modechoice()
    frame = df[["ttme", "invc", "hinc", "choice"]].assign(
        mode=df["mode"].map({1: "air", 2: "train", 3: "bus", 4: "car"})
    )
    with pytest.warns(FoldPeriodWarning, match=r"'mode=air'|'mode'"):
        st.compute_states(st.from_pandas(frame, target="choice"), ["ridge"], folds=4)


def test_folds_prime_to_the_cycle_or_shuffled_rows_give_no_warning():
    df, y = _modechoice()
    X = df[["mode", "ttme", "invc", "invt", "gc", "hinc", "psize"]].to_numpy(float)
    order = np.random.default_rng(0).permutation(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FoldPeriodWarning)
        st.compute_states(st.from_arrays(X, y), ["lda"], folds=5)
        st.compute_states(st.from_arrays(X[order], y[order]), ["lda"], folds=4)
