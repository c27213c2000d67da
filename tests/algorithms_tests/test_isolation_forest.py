"""``isolation_forest``: scikit-learn's IsolationForest fitted on a per-fold uniform sample,
checked against scikit-learn fitted on the same rows; the held-out metrics against
scikit-learn's metrics and the analytic excess-mass and mass-volume curves of a normal law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.ensemble import IsolationForest as SkIsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

import statetune as st
from statetune.algorithms import IntParam, get_algorithm
from statetune.algorithms._anomaly_metrics import excess_mass, mass_volume
from statetune.algorithms.isolation_forest import IsolationForest
from statetune.cli import main
from statetune.states import Reservoir


def _planted(n=3_000, n_out=60, d=3, seed=0):
    """Gaussian rows with uniform outliers planted in a wide box (label 1), shuffled."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n, d)), rng.uniform(-8, 8, size=(n_out, d))])
    y = np.r_[np.zeros(n), np.ones(n_out)].astype(np.int64)
    perm = rng.permutation(len(X))
    return X[perm], y[perm]


@pytest.mark.parametrize("weighted", [False, True])
def test_finalized_forest_equals_sklearn_fitted_on_the_sample_rows(weighted):
    X, _ = _planted()
    w = np.random.default_rng(1).integers(1, 4, len(X)).astype(float) if weighted else None
    state = Reservoir(3, has_target=False, size=700, seed=5)
    for a, b in [(0, 1000), (1000, 1001), (1001, len(X))]:
        state.update(X[a:b], None, None if w is None else w[a:b], np.arange(a, b))
    params = dict(n_estimators=40, max_samples=100, max_features=0.7, contamination=0.03)
    ours = get_algorithm("isolation_forest").finalize(state, {**params, "random_state": 7})
    rows = np.sort(state.positions)  # the sampled rows, in the data's order
    assert len(rows) == 700
    ref = SkIsolationForest(**params, random_state=7)
    ref.fit(X[rows], sample_weight=None if w is None else w[rows])
    np.testing.assert_array_equal(ours.score_samples(X), ref.score_samples(X))
    np.testing.assert_array_equal(ours.decision_function(X), ref.decision_function(X))
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.offset_ == ref.offset_ and ours.max_samples_ == 100
    # a sample holding every row is scikit-learn's forest of all rows
    whole = Reservoir(3, has_target=False, size=10_000)
    whole.update(X)
    full = IsolationForest.from_state(whole, n_estimators=30, random_state=3)
    sk = SkIsolationForest(n_estimators=30, random_state=3).fit(X)
    np.testing.assert_array_equal(full.score_samples(X), sk.score_samples(X))


def test_mass_volume_and_excess_mass_match_the_normal_laws_curves():
    """For 1-D standard normal rows scored by the true density, MV(alpha) is the length of
    [-z, z] with mass alpha and EM(t) = max_r (2 Phi(r) - 1 - 2 r t): compare the areas
    (volumes as fractions of the box [min, max] of the rows) with scipy's normal law."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 1))
    lo, hi = X.min(), X.max()
    box = hi - lo
    U = rng.uniform(lo, hi, size=(200_000, 1))
    s = lambda Z: stats.norm.pdf(Z[:, 0])  # noqa: E731
    alphas = np.linspace(0.9, 0.999, 2_000)
    mv_exact = np.trapezoid(2 * stats.norm.ppf((1 + alphas) / 2) / box, alphas)
    assert mass_volume(s(X), s(U)) == pytest.approx(mv_exact, rel=0.01)
    t = np.linspace(1e-9, 1 / np.sqrt(2 * np.pi), 20_000)  # t in density units
    r = np.sqrt(-2 * np.log(t * np.sqrt(2 * np.pi)))  # phi(r) = t
    em = 2 * stats.norm.cdf(r) - 1 - 2 * r * t
    end = t[np.argmax(em <= 0.9)]
    keep = t <= end
    em_exact = np.trapezoid(em[keep], t[keep]) * box  # t as a multiple of 1 / box
    assert excess_mass(s(X), s(U)) == pytest.approx(em_exact, rel=0.01)
    # a scoring that ranks rows against the density is worse on both
    assert mass_volume(-s(X), -s(U)) > 2 * mass_volume(s(X), s(U))
    assert excess_mass(-s(X), -s(U)) < excess_mass(s(X), s(U))


def test_held_out_metrics_are_sklearn_metrics_on_the_held_out_sample_rows():
    X, y = _planted(seed=2)
    states = st.compute_states(st.from_arrays(X, y), ["isolation_forest"], folds=3, seed=4)
    params = {"n_estimators": 40, "max_samples": 128}
    slot = states.sample_slot()
    for k in range(3):
        model = get_algorithm("isolation_forest").finalize(
            states.train(states.model_slot("isolation_forest"), k), params
        )
        held = states.held_out(slot, k)
        anomaly = -SkIsolationForest.score_samples(model, held.X)
        auc, _ = states.score_fold("isolation_forest", params, "roc_auc", k)
        ap, _ = states.score_fold("isolation_forest", params, "average_precision", k)
        assert auc == pytest.approx(roc_auc_score(held.y, anomaly), abs=1e-12)
        assert ap == pytest.approx(average_precision_score(held.y, anomaly), abs=1e-12)
        assert auc > 0.95


def test_tune_labeled_and_unlabeled_then_model_file_round_trip(tmp_path):
    X, y = _planted(seed=3)
    space = {"isolation_forest": {"n_estimators": IntParam(20, 40)}}
    kw = dict(n_trials=3, cv=3, storage="memory", search_space=space)
    labeled = st.tune(st.from_arrays(X, y), ["isolation_forest"], metric="roc_auc", **kw)
    assert labeled.metric == "roc_auc" and labeled.best_value > 0.95
    unlabeled = st.tune(st.from_arrays(X), ["isolation_forest"], **kw)
    assert unlabeled.metric == "em" and np.isfinite(unlabeled.best_value)
    mv = st.tune(st.from_arrays(X), ["isolation_forest"], metric="mv", **kw)
    assert mv.metric == "mv" and not mv.maximize
    model = unlabeled.best_model
    folder = unlabeled.save(tmp_path / "out")
    back = st.load_model(folder / "best_model")
    np.testing.assert_array_equal(back.score_samples(X), model.score_samples(X))
    # the tuned forest ranks the planted outliers first
    assert roc_auc_score(y, back.anomaly_score(X)) > 0.95


def test_cli_tune_anomaly_then_predict_writes_anomaly_scores(tmp_path, capsys):
    X, y = _planted(seed=4)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    path = tmp_path / "rows.parquet"
    df.to_parquet(path, index=False)
    out = tmp_path / "res"
    argv = ["tune", str(path), "--task", "anomaly", "--trials", "2", "--cv", "2"]
    argv += ["--storage", "memory", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    assert "task: anomaly; algorithms: isolation_forest" in capsys.readouterr().out
    pred = tmp_path / "scores.csv"
    assert main(["predict", str(out / "best_model"), str(path), "--out", str(pred)]) == 0
    got = pd.read_csv(pred)
    model = st.load_model(out / "best_model")
    np.testing.assert_allclose(got["anomaly_score"], -model.score_samples(df), rtol=1e-12)
    np.testing.assert_array_equal(got["prediction"], model.predict(df))
    assert roc_auc_score(y, got["anomaly_score"]) > 0.95


def test_bad_input_is_named():
    X, y = _planted(n=500, n_out=10)
    state = Reservoir(3, has_target=False, size=200)
    state.update(X)
    alg = get_algorithm("isolation_forest")
    with pytest.raises(ValueError, match=r"max_samples <= rows in the sample.*max_samples=500"):
        alg.finalize(state, {"max_samples": 500})
    for c in (0.0, 0.6, -0.1):
        with pytest.raises(ValueError, match=r"contamination.*\(0, 0.5\]"):
            alg.finalize(state, {"contamination": c})
    with pytest.raises(ValueError, match="empty"):
        alg.finalize(Reservoir(3, has_target=False), {})
    kw = dict(n_trials=1, cv=2, storage="memory")
    with pytest.raises(ValueError, match=r"needs a label column.*use a metric of the scores"):
        st.tune(st.from_arrays(X), ["isolation_forest"], metric="roc_auc", **kw)
    with pytest.raises(ValueError, match=r"binary label column.*\[0(\.0)?, 2(\.0)?\]"):
        st.tune(st.from_arrays(X, 2 * y), ["isolation_forest"], metric="average_precision", **kw)
