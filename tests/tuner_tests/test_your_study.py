"""Issue 11, "The study": pruning never hides an algorithm; your own study, sampler, pruner,
timeout and callbacks; ``st.objective`` in your own ``study.optimize``; GridSampler over an
exhausted grid; stable parameter names; Optuna's logging left alone; metrics checked before
any trial; readable study names; two processes opening one new study at once.

Scores are checked against scikit-learn on the folds the pass assigns (tests.fold_rule).
"""

from __future__ import annotations

import json
import logging
import time
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import Ridge

import statetune as st
from statetune.algorithms import get_algorithm
from statetune.testing import make_regression_data
from tests.fold_rule import reference_folds

CLASSIFIERS = ["lda", "qda", "gaussian_nb", "ridge_classifier"]


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def diabetes_states(diabetes):
    X, y = diabetes
    return st.compute_states(st.from_arrays(X, y), ["ridge", "lasso"], folds=3)


@pytest.fixture(scope="module")
def wine_states():
    X, y = load_wine(return_X_y=True)
    return st.compute_states(st.from_arrays(X, y), CLASSIFIERS, folds=5, metrics=["accuracy"])


def sklearn_ridge_cv_mse(X, y, alpha, fit_intercept, cv=3, seed=0):
    """Mean held-out MSE of scikit-learn's Ridge over the folds the pass assigns."""
    fold = reference_folds(cv, seed, 0, len(y))
    scores = []
    for k in range(cv):
        model = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X[fold != k], y[fold != k])
        scores.append(np.mean((model.predict(X[fold == k]) - y[fold == k]) ** 2))
    return scores


class AlwaysPrune(optuna.pruners.BasePruner):
    def __init__(self, algorithm=None):
        self.algorithm = algorithm

    def prune(self, study, trial):
        return self.algorithm is None or trial.params.get("algorithm") == self.algorithm


# -- 1. pruning never hides an algorithm ------------------------------------------------------


def test_default_prunes_no_cheap_fold_and_every_algorithm_has_a_complete_trial(wine_states):
    r = st.tune(wine_states, CLASSIFIERS, n_trials=60, cv=5, metric="accuracy", storage="memory")
    assert (r.trials["state"] != "PRUNED").all()
    counts = r.counts
    assert list(counts.index) == CLASSIFIERS
    assert (counts["complete"] >= 1).all() and (counts["pruned"] == 0).all()
    assert counts["trials"].sum() == 60
    done = r.trials[r.trials["state"] == "COMPLETE"]
    for alg in CLASSIFIERS:  # the best per algorithm is the best of its complete trials
        assert counts.loc[alg, "best"] == done.loc[done["algorithm"] == alg, "value"].max()
    lines = r.summary().splitlines()
    for alg in CLASSIFIERS:
        (row,) = [line for line in lines if line.startswith(alg + " ")]
        assert f"{counts.loc[alg, 'best']:.6g}" in row and "nan" not in row


def test_summary_names_an_algorithm_without_complete_trial_and_counts_its_pruned(
    diabetes_states,
):
    r = st.tune(
        diabetes_states,
        ["ridge", "lasso"],
        n_trials=20,
        cv=3,
        storage="memory",
        pruner=AlwaysPrune("lasso"),
    )
    counts = r.counts
    n_lasso = int((r.trials["algorithm"] == "lasso").sum())
    assert n_lasso > 0
    assert counts.loc["lasso", "pruned"] == n_lasso and counts.loc["lasso", "complete"] == 0
    assert np.isnan(counts.loc["lasso", "best"])
    (row,) = [line for line in r.summary().splitlines() if line.startswith("lasso ")]
    assert "no complete trial" in row and "nan" not in row
    assert row.split()[1:4] == [str(n_lasso), "0", str(n_lasso)]  # trials, complete, pruned


def test_expensive_folds_turn_on_a_median_pruner_within_each_algorithm(monkeypatch, wine_states):
    from statetune.tuner import pruning

    monkeypatch.setattr(pruning, "PRUNE_MIN_FOLD_SECONDS", 0.0)  # every fold "expensive"
    r = st.tune(wine_states, CLASSIFIERS, n_trials=80, cv=5, metric="accuracy", storage="memory")
    counts = r.counts
    # each algorithm's first STARTUP_TRIALS complete trials are never pruned
    expect = np.minimum(counts["trials"], pruning.STARTUP_TRIALS)
    assert (counts["complete"] >= expect).all()
    assert counts["pruned"].sum() > 0  # and pruning did run


def test_the_pruning_decision_is_recorded_and_kept_by_a_resumed_study(
    monkeypatch, tmp_path, diabetes_states
):
    from statetune.tuner import pruning

    run = dict(cv=3, cache_dir=tmp_path, study_name="kept")
    monkeypatch.setattr(pruning, "PRUNE_MIN_FOLD_SECONDS", 0.0)
    first = st.tune(diabetes_states, ["ridge", "lasso"], n_trials=6, **run)
    assert first.study.user_attrs[pruning.DECISION_ATTR] == "median within each algorithm"
    monkeypatch.setattr(pruning, "PRUNE_MIN_FOLD_SECONDS", 1e9)  # would never prune now
    again = st.tune(diabetes_states, ["ridge", "lasso"], n_trials=10, **run)
    new = again.study.trials[6:]
    assert len(new) == 4 and all(t.intermediate_values for t in new)  # reported: pruning on
    assert again.study.user_attrs[pruning.DECISION_ATTR] == "median within each algorithm"

    monkeypatch.setattr(pruning, "PRUNE_MIN_FOLD_SECONDS", 0.2)  # the default: cheap folds
    fresh = st.tune(diabetes_states, ["ridge"], n_trials=3, cv=3, cache_dir=tmp_path)
    assert fresh.study.user_attrs[pruning.DECISION_ATTR] == "none"
    assert not any(t.intermediate_values for t in fresh.study.trials)  # no report writes


# -- 2. your own study, sampler, pruner, timeout, callbacks ----------------------------------


class CountingSampler(optuna.samplers.RandomSampler):
    def __init__(self, seed):
        super().__init__(seed=seed)
        self.calls = 0

    def sample_independent(self, *args, **kwargs):
        self.calls += 1
        return super().sample_independent(*args, **kwargs)


def test_tune_runs_in_your_study_with_its_sampler_pruner_and_storage(tmp_path, diabetes):
    X, y = diabetes
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "mine.log"))
    )
    sampler = CountingSampler(seed=3)
    study = optuna.create_study(study_name="mine", storage=storage, sampler=sampler)
    r = st.tune(st.from_arrays(X, y), ["ridge", "lasso"], n_trials=12, cv=3, study=study)
    assert r.study.study_name == "mine" and sampler.calls >= 12
    assert len(study.trials) == 12  # in the user's storage, seen through the user's object
    # values are scikit-learn's on the same folds (Optuna's default pruner may prune some)
    for t in study.trials:
        if t.params["algorithm"] == "ridge" and t.state.name == "COMPLETE":
            ref = sklearn_ridge_cv_mse(
                X, y, t.params["ridge:alpha"], t.params["ridge:fit_intercept"]
            )
            assert t.value == pytest.approx(np.mean(ref), rel=1e-8)
    again = st.tune(st.from_arrays(X, y), ["ridge", "lasso"], n_trials=12, cv=3, study=study)
    assert again.n_new_trials == 0  # the same identity: resumed, nothing left to run

    pruned_study = optuna.create_study(pruner=AlwaysPrune())
    r = st.tune(st.from_arrays(X, y), ["ridge"], n_trials=4, cv=3, study=pruned_study)
    assert (r.trials["state"] == "PRUNED").all() and r.counts.loc["ridge", "pruned"] == 4


def test_your_study_must_have_the_metrics_direction_and_bring_its_own_settings(
    diabetes_states,
):
    with pytest.raises(ValueError, match=r"metric 'r2' wants \(maximize\).*is set to minimize"):
        st.tune(diabetes_states, ["ridge"], 2, 3, "r2", study=optuna.create_study())
    with pytest.raises(ValueError, match=r"metric 'rmse' wants \(minimize\).*set to maximize"):
        st.tune(
            diabetes_states,
            ["ridge"],
            2,
            3,
            "rmse",
            study=optuna.create_study(direction="maximize"),
        )
    with pytest.raises(ValueError, match=r"storage.*must be left unset.*storage='memory'"):
        st.tune(diabetes_states, ["ridge"], 2, 3, study=optuna.create_study(), storage="memory")


def test_callbacks_see_every_told_trial_and_may_stop_the_study(diabetes_states):
    seen = []

    def record(study, trial):
        seen.append((trial.number, trial.state.name, trial.value))

    def stop_at_five(study, trial):
        if trial.number == 4:
            study.stop()

    r = st.tune(
        diabetes_states,
        ["ridge", "lasso"],
        n_trials=20,
        cv=3,
        storage="memory",
        callbacks=[record, stop_at_five],
    )
    assert len(r.study.trials) == 5
    assert seen == [(t.number, t.state.name, t.value) for t in r.study.trials]


def test_timeout_stops_asking_new_trials(diabetes_states):
    def slow(study, trial):
        time.sleep(0.1)

    t = time.perf_counter()
    r = st.tune(
        diabetes_states,
        ["ridge"],
        n_trials=None,
        cv=3,
        storage="memory",
        timeout=0.5,
        callbacks=[slow],
    )
    took = time.perf_counter() - t
    assert 3 <= len(r.study.trials) <= 7 and took < 3.0
    with pytest.raises(ValueError, match="`n_trials` may be None only with a `timeout`"):
        st.tune(diabetes_states, ["ridge"], n_trials=None, cv=3, storage="memory")


def test_gc_after_trial_collects_after_every_trial(monkeypatch, diabetes_states):
    import gc

    collected = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1))
    r = st.tune(diabetes_states, ["ridge"], n_trials=4, cv=3, storage="memory", gc_after_trial=True)
    assert len(r.study.trials) == len(collected) == 4


# -- st.objective in your own study.optimize -------------------------------------------------


def test_objective_in_your_own_study_optimize_matches_scikit_learn(diabetes, diabetes_states):
    X, y = diabetes
    obj = st.objective(diabetes_states, ["ridge", "lasso"], metric="mse")
    assert obj.direction == "minimize"
    study = optuna.create_study(
        direction=obj.direction,
        sampler=optuna.samplers.TPESampler(seed=1),
        pruner=optuna.pruners.NopPruner(),
    )
    study.optimize(obj, n_trials=15)
    states = [(t.state.name, t.user_attrs.get("fail_reason")) for t in study.trials]
    assert states == [("COMPLETE", None)] * 15
    ridge = [t for t in study.trials if t.params["algorithm"] == "ridge"]
    assert ridge
    for t in ridge:
        ref = sklearn_ridge_cv_mse(X, y, t.params["ridge:alpha"], t.params["ridge:fit_intercept"])
        assert t.user_attrs["fold_scores"] == pytest.approx(ref, rel=1e-8)
        assert t.value == pytest.approx(np.mean(ref), rel=1e-8)
    r = obj.result(study)
    assert r.best_value == study.best_value and r.best_algorithm == study.best_params["algorithm"]

    pruned = optuna.create_study(direction="minimize", pruner=AlwaysPrune())
    pruned.optimize(obj, n_trials=3)
    assert [t.state.name for t in pruned.trials] == ["PRUNED"] * 3


def test_objective_records_a_failed_trial_and_the_study_goes_on():
    X, y, _ = make_regression_data(500, 3)
    X = np.column_stack([X, X[:, 0] - X[:, 1]])  # singular X^T X
    states = st.compute_states(st.from_arrays(X, y), ["ridge"], folds=3)
    space = {"ridge": {"alpha": optuna.distributions.CategoricalDistribution([0.0, 1.0])}}
    obj = st.objective(states, ["ridge"], search_space=space)
    study = optuna.create_study(direction=obj.direction)
    study.enqueue_trial({"algorithm": "ridge", "ridge:alpha": 0.0, "ridge:fit_intercept": True})
    study.enqueue_trial({"algorithm": "ridge", "ridge:alpha": 1.0, "ridge:fit_intercept": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(obj, n_trials=2)
    first, second = study.trials
    assert first.state.name == "FAIL" and "singular" in first.user_attrs["fail_reason"]
    assert second.state.name == "COMPLETE"


# -- GridSampler, stable names, enqueue_trial ------------------------------------------------


GRID = {
    "algorithm": ["ridge", "lasso"],
    "ridge:alpha": [0.1, 10.0],
    "ridge:fit_intercept": [True],
    "lasso:alpha": [0.01],
    "lasso:fit_intercept": [True],
}  # 2 x 2 grid points: ridge at two alphas, lasso at one (twice)


@pytest.mark.parametrize(
    ("n_trials", "n_jobs", "how"),
    [(4, 1, "study"), (10, 1, "study"), (10, 2, "study"), (None, 1, "study"), (10, 1, "sampler")],
)
def test_grid_sampler_over_an_exhausted_grid_stops_and_keeps_every_result(
    diabetes_states, n_trials, n_jobs, how
):
    """optuna#5141: in ask/tell mode GridSampler calls Study.stop on the last grid point,
    which raises outside study.optimize; and asking past the grid re-runs grid points."""
    grid = optuna.samplers.GridSampler(GRID, seed=0)
    mine = optuna.create_study(sampler=grid) if how == "study" else None
    extra = {"study": mine} if how == "study" else {"sampler": grid, "storage": "memory"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "re-evaluating a configuration" of a done grid
        r = st.tune(diabetes_states, ["ridge", "lasso"], n_trials, 3, "mse", n_jobs=n_jobs, **extra)
    trials = r.study.trials
    assert len(trials) == 4 and r.n_new_trials == 4
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert sorted(t.system_attrs["grid_id"] for t in trials) == [0, 1, 2, 3]
    ridge = sorted(t.params["ridge:alpha"] for t in trials if t.params["algorithm"] == "ridge")
    assert ridge == [0.1, 10.0]
    assert grid.is_exhausted(r.study)


def test_parameter_names_are_the_same_with_one_algorithm_or_several(diabetes_states):
    point = {"algorithm": "ridge", "ridge:alpha": 0.5, "ridge:fit_intercept": False}
    for algorithms in (["ridge"], ["ridge", "lasso"]):
        study = optuna.create_study()
        study.enqueue_trial(point)
        r = st.tune(diabetes_states, algorithms, n_trials=3, cv=3, study=study)
        assert r.study.trials[0].params == point
        assert r.best_trial.params.keys() >= {"algorithm"}
        assert all(
            set(t.params) == set(point) for t in r.study.trials if "ridge" == t.params["algorithm"]
        )
        assert {"ridge:alpha", "ridge:fit_intercept"} <= set(r.trials.columns)


@pytest.mark.parametrize("level", [optuna.logging.DEBUG, optuna.logging.INFO])
def test_tune_leaves_optunas_logging_verbosity_alone(diabetes_states, level):
    before = optuna.logging.get_verbosity()
    try:
        optuna.logging.set_verbosity(level)
        st.tune(diabetes_states, ["ridge"], n_trials=2, cv=3, storage="memory")
        assert optuna.logging.get_verbosity() == level
        assert not logging.getLogger("optuna.study.study").filters  # the quiet filter is gone
    finally:
        optuna.logging.set_verbosity(before)


# -- 3. metrics checked before any work ------------------------------------------------------


def test_roc_auc_of_a_three_class_target_is_refused_before_any_trial(tmp_path):
    X, y = load_wine(return_X_y=True)
    with pytest.raises(
        ValueError, match=r"`metric='roc_auc'` needs a binary target.*3 classes"
    ) as e:
        st.tune(
            st.from_arrays(X, y),
            ["lda", "gaussian_nb"],
            n_trials=5,
            cv=3,
            metric="roc_auc",
            cache_dir=tmp_path,
        )
    message = str(e.value)
    offered = [m for m in get_algorithm("lda").metrics if m != "roc_auc"]
    assert all(m in message for m in offered)
    if "roc_auc_ovr" in offered:  # one-vs-rest AUC, where registered, is named first
        assert message.index("roc_auc_ovr") < message.index("accuracy")
    journal = optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna_journal.log"))
    assert optuna.get_all_study_names(optuna.storages.JournalStorage(journal)) == []
    states = st.compute_states(st.from_arrays(X, y), ["lda"], folds=3)
    with pytest.raises(ValueError, match="needs a binary target"):
        st.objective(states, ["lda"], metric="roc_auc")
    # a binary target is fine
    binary = st.compute_states(st.from_arrays(X, y == 0), ["lda"], folds=3, metrics=["roc_auc"])
    assert st.objective(binary, ["lda"], metric="roc_auc").direction == "maximize"


def test_when_every_trial_fails_the_reasons_reach_the_user(tmp_path):
    X, y, _ = make_regression_data(300, 3)
    X = np.column_stack([X, X[:, 0] - X[:, 1]])  # singular X^T X: alpha=0 cannot be solved
    space = {
        "ridge": {
            "alpha": optuna.distributions.CategoricalDistribution([0.0]),
            "fit_intercept": optuna.distributions.CategoricalDistribution([False]),
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.tune(
            st.from_arrays(X, y), ["ridge"], n_trials=4, cv=3, storage="memory", search_space=space
        )
    assert (r.trials["state"] == "FAIL").all()
    reasons = r.fail_reasons
    assert len(reasons) >= 1 and sum(n for _, n in reasons) == 4
    assert "singular" in reasons[0][0]
    with pytest.raises(
        ValueError, match=r"every trial failed.*First distinct fail reasons: .*singular"
    ):
        print(r.best_value)
    assert "no complete trial" in r.summary() and "singular" in r.summary()
    with pytest.raises(ValueError, match="First distinct fail reasons"):
        r.save(tmp_path / "out")
    written = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert written["fail_reason"].str.contains("singular").all() and len(written) == 4
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["fail_reasons"][0]["reason"] == reasons[0][0]
    assert summary["per_algorithm"]["ridge"]["failed"] == 4
    assert summary["per_algorithm"]["ridge"]["best"] is None


# -- 4. readable study names -----------------------------------------------------------------


def test_default_study_name_is_readable_and_a_rerun_resumes_it(tmp_path, diabetes):
    X, y = diabetes
    first = st.tune(st.from_arrays(X, y), ["ridge", "lasso"], 5, 3, "rmse", cache_dir=tmp_path)
    name = first.study.study_name
    assert name.startswith("ridge+lasso-rmse-") and len(name) == len("ridge+lasso-rmse-") + 12
    again = st.tune(st.from_arrays(X, y), ["ridge", "lasso"], 8, 3, "rmse", cache_dir=tmp_path)
    assert again.study.study_name == name and again.n_new_trials == 3
    other = st.tune(st.from_arrays(X, y), ["ridge", "lasso"], 2, 3, "mse", cache_dir=tmp_path)
    assert other.study.study_name.startswith("ridge+lasso-mse-")


# -- 5. two processes opening one new study at once ------------------------------------------


def test_a_study_created_but_not_yet_stamped_by_another_process_is_joined(tmp_path, diabetes):
    """The window of the race: another process created the study and has not yet written
    its identity record (two storage writes). Joining it must not be refused."""
    X, y = diabetes
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna_journal.log"))
    )
    optuna.create_study(study_name="shared", storage=storage)  # created, no record yet
    r = st.tune(
        st.from_arrays(X, y), ["ridge"], n_trials=3, cv=3, cache_dir=tmp_path, study_name="shared"
    )
    assert r.n_new_trials == 3
    again = st.tune(
        st.from_arrays(X, y), ["ridge"], n_trials=5, cv=3, cache_dir=tmp_path, study_name="shared"
    )
    assert again.n_new_trials == 2  # the record written by the first run is this identity's
