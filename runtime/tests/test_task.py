"""`Task`: what a model predicts, shared by tabular and text schemas, as metadata.json
records it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modelrail_runtime
from modelrail_runtime import TensorSpec, tabular, task
from modelrail_runtime.tabular import TabularSchema
from modelrail_runtime.task import SchemaError, Task, TaskKind


def test_the_task_is_one_class_wherever_it_is_imported_from() -> None:
    assert modelrail_runtime.Task is tabular.Task is task.Task
    assert modelrail_runtime.SchemaError is tabular.SchemaError is task.SchemaError
    assert tabular.TaskKind is task.TaskKind


def test_an_embedding_gives_one_fp32_vector_per_row() -> None:
    encoder = Task.embedding(384)
    assert encoder == Task(TaskKind.EMBEDDING, dimensions=384)
    assert encoder.outputs() == (TensorSpec("embedding", "FP32", (-1, 384)),)
    assert encoder.as_metadata() == {"kind": "embedding", "dimensions": 384}


@pytest.mark.parametrize("dimensions", [0, -3, True, 2.5, "384"])
def test_an_embedding_needs_a_whole_positive_number_of_dimensions(dimensions: Any) -> None:
    with pytest.raises(SchemaError, match=r"at least one dimension.*Task\.embedding\(384\)"):
        Task.embedding(dimensions)


@pytest.mark.parametrize(
    "recorded",
    [
        Task.classification(["negative", "positive"]),
        Task.classification(np.array([0, 1, 2])),
        Task.regression(),
        Task.regression(3),
        Task.embedding(8),
    ],
    ids=["string classes", "integer classes", "regression", "three targets", "embedding"],
)
def test_every_task_round_trips_through_metadata(recorded: Task) -> None:
    assert Task.from_metadata(recorded.as_metadata()) == recorded


MALFORMED: dict[str, tuple[Any, str]] = {
    "not an object": ("embedding", "not an object"),
    "no kind": ({"dimensions": 8}, "unknown task kind None"),
    "an unknown kind": ({"kind": "ranking"}, "unknown task kind 'ranking'"),
    "an embedding without dimensions": ({"kind": "embedding"}, "malformed embedding task"),
    "zero dimensions": ({"kind": "embedding", "dimensions": 0}, "at least one dimension"),
    "dimensions as text": ({"kind": "embedding", "dimensions": "8"}, "at least one dimension"),
    "a classifier without classes": ({"kind": "classification"}, "malformed classification"),
    "targets not a number": ({"kind": "regression", "targets": "two"}, "malformed regression"),
}


@pytest.mark.parametrize(("record", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_recorded_task_is_refused(record: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        Task.from_metadata(record)


def test_a_tabular_model_cannot_be_an_embedding() -> None:
    with pytest.raises(SchemaError, match=r"use TextSchema\(Task\.embedding"):
        TabularSchema.infer({"x": np.array([1.0, 2.0])}, Task.embedding(4))
    recorded = {
        "features": [{"name": "x", "datatype": "FP64"}],
        "task": {"kind": "embedding", "dimensions": 4},
    }
    with pytest.raises(SchemaError, match="a tabular model classifies or regresses"):
        TabularSchema.from_metadata(recorded)
