"""The study's figures, read back from the matplotlib objects: every algorithm appears (also
one whose trials were all pruned), pruned trials are drawn hollow at their last reported value,
no point is outside the axis, the folds plot shows the fold scores of the best trials, integer
parameters get integer ticks."""

from __future__ import annotations

import matplotlib
import numpy as np
import optuna
import pytest

import statetune as st
from statetune.testing import make_regression_data

COMPLETE_LABEL = "complete trial"  # the legend labels of the algorithms plot
PRUNED_LABEL = "pruned trial (last reported running mean)"
BEST_LABEL = "best"
TOP_TRIALS = 10  # trials shown by the folds plot

matplotlib.use("Agg")


class PruneBaseline(optuna.pruners.BasePruner):
    """Prunes every baseline trial after its first fold, never another algorithm's."""

    def prune(self, study, trial):
        return trial.params.get("algorithm") == "baseline"


@pytest.fixture(scope="module")
def result():
    X, y, _ = make_regression_data(2_000, 2, seed=3)
    X[:, 1] *= 1e3  # the baseline's error is far above the linear models'
    y = y + 30 * X[:, 1] / 1e3
    return st.tune(
        st.from_arrays(X, y),
        ["ridge", "pcr", "baseline"],
        n_trials=30,
        cv=5,
        metric="rmse",
        storage="memory",
        pruner=PruneBaseline(),
        seed=1,
    )


def _collections(ax):
    return {c.get_label(): c for c in ax.collections}


def test_algorithms_plot_shows_every_algorithm_pruned_ones_hollow(result):
    study = result.study
    states = [t.state for t in study.trials]
    algs = [t.params["algorithm"] for t in study.trials]
    assert "baseline" in algs
    assert all(
        s == optuna.trial.TrialState.PRUNED
        for s, a in zip(states, algs, strict=True)
        if a == "baseline"
    )
    fig = result.plot("algorithms")
    ax = fig.axes[0]
    names = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert names == ["ridge", "pcr", "baseline"]  # the order given, the all-pruned one too
    assert any(t.get_text() == "no complete trial" for t in ax.texts)
    got = _collections(ax)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(got[COMPLETE_LABEL].get_offsets()) == len(complete)
    assert sorted(got[COMPLETE_LABEL].get_offsets()[:, 1]) == pytest.approx(
        sorted(t.value for t in complete)
    )
    hollow = got[PRUNED_LABEL]
    assert len(hollow.get_offsets()) == len(pruned)
    assert np.all(hollow.get_facecolors()[:, 3] == 0)  # no fill: drawn distinctly
    last = sorted(t.intermediate_values[max(t.intermediate_values)] for t in pruned)
    assert sorted(hollow.get_offsets()[:, 1]) == pytest.approx(last)
    # one best mark per algorithm with a complete trial, at its best value
    best = got[BEST_LABEL].get_offsets()
    for a in ("ridge", "pcr"):
        vals = [t.value for t in complete if t.params["algorithm"] == a]
        assert np.isclose(best[:, 1], min(vals), rtol=1e-12).any()
    # no point hidden by the axis limits
    lo, hi = ax.get_ylim()
    ys = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
    assert lo <= ys.min() and ys.max() <= hi
    title = ax.get_title()
    assert "rmse" in title and "lower is better" in title
    assert f"{len(pruned)} pruned" in title and f"{len(complete)} complete" in title


def test_folds_plot_shows_fold_scores_of_the_best_trials(result):
    fig = result.plot("folds")
    ax = fig.axes[0]
    done = sorted(
        (t for t in result.study.trials if t.state == optuna.trial.TrialState.COMPLETE),
        key=lambda t: (t.value, t.number),
    )[:TOP_TRIALS]
    labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert labels == [f"#{t.number}" for t in done]
    points = {c.get_gid(): c.get_offsets()[:, 1] for c in ax.collections if c.get_gid()}
    for t in done:
        # the plotted points are each fold's score, recomputed from the states
        ref = result.states.fold_scores(t.params["algorithm"], _params(t), "rmse")
        assert sorted(points[f"trial-{t.number}"]) == pytest.approx(sorted(ref), rel=1e-9)
    lo, hi = ax.get_ylim()
    allpts = np.concatenate(list(points.values()))
    assert lo <= allpts.min() and allpts.max() <= hi


def _params(trial):
    alg = trial.params["algorithm"]
    return {k.split(":", 1)[1]: v for k, v in trial.params.items() if k.startswith(f"{alg}:")}


def test_integer_parameters_get_integer_ticks(result):
    fig = result.plot("slice")
    axes = [ax for ax in fig.axes if ax.get_xlabel().endswith("n_components")]
    assert axes, [ax.get_xlabel() for ax in fig.axes]
    for ax in axes:
        lo, hi = ax.get_xlim()
        ticks = [v for v in ax.get_xticks() if lo <= v <= hi]
        assert len(ticks) >= 2 and all(float(v).is_integer() for v in ticks), ticks
    alg_axis = next(ax for ax in fig.axes if ax.get_xlabel() == "algorithm")
    assert all(t.get_rotation() == 30 for t in alg_axis.get_xticklabels())  # names don't overlap
    history = result.plot("history").axes[0]
    lo, hi = history.get_xlim()
    assert all(float(v).is_integer() for v in history.get_xticks() if lo <= v <= hi)


def test_algorithms_plot_uses_a_log_axis_for_a_wide_spread_and_says_so():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1_000, 3))
    y = X @ [1.0, 2.0, 3.0] + 0.01 * rng.normal(size=1_000)  # baseline ~370x worse than ridge
    r = st.tune(
        st.from_arrays(X, y), ["ridge", "baseline"], n_trials=12, cv=3, storage="memory", seed=0
    )
    ax = r.plot("algorithms").axes[0]
    vals = r.trials.loc[r.trials["state"] == "COMPLETE", "value"]
    assert vals.max() / vals.min() > 20
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    lo, hi = ax.get_ylim()
    assert lo <= vals.min() and vals.max() <= hi
