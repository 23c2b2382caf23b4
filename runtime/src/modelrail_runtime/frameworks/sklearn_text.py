"""scikit-learn text pipelines: the vectorizer that takes the texts, and its token counter.

A text classifier is a Pipeline whose first step turns texts into a matrix (a
``CountVectorizer`` or a ``TfidfVectorizer``, which keeps the vocabulary it was fitted on)
and whose last step classifies, e.g. ``Pipeline([("tfidf", TfidfVectorizer()), ("model",
LogisticRegression())])``. skops rebuilds such a pipeline from its defaults alone (the
vocabulary is a dict of str to int, the idf weights an array): it needs no trusted type.

scikit-learn is imported when a model loads, not when this module is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..adapter import TokenCounter
from ..artifacts import ModelLoadError


def text_vectorizer(model: Any) -> Any:
    """The fitted vectorizer that takes ``model``'s texts: its pipeline's first step.

    Raises:
        ModelLoadError: ``model`` is not a Pipeline starting with a fitted CountVectorizer
            or TfidfVectorizer that takes the texts themselves.
    """
    from sklearn.feature_extraction.text import CountVectorizer  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415

    first = model.steps[0][1] if isinstance(model, Pipeline) and model.steps else None
    if not isinstance(first, CountVectorizer) or not hasattr(first, "vocabulary_"):
        raise ModelLoadError(
            "metadata.json records a text schema, but the model artifact does not hold a "
            "scikit-learn Pipeline whose first step is a fitted text vectorizer "
            "(CountVectorizer or TfidfVectorizer): train e.g. Pipeline([('tfidf', "
            "TfidfVectorizer()), ('model', LogisticRegression())]) on the texts"
        )
    # input="filename" or "file" would make the service open whatever path a request sends.
    if first.input != "content":
        raise ModelLoadError(
            f"the pipeline's vectorizer reads its texts as {first.input!r}, but a service "
            "passes the texts themselves: fit it with input='content' (the default)"
        )
    return first


def vocabulary_counter(vectorizer: Any) -> TokenCounter:
    """Counts, per text, its tokens and those not in ``vectorizer``'s vocabulary.

    Tokens are what the vectorizer's analyzer makes of a text (after its lowercasing,
    accent stripping and stop words). A word analyzer that also builds longer n-grams
    (``ngram_range=(1, 2)``) counts words only: a new pair of known words is not a word the
    model does not know, and a share of unknown words reads the same whatever the n-grams.
    """
    from sklearn.base import clone  # noqa: PLC0415

    vocabulary: dict[str, int] = vectorizer.vocabulary_
    if vectorizer.analyzer == "word" and vectorizer.ngram_range[0] == 1:
        analyzer = clone(vectorizer).set_params(ngram_range=(1, 1)).build_analyzer()
    else:
        analyzer = vectorizer.build_analyzer()

    def count(texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        tokens = np.zeros(len(texts), dtype=np.int64)
        unknown = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            found = analyzer(text)
            tokens[row] = len(found)
            unknown[row] = sum(token not in vocabulary for token in found)
        return tokens, unknown

    return count
