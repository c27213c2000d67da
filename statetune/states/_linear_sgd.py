"""The linear bank's training: rows buffered into fixed mini-batches, one SGD step of every
member of every bank per mini-batch (one ``(batch x d) @ (d x banks*M*classes)`` product and its
transpose), AdaGrad in standardized coordinates with the L1 proximal step and the iterate
averages, the running per-fold moments behind the scaler (of the features and, in a
regression bank, of the target: the buffered rows then carry the target as a last column),
and the held-out scores recorded before each step. A mixin of
:class:`~statetune.states.LinearBank`, which holds the arrays.

Example
-------
>>> import numpy as np
>>> from statetune.states import LinearBank
>>> bank = LinearBank(2, loss=["hinge"], alpha=[1e-4], eta0=[0.5], batch_size=4)
>>> bank.update(np.eye(2)[[0, 1, 0, 1, 0]], [0, 1, 0, 1, 0])
>>> int(bank.steps[0]), bank.n_pending
(1, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from statetune.states._linear_fields import BankFields
from statetune.states._linear_grid import EPS
from statetune.states.score_sketch import score_bins

__all__ = ["BankSteps"]


class BankSteps(BankFields):
    """Mini-batch SGD of every member of every bank (see the module docstring)."""

    losses: tuple[str, ...]
    #: Rows of a bank's first step (at least ``batch_size``): its scalers start from them.
    warmup_rows = 0
    _loss_of: np.ndarray
    _alpha_m: np.ndarray
    _l1_m: np.ndarray
    _eta_m: np.ndarray

    @property
    def n_banks(self) -> int:
        return 0 if self.n_folds == 0 else (1 if self.n_folds == 1 else self.n_folds + 1)

    @property
    def n_pending(self) -> int:
        return len(self.pend_w)

    def _flush(self, final: bool) -> None:
        """Learn every full mini-batch of the buffer (with ``final``: the rest too). Before
        the bank's first step, the first batch is ``warmup_rows`` rows when that is more
        than ``batch_size`` (fewer are held until then, or learned at ``final``)."""
        B, n = self.batch_size, self.n_pending
        start, ends = 0, []
        if self.warmup_rows > B and not self.steps.any():
            if n < self.warmup_rows and not final:
                return
            start = min(n, self.warmup_rows)
            ends = [start] if start else []
        rest = n - start
        full = start + rest - rest % B
        ends += list(range(start + B, full + 1, B))
        if final and n > (ends[-1] if ends else 0):
            ends.append(n)
        a = 0
        for e in ends:
            self._step(self.pend_X[a:e], self.pend_code[a:e], self.pend_w[a:e], self.pend_fold[a:e])
            a = e
        if a:
            self.pend_X = self.pend_X[a:].copy()
            self.pend_code = self.pend_code[a:].copy()
            self.pend_w = self.pend_w[a:].copy()
            self.pend_fold = self.pend_fold[a:].copy()

    def _bank_folds(self) -> np.ndarray:
        """``A[f, k]``: bank ``f`` learns from fold ``k``'s rows."""
        K, F = self.n_folds, self.n_banks
        if F == 1:
            return np.ones((1, K), dtype=bool)
        A = ~np.eye(F, K, dtype=bool)
        A[K] = True
        return A

    def _bank_scalers(self) -> tuple[np.ndarray, np.ndarray]:
        """Per bank: the mean (relative to the shift) and standard deviation of its rows'
        columns (the features; a regression bank's target last)."""
        A = self._bank_folds()
        F, d = A.shape[0], self.mom_mean.shape[1]
        mean, sd = np.zeros((F, d)), np.ones((F, d))
        for f in range(F):
            ks = np.flatnonzero(A[f] & (self.mom_w > 0))
            if not ks.size:
                continue
            wk = self.mom_w[ks]
            W = wk.sum()
            m = (wk @ self.mom_mean[ks]) / W
            m2 = self.mom_m2[ks].sum(axis=0) + wk @ (self.mom_mean[ks] - m) ** 2
            s = np.sqrt(m2 / W)
            mean[f] = m
            sd[f] = np.where((s > 0) & np.isfinite(s), s, 1.0)
        return mean, sd

    def _add_moments(self, Xs: np.ndarray, w: np.ndarray, fid: np.ndarray) -> None:
        """Chan's merge of the batch's per-fold weighted moments into the state's."""
        K = self.n_folds
        onehot = np.zeros((len(w), K))
        onehot[np.arange(len(w)), fid] = w
        wb = onehot.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mb = np.where(wb[:, None] > 0, (onehot.T @ Xs) / wb[:, None], 0.0)
        dev = Xs - mb[fid]
        m2b = onehot.T @ (dev * dev)
        wa = self.mom_w
        tot = wa + wb
        safe = np.where(tot > 0, tot, 1.0)
        delta = mb - self.mom_mean
        self.mom_mean = self.mom_mean + delta * (wb / safe)[:, None]
        self.mom_m2 = self.mom_m2 + m2b + delta * delta * (wa * wb / safe)[:, None]
        self.mom_w = tot

    def _step(self, X: np.ndarray, code: np.ndarray, w: np.ndarray, fid: np.ndarray) -> None:
        """One SGD step of every model of every bank on one mini-batch."""
        Xs = X - self.shift
        self._add_moments(Xs, w, fid)
        A = self._bank_folds()
        F, M, C, d = A.shape[0], self.n_members, len(self.classes), self.n_features
        Xs, t = Xs[:, :d], Xs[:, d:]  # the features; a regression bank's (shifted) target
        B = len(w)
        rw = w[:, None] * A[:, fid].T  # (B, F) row weight in each bank
        nb = rw.sum(axis=0)
        active = nb > 0
        if not active.any() or C == 0:
            return
        mean, sd = self._bank_scalers()  # per bank and column (the target's last)
        self._start_intercepts(mean, active)
        ys = sd[:, d] if sd.shape[1] > d else np.ones(F)  # the target's scale
        mean, sd = mean[:, :d], sd[:, :d]
        P = (Xs @ self.W.reshape(d, -1)).reshape(B, F, M, C)
        P += self.b
        if F > 1 and C >= 2 and self.epoch == self.epochs:
            self._record_scores(Xs, P, code, w, fid)
        G = self._score_gradient(P, code, t, ys)
        G *= (rw / np.where(active, nb, 1.0))[:, :, None, None]
        gW = (Xs.T @ G.reshape(B, -1)).reshape(d, F, M, C)
        gb = G.sum(axis=0)
        banks = slice(None) if active.all() else np.flatnonzero(active)
        self._adagrad(banks, gW[:, banks], gb[banks], mean[banks], sd[banks], ys[banks])
        self.steps[banks] += 1
        self.bank_weight += nb

    def _record_scores(
        self, Xs: np.ndarray, P: np.ndarray, code: np.ndarray, w: np.ndarray, fid: np.ndarray
    ) -> None:
        """Add each row's held-out scores to the sketch: bank ``fid`` (never trained on the
        row), last iterate (from ``P``) and average, before this step."""
        B, M, d, C = len(w), self.n_members, self.n_features, len(self.classes)
        live = P[np.arange(B), fid]  # (B, M, C)
        avg = np.empty_like(live)
        for k in np.unique(fid):
            r = fid == k
            avg[r] = (Xs[r] @ self.Wa[:, k].reshape(d, -1)).reshape(-1, M, C) + self.ba[k]
        s = np.stack([live, avg], axis=2)  # (B, M, 2, C)
        if C == 2:  # one side: the decision, classes_[1] positive
            s = s[..., 1:] - s[..., :1]
            pos = code[:, None]
        else:  # one side per class, that class positive
            pos = (code[:, None] == np.arange(C)).astype(np.intp)
        S = s.shape[-1]
        idx = (
            fid[:, None, None, None],
            np.arange(M)[None, :, None, None],
            np.arange(2)[None, None, :, None],
            np.arange(S)[None, None, None, :],
            pos[:, None, None, :],
            score_bins(s, self.score_bins),
        )
        np.add.at(self.score_hist, idx, np.broadcast_to(w[:, None, None, None], s.shape))

    def _start_intercepts(self, mean: np.ndarray, active: np.ndarray) -> None:
        """Set the intercepts of banks about to take their first step (a classifier's start
        at zero; a regression bank's at the mean target)."""

    def _adagrad(
        self,
        banks: Any,
        gW: np.ndarray,
        gb: np.ndarray,
        mean: np.ndarray,
        sd: np.ndarray,
        ys: np.ndarray,
    ) -> None:
        """The AdaGrad step of the banks ``banks`` (all or some) from raw-unit gradients, in
        standardized coordinates ``V = W * sd / ys``, ``c = (b + mean . W) / ys`` (``ys``: the
        target's scale per bank, 1 for classes); then the L1 proximal step (soft
        thresholding) and the Polyak averages."""
        W, b = self.W[:, banks], self.b[banks]
        s = sd.T[:, :, None, None] / ys[None, :, None, None]  # (d, f, 1, 1)
        m = mean.T[:, :, None, None]
        alpha = self._alpha_m[None, None, :, None]
        eta = self._eta_m[None, None, :, None]
        V = W * s
        c = b + np.einsum("dfmc,fd->fmc", W, mean)
        gV = gW - m * gb[None]
        gV /= s
        gV += alpha * V
        gb = gb * ys[:, None, None]  # the gradient of c
        HW = self.HW[:, banks] + gV * gV
        Hb = self.Hb[banks] + gb * gb
        rate = np.sqrt(HW)
        rate += EPS
        np.divide(eta, rate, out=rate)
        gV *= rate
        V -= gV
        if (self._l1_m > 0).any():
            rate *= self._l1_m[None, None, :, None]
            shrunk = np.abs(V)
            shrunk -= rate
            np.maximum(shrunk, 0.0, out=shrunk)
            V = np.copysign(shrunk, V)
        c -= eta[0] * gb / (np.sqrt(Hb) + EPS) * ys[:, None, None]
        V /= s
        b_new = c - np.einsum("dfmc,fd->fmc", V, mean)
        t = (self.steps[banks] + 1).astype(np.float64)
        frac = 2.0 / (t + 1.0)  # iterate t weighs t (polynomial-decay averaging)
        Wa = self.Wa[:, banks]
        Wa += (V - Wa) * frac[None, :, None, None]
        ba = self.ba[banks]
        ba += (b_new - ba) * frac[:, None, None]
        self.W[:, banks], self.b[banks] = V, b_new
        self.HW[:, banks], self.Hb[banks] = HW, Hb
        self.Wa[:, banks], self.ba[banks] = Wa, ba

    def _score_gradient(
        self, P: np.ndarray, code: np.ndarray, t: np.ndarray, ys: np.ndarray
    ) -> np.ndarray:
        """d(loss)/d(score) for scores ``P`` (B, F, M, C) of rows of class ``code`` (a
        regression bank's: of targets ``t``, shifted, with scale ``ys`` per bank)."""
        B, C = P.shape[0], P.shape[-1]
        Y = np.zeros((B, C))
        Y[np.arange(B), code] = 1.0
        T = (2.0 * Y - 1.0)[:, None, None, :]
        G = np.empty_like(P)
        for i, lo in enumerate(self.losses):
            sel = self._loss_of == i
            if not sel.any():
                continue
            p = P[:, :, sel, :]
            if lo == "logistic":
                e = np.exp(p - p.max(axis=-1, keepdims=True))
                G[:, :, sel, :] = e / e.sum(axis=-1, keepdims=True) - Y[:, None, None, :]
            elif lo == "hinge":
                G[:, :, sel, :] = np.where(T * p < 1.0, -T, 0.0)
            else:
                G[:, :, sel, :] = p - T
        return G
