"""`TabularPredictor`: named feature tensors to the model's matrix, its scores to outputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from modelrail_runtime.tabular import TabularPredictor, TabularSchema, Task

TABLE = {
    "tenure_months": np.array([3, 60, 12]),
    "monthly_charges": np.array([90.5, np.nan, 20.25]),
    "contract": np.array(["two-year", "month-to-month", "one-year"]),
}
REQUEST = {
    "tenure_months": np.array([1, 2]),
    "monthly_charges": np.array([10.0, math.nan]),
    "contract": np.array(["one-year", "weekly"], dtype=object),
}


class Recording:
    """A model of the matrix that returns fixed scores and keeps the matrix it was given."""

    def __init__(self, scores: list[Any]) -> None:
        self.scores = np.asarray(scores, dtype=np.float64)
        self.matrices: list[NDArray[np.float64]] = []

    def __call__(self, matrix: NDArray[np.float64]) -> NDArray[Any]:
        self.matrices.append(matrix)
        return self.scores


def predictor(task: Task, scores: list[Any]) -> tuple[TabularPredictor, Recording]:
    model = Recording(scores)
    return TabularPredictor(TabularSchema.infer(TABLE, task), model), model


def test_the_model_sees_the_encoded_matrix() -> None:
    tabular, model = predictor(Task.regression(), [0.0, 0.0])
    tabular.predict(REQUEST)
    (matrix,) = model.matrices
    # Categories sorted: month-to-month 0, one-year 1, two-year 2; "weekly" unseen: NaN.
    np.testing.assert_array_equal(matrix, [[1.0, 10.0, 1.0], [2.0, math.nan, math.nan]])


def test_string_classes_are_labels_of_the_most_probable_class() -> None:
    tabular, _ = predictor(Task.classification(["churned", "stayed"]), [[0.8, 0.2], [0.3, 0.7]])
    outputs = tabular.predict(REQUEST)
    assert outputs["label"].dtype == object
    assert outputs["label"].tolist() == ["churned", "stayed"]
    np.testing.assert_array_equal(outputs["probabilities"], [[0.8, 0.2], [0.3, 0.7]])
    assert tabular.signature.outputs[0].datatype == "BYTES"


def test_integer_classes_are_labels_in_the_tasks_order() -> None:
    # Column i of the scores is the task's i-th class, whatever its value.
    tabular, _ = predictor(Task.classification([7, 3, 5]), [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    outputs = tabular.predict(REQUEST)
    assert outputs["label"].dtype == np.int64
    assert outputs["label"].tolist() == [5, 7]
    assert tabular.signature.outputs[0].datatype == "INT64"


@pytest.mark.parametrize("scores", [[0.9, 0.2], [[0.9], [0.2]]], ids=["1-d", "one column"])
def test_a_binary_models_positive_class_column_is_expanded(scores: list[Any]) -> None:
    tabular, _ = predictor(Task.classification(["stayed", "churned"]), scores)
    outputs = tabular.predict(REQUEST)
    assert outputs["label"].tolist() == ["churned", "stayed"]
    np.testing.assert_allclose(outputs["probabilities"], [[0.1, 0.9], [0.8, 0.2]])


def test_a_regressor_predicts_one_value_per_row() -> None:
    tabular, _ = predictor(Task.regression(), [[1.5], [2.5]])
    outputs = tabular.predict(REQUEST)
    assert list(outputs) == ["prediction"]
    assert outputs["prediction"].shape == (2,)
    assert outputs["prediction"].dtype == np.float64
    assert outputs["prediction"].tolist() == [1.5, 2.5]


def test_a_regressor_of_several_targets_predicts_a_row_of_values() -> None:
    tabular, _ = predictor(Task.regression(2), [[1.0, 2.0], [3.0, 4.0]])
    outputs = tabular.predict(REQUEST)
    assert outputs["prediction"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tabular.signature.outputs[0].shape == (-1, 2)


def test_signature_and_monitoring_come_from_the_schema() -> None:
    schema = TabularSchema.infer(TABLE, Task.regression())
    tabular = TabularPredictor(schema, Recording([0.0]))
    assert tabular.schema is schema
    assert tabular.signature == schema.signature()
    assert tabular.monitoring == schema.monitoring()
