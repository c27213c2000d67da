"""Tables as scikit-learn's reference pipelines read them, for the tests that compare
statetune's table preprocessing with ``SimpleImputer`` + ``OneHotEncoder`` (shared by the
linear models' and kNN's table tests).

Example
-------
>>> import pandas as pd
>>> out = as_sklearn(pd.DataFrame({"c": pd.Categorical(["a", None])}), ["c"])
>>> out["c"].tolist()[0], out["c"].isna().tolist()
('a', [False, True])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["as_sklearn"]


def as_sklearn(df: pd.DataFrame, cats: Sequence[str]) -> pd.DataFrame:
    """The table as scikit-learn's encoder reads it: categories as objects, NaN missing."""
    out = df.copy()
    for c in cats:
        out[c] = out[c].astype(object).where(out[c].notna(), np.nan)
    return out
