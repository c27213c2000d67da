"""The linear bank's fold algebra: the merge (weighted averaging of the models, exact counts,
moments, held-out score sketches and buffered rows) and the per-fold views the pass and the
finalizers read (``fold_view(k)``: the bank trained without fold ``k``; ``held_view(k)``: fold
``k``'s counts, moments and held-out scores). A mixin of :class:`~statetune.states.LinearBank`.

Example
-------
>>> import numpy as np
>>> from statetune.states import LinearBank
>>> rng = np.random.default_rng(0); X = rng.normal(size=(90, 2)); y = X[:, 0] > 0
>>> bank = LinearBank(2, loss=["logistic"], alpha=[1e-4], eta0=[0.5])
>>> bank.update(X, y, folds=np.arange(90) % 3, n_folds=3)
>>> bank.n_banks, bank.fold_view(1).n_rows, bank.held_view(1).n_rows
(4, 60, 30)
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from statetune.states._linear_fields import BankFields

__all__ = ["BankViews"]


class BankViews(BankFields):
    """Merge and fold views of a linear bank (see the module docstring)."""

    def params(self) -> dict[str, Any]:  # pragma: no cover - the bank's
        raise NotImplementedError

    def copy(self) -> Self:  # pragma: no cover - the bank's
        raise NotImplementedError

    def _start(self, n_folds: int) -> None:  # pragma: no cover - the bank's
        raise NotImplementedError

    def _grow_classes(self, new: np.ndarray) -> None:  # pragma: no cover - the bank's
        raise NotImplementedError

    @property
    def n_banks(self) -> int:  # pragma: no cover - the bank's
        raise NotImplementedError

    def _check_same(self, other: Any) -> None:
        if type(other) is not type(self) or other.params() != self.params():
            raise ValueError(
                f"States must share parameters to combine, but got {self.params()} and "
                f"{getattr(other, 'params', lambda: other)()}."
            )

    def merge(self, other: Any) -> None:
        """Average ``other``'s models into this state's (weighted by the sample weight each
        bank learned from); counts, moments and the row buffer combine exactly."""
        self._check_same(other)
        if other.n_folds == 0:
            return
        if self.n_folds == 0:
            self.__dict__.update(other.copy().__dict__)
            self._derived = {}
            return
        if other.n_folds != self.n_folds:
            raise ValueError(
                "States must share their fold scheme to merge, but got n_folds="
                f"{self.n_folds} and {other.n_folds}."
            )
        if other.epoch != self.epoch:
            raise ValueError(
                "States must be in the same epoch to merge, but got epoch="
                f"{self.epoch} and {other.epoch}."
            )
        if (self.classes.dtype.kind == "U") != (other.classes.dtype.kind == "U"):
            raise TypeError(
                "Class labels must be all strings or all numbers, but the states hold "
                f"{self.classes[:3].tolist()} and {other.classes[:3].tolist()}."
            )
        o = other.copy()
        self._grow_classes(o.classes)
        o._grow_classes(self.classes)
        off = o.shift - self.shift  # o's intercepts move to this state's shift
        o.b = o.b - np.einsum("dfmc,d->fmc", o.W, off[: self.n_features])
        o.ba = o.ba - np.einsum("dfmc,d->fmc", o.Wa, off[: self.n_features])
        wa, wb = self.bank_weight, o.bank_weight
        tot = wa + wb
        fa = np.where(tot > 0, wa / np.where(tot > 0, tot, 1.0), 0.5)
        fb = 1.0 - fa
        for name in ("W", "Wa", "HW"):
            setattr(
                self,
                name,
                getattr(self, name) * fa[None, :, None, None]
                + getattr(o, name) * fb[None, :, None, None],
            )
        for name in ("b", "ba", "Hb"):
            setattr(
                self,
                name,
                getattr(self, name) * fa[:, None, None] + getattr(o, name) * fb[:, None, None],
            )
        self.bank_weight = tot
        self.steps = self.steps + o.steps
        # moments: Chan's merge, o's rows moved to this state's shift
        mb = o.mom_mean + off
        wa_m, wb_m = self.mom_w, o.mom_w
        t_m = wa_m + wb_m
        safe = np.where(t_m > 0, t_m, 1.0)
        delta = np.where(wb_m[:, None] > 0, mb - self.mom_mean, 0.0)
        self.mom_mean = self.mom_mean + delta * (wb_m / safe)[:, None]
        self.mom_m2 = self.mom_m2 + o.mom_m2 + delta * delta * (wa_m * wb_m / safe)[:, None]
        self.mom_w = t_m
        self.score_hist = self.score_hist + o.score_hist
        self.fold_rows = self.fold_rows + o.fold_rows
        self.class_rows = self.class_rows + o.class_rows
        self.fold_weight = self.fold_weight + o.fold_weight
        X = np.concatenate([self.pend_X, o.pend_X])
        code = np.concatenate([self.pend_code, o.pend_code])
        w = np.concatenate([self.pend_w, o.pend_w])
        fid = np.concatenate([self.pend_fold, o.pend_fold])
        order = np.lexsort([*X.T[::-1], w, code, fid][::-1]) if len(w) else np.arange(0)
        self.pend_X, self.pend_code = X[order], code[order]
        self.pend_w, self.pend_fold = w[order], fid[order]
        self._derived = {}

    def fold_view(self, k: int | None) -> Self:
        """The state of the rows outside fold ``k`` (its one bank: bank ``k``); ``None``: of
        all rows (the last bank). Buffered rows of those folds come along."""
        if self.n_folds <= 1 or k is None:
            if self.n_folds <= 1:
                return self
            k = self.n_folds
        K = self.n_folds
        if not 0 <= k <= K:
            raise ValueError(f"`0 <= fold < {K}` must hold, but got fold={k}.")
        keep = np.ones(K, dtype=bool) if k == K else np.arange(K) != k
        seen = self.class_rows[keep].sum(axis=0) > 0  # classes of the rows it learned from
        new = type(self)(**self.params())
        new.epoch = self.epoch
        new.classes = self.classes[seen].copy()
        new._start(1)
        new.class_rows = self.class_rows[keep][:, seen].sum(axis=0, keepdims=True)
        new.shift = self.shift.copy()
        new.fold_rows = np.array([self.fold_rows[keep].sum()], dtype=np.int64)
        new.fold_weight = np.array([self.fold_weight[keep].sum()])
        ks = np.flatnonzero(keep & (self.mom_w > 0))
        if ks.size:
            wk = self.mom_w[ks]
            m = (wk @ self.mom_mean[ks]) / wk.sum()
            new.mom_w = np.array([wk.sum()])
            new.mom_mean = m[None]
            new.mom_m2 = (self.mom_m2[ks].sum(axis=0) + wk @ (self.mom_mean[ks] - m) ** 2)[None]
        sl = slice(k, k + 1)
        for name in ("W", "Wa", "HW"):
            setattr(new, name, getattr(self, name)[:, sl][..., seen].copy())
        for name in ("b", "ba", "Hb"):
            setattr(new, name, getattr(self, name)[sl][..., seen].copy())
        new.steps = self.steps[sl].copy()
        new.bank_weight = self.bank_weight[sl].copy()
        if seen.all():  # other folds' held-out scores (coded by this state's two classes)
            new.score_hist = self.score_hist[keep].sum(axis=0, keepdims=True)
        rows = keep[self.pend_fold]
        recode = np.cumsum(seen) - 1
        new.pend_X, new.pend_code = self.pend_X[rows].copy(), recode[self.pend_code[rows]]
        new.pend_w = self.pend_w[rows].copy()
        new.pend_fold = np.zeros(int(rows.sum()), dtype=np.int64)
        return new

    def held_view(self, k: int) -> Self:
        """The rows of fold ``k`` as counted (rows, weight, moments); no model learns from
        held-out rows, so its bank is untrained: held-out metrics come from the held-out
        sample of rows, never from this view."""
        K = self.n_folds
        new = type(self)(**self.params())
        new.epoch = self.epoch
        if K == 0:
            return new
        if not 0 <= k < K:
            raise ValueError(f"`0 <= fold < {K}` must hold, but got fold={k}.")
        seen = self.class_rows[k] > 0
        new.classes = self.classes[seen].copy()
        new._start(1)
        new.class_rows = self.class_rows[k : k + 1, seen].copy()
        new.shift = self.shift.copy()
        new.fold_rows = self.fold_rows[k : k + 1].copy()
        new.fold_weight = self.fold_weight[k : k + 1].copy()
        new.mom_w = self.mom_w[k : k + 1].copy()
        new.mom_mean = self.mom_mean[k : k + 1].copy()
        new.mom_m2 = self.mom_m2[k : k + 1].copy()
        if seen.all():  # fold k's scores by bank k (coded by this state's two classes)
            new.score_hist = self.score_hist[k : k + 1].copy()
        return new
