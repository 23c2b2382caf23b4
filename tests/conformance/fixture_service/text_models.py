"""The fixture's text models: one BYTES input ``text`` ``[-1]``, as the template's text tasks.

``text`` classifies sentiment with word weights (a BYTES ``label`` and FP64
``probabilities``); ``embedding`` maps each text to an L2-normalised FP32 vector ``[-1, 384]``,
a sum of one pseudo-random vector per token. Both work on the UTF-8 bytes of each text, as a real tokenizer does, and
truncate to ``max_tokens`` unless a flaw says otherwise.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from array import array
from pathlib import Path
from typing import Any, ClassVar

from fixture_service.spec import Spec

HERE = Path(__file__).parent
_WORD = re.compile(r"\w+")
DIMENSIONS = 384
"""As all-MiniLM-L6-v2's."""


def tokens(text: str, max_tokens: int, flaw: str) -> list[str]:
    """Lower-cased words of ``text``, at most ``max_tokens`` (the flaws break this)."""
    if flaw == "unicode_500":
        text.encode("ascii")  # UnicodeEncodeError on the first non-ASCII character
    text.encode("utf-8")  # as a tokenizer taking UTF-8: fails on lone surrogates
    found = _WORD.findall(text.lower())
    if len(found) > max_tokens and flaw == "long_text_500":
        raise ValueError(f"{len(found)} tokens exceed the model's {max_tokens} positions")
    return found[:max_tokens]


def _prediction_ids(n: int) -> dict[str, Any]:
    return {"name": "prediction_id", "datatype": "BYTES", "shape": [n],
            "data": [uuid.uuid4().hex for _ in range(n)]}  # fmt: skip


class TextClassifierModel:
    """Sentiment as logistic regression over word weights; labels are class names."""

    name: ClassVar[str] = "text"
    platform: ClassVar[str] = "python-text-logistic"
    default_file: ClassVar[Path] = HERE / "model_text.json"
    inputs: ClassVar[tuple[Spec, ...]] = (Spec("text", "BYTES", (-1,)),)

    def __init__(self, params: dict[str, Any]) -> None:
        self.classes: list[str] = list(params["classes"])
        self.intercept = float(params["intercept"])
        self.weights: dict[str, float] = {k: float(v) for k, v in params["weights"].items()}
        self.max_tokens = int(params["max_tokens"])

    @classmethod
    def outputs(cls, flaw: str) -> list[dict[str, Any]]:
        """The output metadata."""
        return [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
            {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
        ]

    def example(self) -> dict[str, list[Any]]:
        """One row of valid columns."""
        return {"text": ["The delivery was fast and the support team was friendly."]}

    def predict(self, columns: dict[str, list[Any]], rows: int, flaw: str) -> list[list[float]]:
        """Class probabilities per row (unknown words weigh nothing)."""
        probs = []
        for text in columns["text"][:rows]:
            words = tokens(text, self.max_tokens, flaw)
            z = self.intercept + sum(self.weights.get(w, 0.0) for w in words)
            p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
            probs.append([1.0 - p, p])
        return probs

    def response(self, probs: list[list[float]], flaw: str) -> list[dict[str, Any]]:
        """The outputs of a response."""
        n = len(probs)
        indices = [row.index(max(row)) for row in probs]
        labels: list[Any] = (
            indices if flaw == "label_numbers" else [self.classes[i] for i in indices]
        )
        return [
            {"name": "label", "datatype": "BYTES", "shape": [n], "data": labels},
            {"name": "probabilities", "datatype": "FP64", "shape": [n, 2],
             "data": [p for row in probs for p in row]},
            _prediction_ids(n),
        ]  # fmt: skip


class TextEmbeddingModel:
    """Hashed bag of words: each token adds a pseudo-random vector of 384; then L2 norm."""

    name: ClassVar[str] = "embedding"
    platform: ClassVar[str] = "python-text-hashing"
    default_file: ClassVar[Path] = HERE / "model_embedding.json"
    inputs: ClassVar[tuple[Spec, ...]] = (Spec("text", "BYTES", (-1,)),)

    def __init__(self, params: dict[str, Any]) -> None:
        self.dimensions = int(params["dimensions"])
        if self.dimensions != DIMENSIONS:
            raise ValueError(
                f"the metadata declares {DIMENSIONS} dimensions, not {self.dimensions}"
            )
        self.max_tokens = int(params["max_tokens"])
        self.salt = str(params["salt"]).encode()

    @classmethod
    def outputs(cls, flaw: str) -> list[dict[str, Any]]:
        """The output metadata (the dimensions of model_embedding.json)."""
        return [
            {"name": "embedding", "datatype": "FP32", "shape": [-1, DIMENSIONS]},
            {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
        ]

    def example(self) -> dict[str, list[Any]]:
        """One row of valid columns."""
        return {"text": ["The package arrived late."]}

    def _vector(self, text: str, flaw: str) -> list[float]:
        vector = [0.0] * self.dimensions
        # "[CLS]" and "[SEP]" stand for the special tokens every text gets: never a zero vector.
        for token in ["[CLS]", *tokens(text, self.max_tokens, flaw), "[SEP]"]:
            digest = hashlib.shake_256(self.salt + token.encode()).digest(self.dimensions)
            vector = [x + (b - 127.5) for x, b in zip(vector, digest, strict=True)]
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return list(array("f", [x / norm for x in vector]))  # float32, as a model's output

    def predict(self, columns: dict[str, list[Any]], rows: int, flaw: str) -> list[list[float]]:
        """One embedding per row."""
        vectors = [self._vector(text, flaw) for text in columns["text"][:rows]]
        if flaw == "embedding_jitter":
            vectors = [[x + (1e-3 if i % 2 else -1e-3) for i, x in enumerate(v)] for v in vectors]
        return vectors

    def response(self, vectors: list[list[float]], flaw: str) -> list[dict[str, Any]]:
        """The outputs of a response."""
        n = len(vectors)
        shape = [n, self.dimensions]
        if flaw == "squeeze_single_row" and n == 1:
            shape = [self.dimensions]  # numpy's squeeze() on a batch of one
        return [
            {"name": "embedding", "datatype": "FP32", "shape": shape,
             "data": [x for row in vectors for x in row]},
            _prediction_ids(n),
        ]  # fmt: skip
