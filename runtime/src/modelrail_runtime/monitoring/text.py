"""What monitoring reads from free text: per text its length and its share of unknown tokens.

A text input (`TextSpec`) is watched through numbers derived from each text, profiled at
training time and compared with traffic like numeric features. Their drift gauges are
labelled ``feature="<input>_length"`` (characters, i.e. Unicode code points) and, when the
model counts tokens, ``feature="<input>_unknown_token_share"`` (unknown tokens / tokens;
NaN for a text without tokens, which drift leaves out like a missing value). Both names
come from the model's declared inputs, so the label set stays bounded.

The metrics (`TextMetrics`) also count the tokens and unknown tokens of each input and
observe every text's length in a histogram with fixed doubling buckets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry, Counter, Gauge

from ..adapter import Tensor, TextSpec
from .batch_histogram import BatchHistogram
from .registry import MODEL_LABELS

LENGTH_SUFFIX: Final = "_length"
UNKNOWN_SHARE_SUFFIX: Final = "_unknown_token_share"
LENGTH_BUCKETS: Final = tuple(float(2**power) for power in range(4, 15))
"""16, 32, ..., 16384 characters: a bucket per doubling, from a few words to a document of
several pages."""
TEXT_LABELS: Final = (*MODEL_LABELS, "input")
MAX_TOKENIZED_TEXTS: Final = 1_000
"""Texts of one input tokenised per refresh (about a second) at most: beyond it, an even
sample. Tokenising costs what the model's own tokenizer costs, and the monitor shares the
process (and the GIL) with the requests: folding 1,000 texts of 200 characters takes 17 to
30 ms with a scikit-learn TF-IDF analyzer (words; words and pairs), nearly all of it in the
token counter, against 0.3 ms without one. So this caps the monitor at about 3% of a core.
The unknown-token share of the sample is that of the traffic; the token counters then
count the sample only."""


def length_name(input_name: str) -> str:
    """The drift ``feature`` label of the length of the texts of an input."""
    return input_name + LENGTH_SUFFIX


def unknown_share_name(input_name: str) -> str:
    """The drift ``feature`` label of the unknown-token share of the texts of an input."""
    return input_name + UNKNOWN_SHARE_SUFFIX


def derived_names(text: TextSpec) -> tuple[str, ...]:
    """The drift ``feature`` labels of a text input: its length, and its unknown-token share
    if the model counts tokens."""
    if text.tokens is None:
        return (length_name(text.input),)
    return (length_name(text.input), unknown_share_name(text.input))


def texts_of(tensors: Mapping[str, Tensor], name: str) -> list[str]:
    """One text per row of input ``name`` (``[-1]``; of a ``[-1, k]`` input, the first column)."""
    tensor = np.asarray(tensors[name])
    column = tensor if tensor.ndim == 1 else tensor.reshape(len(tensor), -1)[:, 0]
    return [_text(value) for value in column.tolist()]


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def lengths(texts: Sequence[str]) -> NDArray[np.float64]:
    """The length of each text in characters (Unicode code points)."""
    return np.fromiter((len(text) for text in texts), dtype=np.float64, count=len(texts))


def count_tokens(
    text: TextSpec, texts: Sequence[str]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Tokens and unknown tokens per text, by the model's counter (``text.tokens``).

    Raises:
        ValueError: the input has no counter, or the counter's answer does not fit the texts.
    """
    if text.tokens is None:
        raise ValueError(f"text input {text.input!r} has no token counter")
    tokens, unknown = (np.asarray(counts, dtype=np.int64) for counts in text.tokens(texts))
    if tokens.shape != (len(texts),) or unknown.shape != (len(texts),):
        raise ValueError(
            f"the token counter of text input {text.input!r} returned {tokens.shape} tokens "
            f"and {unknown.shape} unknown tokens for {len(texts)} texts; it must return one "
            "count of each per text"
        )
    if np.any(unknown > tokens) or np.any(unknown < 0):
        raise ValueError(
            f"the token counter of text input {text.input!r} counted more unknown tokens than "
            "tokens (or a negative count) for a text; unknown tokens are a part of the tokens"
        )
    return tokens, unknown


def unknown_shares(tokens: NDArray[np.int64], unknown: NDArray[np.int64]) -> NDArray[np.float64]:
    """Unknown tokens / tokens per text; NaN for a text without tokens (no share to speak of)."""
    shares = np.full(len(tokens), np.nan)
    counted = tokens > 0
    shares[counted] = unknown[counted] / tokens[counted]
    return shares


def sample_rows(rows: int, at_most: int) -> NDArray[np.intp]:
    """Up to ``at_most`` of ``rows`` row indices, evenly spread (all of them if few enough)."""
    if rows <= at_most:
        return np.arange(rows)
    return np.unique(np.linspace(0, rows - 1, at_most).round().astype(np.intp))


class TextMetrics:
    """The families of the text inputs: length histogram, token counters, training share."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.length = BatchHistogram(
            "model_input_text_length_characters",
            "Length of each input text in characters (Unicode code points), one observation "
            "per row and text input.",
            TEXT_LABELS,
            LENGTH_BUCKETS,
        )
        registry.register(self.length)
        self.tokens = Counter(
            "model_input_tokens",
            "Tokens of the input texts the monitor tokenised with the model's tokenizer "
            f"(every text, or an even sample of {MAX_TOKENIZED_TEXTS} per input and refresh "
            "under heavy traffic).",
            TEXT_LABELS,
            registry=registry,
        )
        self.unknown_tokens = Counter(
            "model_input_unknown_tokens",
            "Tokens of the same texts that the model does not know (outside its vocabulary, "
            "or its tokenizer's unknown token); divided by model_input_tokens: their share.",
            TEXT_LABELS,
            registry=registry,
        )
        self.training_unknown_share = Gauge(
            "model_training_unknown_token_share",
            "Share of the tokens of the training texts (the reference profile) that the model "
            "does not know: the baseline of model_input_unknown_tokens / model_input_tokens.",
            TEXT_LABELS,
            registry=registry,
        )
