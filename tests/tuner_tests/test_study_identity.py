"""Issue 9, item 5: a study's identity covers everything that makes its trials comparable.

A rerun with a new search space (or metric, folds, data, columns, max_lag) starts its own
study; a named study with another identity is refused with the remedy; ``resume=True``
continues a study in another space, and the best trial always lies in the requested space.
Scores are checked against scikit-learn on the same folds (rows assigned as the pass does).
"""

from __future__ import annotations

import re
import warnings

import matplotlib
import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import statetune as st
from statetune.cli import main
from tests.fold_rule import reference_folds

HIGH = {"ridge": {"alpha": FloatDistribution(100.0, 1000.0, log=True)}}


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, y


def sklearn_cv_mse(X, y, params, cv=3, seed=0):
    """Mean held-out MSE of scikit-learn's Ridge over the folds the pass assigns."""
    fold = reference_folds(cv, seed, 0, len(y))
    scores = []
    for k in range(cv):
        model = Ridge(alpha=params["alpha"], fit_intercept=params["fit_intercept"])
        model.fit(X[fold != k], y[fold != k])
        scores.append(np.mean((model.predict(X[fold == k]) - y[fold == k]) ** 2))
    return float(np.mean(scores))


def test_rerun_with_new_search_space_tunes_in_that_space(tmp_path, diabetes):
    """The issue's example: the second call ran 0 trials and returned alpha=1.06."""
    X, y = diabetes
    first = st.tune(st.from_arrays(X, y), ["ridge"], n_trials=12, cv=3, cache_dir=tmp_path)
    assert first.best_params["alpha"] < 100  # diabetes wants little shrinkage
    second = st.tune(
        st.from_arrays(X, y), ["ridge"], n_trials=12, cv=3, cache_dir=tmp_path, search_space=HIGH
    )
    assert second.study.study_name != first.study.study_name
    assert second.n_new_trials == 12
    assert 100.0 <= second.best_params["alpha"] <= 1000.0
    assert (second.trials["ridge:alpha"].between(100.0, 1000.0)).all()
    # the best value is the scikit-learn K-fold MSE of the best parameters, and the least of
    # the scikit-learn scores of every completed trial
    assert second.best_value == pytest.approx(sklearn_cv_mse(X, y, second.best_params), rel=1e-8)
    done = second.trials[second.trials["state"] == "COMPLETE"]
    ref = [
        sklearn_cv_mse(X, y, {"alpha": a, "fit_intercept": f})
        for a, f in zip(done["ridge:alpha"], done["ridge:fit_intercept"], strict=True)
    ]
    assert second.best_value == pytest.approx(min(ref), rel=1e-8)
    # and the unchanged rerun of each still resumes its own study
    again = st.tune(
        st.from_arrays(X, y), ["ridge"], n_trials=12, cv=3, cache_dir=tmp_path, search_space=HIGH
    )
    assert again.study.study_name == second.study.study_name and again.n_new_trials == 0
    assert st.tune(
        st.from_arrays(X, y), ["ridge"], n_trials=12, cv=3, cache_dir=tmp_path
    ).study.study_name == (first.study.study_name)


def _series(n=240, shift=0.0):
    rng = np.random.default_rng(3)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = 2.0 + 0.6 * y[t - 1] + rng.normal()
    return y + shift


@pytest.mark.parametrize(
    "change",
    ["space", "metric", "cv", "seed", "target", "weight", "rows", "algorithms", "categorical"],
)
def test_default_name_covers_each_setting(tmp_path, diabetes, change):
    X, y = diabetes
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(y=y)
    base = {"algorithms": ["ridge"], "n_trials": 2, "cv": 3, "cache_dir": tmp_path}
    source = st.from_pandas(df, target="y")
    other = dict(base)
    other_source = source
    if change == "space":
        other["search_space"] = HIGH
    elif change == "categorical":
        other["search_space"] = {"ridge": {"fit_intercept": CategoricalDistribution([True])}}
    elif change == "metric":
        other["metric"] = "r2"
    elif change == "cv":
        other["cv"] = 4
    elif change == "seed":
        other["seed"] = 1
    elif change == "target":
        other_source = st.from_pandas(df.rename(columns={"y": "x0", "x0": "y"}), target="y")
    elif change == "weight":
        other_source = st.from_pandas(df.assign(w=1.0 + (y > 100)), target="y", weight="w")
    elif change == "rows":
        other_source = st.from_pandas(df.iloc[:-1], target="y")
    elif change == "algorithms":
        other["algorithms"] = ["ridge", "lasso"]
    a = st.tune(source, **base)
    b = st.tune(other_source, **other)
    assert a.study.study_name != b.study.study_name and b.n_new_trials == 2
    assert st.tune(source, **base).n_new_trials == 0  # unchanged: resumes


def test_default_name_covers_max_lag(tmp_path):
    src = st.from_series(_series())
    a = st.tune(src, ["autoregressive"], n_trials=2, cv=2, cache_dir=tmp_path, max_lag=4)
    b = st.tune(src, ["autoregressive"], n_trials=2, cv=2, cache_dir=tmp_path, max_lag=6)
    assert a.study.study_name != b.study.study_name and b.n_new_trials == 2
    assert b.best_params["p"] <= 6
    assert (
        st.tune(
            src, ["autoregressive"], n_trials=2, cv=2, cache_dir=tmp_path, max_lag=6
        ).n_new_trials
        == 0
    )


def test_named_study_with_other_space_is_refused_with_the_remedy(tmp_path, diabetes):
    X, y = diabetes
    src = st.from_arrays(X, y)
    st.tune(src, ["ridge"], n_trials=4, cv=3, cache_dir=tmp_path, study_name="s")
    with pytest.raises(ValueError) as err:
        st.tune(
            src, ["ridge"], n_trials=8, cv=3, cache_dir=tmp_path, study_name="s", search_space=HIGH
        )
    msg = str(err.value)
    assert "study 's' was tuned in another one" in msg
    assert re.search(
        r"alpha: float in \[1e-0\d, 1000.0, log\] -> float in \[100.0, 1000.0, log\]", msg
    )
    assert "resume=True" in msg and "another study_name" in msg
    # nothing was written to the study
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna_journal.log"))
    )
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 4


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"metric": "r2"}, r"metric \(\"mse\" -> \"r2\"\)"),
        ({"seed": 2}, r"folds \(seed: 0 -> 2\)"),
        ({"cv": 4}, r"folds \(n_folds: 3 -> 4\)"),
        ({"rows": 400}, r"data \(content fingerprint\)"),
    ],
)
def test_resume_true_still_refuses_other_data_and_settings(tmp_path, diabetes, kwargs, what):
    X, y = diabetes
    st.tune(st.from_arrays(X, y), ["ridge"], n_trials=3, cv=3, cache_dir=tmp_path, study_name="s")
    rows = kwargs.pop("rows", len(y))
    args = {"n_trials": 6, "cv": 3, "cache_dir": tmp_path, "study_name": "s", **kwargs}
    for resume in (None, True):
        with pytest.raises(ValueError, match=f"study 's' differs in: {what}"):
            st.tune(st.from_arrays(X[:rows], y[:rows]), ["ridge"], resume=resume, **args)


def test_resume_true_continues_in_the_new_space_and_best_stays_inside(tmp_path, diabetes):
    X, y = diabetes
    src = st.from_arrays(X, y)
    old = st.tune(src, ["ridge"], n_trials=15, cv=3, cache_dir=tmp_path, study_name="s")
    old_inside = int(old.trials["ridge:alpha"].between(100.0, 1000.0).sum())
    r = st.tune(
        src,
        ["ridge"],
        n_trials=10,
        cv=3,
        cache_dir=tmp_path,
        study_name="s",
        search_space=HIGH,
        resume=True,
    )
    assert len(r.study.trials) == 15 + r.n_new_trials  # the old trials stay in the study
    assert r.n_new_trials == 10 - old_inside  # n_trials counts trials inside the new space
    assert int(r.trials["in_space"].sum()) == 10
    # the old best (alpha < 100) is better than anything in [100, 1000], yet never returned
    assert old.best_value < r.best_value
    assert 100.0 <= r.best_params["alpha"] <= 1000.0
    inside = r.trials[(r.trials["state"] == "COMPLETE") & r.trials["in_space"]]
    ref = [
        sklearn_cv_mse(X, y, {"alpha": a, "fit_intercept": f})
        for a, f in zip(inside["ridge:alpha"], inside["ridge:fit_intercept"], strict=True)
    ]
    assert r.best_value == pytest.approx(min(ref), rel=1e-8)
    assert r.best_value == pytest.approx(sklearn_cv_mse(X, y, r.best_params), rel=1e-8)
    assert f"alpha': {r.best_params['alpha']}" in r.summary().replace('"', "'")
    matplotlib.use("Agg")
    best_folds = r.best_trial.user_attrs["fold_scores"]
    ax = r.plot("folds").axes[0]
    points = {c.get_gid(): c.get_offsets()[:, 1] for c in ax.collections}
    assert ax.get_xticklabels()[0].get_text().startswith(f"#{r.best_trial.number}\n")
    shown = sorted(points[f"trial-{r.best_trial.number}"])
    assert shown == pytest.approx(sorted(best_folds))  # the folds plot shows the in-space best
    # the study now belongs to the new space: a plain rerun in it resumes, the old one refuses
    again = st.tune(
        src, ["ridge"], n_trials=10, cv=3, cache_dir=tmp_path, study_name="s", search_space=HIGH
    )
    assert again.n_new_trials == 0
    with pytest.raises(ValueError, match="was tuned in another one"):
        st.tune(src, ["ridge"], n_trials=10, cv=3, cache_dir=tmp_path, study_name="s")


def test_resume_true_without_a_name_finds_the_study_of_the_other_space(tmp_path, diabetes):
    X, y = diabetes
    src = st.from_arrays(X, y)
    first = st.tune(src, ["ridge"], n_trials=6, cv=3, cache_dir=tmp_path)
    r = st.tune(
        src, ["ridge"], n_trials=4, cv=3, cache_dir=tmp_path, search_space=HIGH, resume=True
    )
    assert r.study.study_name == first.study.study_name
    assert 100.0 <= r.best_params["alpha"] <= 1000.0
    with pytest.raises(ValueError, match="holds no study of these data and settings"):
        st.tune(src, ["ridge"], n_trials=4, cv=3, cache_dir=tmp_path, metric="r2", resume=True)


def test_resume_flags_refuse_what_they_cannot_do(tmp_path, diabetes):
    X, y = diabetes
    src = st.from_arrays(X, y)
    with pytest.raises(
        ValueError,
        match="`resume=True` continues an existing study, but this storage holds no study 'nope'",
    ):
        st.tune(
            src, ["ridge"], n_trials=2, cv=3, cache_dir=tmp_path, study_name="nope", resume=True
        )
    st.tune(src, ["ridge"], n_trials=2, cv=3, cache_dir=tmp_path, study_name="s", resume=False)
    with pytest.raises(ValueError, match="`resume=False` starts a new study, but study 's' exists"):
        st.tune(src, ["ridge"], n_trials=2, cv=3, cache_dir=tmp_path, study_name="s", resume=False)
    with pytest.raises(ValueError, match="`resume` must be None, True or False"):
        st.tune(src, ["ridge"], n_trials=2, cv=3, cache_dir=tmp_path, resume="yes")


def test_resume_true_refuses_another_parameter_kind(tmp_path, diabetes):
    X, y = diabetes
    src = st.from_arrays(X, y)
    st.tune(src, ["ridge"], n_trials=3, cv=3, cache_dir=tmp_path, study_name="s")
    linear = {"ridge": {"alpha": FloatDistribution(100.0, 1000.0)}}  # the default is log
    with pytest.raises(
        ValueError,
        match=r"'ridge:alpha' was FloatDistribution.*log=True.*this run asks for FloatDistribution.*log=False",
    ):
        st.tune(
            src,
            ["ridge"],
            n_trials=6,
            cv=3,
            cache_dir=tmp_path,
            study_name="s",
            search_space=linear,
            resume=True,
        )


def test_study_without_identity_needs_resume_true(tmp_path, diabetes):
    """A study an older statetune (or plain Optuna) made: trials from a wide alpha range."""
    X, y = diabetes
    src = st.from_arrays(X, y)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "optuna_journal.log"))
    )
    study = optuna.create_study(study_name="old", storage=storage)
    study.set_user_attr("metric", "mse")
    study.set_user_attr("algorithms", ["ridge"])
    dists = {
        "alpha": FloatDistribution(1e-6, 1e3, log=True),
        "fit_intercept": CategoricalDistribution([True, False]),
    }
    for alpha in (1e-3, 1e-1, 3.0):  # outside HIGH, with values far better than any real one
        params = {"alpha": alpha, "fit_intercept": True}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=1.0))
    with pytest.raises(ValueError, match="holds no record of the data and settings"):
        st.tune(
            src,
            ["ridge"],
            n_trials=6,
            cv=3,
            cache_dir=tmp_path,
            study_name="old",
            search_space=HIGH,
        )
    with pytest.raises(ValueError, match="must keep its metric and algorithms"):
        st.tune(
            src,
            ["ridge"],
            n_trials=6,
            cv=3,
            cache_dir=tmp_path,
            study_name="old",
            metric="r2",
            resume=True,
        )
    r = st.tune(
        src,
        ["ridge"],
        n_trials=6,
        cv=3,
        cache_dir=tmp_path,
        study_name="old",
        search_space=HIGH,
        resume=True,
    )
    assert r.n_new_trials == 6 and len(r.study.trials) == 9
    assert 100.0 <= r.best_params["alpha"] <= 1000.0
    assert r.best_value == pytest.approx(sklearn_cv_mse(X, y, r.best_params), rel=1e-8)


def test_cli_resume_flags(tmp_path, diabetes, capsys):
    X, y = diabetes
    path = tmp_path / "d.csv"
    pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(y=y).to_csv(path, index=False)
    base = [
        "tune",
        str(path),
        "--target",
        "y",
        "--algorithms",
        "ridge",
        "--trials",
        "3",
        "--cv",
        "3",
    ]
    base += ["--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*base, "--study-name", "s"]) == 0
    capsys.readouterr()
    assert main([*base, "--study-name", "s", "--metric", "r2"]) == 1
    assert "study 's' differs in: metric" in capsys.readouterr().err
    assert main([*base, "--study-name", "s", "--no-resume"]) == 1
    assert "`resume=False` starts a new study" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*base, "--study-name", "s", "--resume", "--trials", "5"]) == 0
    assert "study: s (5 trials, 2 new)" in capsys.readouterr().out
