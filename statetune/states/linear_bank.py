"""``LinearBank``: many linear classifiers trained side by side by mini-batch SGD, per fold.

A bank holds ``M`` linear models, one per point of a grid of state parameters: ``loss`` in
{``logistic`` (multinomial softmax; sigmoid for two classes), ``hinge`` (one-vs-rest),
``squared`` (one-vs-rest on +-1 indicators)}, L2 penalty ``alpha``, L1 penalty ``l1`` (proximal
step: soft thresholding, "truncated gradient") and step size ``eta0``. Every mini-batch of
``batch_size`` rows is scored by all models of all banks at once with ONE product
``(batch x d) @ (d x banks*M*classes)`` and one transposed product gives every gradient.

Steps are AdaGrad (per-coordinate step ``eta0 / sqrt(sum of squared gradients)``) in
standardized coordinates; the features are standardized by the exact running mean and
variance of the rows the bank has processed so far, batch included (kept per fold, in the
state), so one step-size grid fits all data. The coefficients are stored in raw units, so a
scaler that moves as rows arrive changes the preconditioning only, never the model. Besides the
last iterate each model keeps an average of its iterates, iterate ``t`` weighted by ``t``
(polynomial-decay averaging, Shamir and Zhang 2013: early iterates fade): both are served.

**Per-fold banks.** The pass hands this state every row with its fold id (capability
:class:`~statetune.states.capabilities.FoldBanks`): with ``K > 1`` folds the state holds
``K + 1`` banks; bank ``k < K`` learns from the rows outside fold ``k`` and bank ``K`` from all
rows, so each row updates ``K`` banks and K-fold validation needs no second pass.
:meth:`fold_view` gives the state trained without fold ``k``; the models always finalize from
the last bank.

**Merge is averaging, not the state of the union.** SGD does not merge exactly. ``merge``
gives each bank the average of the two sides' coefficients, iterates, AdaGrad accumulators
weighted by the sample weight each side's bank processed (parameter mixing, as a parallel or
Dask pass needs); moments and counts merge exactly. The laws that hold (and are tested):
merging is commutative, associative to rounding, a merge with an empty state changes nothing,
the merged coefficients are the weighted average of the parts', and the same rows in any
chunking give the same state (rows are buffered into fixed mini-batches of ``batch_size``;
the buffer is part of the state). Rows still buffered when a model is finalized are used in
one last smaller step on a copy (anytime: a stopped pass gives a working bank).

Example
-------
>>> import numpy as np
>>> from statetune.states import LinearBank
>>> rng = np.random.default_rng(0); X = rng.normal(size=(2000, 3))
>>> y = np.where(X @ [1.0, -2.0, 0.5] > 0, "yes", "no")
>>> bank = LinearBank(3, loss=["logistic"], alpha=[1e-4], l1=[0.0], eta0=[0.5])
>>> bank.update(X, y)
>>> W, b = bank.coefficients(0, average=True)
>>> bool(((X @ W[:, 1] + b[1] > X @ W[:, 0] + b[0]) == (y == "yes")).mean() > 0.97)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    register_state,
)
from statetune.states._labels import as_labels, decode_labels, encode_labels, union_labels
from statetune.states._linear_grid import LOSSES, check_grid, member_grid
from statetune.states._linear_sgd import BankSteps
from statetune.states._linear_views import BankViews
from statetune.states.capabilities import AveragingMerge, Epochs, FoldBanks
from statetune.states.score_sketch import ScoreSketch

__all__ = ["LOSSES", "LinearBank", "member_grid"]


@register_state
class LinearBank(BankSteps, BankViews, Memoized, FoldBanks, AveragingMerge, Epochs):
    """A bank of linear classifiers (grid of ``loss x alpha x l1 x eta0``), trained per fold.

    Parameters
    ----------
    n_features : int
    has_target : bool
        Must be True (the models learn class labels).
    loss, alpha, l1, eta0 : list
        The grid; each non-empty, without repeats (``loss``: all of :data:`LOSSES` by
        default). ``alpha >= 0`` (L2, on standardized features, relative to the mean loss),
        ``l1 >= 0``, ``eta0 > 0``. The default steps
        0.05, 0.2, 0.5 bracket the best AdaGrad step of the logistic members, which was
        0.2-0.3 on every table measured (digits, breast cancer, a generated 500k table: gap
        to the exact penalized optimum after 1 and 5 epochs, ``tests/states_tests/
        test_linear_bank_convergence.py``); with only 0.05 and 0.5, a factor of 3-4 off it
        on each side, 5 epochs of digits stayed twice as far from the optimum.
    batch_size : int
        Rows per SGD step (the state buffers rows until a batch is full).
    epochs : int
        Reads of the rows to learn from (capability :class:`Epochs`): the pass reads the
        source ``epochs`` times, the rows at the same positions (same folds) in the same order
        each time (no reshuffling between epochs); :meth:`next_epoch` starts the next read,
        whose rows update the models and the running scaler but are not counted again.
        Small tables want several: with ``batch_size`` 16, 1,347 rows (digits) make 85
        steps an epoch, and the 5-fold log loss of the chosen member kept falling to 20
        epochs (0.143 at 5, 0.130 at 20); on 245k-500k rows (batch 256) one epoch's test
        log loss was within 2e-5 of five epochs' (``experiments/linear_learner_quality.py``).
    score_bins : int
        Bins of the held-out score sketch (:class:`ScoreSketch`, uniform in probability).

    Notes
    -----
    **Held-out scores.** With ``K > 1`` folds, every row of fold ``k`` that the
    last epoch reads is scored by bank ``k`` (which never learns from it) as that bank stands
    when the row's mini-batch arrives, before its step (progressive validation: in epoch 1 the
    early rows meet a barely trained bank; from epoch 2 on, every scored row meets a bank
    trained on at least one full epoch). The scores of each member (last iterate and average)
    go to a fixed-bin histogram per fold and class (``score_hist``: folds x members x
    {last, average} x sides x {negative, positive} x bins), added on merge: with two classes one
    side, the decision ``s_1 - s_0`` with ``classes_[1]`` positive; with ``C > 2`` classes ``C``
    sides, class ``c``'s score with class ``c`` positive (one-vs-rest; memory grows with ``C``).
    Rows still buffered are not in it; a new class arriving empties it.
    """

    kind = "linear_bank"
    #: The losses a member may have, and what the models learn (subclasses: regression).
    losses: tuple[str, ...] = LOSSES
    learns = "class labels"
    #: Target columns the buffered rows carry after the features (the scaler's moments too).
    target_columns = 0
    #: Whether the bank keeps the held-out score sketch (a regression bank has no classes
    #: to threshold or calibrate: its sketch has no bins).
    keeps_scores = True

    def __init__(
        self,
        n_features: int,
        has_target: bool = True,
        loss: Sequence[str] | None = None,
        alpha: Sequence[float] = (1e-5, 1e-4, 1e-3, 1e-2),
        l1: Sequence[float] = (0.0,),
        eta0: Sequence[float] = (0.05, 0.2, 0.5),
        batch_size: int = 32,
        epochs: int = 1,
        score_bins: int = 256,
    ) -> None:
        if isinstance(n_features, bool) or int(n_features) < 1:
            raise ValueError(f"`n_features >= 1` must hold, but got n_features={n_features}.")
        if not has_target:
            raise ValueError(
                f"A linear bank learns {self.learns}: `has_target` must be True, but got False "
                "(pass target=... to the source)."
            )
        loss = self.losses if loss is None else loss  # default: every loss of the class
        losses = list(loss) if isinstance(loss, list | tuple) else [loss]
        if not losses:
            raise ValueError("The bank grid must not be empty, but `loss` holds no value.")
        bad = [lo for lo in losses if lo not in self.losses]
        if bad or len(set(losses)) != len(losses):
            raise ValueError(
                f"`loss` must hold distinct values of {list(self.losses)}, but got {losses}."
            )
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise ValueError(f"`batch_size >= 1` must hold, but got batch_size={batch_size}.")
        self.n_features = int(n_features)
        self.has_target = True
        self.loss = [str(lo) for lo in losses]
        self.alpha = check_grid("alpha", alpha, 0.0, False)
        self.l1 = check_grid("l1", l1, 0.0, False)
        self.eta0 = check_grid("eta0", eta0, 0.0, True)
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
            raise ValueError(f"`epochs >= 1` must hold (an integer), but got epochs={epochs!r}.")
        self.batch_size = int(batch_size)
        self.epochs = int(epochs)
        if isinstance(score_bins, bool) or not isinstance(score_bins, int) or score_bins < 2:
            raise ValueError(f"`score_bins >= 2` must hold, but got score_bins={score_bins!r}.")
        self.score_bins = int(score_bins)
        self.members = member_grid(self.loss, self.alpha, self.l1, self.eta0)
        M = len(self.members)
        self._loss_of = np.array([self.losses.index(m["loss"]) for m in self.members])
        self._alpha_m = np.array([m["alpha"] for m in self.members])
        self._l1_m = np.array([m["l1"] for m in self.members])
        self._eta_m = np.array([m["eta0"] for m in self.members])
        self.n_members = M
        self._init_empty()

    # -- layout --------------------------------------------------------------------------
    def _init_empty(self) -> None:
        d = self.n_features + self.target_columns  # columns of the buffer and the moments
        self.n_folds = 0  # unknown until the first rows (1: no folds)
        self.epoch = 1  # the read of the rows under way (1 .. epochs)
        self.classes = np.empty(0, dtype=np.int64)
        self.shift = np.zeros(d)
        self.fold_rows = np.zeros(0, dtype=np.int64)
        self.fold_weight = np.zeros(0)
        self.class_rows = np.zeros((0, 0), dtype=np.int64)
        self.mom_w = np.zeros(0)
        self.mom_mean = np.zeros((0, d))
        self.mom_m2 = np.zeros((0, d))
        self.score_hist = self._empty_hist(0, 0)
        self._alloc(0, 0)
        self.pend_X = np.zeros((0, d))
        self.pend_code = np.zeros(0, dtype=np.int64)
        self.pend_w = np.zeros(0)
        self.pend_fold = np.zeros(0, dtype=np.int64)
        self._derived: dict[Any, Any] = {}

    def _empty_hist(self, K: int, C: int) -> np.ndarray:
        """Held-out score counts: folds x members x {last, average} x sides x 2 x bins."""
        sides = 1 if C <= 2 else C
        bins = self.score_bins if self.keeps_scores else 0
        return np.zeros((K, self.n_members, 2, sides, 2, bins))

    def _alloc(self, F: int, C: int) -> None:
        d, M = self.n_features, self.n_members
        self.W = np.zeros((d, F, M, C))
        self.b = np.zeros((F, M, C))
        self.Wa = np.zeros((d, F, M, C))
        self.ba = np.zeros((F, M, C))
        self.HW = np.zeros((d, F, M, C))
        self.Hb = np.zeros((F, M, C))
        self.steps = np.zeros(F, dtype=np.int64)
        self.bank_weight = np.zeros(F)

    @property
    def n_rows(self) -> int:
        return int(self.fold_rows.sum())

    @property
    def weight_sum(self) -> float:
        return float(self.fold_weight.sum())

    def params(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features,
            "has_target": True,
            "loss": list(self.loss),
            "alpha": list(self.alpha),
            "l1": list(self.l1),
            "eta0": list(self.eta0),
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "score_bins": self.score_bins,
        }

    def _start(self, n_folds: int) -> None:
        self.n_folds = int(n_folds)
        K, d = self.n_folds, self.n_features + self.target_columns
        self.fold_rows = np.zeros(K, dtype=np.int64)
        self.fold_weight = np.zeros(K)
        self.class_rows = np.zeros((K, len(self.classes)), dtype=np.int64)
        self.mom_w = np.zeros(K)
        self.mom_mean = np.zeros((K, d))
        self.mom_m2 = np.zeros((K, d))
        self.score_hist = self._empty_hist(K, len(self.classes))
        self._alloc(self.n_banks, len(self.classes))

    def _grow_classes(self, new: np.ndarray) -> None:
        """Add labels (sorted union); models of a new class start at zero."""
        union = union_labels(self.classes, new)
        if len(union) == len(self.classes):
            return
        where = np.searchsorted(union, self.classes)
        self.pend_code = where[self.pend_code] if self.n_pending else self.pend_code

        def widen(a: np.ndarray) -> np.ndarray:
            out = np.zeros((*a.shape[:-1], len(union)))
            out[..., where] = a
            return out

        for name in ("W", "b", "Wa", "ba", "HW", "Hb"):
            setattr(self, name, widen(getattr(self, name)))
        self.class_rows = widen(self.class_rows).astype(np.int64)
        self.classes = union
        self.score_hist = self._empty_hist(self.n_folds, len(union))  # sides change

    # -- update (the SGD steps: _linear_sgd.py) ------------------------------------------
    def update(
        self,
        X: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        folds: Any = None,
        n_folds: int | None = None,
    ) -> None:
        """Add rows with their labels; ``folds`` (ids in ``0 .. n_folds - 1``) route each
        row to the banks of the folds it trains (default: one fold, one bank). Full
        mini-batches are learned at once; the rest waits in the buffer. All or nothing."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"`X` must have shape (n, {self.n_features}), but got {X.shape}.")
        n = X.shape[0]
        if y is None:
            raise ValueError(f"A linear bank learns {self.learns}, but `y` is None.")
        if n == 0:
            return
        if not np.issubdtype(X.dtype, np.number) and X.dtype != np.bool_:
            raise TypeError(f"`X` must be numeric, but got dtype {X.dtype}.")
        X = X.astype(np.float64, copy=False)
        finite = np.isfinite(X)
        if not finite.all():
            r = int(np.flatnonzero(~finite.all(axis=1))[0])
            c = int(np.flatnonzero(~finite[r])[0])
            raise NonFiniteError(
                f"Features must be finite, but column {c} holds {X[r, c]} at row {r}.", r, c
            )
        X, labels = self._rows(X, y, n)
        w = check_sample_weight(sample_weight, n)
        w = np.ones(n) if w is None else w
        K = 1 if folds is None else int(n_folds if n_folds is not None else 0)
        if folds is None:
            fid = np.zeros(n, dtype=np.int64)
        else:
            fid = np.asarray(folds, dtype=np.int64).reshape(-1)
            if len(fid) != n or K < 1 or fid.min() < 0 or fid.max() >= K:
                raise ValueError(
                    f"`folds` must hold {n} fold ids in 0 .. n_folds - 1, but got "
                    f"{len(fid)} ids in {fid.min()} .. {fid.max()} with n_folds={n_folds}."
                )
        if self.n_folds and K != self.n_folds:
            raise ValueError(
                f"Rows must come with the state's fold scheme (n_folds={self.n_folds}), but got "
                f"n_folds={K}."
            )
        if self.classes.size and (self.classes.dtype.kind == "U") != (labels.dtype.kind == "U"):
            raise TypeError(
                "Class labels must be all strings or all numbers, but the state holds "
                f"{self.classes[:3].tolist()} and got {labels[:3].tolist()}."
            )
        if not self.n_folds:
            self._start(K)
            self.shift = X[0].copy()
        new = np.setdiff1d(np.unique(labels), self.classes)
        if self.epoch > 1 and new.size:
            raise ValueError(
                f"Rows read again in epoch {self.epoch} must be the rows of epoch 1, but label "
                f"{new[0].item()!r} was not among them (did the source change between reads?)."
            )
        self._grow_classes(np.unique(labels))
        codes = np.searchsorted(self.classes, labels)
        if self.epoch == 1:  # rows read again are learned from, not counted again
            np.add.at(self.fold_rows, fid, 1)
            np.add.at(self.class_rows, (fid, codes), 1)
            np.add.at(self.fold_weight, fid, w)
        self.pend_X = np.concatenate([self.pend_X, X])
        self.pend_code = np.concatenate([self.pend_code, codes])
        self.pend_w = np.concatenate([self.pend_w, w])
        self.pend_fold = np.concatenate([self.pend_fold, fid])
        self._flush(final=False)
        self._derived = {}

    def _rows(self, X: np.ndarray, y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows as buffered (a regression bank appends the target) and their labels."""
        return X, as_labels(y, n)

    def next_epoch(self) -> None:
        """Start the next read of the same rows (the pass calls it before each later read):
        its rows update the models and the running scaler but are not counted again."""
        if self.epoch >= self.epochs:
            raise ValueError(
                f"`epoch <= epochs` must hold, but the state has read its rows {self.epoch} "
                f"time(s) of epochs={self.epochs}."
            )
        self.epoch += 1
        self._derived = {}

    # -- what the finalizers read (merge and fold views: _linear_views.py) ----------------
    def _flushed(self) -> LinearBank:
        def compute() -> LinearBank:
            if not self.n_pending:
                return self
            new = self.copy()
            new._flush(final=True)
            return new

        out: LinearBank = self.derived("flushed", compute)
        return out

    def member_index(self, loss: str, alpha: float, l1: float, eta0: float) -> int:
        """Position of the member with these hyperparameters; the error lists the grid."""
        for i, m in enumerate(self.members):
            if (
                m["loss"] == loss
                and np.isclose(m["alpha"], alpha, rtol=1e-12, atol=0.0)
                and np.isclose(m["l1"], l1, rtol=1e-12, atol=0.0)
                and np.isclose(m["eta0"], eta0, rtol=1e-12, atol=0.0)
            ):
                return i
        raise ValueError(
            "The hyperparameters must name a member of the bank's grid (loss in "
            f"{self.loss}, alpha in {self.alpha}, l1 in {self.l1}, eta0 in {self.eta0}), but "
            f"got loss={loss!r}, alpha={alpha!r}, l1={l1!r}, eta0={eta0!r}."
        )

    def score_sketch(self, member: int, average: bool = True, side: int = 0) -> ScoreSketch:
        """The held-out score sketch of one member (last iterate or average), all folds of
        this state together: with two classes (``side`` 0) of the decision, ``classes_[1]``
        positive; with more, of class ``side``'s score against the rest (see the class notes;
        empty without folds)."""
        counts = self.score_hist[:, member, int(bool(average)), side].sum(axis=0)
        return ScoreSketch(self.score_bins, counts)

    def coefficients(self, member: int, average: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)`` of one member of the last bank in raw units (``W``: d x classes;
        scores ``X @ W + b``), after a last step on buffered rows (on a copy)."""
        s = self._flushed()
        F = s.n_banks
        if F == 0:
            raise ValueError("The linear bank is empty: no rows were seen.")
        W = (s.Wa if average else s.W)[:, F - 1, member, :]
        b = (s.ba if average else s.b)[F - 1, member, :]
        return W.copy(), b - s.shift[: self.n_features] @ W

    # -- round trip ----------------------------------------------------------------------
    _ARRAYS = (
        "shift", "fold_rows", "fold_weight", "class_rows", "mom_w", "mom_mean", "mom_m2",
        "W", "b", "Wa", "ba", "HW", "Hb", "steps", "bank_weight",
        "pend_X", "pend_code", "pend_w", "pend_fold", "score_hist",
    )  # fmt: skip

    def copy(self) -> Self:
        new = type(self)(**self.params())
        new.n_folds = self.n_folds
        new.epoch = self.epoch
        new.classes = self.classes.copy()
        for name in self._ARRAYS:
            setattr(new, name, getattr(self, name).copy())
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_folds": self.n_folds,
            "epoch": self.epoch,
            "classes": encode_labels(self.classes),
        }
        return header, {name: getattr(self, name) for name in self._ARRAYS}

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> LinearBank:
        if header.get("kind", cls.kind) != cls.kind:
            raise ValueError(
                f"{cls.__name__}.from_arrays needs a {cls.kind!r} state, but the header is of "
                f"a {header['kind']!r} state."
            )
        new = cls(**header["params"])
        new.n_folds = int(header["n_folds"])
        new.epoch = int(header.get("epoch", 1))
        new.classes = decode_labels(header["classes"])
        ints = ("fold_rows", "class_rows", "steps", "pend_code", "pend_fold")
        for name in cls._ARRAYS:
            a = np.asarray(arrays[name])
            setattr(new, name, a.astype(np.int64 if name in ints else np.float64).copy())
        F, C, d, M = new.n_banks, len(new.classes), new.n_features, new.n_members
        cols = (d + new.target_columns,)
        if new.W.shape != (d, F, M, C):
            raise ValueError(
                f"{cls.__name__} arrays must have shape (d, banks, members, classes) = "
                f"{(d, F, M, C)}, but `W` has {new.W.shape}."
            )
        if new.pend_X.shape[1:] != cols:
            raise ValueError(
                f"{cls.__name__}'s buffered rows must have {cols[0]} columns (features"
                f"{' and target' if new.target_columns else ''}), but `pend_X` has "
                f"{new.pend_X.shape[1:]}."
            )
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        if type(other) is not type(self) or other.params() != self.params():
            return False
        if other.n_folds != self.n_folds or self.classes.tolist() != other.classes.tolist():
            return False
        if other.epoch != self.epoch:
            return False
        for name in self._ARRAYS:
            a, b = getattr(self, name), getattr(other, name)
            if a.shape != b.shape:
                return False
            if name in ("shift", "mom_mean", "b", "ba"):
                continue  # compared below, on a common shift
            if not np.allclose(a, b, rtol=rtol, atol=1e-12 * (1.0 + np.abs(a).max(initial=0))):
                return False
        off = other.shift - self.shift
        scale = 1.0 + np.abs(self.mom_mean).max(initial=0) + np.abs(self.shift).max(initial=0)
        held = self.mom_w > 0  # a fold with no processed rows has no mean to compare
        mine, theirs = self.mom_mean[held], other.mom_mean[held] + off
        if not np.allclose(mine, theirs, rtol=rtol, atol=rtol * scale):
            return False
        for b_name, w_name in (("b", "W"), ("ba", "Wa")):
            mine = getattr(self, b_name)
            W_other = getattr(other, w_name)
            theirs = getattr(other, b_name) - np.einsum("dfmc,d->fmc", W_other, off[: len(W_other)])
            atol = 1e-12 * (1.0 + np.abs(mine).max(initial=0))
            if not np.allclose(mine, theirs, rtol=rtol, atol=atol):
                return False
        return True

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(members={self.n_members}, banks={self.n_banks}, "
            f"classes={len(self.classes)}, n_rows={self.n_rows})"
        )
