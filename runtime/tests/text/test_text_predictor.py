"""`TextPredictor`: a model of a list of texts behind the `Predictor` protocol; its output
width checked against the schema when it loads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from modelrail_runtime import ModelLoadError, Predictor
from modelrail_runtime.execution.warmup import warm_up
from modelrail_runtime.task import Task
from modelrail_runtime.text import TextPredictor, TextSchema

TEXTS = np.array(["a good film", "bad, bad acting", "", "good good good"], dtype=object)
SENTIMENT = TextSchema(Task.classification(["negative", "positive"]))


def sentiment(texts: list[str]) -> NDArray[np.float64]:
    """P(negative), P(positive) from the count of 'good' against 'bad'."""
    score = np.array([text.count("good") - text.count("bad") for text in texts], float)
    positive = 1 / (1 + np.exp(-score))
    return np.column_stack([1 - positive, positive])


def encode(texts: list[str], dimensions: int = 8) -> NDArray[np.float64]:
    """A bag of characters folded into ``dimensions`` numbers, L2-normalised (float64, as a
    numpy model gives it)."""
    vectors = np.zeros((len(texts), dimensions))
    for row, text in enumerate(texts):
        for character in text:
            vectors[row, ord(character) % dimensions] += 1.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def count_words(texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    words = [text.split() for text in texts]
    tokens = np.array([len(found) for found in words], dtype=np.int64)
    unknown = [sum(word not in {"good", "bad"} for word in found) for found in words]
    return tokens, np.array(unknown, dtype=np.int64)


def test_a_classifier_gives_the_most_probable_class_and_the_models_probabilities() -> None:
    predictor = TextPredictor(SENTIMENT, sentiment)
    outputs = predictor.predict({"text": TEXTS})
    assert set(outputs) == {"label", "probabilities"}
    assert outputs["label"].tolist() == ["positive", "negative", "negative", "positive"]
    assert outputs["label"].dtype == object
    np.testing.assert_array_equal(outputs["probabilities"], sentiment(TEXTS.tolist()))
    assert outputs["probabilities"].dtype == np.float64


def test_integer_classes_are_int64_labels() -> None:
    schema = TextSchema(Task.classification([0, 1]), input="review")
    outputs = TextPredictor(schema, sentiment).predict({"review": TEXTS})
    assert outputs["label"].tolist() == [1, 0, 0, 1]
    assert outputs["label"].dtype == np.int64


def test_the_model_receives_a_list_of_str() -> None:
    received: list[Any] = []

    def model(texts: list[str]) -> NDArray[np.float64]:
        received.append(texts)
        return sentiment(texts)

    TextPredictor(SENTIMENT, model).predict({"text": np.array(["é ✓", "b"], dtype=object)})
    assert received[-1] == ["é ✓", "b"]
    assert type(received[-1]) is list
    assert all(type(text) is str for text in received[-1])


def test_an_encoder_gives_float32_vectors() -> None:
    schema = TextSchema(Task.embedding(8), input="sentence")
    outputs = TextPredictor(schema, encode).predict({"sentence": TEXTS})
    assert set(outputs) == {"embedding"}
    assert outputs["embedding"].dtype == np.float32
    assert outputs["embedding"].shape == (4, 8)
    np.testing.assert_allclose(outputs["embedding"], encode(TEXTS.tolist()), rtol=1e-6)


def test_it_declares_the_schemas_signature_and_monitoring_with_its_token_counter() -> None:
    predictor: Predictor = TextPredictor(SENTIMENT, sentiment, tokens=count_words)
    assert predictor.signature == SENTIMENT.signature()
    assert predictor.monitoring == SENTIMENT.monitoring(count_words)
    assert predictor.monitoring.texts[0].tokens is count_words


def test_the_runtimes_warm_up_predicts_empty_texts() -> None:
    result = warm_up(TextPredictor(SENTIMENT, sentiment), batch_rows=4)
    assert result.error is None
    assert result.seconds is not None
    assert result.batch_seconds is not None


@pytest.mark.parametrize(
    ("schema", "model", "message"),
    [
        (
            TextSchema(Task.classification(["negative", "neutral", "positive"])),
            sentiment,
            r"shape \(1, 2\).*expected \(1, 3\).*\['negative', 'neutral', 'positive'\].*"
            r"Task\.classification\(model\.classes_\)",
        ),
        (
            TextSchema(Task.embedding(384)),
            encode,
            r"shape \(1, 8\).*expected \(1, 384\).*384 dimensions.*Task\.embedding",
        ),
        (
            SENTIMENT,
            lambda texts: sentiment(texts)[:, 1],
            r"shape \(1,\).*expected \(1, 2\)",
        ),
        (
            SENTIMENT,
            lambda texts: np.array([["negative", "positive"]] * len(texts)),
            r"dtype <U8.*expected \(1, 2\) numbers",
        ),
    ],
    ids=["three classes recorded", "other dimensions", "one column", "strings"],
)
def test_an_output_other_than_the_schema_says_is_refused_at_load(
    schema: TextSchema, model: Any, message: str
) -> None:
    with pytest.raises(ModelLoadError, match=message):
        TextPredictor(schema, model)


def test_a_model_that_fails_on_a_text_is_refused_at_load() -> None:
    def broken(texts: list[str]) -> NDArray[np.float64]:
        raise RuntimeError("vocabulary not fitted")

    with pytest.raises(ModelLoadError, match="fails on a text at load: RuntimeError: vocabulary"):
        TextPredictor(SENTIMENT, broken)
