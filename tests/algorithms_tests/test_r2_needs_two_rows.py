"""``r2`` on a held-out fold of one row is refused, naming the cause, by every regressor
(R^2 is undefined there: scikit-learn's ``r2_score`` warns and gives nan); scoring it 0.0
by the constant-target rule let a study on a small table rank trials on nothing.

Data: statsmodels' ``cpunish`` (17 US states): 10 folds leave folds of one row."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.datasets as smd
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

import statetune as st
from statetune.engine.folds import FoldConfig

ONE_ROW = r"`r2` needs 2 or more held-out rows.*the held-out fold has 1"


def _cpunish():
    df = smd.cpunish.load_pandas().data
    return df.drop(columns="EXECUTIONS").to_numpy(float), df["EXECUTIONS"].to_numpy(float)


@pytest.mark.parametrize("algorithm", ["ridge", "knn_regressor", "baseline"])
def test_a_fold_of_one_row_is_refused(algorithm):
    X, y = _cpunish()
    states = st.compute_states(st.from_arrays(X, y), [algorithm], folds=10)
    with pytest.raises(ValueError, match=ONE_ROW):
        states.fold_scores(algorithm, metric="r2")


def test_a_study_on_such_folds_fails_its_trials_with_the_reason():
    X, y = _cpunish()
    r = st.tune(st.from_arrays(X, y), ["ridge"], n_trials=3, cv=17, metric="r2", storage="memory")
    reasons = {t.user_attrs.get("fail_reason", "") for t in r.study.trials}
    assert len(reasons) == 1 and "needs 2 or more held-out rows" in reasons.pop()


def test_folds_of_two_rows_or_more_still_equal_scikit_learn():
    X, y = _cpunish()
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=5)
    fold = FoldConfig(5, 0).assign(0, len(y))
    want = [
        r2_score(
            y[fold == k], Ridge(alpha=1.0).fit(X[fold != k], y[fold != k]).predict(X[fold == k])
        )
        for k in range(5)
    ]
    got = states.fold_scores("ridge", {"alpha": 1.0}, metric="r2")
    np.testing.assert_allclose(got, want, rtol=1e-9)
