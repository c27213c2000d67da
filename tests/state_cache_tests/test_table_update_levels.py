"""Updating a table's states with new rows that hold fewer levels (or fewer missing values)
than the first rows reads them through the states' encoding: the result equals one pass over
all the rows. Rows with a level, or a missing value, the first rows lacked are still refused.
Data: statsmodels' ``grunfeld`` (11 firms x 20 years), shuffled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.datasets as smd

import statetune as st


def _grunfeld() -> pd.DataFrame:
    g = smd.grunfeld.load_pandas().data.drop(columns="year")
    return g.sample(frac=1, random_state=0).reset_index(drop=True)


def _split():
    g = _grunfeld()
    old, new = g.iloc[:200], g.iloc[200:].copy()
    new = new[new["firm"] != "Union Oil"]  # the new rows lack a firm the first rows hold
    assert set(new["firm"]) < set(old["firm"])
    return g, old, new


def test_new_rows_with_fewer_levels_equal_one_pass_over_all_rows():
    _, old, new = _split()
    states = st.compute_states(st.from_pandas(old, target="invest"), ["ridge"], folds=5)
    updated = st.update(states, st.from_pandas(new, target="invest"))
    whole = st.compute_states(
        st.from_pandas(pd.concat([old, new], ignore_index=True), target="invest"),
        ["ridge"],
        folds=5,
    )
    assert updated.n_rows == whole.n_rows == len(old) + len(new)
    for k in range(5):
        np.testing.assert_allclose(
            updated.fold_scores("ridge", {"alpha": 1.0}, metric="mse")[k],
            whole.fold_scores("ridge", {"alpha": 1.0}, metric="mse")[k],
            rtol=1e-9,
        )
    a = st.finalize("ridge", updated, alpha=1.0)
    b = st.finalize("ridge", whole, alpha=1.0)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9)


def test_through_a_cache_too(tmp_path):
    _, old, new = _split()
    cache = st.StateCache(tmp_path)
    first = st.compute_states(st.from_pandas(old, target="invest"), ["ridge"], folds=5, cache=cache)
    updated = st.update(first, st.from_pandas(new, target="invest"), cache=cache)
    whole = st.compute_states(
        st.from_pandas(pd.concat([old, new], ignore_index=True), target="invest"),
        ["ridge"],
        folds=5,
    )
    assert updated.n_rows == len(old) + len(new)
    np.testing.assert_allclose(
        st.finalize("ridge", updated, alpha=1.0).coef_,
        st.finalize("ridge", whole, alpha=1.0).coef_,
        rtol=1e-9,
    )


@pytest.mark.parametrize("what", ["a new level", "a new missing value"])
def test_what_the_first_rows_lacked_is_still_refused(what):
    _, old, new = _split()
    if what == "a new level":
        new.loc[new.index[0], "firm"] = "Acme"
    else:
        new.loc[new.index[0], "value"] = np.nan
    states = st.compute_states(st.from_pandas(old, target="invest"), ["ridge"], folds=5)
    with pytest.raises(ValueError, match=r"levels and columns with missing values"):
        st.update(states, st.from_pandas(new, target="invest"))


def test_the_new_rows_are_hashed_once(tmp_path, monkeypatch):
    """Read through the states' encoding, the new rows keep their one fingerprint (a hash of
    every row): the cache's update hashed them twice, once per source object."""
    import statetune.data.tables as tables

    _, old, new = _split()
    cache = st.StateCache(tmp_path)
    first = st.compute_states(st.from_pandas(old, target="invest"), ["ridge"], folds=5, cache=cache)
    hashed: list[int] = []
    real = tables.TableSource._fingerprint

    def counted(self):
        hashed.append(1)
        return real(self)

    monkeypatch.setattr(tables.TableSource, "_fingerprint", counted)
    st.update(first, st.from_pandas(new, target="invest"), cache=cache)
    assert len(hashed) == 1
