"""The scikit-learn adapter's text path: a TF-IDF pipeline served for BYTES requests.

metadata.json records a ``text_schema``; the adapter loads the skops pipeline (nothing
trusted beyond skops' defaults), checks that it takes texts and predicts the recorded
classes, and serves it behind a `TextPredictor` whose token counter is the vectorizer's
vocabulary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from modelrail_runtime import (
    ModelLoadError,
    ServiceClient,
    TabularSchema,
    Task,
    TextPredictor,
    TextSchema,
    adapter_for,
    load_model,
    save_model,
)
from modelrail_runtime.artifacts import VerifiedArtifact, sha256_hex
from modelrail_runtime.frameworks.sklearn import SklearnAdapter
from modelrail_runtime.frameworks.sklearn_text import vocabulary_counter

POSITIVE = [
    "great phone, love the screen",
    "the battery lasts for days",
    "fast delivery and great price",
    "excellent sound quality",
    "works perfectly, very happy",
    "love it, highly recommend",
    "the camera is superb",
    "great value for the money",
    "very happy with this purchase",
    "excellent build and fast charging",
    "the screen is bright and sharp",
    "perfect gift, she loves it",
    "superb quality, works great",
    "happy with the fast delivery",
    "recommend it to everyone",
    "the price is excellent",
    "love the sound and the battery",
    "sharp camera, great phone",
    "charging is fast and reliable",
    "reliable and excellent value",
]
NEGATIVE = [
    "broken on arrival, very disappointed",
    "the battery dies in an hour",
    "slow delivery and poor packaging",
    "terrible sound quality",
    "stopped working after a week",
    "waste of money, do not buy",
    "the camera is blurry",
    "poor value, cheap plastic",
    "very disappointed with this purchase",
    "awful build and slow charging",
    "the screen cracked on day one",
    "returned it, complete waste",
    "cheap and broken, avoid",
    "disappointed by the slow delivery",
    "do not recommend it",
    "the price is a rip-off",
    "terrible battery and awful sound",
    "blurry camera, poor phone",
    "charging is slow and unreliable",
    "unreliable and terrible value",
]
TEXTS = np.asarray(POSITIVE + NEGATIVE, dtype=object)
LABELS = np.asarray(["positive"] * len(POSITIVE) + ["negative"] * len(NEGATIVE))
SCHEMA = TextSchema(Task.classification(["negative", "positive"]))
REQUEST = ["great screen, fast delivery", "broken and terrible", "Écran cassé ✗ 💔"]


@dataclass(frozen=True)
class TrainedText:
    directory: Path
    pipeline: Pipeline


def tfidf_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("model", LogisticRegression(C=10.0, max_iter=1000)),
        ]
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedText:
    """``make train`` for a text classifier: fit, then `save_model` with a `TextSchema`."""
    directory = tmp_path_factory.mktemp("text-artifacts")
    pipeline = tfidf_pipeline().fit(TEXTS, LABELS)
    save_model(
        directory,
        adapter_for("scikit-learn"),
        pipeline,
        schema=SCHEMA,
        training_inputs={"text": TEXTS},
        metadata={"model_name": "reviews"},
    )
    return TrainedText(directory, pipeline)


def load(model: Any, metadata: dict[str, Any], dump: bool = True) -> Any:
    """Load ``model`` (or skops bytes) with ``metadata`` as the service would."""
    data = SklearnAdapter().dump(model) if dump else model
    artifact = VerifiedArtifact(
        Path("model.skops"), data, sha256_hex(data), MappingProxyType(metadata)
    )
    return SklearnAdapter().load(artifact)


# --- training and serving ----------------------------------------------------------------
def test_metadata_records_the_text_schema_and_a_bytes_signature(trained: TrainedText) -> None:
    metadata = json.loads((trained.directory / "metadata.json").read_text())
    assert metadata["text_schema"] == {
        "input": "text",
        "task": {"kind": "classification", "classes": ["negative", "positive"]},
    }
    assert metadata["signature"] == {
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
        "outputs": [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
        ],
    }
    assert "features" not in metadata
    assert "task" not in metadata
    profile = json.loads((trained.directory / "reference_profile.json").read_text())
    assert profile["rows"] == len(TEXTS)
    assert profile["prediction"]["output"] == "label"


def test_the_service_answers_a_bytes_request_with_the_pipelines_label_and_probabilities(
    trained: TrainedText,
) -> None:
    with ServiceClient(trained.directory, model_name="reviews") as client:
        metadata = client.model_metadata()
        response = client.infer(
            {
                "inputs": [
                    {"name": "text", "datatype": "BYTES", "shape": [len(REQUEST)], "data": REQUEST}
                ]
            }
        )
    assert metadata["platform"] == "sklearn_skops"
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert [output["name"] for output in metadata["outputs"]] == [
        "label",
        "probabilities",
        "prediction_id",
    ]
    assert response.status_code == 200, response.text
    outputs = {output["name"]: output for output in response.json()["outputs"]}
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["label"]["data"] == trained.pipeline.predict(REQUEST).tolist()
    assert outputs["label"]["data"][:2] == ["positive", "negative"]
    assert outputs["probabilities"]["shape"] == [3, 2]
    np.testing.assert_allclose(
        np.reshape(outputs["probabilities"]["data"], (3, 2)),
        trained.pipeline.predict_proba(REQUEST),
        rtol=1e-12,
    )


def test_a_request_without_the_text_input_is_a_400_naming_it(trained: TrainedText) -> None:
    with ServiceClient(trained.directory, model_name="reviews") as client:
        response = client.infer(
            {"inputs": [{"name": "review", "datatype": "BYTES", "shape": [1], "data": ["ok"]}]}
        )
    assert response.status_code == 400
    assert "'text'" in response.json()["error"]


def test_load_model_serves_it_behind_a_text_predictor_with_the_vocabulary(
    trained: TrainedText,
) -> None:
    loaded = load_model(trained.directory)
    assert isinstance(loaded.predictor, TextPredictor)
    assert loaded.predictor.signature == SCHEMA.signature()
    (text,) = loaded.monitoring.texts
    assert text.input == "text"
    assert text.tokens is not None
    tokens, unknown = text.tokens(["great phone", "great xylophone zebra"])
    assert (tokens.tolist(), unknown.tolist()) == ([2, 3], [0, 2])
    assert loaded.reference is not None


# --- the token counter -------------------------------------------------------------------
def test_word_tokens_are_counted_once_each_whatever_the_ngrams() -> None:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2)).fit(["great phone", "poor screen"])
    count = vocabulary_counter(vectorizer)
    tokens, unknown = count(["Great phone", "great screen", "phone zebra zebra", ""])
    # "great screen" is a pair never seen, of two known words: nothing unknown.
    assert tokens.tolist() == [2, 2, 3, 0]
    assert unknown.tolist() == [0, 0, 2, 0]
    assert tokens.dtype == unknown.dtype == np.int64


def test_stop_words_and_words_pruned_from_the_vocabulary_count_as_the_model_sees_them() -> None:
    vectorizer = CountVectorizer(stop_words=["the"], min_df=2).fit(
        ["the phone works", "the phone broke", "a phone"]
    )
    tokens, unknown = vocabulary_counter(vectorizer)(["the phone works"])
    assert tokens.tolist() == [2], "'the' is dropped by the vectorizer: not a token"
    assert unknown.tolist() == [1], "'works' was seen once: pruned, so the model ignores it"


def test_a_character_analyzer_counts_its_character_ngrams() -> None:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 2)).fit(["ab"])
    tokens, unknown = vocabulary_counter(vectorizer)(["ab", "ac"])
    # " ab " gives " a", "ab", "b "; " ac " gives " a" (known), "ac", "c ".
    assert tokens.tolist() == [3, 3]
    assert unknown.tolist() == [0, 2]


# --- what is refused -----------------------------------------------------------------------
class ShoutingVectorizer(TfidfVectorizer):
    """A vectorizer of the team's own: not a type skops trusts."""


def test_a_tfidf_pipeline_needs_no_trusted_type_beyond_skops_defaults() -> None:
    data = SklearnAdapter().dump(tfidf_pipeline().fit(TEXTS, LABELS))
    assert sio.get_untrusted_types(data=data) == []


def test_a_skops_file_holding_an_untrusted_type_is_refused() -> None:
    pipeline = Pipeline([("tfidf", ShoutingVectorizer()), ("model", LogisticRegression())])
    with pytest.raises(ModelLoadError, match=r"outside the allow-list: .*ShoutingVectorizer"):
        load(pipeline.fit(TEXTS, LABELS), SCHEMA.as_metadata())


def test_a_model_that_does_not_take_texts_is_refused() -> None:
    matrix_model = LogisticRegression().fit(np.eye(4), ["negative", "positive"] * 2)
    with pytest.raises(ModelLoadError, match="first step is a fitted text vectorizer"):
        load(matrix_model, SCHEMA.as_metadata())
    unfitted = tfidf_pipeline()
    with pytest.raises(ModelLoadError, match="first step is a fitted text vectorizer"):
        load(unfitted, SCHEMA.as_metadata())


def test_a_vectorizer_reading_files_is_refused() -> None:
    pipeline = Pipeline(
        [("tfidf", TfidfVectorizer(input="filename")), ("model", LogisticRegression())]
    )
    # Fitted on texts, then switched: what a pickle-free file may still say.
    pipeline.set_params(tfidf__input="content").fit(TEXTS, LABELS)
    pipeline.set_params(tfidf__input="filename")
    with pytest.raises(ModelLoadError, match=r"reads its texts as 'filename'.*input='content'"):
        load(pipeline, SCHEMA.as_metadata())


def test_classes_other_than_the_recorded_ones_are_refused() -> None:
    pipeline = tfidf_pipeline().fit(TEXTS, LABELS)
    other = TextSchema(Task.classification(["bad", "good"]))
    with pytest.raises(ModelLoadError, match=r"recorded classes \['bad', 'good'\]"):
        load(pipeline, other.as_metadata())
    reordered = TextSchema(Task.classification(["positive", "negative"]))
    with pytest.raises(ModelLoadError, match="recorded classes"):
        load(pipeline, reordered.as_metadata())


def test_an_embedding_task_is_not_served_by_scikit_learn() -> None:
    pipeline = tfidf_pipeline().fit(TEXTS, LABELS)
    encoder = TextSchema(Task.embedding(2))
    with pytest.raises(ModelLoadError, match=r"text classification only.*onnx"):
        load(pipeline, encoder.as_metadata())


def test_a_malformed_or_ambiguous_recorded_schema_is_a_load_error() -> None:
    pipeline = tfidf_pipeline().fit(TEXTS, LABELS)
    with pytest.raises(ModelLoadError, match="malformed text_schema"):
        load(pipeline, {"text_schema": {"task": {"kind": "classification"}}})
    with pytest.raises(ModelLoadError, match="regression on text is not offered"):
        load(pipeline, {"text_schema": {"input": "text", "task": {"kind": "regression"}}})
    tabular = TabularSchema.infer({"x": np.ones(2)}, SCHEMA.task).as_metadata()
    with pytest.raises(ModelLoadError, match="both a text schema and a feature schema"):
        load(pipeline, {**SCHEMA.as_metadata(), **tabular})
