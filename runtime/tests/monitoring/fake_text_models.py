"""Small text models for the monitoring tests: a ticket router that counts tokens against
its vocabulary, a sentence encoder giving random-like vectors, and tickets to feed them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelrail_runtime import (
    ModelSignature,
    MonitoringSpec,
    Tensor,
    TensorSpec,
    TextSpec,
    VerifiedArtifact,
)

WORDS = (
    *("invoice", "refund", "payment", "card", "charge", "account", "login", "password"),
    *("error", "crash", "screen", "update", "install", "network", "printer", "email"),
    *("slow", "broken", "help", "please", "thanks", "order", "delivery", "late"),
    *("missing", "question", "cancel", "subscription", "upgrade", "plan"),
)
"""The router's vocabulary: every word the tickets of the training data use."""
FOREIGN = ("rechnung", "erstattung", "zahlung", "konto", "fehler", "drucker", "passwort")
"""Words the router never saw."""
WORD = re.compile(r"\w+")


class Vocabulary:
    """A token counter (`TokenCounter`): words, and words outside the vocabulary.

    It remembers how many texts it was asked to count, to check the monitor's bound.
    """

    def __init__(self, words: Sequence[str] = WORDS) -> None:
        self.words = frozenset(words)
        self.texts_counted = 0

    def __call__(self, texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        self.texts_counted += len(texts)
        split = [WORD.findall(text.lower()) for text in texts]
        tokens = np.array([len(words) for words in split], dtype=np.int64)
        unknown = np.array(
            [sum(word not in self.words for word in words) for words in split], dtype=np.int64
        )
        return tokens, unknown


def tickets(
    rng: np.random.Generator, count: int, words: tuple[int, int] = (4, 30), foreign: float = 0.0
) -> NDArray[Any]:
    """``count`` tickets of ``words`` words (a range), a share ``foreign`` of them unknown."""
    out = []
    for _ in range(count):
        size = int(rng.integers(*words))
        chosen = rng.choice(WORDS, size).astype(object)
        swapped = rng.random(size) < foreign
        chosen[swapped] = rng.choice(FOREIGN, int(swapped.sum()))
        out.append(" ".join(chosen))
    return np.asarray(out, dtype=object)


class TicketRouter:
    """Routes a ticket to billing when it mentions money, to tech otherwise."""

    def __init__(self, tokens: Vocabulary | None = None) -> None:
        self.tokens = tokens
        self.signature = ModelSignature(
            inputs=(TensorSpec("text", "BYTES", (-1,)),),
            outputs=(
                TensorSpec("label", "BYTES", (-1,)),
                TensorSpec("probabilities", "FP64", (-1, 2)),
            ),
        )
        self.monitoring = MonitoringSpec(
            features=(),
            class_output="label",
            classes=("billing", "tech"),
            score_output="probabilities",
            texts=(TextSpec("text", tokens),),
        )

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        texts = np.asarray(inputs["text"]).tolist()
        billing = np.array([any(w in t for w in ("invoice", "refund", "payment")) for t in texts])
        chance = np.where(billing, 0.8, 0.3)
        return {
            "label": np.where(billing, "billing", "tech").astype(object),
            "probabilities": np.column_stack([chance, 1.0 - chance]),
        }


class RouterAdapter:
    """Stores the router's vocabulary as JSON (`ModelAdapter`)."""

    name = "ticket-router"
    platform = "test"
    artifact_file = "router.json"

    def dump(self, model: object) -> bytes:
        assert isinstance(model, Vocabulary)
        return json.dumps(sorted(model.words)).encode()

    def load(self, artifact: VerifiedArtifact) -> TicketRouter:
        return TicketRouter(Vocabulary(json.loads(artifact.data)))

    def library_versions(self) -> dict[str, str]:
        return {}


class Encoder:
    """Embeds a text as a unit vector: a fixed random matrix times the text's word counts.

    Texts of the same vocabulary and mix of words land in one region of the space; texts
    about something else (`shifted`) in another.
    """

    def __init__(self, dimensions: int = 32, *, shift: NDArray[np.float64] | None = None) -> None:
        self.dimensions = dimensions
        self.shift = shift
        rng = np.random.default_rng(11)
        self.matrix = rng.standard_normal((len(WORDS) + len(FOREIGN), dimensions))
        self.index = {word: position for position, word in enumerate(WORDS + FOREIGN)}
        self.signature = ModelSignature(
            inputs=(TensorSpec("text", "BYTES", (-1,)),),
            outputs=(TensorSpec("embedding", "FP32", (-1, dimensions)),),
        )
        self.monitoring = MonitoringSpec(
            features=(), embedding_output="embedding", texts=(TextSpec("text", Vocabulary()),)
        )

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        texts = np.asarray(inputs["text"]).tolist()
        counts = np.zeros((len(texts), len(self.index)))
        for row, text in enumerate(texts):
            for word in WORD.findall(text):
                counts[row, self.index[word]] += 1
        vectors = counts @ self.matrix
        if self.shift is not None:
            vectors = vectors + self.shift * np.linalg.norm(vectors, axis=1, keepdims=True)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors /= np.where(norms == 0, 1.0, norms)  # an empty text: the zero vector
        return {"embedding": vectors.astype(np.float32)}
