"""The ``CoOccurrence`` state: the word co-occurrence sums of the anchor-words topic model.

Rows are documents as bags of words (term counts over ``n_features`` words, dense or CSR).
For a document ``x`` of ``n = sum(x) >= 2`` words and weight ``w``, Arora et al. (ICML 2013,
"A practical algorithm for topic modeling with provable guarantees", section 4) add

    Q += w (x x^T - diag(x)) / (n (n - 1)),

the document's empirical distribution of ordered word pairs (two distinct tokens), an
unbiased estimate of ``A R A^T`` whatever the document's length. The state also keeps the
weighted term counts ``sum w x``, the document frequencies ``sum w [x > 0]`` and the
co-document frequencies ``D = sum w [x > 0][x > 0]^T`` (what UMass topic coherence reads).
Every entry is a plain sum (the diagonal of ``Q`` is summed from ``x_j (x_j - 1) >= 0`` per
entry, never as a difference of two sums), so merging is addition: exact up to rounding,
commutative and associative, and ``subtract`` undoes it.

Documents with no words are counted (``n_empty``) and skipped; documents of one word carry no
pair: counted (``n_short``), kept in the term and document counts, skipped in ``Q``.

``Q`` and ``D`` are dense ``V x V`` (8 V^2 bytes each): ``vocab_max`` (a state parameter)
bounds ``V = n_features``; prune the vocabulary when building the source
(:func:`statetune.data.text.from_text` keeps the ``max_features`` most frequent words).

Example
-------
>>> import numpy as np
>>> from statetune.states.cooccurrence import CoOccurrence
>>> s = CoOccurrence(3); s.update(np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
>>> s.pairs.round(4).tolist()
[[0.3333, 0.3333, 0.0], [0.3333, 0.0, 0.0], [0.0, 0.0, 0.0]]
>>> s.n_rows, s.n_empty, s.n_short
(2, 1, 0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from statetune.states._base import (
    FORMAT_VERSION,
    Memoized,
    NonFiniteError,
    check_sample_weight,
    readonly,
    register_state,
)
from statetune.states._small_pages import small_pages
from statetune.states.capabilities import ReadsSparse, Subtractable
from statetune.states.class_counts import NegativeCountError

__all__ = ["BLOCK_ENTRIES", "VOCAB_MAX", "CoOccurrence"]

try:  # scipy's own kernels (what ``A @ B`` and ``A.toarray()`` run), called directly: each
    # product of a batch is summed into the state's dense array in place, a block of rows at
    # a time (no temporary V x V array)
    from scipy.sparse._sparsetools import csr_matmat, csr_todense
except ImportError:  # pragma: no cover - a scipy that moved them: the public operators
    csr_matmat = csr_todense = None


#: The state's arrays (shared by copies until one of them changes).
_ARRAYS = ("_counts", "_pairs", "_codoc", "_terms", "_docs")
#: Entries of the scratch product per block of words (3 MiB: reused from the heap, not fresh
#: pages each batch).
BLOCK_ENTRIES = 1 << 18
#: Default bound on the vocabulary: two dense 4,096^2 float64 matrices are 256 MiB per fold.
VOCAB_MAX = 4096


def _rows(X: Any, n_features: int) -> sp.csr_array:
    """The batch as canonical CSR float64, checked: finite, non-negative, ``n_features`` wide."""
    if sp.issparse(X):
        X = sp.csr_array(X)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-dimensional, but got an array of shape {X.shape}.")
        if not np.issubdtype(X.dtype, np.number) and X.dtype != np.bool_:
            raise TypeError(f"`X` must be numeric term counts, but got dtype {X.dtype}.")
        X = sp.csr_array(X)
    if X.shape[1] != n_features:
        raise ValueError(
            f"`X` must have {n_features} columns (the state's n_features), but got {X.shape[1]}."
        )
    if np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"`X` must be real term counts, but got dtype {X.dtype}.")
    X = X.astype(np.float64)
    data = X.data
    if data.size and not (data.min() >= 0 and data.max() < np.inf):
        k = int(np.flatnonzero(~(data >= 0) | ~np.isfinite(data))[0])
        row = int(np.searchsorted(X.indptr, k, side="right") - 1)
        col = int(X.indices[k])
        if not np.isfinite(data[k]):
            raise NonFiniteError(
                f"Term counts must be finite, but column {col} holds {data[k]} at row {row}.",
                row=row,
                column=col,
            )
        raise NegativeCountError(
            f"Term counts must be >= 0, but column {col} holds {data[k]} at row {row}.",
            row=row,
            column=col,
        )
    X.eliminate_zeros()
    return X


def _add_sparse(out: np.ndarray, P: sp.csr_array, skip_diagonal: bool = False) -> None:
    """``out += P`` in place (``np.add.at``: repeated entries add up), without a dense copy of
    ``P`` (a fresh V x V array per batch costs more than the product on a busy machine); with
    ``skip_diagonal``, ``P``'s diagonal is left out (the caller adds it exactly)."""
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    data = np.where(rows == P.indices, 0.0, P.data) if skip_diagonal else P.data
    np.add.at(out.reshape(-1), rows * P.shape[1] + P.indices, data)


def _word_blocks(bound: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive word ranges ``[a, b)`` whose summed product bounds stay within ``budget``
    (a range of one word may exceed it: it is never split)."""
    cum = np.concatenate(([0], np.cumsum(bound)))
    blocks, a, V = [], 0, bound.size
    while a < V:
        b = max(int(np.searchsorted(cum, cum[a] + budget, side="right")) - 1, a + 1)
        blocks.append((a, min(b, V)))
        a = b
    return blocks


def _add_grams(
    pairs: np.ndarray,
    codoc: np.ndarray,
    X: sp.csr_array,
    scale: np.ndarray,
    w: np.ndarray,
    block_entries: int | None = None,
) -> None:
    """``pairs += X^T diag(scale) X`` off the diagonal and ``codoc += B^T diag(w) B`` (``B``
    the pattern of ``X``), in place, by scipy's sparse product kernels, a block of words
    (rows of the product) at a time into one small scratch product reused by every block and
    both products (a scratch for the whole batch would be up to ``V^2`` entries on fresh pages
    each batch: the kernel's time for first touches exceeded the product's). Each row of the
    product is computed alone, so blocks do not change a bit of the sums."""
    n, V = X.shape
    rows = np.repeat(np.arange(n), np.diff(X.indptr))
    # X^T with, as values, the positions of its entries in X (exact in float64)
    T = sp.csr_array((np.arange(X.nnz, dtype=np.float64), X.indices, X.indptr), shape=X.shape)
    Xt = T.T.tocsr()
    perm = Xt.data.astype(np.intp)
    idx = np.int32 if max(V * V, X.nnz) < np.iinfo(np.int32).max else np.int64
    ap, aj = Xt.indptr.astype(idx), Xt.indices.astype(idx)
    bp, bj = X.indptr.astype(idx), X.indices.astype(idx)
    # entries of product row i: at most V, and at most the summed lengths of i's documents
    reach = np.concatenate(([0], np.cumsum(np.diff(bp)[aj], dtype=np.int64)))
    bound = np.minimum(np.diff(reach[ap]), V)
    blocks = _word_blocks(bound, BLOCK_ENTRIES if block_entries is None else block_entries)
    size = max(int(bound[a:b].sum()) for a, b in blocks) if blocks else 0
    cp, cj, cx = np.empty(V + 1, dtype=idx), np.empty(size, dtype=idx), np.empty(size)
    kept = pairs.diagonal().copy()  # the caller adds the diagonal exactly: keep the state's own
    for out, left, right in (
        (pairs, X.data[perm], X.data * scale[rows]),
        (codoc, np.ones(X.nnz), w[rows]),
    ):
        for a, b in blocks:
            lo, hi = int(ap[a]), int(ap[b])
            sub = ap[a : b + 1] - ap[a]
            csr_matmat(b - a, V, sub, aj[lo:hi], left[lo:hi], bp, bj, right, cp, cj, cx)
            csr_todense(b - a, V, cp[: b - a + 1], cj, cx, out[a:b])
    pairs.reshape(-1)[:: V + 1] = kept


def _kernels_agree() -> bool:
    """Whether the private kernels (a private API: their signature may change between scipy
    releases) give numpy's sums when called as :func:`_add_grams` calls them (blocks of one
    row: row slices of ``X^T``, a longer row-pointer scratch, a slice of the output), on a
    small batch; if not, or if they raise, the public operators are used."""
    if csr_matmat is None:
        return False
    try:
        X = np.array([[1.0, 0.0, 2.0, 1.0], [0.0, 3.0, 4.0, 0.0], [2.0, 1.0, 0.0, 1.0]])
        scale, w = np.array([0.5, 0.25, 2.0]), np.array([1.0, 2.0, 3.0])
        pairs, codoc = np.zeros((4, 4)), np.zeros((4, 4))
        _add_grams(pairs, codoc, sp.csr_array(X), scale, w, block_entries=1)
        B = (X > 0).astype(float)
        want = (X.T * scale) @ X
        np.fill_diagonal(want, 0.0)  # the caller adds the diagonal
        return bool(np.allclose(pairs, want, rtol=1e-14) and np.allclose(codoc, (B.T * w) @ B))
    except Exception:  # pragma: no cover - a changed private API: the public operators
        return False


if not _kernels_agree():  # pragma: no cover - depends on the installed scipy
    csr_matmat = csr_todense = None


@register_state
class CoOccurrence(Memoized, ReadsSparse, Subtractable):
    """Per-document-normalized word-pair sums, term and (co-)document counts of documents.

    Parameters
    ----------
    n_features : int
        Vocabulary size ``V`` (the columns: one per word).
    vocab_max : int, default 4096
        Largest ``V`` accepted (the state holds two dense ``V x V`` matrices).

    Notes
    -----
    Sample weights are frequency weights: a weight of 2 equals the document seen twice.
    ``n_rows`` counts every document seen, empty ones included.
    """

    kind = "cooccurrence"
    has_target = False

    @staticmethod
    def checked_params(n_features: int, vocab_max: int = VOCAB_MAX) -> dict[str, int]:
        """The state parameters, checked, without building the state (a spec needs no
        ``V x V`` arrays).

        Parameters
        ----------
        n_features, vocab_max : int
            As for the constructor.

        Returns
        -------
        dict
            ``{"n_features": ..., "vocab_max": ...}`` as ints.

        Examples
        --------
        >>> CoOccurrence.checked_params(3)
        {'n_features': 3, 'vocab_max': 4096}
        """
        if isinstance(n_features, bool) or int(n_features) < 1:
            raise ValueError(f"`n_features >= 1` must hold, but got n_features={n_features!r}.")
        if isinstance(vocab_max, bool) or int(vocab_max) < 1:
            raise ValueError(f"`vocab_max >= 1` must hold, but got vocab_max={vocab_max!r}.")
        if int(n_features) > int(vocab_max):
            raise ValueError(
                f"`n_features <= vocab_max` must hold (the state keeps two dense V x V "
                f"matrices), but got n_features={n_features}, vocab_max={vocab_max}; keep the "
                "most frequent words (st.from_text(..., max_features=...)) or raise vocab_max "
                'with state_params={"topics": {"vocab_max": ...}}.'
            )
        return {"n_features": int(n_features), "vocab_max": int(vocab_max)}

    def __init__(self, n_features: int, vocab_max: int = VOCAB_MAX) -> None:
        params = self.checked_params(n_features, vocab_max)
        self.n_features, self.vocab_max = params["n_features"], params["vocab_max"]
        V = self.n_features
        self._n_rows = 0
        self._counts = np.zeros(4)  # weight of docs with pairs, empty, short, all docs
        self._n_empty = 0
        self._n_short = 0
        # numpy's zeros on numpy's huge pages (a first touch is one fault per 2 MiB; see
        # states/_small_pages.py for the measured choice)
        self._pairs, self._codoc = np.zeros((V, V)), np.zeros((V, V))
        self._terms = np.zeros(V)
        self._docs = np.zeros(V)
        self._shared = False  # arrays shared with a copy: copied before the first change

    # -- read-only views ---------------------------------------------------------
    @property
    def n_rows(self) -> int:
        """Documents seen (empty ones included)."""
        return self._n_rows

    @property
    def weight_sum(self) -> float:
        """Summed weight of every document seen (empty ones included)."""
        return float(self._counts[3])

    @property
    def pair_weight(self) -> float:
        """Summed weight of the documents that hold a word pair (they make ``pairs``)."""
        return float(self._counts[0])

    @property
    def n_empty(self) -> int:
        """Documents seen without any word (skipped)."""
        return self._n_empty

    @property
    def n_short(self) -> int:
        """Documents of exactly one word (no pair: skipped in ``pairs``)."""
        return self._n_short

    @property
    def pairs(self) -> np.ndarray:
        """``Q``: the weighted sum of each document's word-pair distribution (V x V)."""
        return readonly(self._pairs)

    @property
    def codoc(self) -> np.ndarray:
        """``D``: weighted counts of documents holding both words (V x V; diagonal: ``docs``)."""
        return readonly(self._codoc)

    @property
    def term_count(self) -> np.ndarray:
        """Weighted term counts (V,)."""
        return readonly(self._terms)

    @property
    def doc_freq(self) -> np.ndarray:
        """Weighted counts of documents holding each word (V,)."""
        return readonly(self._docs)

    def params(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "vocab_max": self.vocab_max}

    # -- protocol ----------------------------------------------------------------
    def update(self, X: Any, y: Any = None, sample_weight: Any = None) -> None:
        """Fold in a batch of documents (rows of term counts; ``y`` is ignored)."""
        X = _rows(X, self.n_features)
        n = X.shape[0]
        w = check_sample_weight(sample_weight, n)
        w = np.ones(n) if w is None else w
        lengths = np.asarray(X.sum(axis=1)).ravel()
        empty = lengths <= 0
        paired = lengths > 1.0 + 1e-12
        short = ~empty & ~paired
        scale = np.zeros(n)
        scale[paired] = w[paired] / (lengths[paired] * (lengths[paired] - 1.0))
        B = sp.csr_array((np.ones_like(X.data), X.indices, X.indptr), shape=X.shape)
        V2 = sp.csr_array((X.data * (X.data - 1.0), X.indices, X.indptr), shape=X.shape)
        diagonal = V2.T @ scale  # x_j (x_j - 1) summed per entry, never a difference
        self._own()
        if (
            csr_matmat is not None
            and self._pairs.flags.c_contiguous
            and self._codoc.flags.c_contiguous
        ):
            _add_grams(self._pairs, self._codoc, X, scale, w)
        else:
            S = sp.csr_array(X.multiply(scale[:, None]))
            _add_sparse(self._pairs, sp.csr_array(X.T.tocsr() @ S), skip_diagonal=True)
            Bw = sp.csr_array(B.multiply(w[:, None]))
            _add_sparse(self._codoc, sp.csr_array(B.T.tocsr() @ Bw))
        self._pairs.reshape(-1)[:: self.n_features + 1] += diagonal
        self._terms += X.T @ w
        self._docs += B.T @ w
        self._counts += (w[paired].sum(), w[empty].sum(), w[short].sum(), w.sum())
        self._n_rows += n
        self._n_empty += int(empty.sum())
        self._n_short += int(short.sum())
        self.__dict__.pop("_derived", None)

    def _check_compatible(self, other: Any) -> CoOccurrence:
        if not isinstance(other, CoOccurrence) or other.params() != self.params():
            raise ValueError(
                f"`other` must be a CoOccurrence state with {self.params()}, but got "
                f"{type(other).__name__} {getattr(other, 'params', dict)()}."
            )
        return other

    def merge(self, other: Any) -> None:
        """Absorb the documents of ``other`` (disjoint): every sum adds."""
        o = self._check_compatible(other)
        self._add(o, 1)

    def subtract(self, other: Any) -> None:
        """Remove the documents of ``other`` (undoes :meth:`merge`)."""
        o = self._check_compatible(other)
        if o._n_rows > self._n_rows:
            raise ValueError(
                f"`other.n_rows <= n_rows` must hold to subtract, but got {o._n_rows} > "
                f"{self._n_rows}."
            )
        self._add(o, -1)

    def _own(self) -> None:
        """Copy the arrays shared with a copy (copy-on-write) before changing them."""
        if self._shared:
            with small_pages():
                for name in _ARRAYS:
                    setattr(self, name, getattr(self, name).copy())
            self._shared = False

    def _add(self, o: CoOccurrence, sign: int) -> None:
        op = np.add if sign > 0 else np.subtract
        with small_pages():
            for name in _ARRAYS:  # in place, or into new arrays when shared (no temporaries)
                mine, theirs = getattr(self, name), getattr(o, name)
                setattr(
                    self, name, op(mine, theirs) if self._shared else op(mine, theirs, out=mine)
                )
        self._shared = False
        self._n_rows += sign * o._n_rows
        self._n_empty += sign * o._n_empty
        self._n_short += sign * o._n_short
        self.__dict__.pop("_derived", None)

    def copy(self) -> CoOccurrence:
        """An equal state; the two share their arrays until either changes (copy-on-write:
        each copies them before its first change), so a copy costs no V x V copy."""
        new = CoOccurrence.__new__(CoOccurrence)
        new.__dict__.update(self.__dict__)
        new.__dict__.pop("_derived", None)
        self._shared = new._shared = True
        return new

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": self.params(),
            "n_rows": int(self._n_rows),
            "n_empty": int(self._n_empty),
            "n_short": int(self._n_short),
        }
        arrays = {
            "counts": self._counts.copy(),
            "pairs": self._pairs.copy(),
            "codoc": self._codoc.copy(),
            "terms": self._terms.copy(),
            "docs": self._docs.copy(),
        }
        return header, arrays

    @classmethod
    def from_arrays(cls, header: dict[str, Any], arrays: Any) -> CoOccurrence:
        """Inverse of :meth:`to_arrays`; checks shapes."""
        p = header["params"]
        new = cls(int(p["n_features"]), int(p["vocab_max"]))
        V = new.n_features
        want = {"counts": (4,), "pairs": (V, V), "codoc": (V, V), "terms": (V,), "docs": (V,)}
        got = {k: np.asarray(arrays[k], dtype=np.float64) for k in want}
        for k, shape in want.items():
            if got[k].shape != shape:
                raise ValueError(
                    f"CoOccurrence array {k!r} must have shape {shape}, but got {got[k].shape}."
                )
        new._counts, new._pairs, new._codoc = got["counts"], got["pairs"], got["codoc"]
        new._terms, new._docs = got["terms"], got["docs"]
        new._n_rows = int(header["n_rows"])
        new._n_empty, new._n_short = int(header["n_empty"]), int(header["n_short"])
        new._shared = True  # the arrays may be the caller's: copied before any change
        return new

    def allclose(self, other: Any, rtol: float = 1e-10) -> bool:
        """Same documents counted; every sum within ``rtol`` (relative, entry by entry)."""
        if not isinstance(other, CoOccurrence) or other.params() != self.params():
            return False
        if (self._n_rows, self._n_empty, self._n_short) != (
            other._n_rows,
            other._n_empty,
            other._n_short,
        ):
            return False
        pairs = (
            (self._counts, other._counts),
            (self._pairs, other._pairs),
            (self._codoc, other._codoc),
            (self._terms, other._terms),
            (self._docs, other._docs),
        )
        return all(
            bool(np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)))) for a, b in pairs
        )

    def __repr__(self) -> str:
        return (
            f"CoOccurrence(n_features={self.n_features}, n_rows={self._n_rows}, "
            f"n_empty={self._n_empty}, n_short={self._n_short})"
        )
