"""Text sources: documents (a DataFrame column, an iterable of strings, a folder of ``.txt``
files) as a sparse bag-of-words source, tokenized by scikit-learn's ``CountVectorizer``.

The vocabulary is fixed when the source is built, by one tokenization of the documents that
also yields their term counts (``fit_transform``: no second read): the ``max_features`` most
frequent words, English stop words removed by default. The source is then a sparse
:class:`~statetune.data.arrays.ArraySource` whose columns are the words
(``schema.features``), so the states of a pass (the topic model's
:class:`~statetune.states.CoOccurrence`, the naive Bayes counts) read CSR rows in place.

Why a fixed vocabulary rather than the two alternatives:

- a ``HashingVectorizer`` needs no vocabulary, but its topics are over hash buckets: no word
  to show for a topic, and two words that collide share a row of the co-occurrence matrix
  (two anchor candidates merged into one breaks the separability the anchor method needs);
- term counts kept in the state and pruned to the top ``V`` at finalize would let the
  vocabulary follow the data, but the co-occurrence matrix is indexed by the final vocabulary:
  it would have to be kept over every word seen (``V^2`` without bound) to be pruned later.

The source's ``schema.features`` is a :class:`~statetune.data.vocabulary.TextVocabulary`: the
words plus the tokenizer's settings, carried by the states and a saved model, so a topic model
finalized from the states takes raw documents (``model.transform(["a new document"])``).
New documents for the same states (``st.update``) are tokenized with the same vocabulary:
``from_text(new_docs, vocabulary=src.vocabulary)`` or ``src.vectorizer.transform(new_docs)``.

Example
-------
>>> from statetune.data.text import from_text
>>> src = from_text(["red apples and green apples", "green pears", ""], max_features=3)
>>> src.vocabulary, src.X.toarray().tolist()
(['apples', 'green', 'pears'], [[2, 1, 0], [0, 1, 1], [0, 0, 0]])
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from statetune.data.arrays import ArraySource
from statetune.data.vocabulary import TextVocabulary, tokenizer_settings

__all__ = ["DEFAULT_MAX_FEATURES", "TextSource", "from_text", "raw_documents"]

#: Default vocabulary size: a dense co-occurrence matrix of 2,000 words is 32 MB per fold.
DEFAULT_MAX_FEATURES = 2000


class TextSource(ArraySource):
    """A sparse bag-of-words :class:`ArraySource` that knows its words (``vocabulary``) and
    the fitted ``CountVectorizer`` (``vectorizer``) that tokenizes new documents alike."""

    vocabulary: list[str]
    vectorizer: Any


def _documents(docs: Any, text: str) -> tuple[list[str], str, pd.DataFrame | None]:
    """(documents, label, the frame they came from or None); missing text reads as empty."""
    if isinstance(docs, str | os.PathLike) and Path(docs).is_dir():
        folder = Path(docs)
        files = sorted(folder.rglob("*.txt"))
        if not files:
            raise ValueError(f"A folder of documents must hold .txt files, but {folder} has none.")
        texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
        return texts, f"folder {folder}", None
    if isinstance(docs, str | bytes):
        raise TypeError(
            "`docs` must be a DataFrame, an iterable of strings or a folder of .txt files, but "
            f"got a single string that is not a folder: {docs[:60]!r}."
        )
    frame: pd.DataFrame | None = None
    if isinstance(docs, pd.DataFrame):
        if text not in docs.columns:
            raise ValueError(
                f"The DataFrame must hold the text column {text!r}, but its columns are "
                f"{[str(c) for c in docs.columns]}."
            )
        frame, values, label = docs, list(docs[text]), f"column {text!r}"
    elif isinstance(docs, pd.Series):
        values, label = list(docs), f"column {docs.name or text!r}"
    elif isinstance(docs, Iterable):
        values, label = list(docs), "documents"
    else:
        raise TypeError(
            "`docs` must be a DataFrame, an iterable of strings or a folder of .txt files, but "
            f"got {type(docs).__name__}."
        )
    out = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append("")  # a missing document is an empty one (counted by the states)
        elif isinstance(v, str):
            out.append(v)
        elif isinstance(v, bytes):
            out.append(v.decode("utf-8", errors="replace"))
        else:
            raise TypeError(
                f"Documents must be strings, but row {i} of the {label} holds "
                f"{type(v).__name__} {v!r:.60}."
            )
    if not out:
        raise ValueError("The source must hold at least one document, but got none.")
    return out, label, frame


def raw_documents(X: Any) -> list[str] | None:
    """``X`` as a list of documents when it is raw text (strings in a list, tuple, 1-D array
    or pandas Series; a missing value reads as an empty document), else None (term counts).

    >>> raw_documents(["cats purr", None]), raw_documents([[1, 0]])
    (['cats purr', ''], None)
    """
    if isinstance(X, str | bytes):
        raise TypeError(
            "Raw documents must come as an iterable of strings (one per document), but got a "
            f"single string: {X[:60]!r}; pass [text]."
        )
    if isinstance(X, pd.Series | list | tuple) or (isinstance(X, np.ndarray) and X.ndim == 1):
        values = list(X)
        if any(isinstance(v, str | bytes) for v in values):
            return _documents(values, "text")[0]
    return None


def from_text(
    docs: Any,
    text: str = "text",
    *,
    target: str | Sequence[Any] | None = None,
    max_features: int | None = DEFAULT_MAX_FEATURES,
    vocabulary: Sequence[str] | None = None,
    stop_words: str | list[str] | None = "english",
    **vectorizer_params: Any,
) -> TextSource:
    """A sparse bag-of-words source over documents.

    Parameters
    ----------
    docs : DataFrame, iterable of str, or path of a folder
        Documents: the column ``text`` of a DataFrame, strings (a missing value reads as an
        empty document), or every ``.txt`` file under a folder (sorted by path).
    text : str, default "text"
        The DataFrame's text column.
    target : str or array-like, optional
        A DataFrame column (or values, one per document) as the target (labels for the count
        naive Bayes models); topic models ignore it.
    max_features : int or None, default 2000
        Keep the most frequent words (scikit-learn's ``CountVectorizer(max_features=...)``).
    vocabulary : list of str, optional
        A fixed vocabulary instead (e.g. ``other_source.vocabulary``, to add documents).
    stop_words : "english", list or None, default "english"
        Words left out (scikit-learn's English list by default).
    **vectorizer_params
        Other ``CountVectorizer`` parameters (``min_df``, ``token_pattern``, ``ngram_range``...).

    Returns
    -------
    TextSource
        A sparse source (CSR) whose columns are the words; ``vocabulary`` lists them and
        ``vectorizer`` is the fitted ``CountVectorizer``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"body": ["cats purr", "dogs bark", "cats and dogs"], "y": [0, 1, 1]})
    >>> src = from_text(df, text="body", target="y")
    >>> src.schema.features, src.schema.target
    (('bark', 'cats', 'dogs', 'purr'), 'y')
    """
    from sklearn.feature_extraction.text import CountVectorizer

    texts, label, frame = _documents(docs, text)
    y: Any = None
    target_name = "y"
    if isinstance(target, str):
        if frame is None or target not in frame.columns:
            raise ValueError(
                f"`target` names a column ({target!r}), but the documents are not a DataFrame "
                "holding it; pass the target values instead."
            )
        y, target_name = frame[target], target
    elif target is not None:
        y = np.asarray(target)
        if y.shape != (len(texts),):
            raise ValueError(
                f"`target` must hold one value per document ({len(texts)}), but got shape "
                f"{y.shape}."
            )
    vec = CountVectorizer(
        max_features=None if vocabulary is not None else max_features,
        vocabulary=list(vocabulary) if vocabulary is not None else None,
        stop_words=stop_words,
        **vectorizer_params,
    )
    try:
        X = vec.fit_transform(texts)
    except ValueError as err:
        if "empty vocabulary" not in str(err):
            raise
        raise ValueError(
            f"The documents must hold words to count, but the {label} ({len(texts)} documents) "
            f"has none left after tokenizing and removing stop words ({err})."
        ) from None
    names = [str(t) for t in vec.get_feature_names_out()]
    src = TextSource(X, y, feature_names=names, target_name=target_name, label=f"text: {label}")
    words = TextVocabulary(names, tokenizer_settings(vec), vec)
    src._schema = dataclasses.replace(src.schema, features=words)  # models tokenize alike
    src.vocabulary = names
    src.vectorizer = vec
    return src
