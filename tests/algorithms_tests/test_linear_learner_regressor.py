"""linear_learner on a numeric target (``linear_learner_regressor``): a squared member against
scikit-learn's Ridge(alpha * n) on standardized features (real data: scikit-learn's diabetes,
statsmodels' fair and randhie; generated: features of very different scales, a target in the
millions, skewed), the merge law (count-weighted averaging), the name ``linear_learner``
resolved by the target, st.tune and validation on the held-out sample, and bad input named."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

import statetune as st
from statetune.algorithms import LinearLearnerRegressor, get_algorithm
from statetune.algorithms.registry import resolve_algorithm
from statetune.states import LinearBank, LinearRegressionBank, NonFiniteError


def _ridge_predictions(X, y, alpha):
    """The reference: scikit-learn's Ridge(alpha * n) on StandardScaler'd features."""
    Xs = StandardScaler().fit_transform(X)
    return Ridge(alpha=alpha * len(y)).fit(Xs, y).predict(Xs)


def _bank(X, y, epochs, w=None, **grid):
    """A bank that reads the rows ``epochs`` times (as the pass does)."""
    grid = {"loss": ["squared"], "eta0": [0.5], **grid}
    bank = LinearRegressionBank(X.shape[1], epochs=epochs, **grid)
    for epoch in range(epochs):
        if epoch:
            bank.next_epoch()
        bank.update(X, y, w)
    return bank


def _scaled(n, seed=0):
    """Generated: correlated features at scales 1e-3 .. 1e6 (one offset by 1e9), a target of
    mean 3e6 and standard deviation ~5e5."""
    rng = np.random.default_rng(seed)
    mix = np.array([[1, 0.5, 0, 0], [0, 1, 0.3, 0], [0, 0, 1, 0.2], [0, 0, 0, 1.0]])
    Z = rng.normal(size=(n, 4)) @ mix
    X = Z * [1e-3, 1.0, 1e4, 1e6] + [0.0, 1e9, -5e3, 0.0]
    y = 3e6 + 2e5 * (Z @ [1.0, -0.5, 0.25, 2.0]) + 1e5 * rng.normal(size=n)
    return X, y


def _skewed(n, seed=0):
    """Generated: log-normal features at scales 1, 1e3, 1e-2 and a skewed target in the
    millions."""
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(n, 3))
    X = np.exp(L) * [1.0, 1e3, 1e-2]
    y = 1e6 * np.exp(0.3 * L @ [1.0, 0.5, -0.5]) + 5e4 * rng.normal(size=n)
    return X, y


def _statsmodels(name, target):
    data = getattr(sm.datasets, name).load_pandas().data
    p = np.random.default_rng(0).permutation(len(data))  # fair is sorted by its target
    return data.drop(columns=target).to_numpy()[p], data[target].to_numpy(dtype=float)[p]


def _rms_gap(model, X, y, alpha):
    """RMS difference of the predictions from the reference's, in standard deviations of y."""
    return float(
        np.sqrt(np.mean((model.predict(X) - _ridge_predictions(X, y, alpha)) ** 2)) / y.std()
    )


def test_squared_member_approaches_ridge_on_diabetes():
    """scikit-learn's diabetes (correlated features): 100 epochs of the squared member are
    within 3% of a standard deviation of y from Ridge(alpha * n) (RMS over the rows) and
    within 0.005 of its R^2."""
    X, y = load_diabetes(return_X_y=True)
    bank = _bank(X, y, 100, alpha=[1e-4], batch_size=16)
    model = LinearLearnerRegressor.from_state(bank, alpha=1e-4)
    assert _rms_gap(model, X, y, 1e-4) < 0.03
    r2 = 1 - np.mean((y - _ridge_predictions(X, y, 1e-4)) ** 2) / y.var()
    assert model.score(X, y) == pytest.approx(r2, abs=0.005)


@pytest.mark.parametrize(
    ("data", "epochs", "tol"),
    [
        (lambda: _statsmodels("fair", "affairs"), 10, 0.01),
        (lambda: _statsmodels("randhie", "mdvis"), 3, 0.01),
        (lambda: _scaled(20_000), 3, 0.005),
        (lambda: _skewed(20_000), 3, 0.02),
    ],
    ids=["fair", "randhie", "scaled-target-in-millions", "skewed"],
)
def test_squared_member_matches_ridge_on_real_and_skewed_scales(data, epochs, tol):
    """statsmodels' fair (6,366 rows) and randhie (20,190), and generated rows with features
    from 1e-3 to 1e6 (offset 1e9) and a target in the millions: a few epochs with a tiny alpha
    predict within ``tol`` standard deviations of y (RMS) of Ridge(alpha * n); the intercept
    and coefficients are in the original units."""
    X, y = data()
    bank = _bank(X, y, epochs, alpha=[1e-6])
    model = LinearLearnerRegressor.from_state(bank, alpha=1e-6)
    assert _rms_gap(model, X, y, 1e-6) < tol
    np.testing.assert_allclose(model.predict(X), X @ model.coef_ + model.intercept_)


def test_other_losses_fit_and_huber_resists_outliers():
    """absolute and huber members fit clean rows; with 5% of the targets thrown 50 standard
    deviations off, absolute stays on the clean line, squared is pulled far away and huber
    in between (its threshold is one standard deviation of the contaminated target, which
    the outliers inflate), measured by R^2 on clean test rows."""
    X, y = _scaled(20_000)
    Xt, yt = _scaled(5_000, seed=1)
    rng = np.random.default_rng(2)
    dirty = y.copy()
    hit = rng.uniform(size=len(y)) < 0.05
    dirty[hit] += 50 * y.std()
    bank = _bank(X, dirty, 3, loss=["squared", "absolute", "huber"], alpha=[1e-6])
    clean = _bank(X, y, 3, loss=["squared", "absolute", "huber"], alpha=[1e-6])
    r2 = {lo: LinearLearnerRegressor.from_state(bank, loss=lo, alpha=1e-6).score(Xt, yt)
          for lo in ("squared", "absolute", "huber")}  # fmt: skip
    for lo in ("absolute", "huber"):
        assert LinearLearnerRegressor.from_state(clean, loss=lo, alpha=1e-6).score(Xt, yt) > 0.8
    assert r2["absolute"] > 0.9 and r2["huber"] > 0.5 > 0 > r2["squared"], r2


def test_merge_is_the_count_weighted_average_of_the_parts():
    """Banks trained (3 epochs) on disjoint partitions of unequal sizes and weights, each
    with its own shifts, merge in either order into the average of their coefficients and
    intercepts in raw units weighted by the sample weight each learned from (numpy on the
    parts' coefficients); the merged squared member is still close to Ridge on all rows."""
    X, y = _scaled(4_096)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=len(y))
    cuts = [0, 320, 2_560, 4_096]  # whole mini-batches of 32: nothing stays buffered
    parts = []
    for a, b in itertools.pairwise(cuts):
        parts.append(_bank(X[a:b], y[a:b], 3, w[a:b], loss=["squared", "huber"], alpha=[1e-6]))
    assert not any(p.n_pending for p in parts)
    merged, backwards = parts[0].copy(), parts[-1].copy()
    for p in parts[1:]:
        merged.merge(p)
    for p in parts[-2::-1]:
        backwards.merge(p)
    assert merged.allclose(backwards, rtol=1e-8) and merged.n_rows == len(y)
    weights = np.array([3 * w[a:b].sum() for a, b in itertools.pairwise(cuts)])
    for member in range(merged.n_members):
        for average in (True, False):
            Ws, bs = zip(*(p.coefficients(member, average) for p in parts), strict=True)
            W, b = merged.coefficients(member, average)
            np.testing.assert_allclose(W, np.einsum("p,pdc->dc", weights, Ws) / weights.sum())
            np.testing.assert_allclose(b, weights @ np.array(bs) / weights.sum(), rtol=1e-9)
    model = LinearLearnerRegressor.from_state(merged, alpha=1e-6)
    assert _rms_gap(model, X, y, 1e-6) < 0.05


def test_regressor_tunes_with_ridge_and_the_classifier_refuses_a_continuous_target():
    """``linear_learner`` stays the classifier (not an alias: 0/1 codes are a numeric target)
    and refuses a continuous target, pointing to a regressor; ``linear_learner_regressor``
    tunes with ridge on it, validation scores bank k on fold k's held-out sample rows (numpy),
    and the best model predicts in original units."""
    X, y = load_diabetes(return_X_y=True)
    src = st.from_arrays(X, y)
    assert resolve_algorithm("linear_learner", src.schema) == "linear_learner"
    with pytest.raises(ValueError, match="continuous target: tune a regressor instead"):
        st.compute_states(st.from_arrays(X, y / 7.0), ["linear_learner"], folds=3)
    grid = {"alpha": [1e-4, 1e-2], "eta0": [0.5], "epochs": 5}
    states = st.compute_states(
        src,
        ["ridge", "linear_learner_regressor"],
        folds=3,
        state_params={"linear_learner_regressor": grid},
    )
    slot, sample_slot = states.model_slot("linear_learner_regressor"), states.sample_slot()
    assert isinstance(states.total(slot), LinearRegressionBank) and states.total(slot).epoch == 5
    params = {"loss": "huber", "alpha": 1e-2, "eta0": 0.5}
    for k in range(3):
        model = LinearLearnerRegressor.from_state(states.train(slot, k).fold_view(None), **params)
        held = states.held_out(sample_slot, k)
        expect = np.sqrt(np.average((model.predict(held.X) - held.y) ** 2, weights=held.w))
        got, how = states.score_fold("linear_learner_regressor", params, "rmse", k)
        assert got == pytest.approx(expect) and "held-out sample" in how
    space = get_algorithm("linear_learner_regressor").search_space(states.total(slot))
    assert space["loss"].choices == ("squared", "absolute", "huber")
    result = st.tune(
        states, ["ridge", "linear_learner_regressor"], n_trials=12, cv=3, storage="memory"
    )
    counts = result.counts
    assert set(counts.index) == {"ridge", "linear_learner_regressor"}, counts
    assert counts.loc["linear_learner_regressor", "complete"] >= 1, counts
    tuned = st.tune(src, ["linear_learner_regressor"], n_trials=4, metric="r2", storage="memory")
    assert isinstance(tuned.best_model, LinearLearnerRegressor)
    assert tuned.best_model.score(X, y) > 0.4


def test_bad_input_is_named():
    X, y = load_diabetes(return_X_y=True)
    bad = y.copy()
    bad[7] = np.nan
    with pytest.raises(NonFiniteError, match="target must be finite, but holds nan at row 7"):
        LinearRegressionBank(10).update(X, bad)
    with pytest.raises(ValueError, match="grid must not be empty, but `alpha`"):
        st.compute_states(
            st.from_arrays(X, y),
            ["linear_learner_regressor"],
            state_params={"linear_learner_regressor": {"alpha": []}},
        )
    with pytest.raises(ValueError, match=r"`loss` must hold distinct values of \['squared', "):
        st.compute_states(
            st.from_arrays(X, y),
            ["linear_learner_regressor"],
            state_params={"linear_learner_regressor": {"loss": ["logistic"]}},
        )
    with pytest.raises(ValueError, match="`loss` must hold distinct values"):
        LinearRegressionBank(10, loss=["squared", "hinge"])
    with pytest.raises(TypeError, match="learns a numeric target, but `y` has dtype"):
        LinearRegressionBank(10).update(X, np.where(y > 140, "high", "low"))
    bank = _bank(X, y, 1, alpha=[1e-4])
    with pytest.raises(ValueError, match="must name a member of the bank's grid"):
        LinearLearnerRegressor.from_state(bank, loss="huber")
    with pytest.raises(TypeError, match="must be a LinearRegressionBank state"):
        LinearLearnerRegressor.from_state(LinearBank(10))
    with pytest.raises(ValueError, match="`metric` must be one every tuned algorithm can"):
        st.tune(
            st.from_arrays(X, y), ["linear_learner_regressor"], metric="accuracy", storage="memory"
        )


def test_anytime_and_scikit_learn_surface():
    """Rows still buffered take a last step when finalized (a stopped pass gives a model);
    fit / partial_fit work as scikit-learn's regressors (score is R^2)."""
    X, y = load_diabetes(return_X_y=True)
    bank = LinearRegressionBank(10, loss=["squared"], alpha=[1e-4], eta0=[0.5], batch_size=64)
    bank.update(X[:100], y[:100])
    assert bank.n_pending == 100 - 64
    model = LinearLearnerRegressor.from_state(bank)
    assert model.n_iter_ == 2 and bank.n_pending == 36  # the state is not changed
    from sklearn.metrics import r2_score

    fitted = LinearLearnerRegressor().fit(X, y)
    assert fitted.score(X, y) == pytest.approx(r2_score(y, fitted.predict(X)))
    partial = LinearLearnerRegressor().partial_fit(X[:200], y[:200]).partial_fit(X[200:], y[200:])
    np.testing.assert_allclose(partial.coef_, fitted.coef_, rtol=1e-12)


def test_parallel_pass_merges_partition_banks():
    """A pass on two threads (partitions merged by averaging, then a second epoch from the
    merged bank) counts every row once and its squared member is close to Ridge on all rows,
    for a target in the millions."""
    from statetune.engine import MODEL, PassOptions, Slot, run_pass
    from statetune.states.spec import StateSpec

    X, y = _scaled(8_000)
    bank = LinearRegressionBank(4, loss=["squared"], alpha=[1e-6], eta0=[0.5], epochs=2)
    slot = Slot(MODEL, StateSpec.for_state(bank))
    got = run_pass(st.from_arrays(X, y), [slot], 3, PassOptions(n_jobs=2))
    total = got.total(slot)
    assert total.n_rows == 8_000 and total.epoch == 2
    alone = run_pass(st.from_arrays(X, y), [slot], 3).total(slot)  # one partition, no merge
    assert not np.allclose(total.W, alone.W)  # the partitions' banks were averaged
    model = LinearLearnerRegressor.from_state(total, alpha=1e-6)
    assert _rms_gap(model, X, y, 1e-6) < 0.02


def test_batches_of_one_start_from_a_warmed_scaler():
    """With ``batch_size=1`` the first step waits for ``warmup_rows`` rows: scalers of two rows
    made steps of ``eta0 * dy / dx`` (a coefficient of -12.8 for 1, R^2 down to -8.5 after
    an epoch). Every member now fits as a batch of 32 does, against the least-squares fit."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=2000)
    best = LinearRegression().fit(X, y).score(X, y)
    bank = LinearRegressionBank(3, batch_size=1, loss=["squared"], alpha=[1e-5])
    bank.update(X, y)
    for eta0 in bank.eta0:
        for average in (True, False):
            model = LinearLearnerRegressor.from_state(
                bank, loss="squared", alpha=1e-5, eta0=eta0, average=average
            )
            assert model.score(X, y) > best - 0.1, (eta0, average)
    one = LinearRegressionBank(3)
    one.update(X[:1], y[:1])  # fewer rows than the warm-up: learned when finalized
    model = LinearLearnerRegressor.from_state(one, loss="squared", alpha=1e-4, eta0=0.2)
    assert model.predict(X[:1]) == pytest.approx(y[:1])


def test_fit_takes_hyperparameters_outside_the_default_grid():
    """``fit`` trains a bank of the model's own member, so GridSearchCV over any alpha scores
    every candidate (it scored two of three NaN when fit built the default grid)."""
    from sklearn.model_selection import GridSearchCV

    X, y = load_diabetes(return_X_y=True)
    search = GridSearchCV(
        LinearLearnerRegressor(), {"alpha": [1e-6, 0.1, 1.0]}, cv=3, error_score="raise"
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    model = LinearLearnerRegressor(alpha=0.1, eta0=0.3, loss="huber").fit(X, y)
    bank = LinearRegressionBank(10, loss=["huber"], alpha=[0.1], eta0=[0.3])
    bank.update(X, y)
    same = LinearLearnerRegressor.from_state(bank, loss="huber", alpha=0.1, eta0=0.3)
    np.testing.assert_array_equal(model.coef_, same.coef_)


def test_classifier_on_a_many_valued_integer_target_points_to_the_regressor():
    """diabetes' target is integer-valued, so the classifier takes it as ~200 classes (as
    scikit-learn would); a held-out value never seen is named with a short class list and
    the regressor's name (the message listed every class before)."""
    from statetune.algorithms import LinearLearner

    X, y = load_diabetes(return_X_y=True)
    model = LinearLearner().fit(X[:300], y[:300])
    unseen = np.flatnonzero(~np.isin(y[300:], y[:300]))[0]
    with pytest.raises(
        ValueError, match=r"\(\d+ classes: \[25\.0, .*tune linear_learner_regressor"
    ):
        model.check_labels(y[300:][unseen : unseen + 1])


def test_regression_bank_saves_no_score_sketch_and_loads_only_as_itself():
    """The regression bank keeps no held-out score sketch (it allocated and saved 1.5 MB of
    zeros per 5-fold state); its arrays round-trip, and the classifier's loader refuses them
    naming the kind (it reported two equal shapes)."""
    X, y = load_diabetes(return_X_y=True)
    states = st.compute_states(st.from_arrays(X, y), ["linear_learner_regressor"], folds=5)
    bank = states.total(states.model_slot("linear_learner_regressor"))
    header, arrays = bank.to_arrays()
    assert arrays["score_hist"].size == 0
    again = LinearRegressionBank.from_arrays(header, arrays)
    assert again.allclose(bank)
    with pytest.raises(ValueError, match="needs a 'linear_bank' state, but the header is of a "):
        LinearBank.from_arrays(header, arrays)
