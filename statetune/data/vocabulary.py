"""The words of a text source as feature names that also know how the documents were tokenized.

A :class:`TextVocabulary` is the ``schema.features`` of a source made by
:func:`statetune.data.text.from_text`: a tuple of the words (the columns, in order), plus the
JSON-able settings of the scikit-learn ``CountVectorizer`` that tokenized them. It travels
wherever feature names travel (the states' schema, a saved model's ``model.json``), so a model
finalized from the states can tokenize raw documents exactly as the source did:
:meth:`TextVocabulary.vectorizer` is a ``CountVectorizer`` with the vocabulary fixed.

Settings that are Python callables (a custom ``tokenizer``, ``preprocessor`` or ``analyzer``)
cannot be written to JSON: in the same session the source's own fitted vectorizer is used; a
model loaded from a file then refuses raw text, naming them (never a different tokenization).

Example
-------
>>> from statetune.data.vocabulary import TextVocabulary
>>> words = TextVocabulary(["apples", "pears"], {"lowercase": True, "stop_words": None})
>>> words.vectorizer().transform(["Apples and pears and apples"]).toarray().tolist()
[[2, 1]]
>>> TextVocabulary.from_json(["apples", "pears"], words.to_json()) == ("apples", "pears")
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["UnsavedTokenizerError", "TextVocabulary", "tokenizer_settings"]

#: CountVectorizer parameters that change how a document maps to counts over a fixed
#: vocabulary (``min_df``, ``max_df``, ``max_features`` only choose a vocabulary).
_SETTINGS = (
    "input",
    "encoding",
    "decode_error",
    "strip_accents",
    "lowercase",
    "preprocessor",
    "tokenizer",
    "stop_words",
    "token_pattern",
    "ngram_range",
    "analyzer",
    "binary",
)


class UnsavedTokenizerError(TypeError):
    """Raw text given to a model whose tokenizer was a Python callable not saved with it."""


def tokenizer_settings(vectorizer: Any) -> dict[str, Any]:
    """The JSON-able tokenizer settings of a ``CountVectorizer``; callables are listed under
    ``"unsaved"`` (their names) instead."""
    params = vectorizer.get_params()
    out: dict[str, Any] = {}
    unsaved = []
    for name in _SETTINGS:
        value = params.get(name)
        if callable(value):
            unsaved.append(name)
        elif isinstance(value, frozenset | set):
            out[name] = sorted(value)
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    if unsaved:
        out["unsaved"] = unsaved
    return out


class TextVocabulary(tuple[str, ...]):
    """Words (feature names, in column order) and the tokenizer settings that made them."""

    tokenizer: dict[str, Any]
    _fitted: Any

    def __new__(
        cls, words: Iterable[str], tokenizer: dict[str, Any] | None = None, fitted: Any = None
    ) -> TextVocabulary:
        new = super().__new__(cls, (str(w) for w in words))
        new.tokenizer = dict(tokenizer or {})
        new._fitted = fitted  # the source's own vectorizer (this session only; not saved)
        return new

    def __reduce__(self) -> Any:
        return (TextVocabulary, (tuple(self), self.tokenizer, self._fitted))

    def to_json(self) -> dict[str, Any]:
        """The tokenizer settings (the words are the schema's features)."""
        return dict(self.tokenizer)

    @classmethod
    def from_json(cls, words: Iterable[str], data: dict[str, Any]) -> TextVocabulary:
        """Inverse of :meth:`to_json`."""
        return cls(words, data)

    def vectorizer(self) -> Any:
        """A ``CountVectorizer`` mapping raw documents to counts over these words.

        Raises
        ------
        UnsavedTokenizerError
            The tokenizer settings include callables that were not saved (a model loaded
            from a file, its source tokenized by a custom function).
        """
        if self._fitted is not None:
            return self._fitted
        unsaved = self.tokenizer.get("unsaved")
        if unsaved:
            raise UnsavedTokenizerError(
                f"Raw documents need the source's tokenizer, but its {unsaved} were Python "
                "callables, which a saved model does not keep; tokenize the documents as the "
                "source did and pass the term counts (a bag-of-words matrix over the model's "
                "feature_names_in_)."
            )
        from sklearn.feature_extraction.text import CountVectorizer

        params = {k: v for k, v in self.tokenizer.items() if k in _SETTINGS}
        if isinstance(params.get("ngram_range"), list):
            params["ngram_range"] = tuple(params["ngram_range"])
        self._fitted = CountVectorizer(vocabulary=list(self), **params)
        return self._fitted
