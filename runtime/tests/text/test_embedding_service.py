"""A sentence encoder served end to end: BYTES texts in, FP32 vectors out.

The encoder is a fake of numpy (a bag of known words projected to a few dimensions); its
adapter keeps the projection in the artifact and the vocabulary in a companion file, as
an ONNX encoder keeps its tokenizer.json, and serves it behind a `TextPredictor`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from modelrail_runtime import (
    ModelLoadError,
    ServiceClient,
    Task,
    TextPredictor,
    TextSchema,
    VerifiedArtifact,
    load_model,
    save_model,
)
from modelrail_runtime.artifacts import read_companion

DIMENSIONS = 4
WORDS = ("phone", "screen", "battery", "great", "poor", "fast", "slow")
TEXTS = np.asarray(
    ["great phone", "poor battery", "fast screen", "slow phone", "great great battery", ""],
    dtype=object,
)


class BagOfWordsEncoder:
    """Counts of the known words, projected and L2-normalised."""

    def __init__(self, vocabulary: Sequence[str], projection: NDArray[np.float64]) -> None:
        self.index = {word: position for position, word in enumerate(vocabulary)}
        self.projection = projection

    def __call__(self, texts: list[str]) -> NDArray[np.float64]:
        counts = np.zeros((len(texts), len(self.index)))
        for row, text in enumerate(texts):
            for word in text.lower().split():
                if word in self.index:
                    counts[row, self.index[word]] += 1
        vectors = counts @ self.projection
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def count_tokens(self, texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        words = [text.lower().split() for text in texts]
        tokens = [len(found) for found in words]
        unknown = [sum(word not in self.index for word in found) for found in words]
        return np.array(tokens, dtype=np.int64), np.array(unknown, dtype=np.int64)


class BagOfWordsAdapter:
    """The projection as JSON in the artifact; the vocabulary in a companion file."""

    name = "bag-of-words"
    platform = "bag_of_words_json"
    artifact_file = "projection.json"

    def dump(self, model: object) -> bytes:
        assert isinstance(model, BagOfWordsEncoder)
        return json.dumps(model.projection.tolist()).encode()

    def load(self, artifact: VerifiedArtifact) -> TextPredictor:
        vocabulary = read_companion(artifact, "vocabulary")
        schema = TextSchema.from_metadata(artifact.metadata)
        if vocabulary is None or schema is None:
            raise ModelLoadError("metadata.json records no vocabulary or no text schema")
        projection = np.asarray(json.loads(artifact.data), dtype=np.float64)
        encoder = BagOfWordsEncoder(vocabulary.decode().split(), projection)
        return TextPredictor(schema, encoder, tokens=encoder.count_tokens)

    def library_versions(self) -> dict[str, str]:
        return {"numpy": np.__version__}


def projection(dimensions: int = DIMENSIONS) -> NDArray[np.float64]:
    return np.random.default_rng(0).normal(size=(len(WORDS), dimensions)).round(6)


def train(directory: Path, dimensions: int = DIMENSIONS) -> None:
    save_model(
        directory,
        BagOfWordsAdapter(),
        BagOfWordsEncoder(WORDS, projection()),
        schema=TextSchema(Task.embedding(dimensions), input="sentence"),
        training_inputs={"sentence": TEXTS},
        companions={"vocabulary": ("vocabulary.txt", "\n".join(WORDS).encode())},
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("encoder")
    train(directory)
    return directory


def test_the_service_answers_texts_with_float32_vectors(trained: Path) -> None:
    texts = ["great phone", "a slow, slow battery", "nothing known here ✓"]
    with ServiceClient(trained, adapter=BagOfWordsAdapter(), model_name="encoder") as client:
        metadata = client.model_metadata()
        response = client.infer(
            {"inputs": [{"name": "sentence", "datatype": "BYTES", "shape": [3], "data": texts}]}
        )
    assert metadata["inputs"] == [{"name": "sentence", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"][0] == {"name": "embedding", "datatype": "FP32", "shape": [-1, 4]}
    assert response.status_code == 200, response.text
    (embedding,) = [o for o in response.json()["outputs"] if o["name"] == "embedding"]
    assert (embedding["datatype"], embedding["shape"]) == ("FP32", [3, DIMENSIONS])
    expected = BagOfWordsEncoder(WORDS, projection())(texts).astype(np.float32)
    np.testing.assert_allclose(np.reshape(embedding["data"], (3, DIMENSIONS)), expected, rtol=1e-6)


def test_the_loaded_encoder_is_watched_through_its_text_and_its_embedding(trained: Path) -> None:
    loaded = load_model(trained, adapter=BagOfWordsAdapter())
    assert loaded.monitoring.embedding_output == "embedding"
    (text,) = loaded.monitoring.texts
    assert text.input == "sentence"
    assert text.tokens is not None
    tokens, unknown = text.tokens(["great phone case"])
    assert (tokens.tolist(), unknown.tolist()) == ([3], [1])
    metadata = json.loads((trained / "metadata.json").read_text())
    assert metadata["text_schema"]["task"] == {"kind": "embedding", "dimensions": DIMENSIONS}


def test_an_encoder_of_other_dimensions_than_recorded_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"shape \(1, 4\).*expected \(1, 8\)"):
        train(tmp_path / "artifacts", dimensions=8)
    assert not (tmp_path / "artifacts").exists()
