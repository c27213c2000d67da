"""Files of a directory or pattern are read in the natural order of their names (part-2
before part-10): a series split into numbered files and read without a time column was
out of order in plain string order, and its AR fit silently wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.datasets as smd
from statsmodels.tsa.ar_model import AutoReg

import statetune as st
from statetune.algorithms.autoregressive import DEFAULT_MAX_LAG
from statetune.data.files import expand_paths


def test_numbered_files_are_read_in_number_order(tmp_path):
    for i in (1, 2, 10, 11, 3):
        (tmp_path / f"part-{i}.csv").write_text("x,y\n1,2\n")
    names = [p.rsplit("/", 1)[-1] for p in expand_paths(tmp_path, ".csv")]
    assert names == ["part-1.csv", "part-2.csv", "part-3.csv", "part-10.csv", "part-11.csv"]
    pattern = [p.rsplit("/", 1)[-1] for p in expand_paths(str(tmp_path / "part-*.csv"), ".csv")]
    assert pattern == names
    given = [str(tmp_path / "part-10.csv"), str(tmp_path / "part-2.csv")]
    assert expand_paths(given, ".csv") == given  # files named one by one keep their order


def test_a_series_split_over_twelve_files_equals_statsmodels(tmp_path):
    y = smd.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()[:300]
    for i in range(12):
        frame = pd.DataFrame({"s": "sun", "y": y[i * 25 : (i + 1) * 25]})
        frame.to_csv(tmp_path / f"part-{i + 1}.csv", index=False)
    states = st.compute_states(
        st.from_csv(tmp_path, target="y", series="s"), ["autoregressive"], folds=3
    )
    model = st.finalize("autoregressive", states, p=2)
    # the state's rows have max_lag (8, the default) predecessors: statsmodels' hold_back
    ref = AutoReg(y, lags=2, trend="c", hold_back=DEFAULT_MAX_LAG).fit()
    np.testing.assert_allclose(model.coef_, ref.params[1:], rtol=1e-9)
