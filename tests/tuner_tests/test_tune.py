"""st.tune: best params agree with an exhaustive check, reproducibility, storage, errors."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest

import statetune as st
from statetune.testing import make_regression_data


@pytest.fixture(scope="module")
def data():
    X, y, _ = make_regression_data(4_000, 6, seed=21)
    return X, y


@pytest.fixture(scope="module")
def states(data):
    X, y = data
    return st.compute_states(st.from_arrays(X, y), ["ridge", "lasso", "pcr"], folds=4)


def test_best_trial_is_best_of_its_trials_and_model_is_finalized_on_all_rows(data, states):
    X, y = data
    r = st.tune(
        states, ["ridge", "lasso", "pcr"], n_trials=40, cv=4, metric="rmse", storage="memory"
    )
    done = r.trials[r.trials["state"] == "COMPLETE"]
    assert r.best_value == pytest.approx(done["value"].min())
    # the recorded value is the K-fold score recomputed independently
    assert states.validation_score(r.best_algorithm, r.best_params, "rmse") == pytest.approx(
        r.best_value
    )
    ref = st.finalize(
        r.best_algorithm,
        st.compute_states(st.from_arrays(X, y), [r.best_algorithm], folds=2),
        r.best_params,
    )
    np.testing.assert_allclose(r.best_model.predict(X[:10]), ref.predict(X[:10]), rtol=1e-9)
    assert set(r.trials["algorithm"]) <= {"ridge", "lasso", "pcr"}
    assert r.n_new_trials == 40 and len(r.study.trials) == 40


def test_tpe_finds_near_exhaustive_optimum(states):
    r = st.tune(states, ["ridge"], n_trials=60, cv=4, metric="mse", storage="memory")
    low, high = (
        states.search_space("ridge")["alpha"].low,
        states.search_space("ridge")["alpha"].high,
    )
    grid = [
        states.validation_score("ridge", {"alpha": a}, "mse") for a in np.geomspace(low, high, 200)
    ]
    assert r.best_value <= min(grid) * (1 + 1e-3)


def test_sequential_study_is_reproducible(states):
    a = st.tune(states, ["ridge", "lasso"], n_trials=25, cv=4, seed=3, storage="memory")
    b = st.tune(states, ["ridge", "lasso"], n_trials=25, cv=4, seed=3, storage="memory")
    assert [t.params for t in a.study.trials] == [t.params for t in b.study.trials]
    assert a.best_params == b.best_params and a.best_value == b.best_value


def test_parallel_trials_complete(states):
    r = st.tune(states, ["ridge", "pcr"], n_trials=30, cv=4, n_jobs=2, storage="memory")
    assert len(r.study.trials) == 30
    assert (r.trials["state"].isin(["COMPLETE", "PRUNED"])).all()


def test_default_journal_storage_resumes(tmp_path, states):
    first = st.tune(states, ["ridge"], n_trials=10, cv=4, cache_dir=tmp_path, study_name="s")
    first_params = [t.params for t in first.study.trials]
    assert (tmp_path / "optuna_journal.log").exists()
    again = st.tune(states, ["ridge"], n_trials=15, cv=4, cache_dir=tmp_path, study_name="s")
    assert again.n_new_trials == 5 and len(again.study.trials) == 15
    assert [t.params for t in again.study.trials[:10]] == first_params
    # another process can open the same study through the same file
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna_journal.log"))
    )
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 15


def test_default_study_name_follows_data_and_settings(tmp_path, data):
    X, y = data
    src = st.from_arrays(X, y)
    a = st.tune(src, ["ridge"], n_trials=3, cv=3, cache_dir=tmp_path)
    b = st.tune(src, ["ridge"], n_trials=3, cv=3, cache_dir=tmp_path)
    c = st.tune(src, ["ridge"], n_trials=3, cv=3, cache_dir=tmp_path, metric="r2")
    assert a.study.study_name == b.study.study_name != c.study.study_name
    assert b.n_new_trials == 0


def test_pruner_stops_bad_trials_after_first_folds(states):
    pruner = optuna.pruners.ThresholdPruner(
        upper=states.validation_score("ridge", {"alpha": 1e-6}, "mse") * 1.5
    )
    r = st.tune(states, ["ridge"], n_trials=30, cv=4, metric="mse", storage="memory", pruner=pruner)
    pruned = [t for t in r.study.trials if t.state.name == "PRUNED"]
    assert pruned and all(len(t.intermediate_values) < 4 for t in pruned)


def test_failed_finalize_is_recorded_and_study_goes_on():
    X, y, _ = make_regression_data(500, 3)
    X = np.column_stack([X, X[:, 0] - X[:, 1]])  # singular X^T X
    space = {"ridge": {"alpha": optuna.distributions.CategoricalDistribution([0.0, 1.0])}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = st.tune(
            st.from_arrays(X, y), ["ridge"], n_trials=12, cv=3, storage="memory", search_space=space
        )
    failed = r.trials[r.trials["state"] == "FAIL"]
    assert len(failed) >= 1 and failed["fail_reason"].str.contains("singular").all()
    assert (r.trials["state"] == "COMPLETE").any()
    assert r.best_params["alpha"] == 1.0


def test_search_space_override_is_used(states):
    space = {"ridge": {"alpha": optuna.distributions.FloatDistribution(5.0, 6.0)}}
    r = st.tune(states, ["ridge"], n_trials=8, cv=4, storage="memory", search_space=space)
    alphas = r.trials["ridge:alpha"]
    assert ((alphas >= 5.0) & (alphas <= 6.0)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"algorithms": ["ridge", "svm"]}, r"`algorithm` must be one of \[.*\], but got 'svm'"),
        ({"n_trials": 0}, r"`n_trials >= 1` must hold, but got n_trials=0"),
        ({"cv": 1}, r"`cv >= 2` must hold, but got cv=1"),
        ({"metric": "log_loss"}, r"cannot compute 'log_loss' \(it offers mse, rmse, r2\)"),
        ({"algorithms": ["ridge", "pca"], "metric": "rmse"}, r"'pca' cannot compute 'rmse'"),
        (
            {
                "search_space": {
                    "pcr": {"n_components": optuna.distributions.IntDistribution(1, 60)}
                },
                "algorithms": ["pcr"],
            },
            r"`search_space\['pcr'\]\['n_components'\]` must stay within what the states can serve, but n_components=60 fails: .*n_features=6",
        ),
        (
            {"search_space": {"ridge": {"gamma": optuna.distributions.FloatDistribution(1, 2)}}},
            r"must name hyperparameters of ridge",
        ),
        ({"search_space": {"lasso": {}}}, r"`search_space` keys must be tuned algorithms"),
        (
            {"storage": "postgresql://nobody@127.0.0.1:1/none"},
            r"`storage` must be reachable, but 'postgresql://nobody@127.0.0.1:1/none' fails",
        ),
    ],
)
def test_bad_input(data, kwargs, match):
    X, y = data
    args = {"algorithms": ["ridge"], "n_trials": 3, "cv": 3, "storage": "memory", **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        st.tune(st.from_arrays(X, y), **args)


def test_cv_above_row_count():
    X, y, _ = make_regression_data(4, 2)
    with pytest.raises(ValueError, match=r"`folds <= n_rows` must hold, but got folds=5, n_rows=4"):
        st.tune(st.from_arrays(X, y), ["ridge"], n_trials=2, cv=5, storage="memory")


def test_plots_and_save(tmp_path, states, data):
    import matplotlib

    matplotlib.use("Agg")
    r = st.tune(states, ["ridge", "pcr"], n_trials=20, cv=4, storage="memory")
    for kind in ("history", "importances", "slice", "algorithms", "folds"):
        fig = r.plot(kind)
        assert fig.axes
    points = {c.get_gid(): c.get_offsets()[:, 1] for c in r.plot("folds").axes[0].collections}
    best = r.trials.loc[r.trials["value"].idxmin()]
    np.testing.assert_allclose(
        sorted(points[f"trial-{best['number']}"]), sorted(best["fold_scores"])
    )
    with pytest.raises(ValueError, match="`kind` must be one of"):
        r.plot("pie")
    out = r.save(tmp_path / "res")
    assert {p.name for p in out.iterdir()} >= {
        "best_model",
        "trials.csv",
        "summary.json",
        "history.png",
        "algorithms.png",
        "folds.png",
    }
    loaded = st.load_model(out / "best_model")
    X, _ = data
    np.testing.assert_allclose(loaded.predict(X[:5]), r.best_model.predict(X[:5]), rtol=1e-12)
    assert "best:" in r.summary()


WORKER = """
import sys
import numpy as np
import optuna
import statetune as st
from statetune.testing import make_regression_data
X, y, _ = make_regression_data(2_000, 4, seed=1)
# Same data, folds and fold seed (comparable trials); each worker its own sampler seed.
sampler = optuna.samplers.TPESampler(seed=int(sys.argv[2]), multivariate=True, group=True)
r = st.tune(st.from_arrays(X, y), ["ridge", "lasso"], n_trials=40, cv=3, cache_dir=sys.argv[1],
            study_name="shared", sampler=sampler)
print(r.n_new_trials)
"""


def test_two_processes_share_one_journal_study(tmp_path):
    import subprocess
    import sys

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    new = [int(p.communicate(timeout=300)[0].strip()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna_journal.log"))
    )
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert sum(new) == len(trials)
    assert 40 <= len(trials) <= 41  # both stop at n_trials (one batch may overlap)
    assert all(t.state.is_finished() for t in trials)


def test_resumed_study_must_keep_metric(tmp_path, states):
    st.tune(states, ["ridge"], n_trials=2, cv=4, cache_dir=tmp_path, study_name="m", metric="mse")
    with pytest.raises(ValueError, match=r"study 'm' differs in: metric \(\"mse\" -> \"r2\"\)"):
        st.tune(
            states, ["ridge"], n_trials=2, cv=4, cache_dir=tmp_path, study_name="m", metric="r2"
        )


def test_same_trials_whether_the_pass_ran_in_parallel_or_not(data):
    """Parallel passes merge in another order (last-bit differences); bounds are rounded."""
    X, y = data
    algs = ["ridge", "elastic_net", "pcr"]
    seq = st.tune(st.from_arrays(X, y), algs, n_trials=15, cv=4, storage="memory")
    par_states = st.compute_states(st.from_arrays(X, y), algs, folds=4, n_jobs=2)
    par = st.tune(par_states, algs, n_trials=15, cv=4, storage="memory")
    assert [t.params for t in seq.study.trials] == [t.params for t in par.study.trials]
