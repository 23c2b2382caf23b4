"""`TextSchema`: one BYTES input of texts and the task; its signature, what monitoring
watches, and its record in metadata.json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from modelrail_runtime import MonitoringSpec, TensorSpec, TextSpec
from modelrail_runtime.tabular import TabularSchema
from modelrail_runtime.tabular.schema import RESERVED
from modelrail_runtime.task import SchemaError, Task
from modelrail_runtime.text import TextSchema

SENTIMENT = Task.classification(["negative", "positive"])


def count_words(texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    tokens = np.array([len(text.split()) for text in texts], dtype=np.int64)
    return tokens, np.zeros(len(texts), dtype=np.int64)


def test_a_classifier_takes_texts_and_gives_a_label_and_probabilities() -> None:
    signature = TextSchema(SENTIMENT).signature()
    assert signature.inputs == (TensorSpec("text", "BYTES", (-1,)),)
    assert signature.outputs == (
        TensorSpec("label", "BYTES", (-1,)),
        TensorSpec("probabilities", "FP64", (-1, 2)),
    ), "named and shaped as a tabular classifier's outputs"
    tabular = TabularSchema.infer({"x": np.ones(2)}, SENTIMENT)
    assert signature.outputs == tabular.signature().outputs
    assert signature.packed is None


def test_integer_classes_give_an_int64_label() -> None:
    outputs = TextSchema(Task.classification([0, 1, 2]), input="review").signature().outputs
    assert outputs[0] == TensorSpec("label", "INT64", (-1,))
    assert outputs[1] == TensorSpec("probabilities", "FP64", (-1, 3))


def test_an_encoder_gives_an_fp32_embedding() -> None:
    signature = TextSchema(Task.embedding(384), input="sentence").signature()
    assert signature.inputs == (TensorSpec("sentence", "BYTES", (-1,)),)
    assert signature.outputs == (TensorSpec("embedding", "FP32", (-1, 384)),)


def test_a_classifier_is_watched_through_its_text_and_its_classes() -> None:
    spec = TextSchema(SENTIMENT).monitoring(count_words)
    assert spec == MonitoringSpec(
        features=(),
        class_output="label",
        classes=("negative", "positive"),
        score_output="probabilities",
        texts=(TextSpec("text", count_words),),
    )
    assert spec.watched_output == "label"


def test_an_encoder_is_watched_through_its_text_and_its_embedding() -> None:
    spec = TextSchema(Task.embedding(8), input="sentence").monitoring()
    assert spec == MonitoringSpec(
        features=(), embedding_output="embedding", texts=(TextSpec("sentence", None),)
    )
    assert spec.watched_output == "embedding"
    assert spec.class_output is None
    assert spec.score_output is None


def test_regression_on_text_is_refused_with_what_is_offered() -> None:
    with pytest.raises(SchemaError, match=r"regression on text is not offered.*classifies.*embeds"):
        TextSchema(Task.regression())


@pytest.mark.parametrize("name", [*sorted(RESERVED), "", "tab\there"])
def test_an_input_name_the_service_cannot_use_is_refused(name: str) -> None:
    with pytest.raises(SchemaError, match=r"cannot be named.*choose another name"):
        TextSchema(SENTIMENT, input=name)


@pytest.mark.parametrize(
    "schema",
    [
        TextSchema(SENTIMENT),
        TextSchema(Task.classification([3, 5]), input="review"),
        TextSchema(Task.embedding(16), input="sentence"),
    ],
    ids=["string classes", "integer classes", "embedding"],
)
def test_the_schema_round_trips_through_metadata(schema: TextSchema) -> None:
    recorded = schema.as_metadata()
    assert set(recorded) == {"text_schema"}
    assert TextSchema.from_metadata({**recorded, "framework": "scikit-learn"}) == schema


def test_the_recorded_form_is_plain_json() -> None:
    assert TextSchema(Task.embedding(16), input="sentence").as_metadata() == {
        "text_schema": {"input": "sentence", "task": {"kind": "embedding", "dimensions": 16}}
    }


def test_metadata_without_a_text_schema_is_another_kind_of_model() -> None:
    assert TextSchema.from_metadata({"framework": "scikit-learn"}) is None
    tabular = TabularSchema.infer({"x": np.ones(2)}, SENTIMENT).as_metadata()
    assert TextSchema.from_metadata(tabular) is None


MALFORMED: dict[str, tuple[Any, str]] = {
    "not an object": ("text", "malformed text_schema"),
    "no input": ({"task": SENTIMENT.as_metadata()}, "malformed text_schema"),
    "an input that is not a name": ({"input": 3, "task": {}}, "malformed text_schema"),
    "no task": ({"input": "text"}, "records no task"),
    "an unknown task": ({"input": "text", "task": {"kind": "ranking"}}, "unknown task kind"),
    "a regression": ({"input": "text", "task": {"kind": "regression"}}, "regression on text"),
    "a reserved input": ({"input": "row", "task": SENTIMENT.as_metadata()}, "cannot be named"),
    "an embedding without dimensions": (
        {"input": "text", "task": {"kind": "embedding"}},
        "malformed embedding task",
    ),
}


@pytest.mark.parametrize(("record", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_recorded_schema_is_refused(record: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        TextSchema.from_metadata({"text_schema": record})
