"""ScoreSketch: F1 thresholds and precision at a target recall from fixed-bin histograms of
held-out scores, against scikit-learn on all rows (precision_recall_curve, f1_score,
precision_score, recall_score), within the bound the bins give; merging adds; Platt scaling
from the sketch against a sigmoid fitted on the exact scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_curve, precision_score, recall_score

from statetune.states.score_sketch import ScoreSketch


def _scores(n, seed, shift=1.5, scale=2.0):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(size=n) < 0.35
    s = scale * (rng.normal(size=n) + shift * pos - 0.5)
    w = rng.uniform(0.2, 2.0, n)
    return s, pos, w


def _exact(s, pos, w):
    prec, rec, _ = precision_recall_curve(pos, s, sample_weight=w)
    return prec, rec


@settings(max_examples=25, deadline=None)
@given(
    seed=hst.integers(0, 10_000),
    n_bins=hst.sampled_from([8, 32, 256]),
    target=hst.sampled_from([0.5, 0.8, 0.95]),
)
def test_thresholds_from_the_sketch_are_within_the_bin_bound_of_every_cut(seed, n_bins, target):
    s, pos, w = _scores(3000, seed)
    sk = ScoreSketch(n_bins)
    for a in range(0, 3000, 700):  # merged from parts: the same counts
        part = ScoreSketch(n_bins)
        part.add(s[a : a + 700], pos[a : a + 700], w[a : a + 700])
        sk.merge(part)
    whole = ScoreSketch(n_bins)
    whole.add(s, pos, w)
    np.testing.assert_allclose(sk.counts, whole.counts, rtol=1e-12)
    prec, rec = _exact(s, pos, w)
    # F1: the sketch's cut is a real cut (its F1 is scikit-learn's), within the bound of the best
    t, f1 = sk.best_f1()
    pred = expit(s) >= t
    assert f1 == pytest.approx(f1_score(pos, pred, sample_weight=w), abs=1e-12)
    best = np.nanmax(2 * prec * rec / np.where(prec + rec > 0, prec + rec, 1.0))
    assert -1e-12 <= best - f1 <= sk.f1_bound() + 1e-12
    # precision at recall >= target, the same way
    t, p, r = sk.precision_at_recall(target)
    pred = expit(s) >= t
    assert r >= target - 1e-12
    assert r == pytest.approx(recall_score(pos, pred, sample_weight=w), abs=1e-12)
    assert p == pytest.approx(precision_score(pos, pred, sample_weight=w), abs=1e-12)
    best_p = prec[rec >= target - 1e-12].max()
    assert -1e-12 <= best_p - p <= sk.precision_bound(target) + 1e-12


def test_the_bound_shrinks_with_the_bins_on_real_scores():
    """Scores of a model on breast cancer rows: with 256 bins, F1 and precision at 90% recall
    are within 0.02 of the best cut of all rows, and within the bound (loose here: a confident
    model puts many rows in the last bin, past probability 255/256); fewer bins, a looser
    bound."""
    X, y = load_breast_cancer(return_X_y=True)
    Xs = (X - X.mean(0)) / X.std(0)
    s = LogisticRegression(C=0.01).fit(Xs[::2], y[::2]).decision_function(Xs[1::2])
    pos, w = y[1::2] == 1, np.ones(len(s))
    sk = ScoreSketch(256)
    sk.add(s, pos)
    prec, rec = _exact(s, pos, w)
    best = np.nanmax(2 * prec * rec / (prec + rec))
    gap = best - sk.best_f1()[1]
    assert gap <= min(0.02, sk.f1_bound())
    gap = prec[rec >= 0.9].max() - sk.precision_at_recall(0.9)[1]
    assert gap <= min(0.02, sk.precision_bound(0.9))
    coarse = ScoreSketch(4)
    coarse.add(s, pos)
    assert coarse.f1_bound() > sk.f1_bound()


def test_platt_scaling_from_the_sketch_matches_a_sigmoid_fit_on_the_exact_scores():
    """Scores of a hinge-like model (margins, not probabilities): the sketch's sigmoid agrees
    with an unpenalized logistic regression on the exact scores (what
    CalibratedClassifierCV(method="sigmoid") fits, without its target smoothing) to 0.01 in
    probability with 256 bins."""
    rng = np.random.default_rng(5)
    pos = rng.uniform(size=20_000) < 0.4
    s = 0.6 * (rng.normal(size=20_000) + 1.8 * pos - 0.9)
    sk = ScoreSketch(256)
    sk.add(s, pos)
    a, b = sk.platt()
    ref = LogisticRegression(C=np.inf).fit(s[:, None], pos)
    grid = np.linspace(s.min(), s.max(), 200)
    ours, theirs = expit(a * grid + b), ref.predict_proba(grid[:, None])[:, 1]
    assert np.abs(ours - theirs).max() < 0.01


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n_bins >= 2"):
        ScoreSketch(1)
    sk = ScoreSketch(8)
    with pytest.raises(ValueError, match="both classes"):
        sk.best_f1()
    sk.add([0.0, 1.0], [True, False])
    with pytest.raises(ValueError, match=r"`target_recall` must be in \(0, 1\]"):
        sk.precision_at_recall(0.0)
    with pytest.raises(ValueError, match="row 1 holds nan"):
        sk.add([0.0, np.nan], [True, False])
    with pytest.raises(ValueError, match="share their bins"):
        sk.merge(ScoreSketch(16))
