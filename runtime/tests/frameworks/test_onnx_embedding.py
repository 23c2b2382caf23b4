"""The ONNX adapter serving a sentence encoder: a text schema with an embedding task.

The tiny encoder and its WordPiece tokenizer are test_onnx_text's: token vectors
mean-pooled over the attention mask and L2-normalised, the expected embeddings computed in
numpy. Here they go through `save_model` and `load_model` as `make train` and the service
take them: the adapter reads the tokenizer companion and ``max_tokens`` from metadata.json.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_onnx_text import (
    DIMENSIONS,
    TEXT_IDS,
    TEXTS,
    TOKENIZER,
    encoder_graph,
    expected,
    ids_of,
)

from modelrail_runtime import (
    ModelLoadError,
    ServiceClient,
    Task,
    TextPredictor,
    TextSchema,
    adapter_for,
    load_model,
    save_model,
)
from modelrail_runtime.frameworks.onnx import OnnxAdapter
from modelrail_runtime.frameworks.onnx_text import MAX_TOKENS_KEY, TOKENIZER_FILE, TOKENIZER_KEY

MAX_TOKENS = 8
TRAINING_TEXTS = np.asarray(TEXTS, dtype=object)


def train(
    directory: Path,
    *,
    task: Task | None = None,
    metadata: dict[str, Any] | None = None,
    tokenizer: bytes | None = TOKENIZER,
) -> Path:
    """`save_model` as a model repository's training calls it for a sentence encoder."""
    companions = {TOKENIZER_KEY: (TOKENIZER_FILE, tokenizer)} if tokenizer is not None else {}
    save_model(
        directory,
        adapter_for("onnx"),
        encoder_graph(),
        schema=TextSchema(task or Task.embedding(DIMENSIONS)),
        training_inputs={"text": TRAINING_TEXTS},
        companions=companions,
        metadata={MAX_TOKENS_KEY: MAX_TOKENS} if metadata is None else metadata,
    )
    return directory


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("encoder"))


def test_the_adapter_serves_a_recorded_text_schema_as_an_encoder(trained: Path) -> None:
    loaded = load_model(trained)
    assert isinstance(loaded.predictor, TextPredictor)
    embeddings = loaded.predictor.predict({"text": TRAINING_TEXTS})["embedding"]
    assert embeddings.dtype == np.float32
    assert embeddings.shape == (len(TEXTS), DIMENSIONS)
    for row, token_ids in enumerate(TEXT_IDS):
        np.testing.assert_allclose(embeddings[row], expected(token_ids), atol=1e-6)


def test_metadata_records_the_schema_the_tokenizer_and_max_tokens(trained: Path) -> None:
    metadata = json.loads((trained / "metadata.json").read_text())
    assert metadata["framework"] == "onnx"
    assert metadata["text_schema"]["task"] == {"kind": "embedding", "dimensions": DIMENSIONS}
    assert metadata[TOKENIZER_KEY]["file"] == TOKENIZER_FILE
    assert metadata[MAX_TOKENS_KEY] == MAX_TOKENS
    assert metadata["signature"]["outputs"] == [
        {"name": "embedding", "datatype": "FP32", "shape": [-1, DIMENSIONS]}
    ]
    assert (trained / TOKENIZER_FILE).read_bytes() == TOKENIZER


def test_the_service_answers_bytes_texts_with_float32_vectors(trained: Path) -> None:
    texts = ["the cat sat on the mat", "a dog"]
    request = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": texts}]}
    with ServiceClient(trained, model_name="encoder") as client:
        response = client.infer(request)
    assert response.status_code == 200, response.text
    (embedding,) = [o for o in response.json()["outputs"] if o["name"] == "embedding"]
    assert (embedding["datatype"], embedding["shape"]) == ("FP32", [2, DIMENSIONS])
    vectors = np.reshape(embedding["data"], (2, DIMENSIONS))
    np.testing.assert_allclose(vectors[0], expected(TEXT_IDS[0]), atol=1e-6)
    np.testing.assert_allclose(vectors[1], expected(TEXT_IDS[1]), atol=1e-6)


def test_monitoring_counts_the_tokenizers_tokens(trained: Path) -> None:
    loaded = load_model(trained)
    assert loaded.monitoring.embedding_output == "embedding"
    (text,) = loaded.monitoring.texts
    assert text.input == "text"
    assert text.tokens is not None
    tokens, unknown = text.tokens(["the zebra sat", "cats"])
    assert tokens.tolist() == [3, 2]
    assert unknown.tolist() == [1, 0]


def test_texts_are_truncated_at_the_recorded_max_tokens(tmp_path: Path) -> None:
    directory = train(tmp_path, metadata={MAX_TOKENS_KEY: 4})
    predictor = load_model(directory).predictor
    embedding = predictor.predict({"text": np.asarray(["the cat sat on the mat"], dtype=object)})
    # [CLS], two words, [SEP]: special tokens count in max_tokens.
    np.testing.assert_allclose(embedding["embedding"][0], expected(ids_of("the", "cat")), atol=1e-6)


def test_the_adapter_passes_its_threads_to_the_encoder(trained: Path) -> None:
    loaded = load_model(trained, adapter=OnnxAdapter(threads=2))
    embeddings = loaded.predictor.predict({"text": TRAINING_TEXTS})["embedding"]
    np.testing.assert_allclose(embeddings[0], expected(TEXT_IDS[0]), atol=1e-6)


@pytest.mark.parametrize(
    ("recorded", "found"),
    [
        ({}, "none"),
        ({MAX_TOKENS_KEY: 1}, "a value that is not a whole number >= 2"),
        ({MAX_TOKENS_KEY: True}, "a value that is not a whole number >= 2"),
        ({MAX_TOKENS_KEY: "256"}, "a value that is not a whole number >= 2"),
    ],
    ids=["missing", "one", "bool", "string"],
)
def test_an_encoder_without_a_usable_max_tokens_is_refused_with_the_fix(
    tmp_path: Path, recorded: dict[str, Any], found: str
) -> None:
    with pytest.raises(
        ModelLoadError,
        match=rf"records {found} under 'max_tokens', the longest input the text encoder "
        r"reads: pass it when training \(save_model\(\.\.\., metadata=\{'max_tokens': 256\}\)",
    ):
        train(tmp_path / "artifacts", metadata=recorded)
    assert not (tmp_path / "artifacts").exists()


def test_an_encoder_without_its_tokenizer_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"records no tokenizer, which a text encoder needs"):
        train(tmp_path / "artifacts", tokenizer=None)


def test_an_encoder_without_the_tokenizers_library_names_the_extra(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The onnx extra alone (an image of a table model) has no tokenizers.
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "tokenizers" else find_spec(name, *args),
    )
    with pytest.raises(ModelLoadError, match=r"install modelrail-runtime\[onnx-text\]"):
        load_model(trained)


def test_a_text_classification_task_is_refused_naming_the_adapter_that_serves_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(
        ModelLoadError,
        match=r"records a text classification task, but the onnx adapter serves text "
        r"encoders only \(an embedding task\): serve a text classifier with the scikit-learn",
    ):
        train(tmp_path / "artifacts", task=Task.classification(["a", "b"]))


def test_an_encoder_of_other_dimensions_than_recorded_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=rf"expected \(1, {DIMENSIONS + 1}\) numbers"):
        train(tmp_path / "artifacts", task=Task.embedding(DIMENSIONS + 1))
