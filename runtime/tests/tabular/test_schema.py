"""`TabularSchema`: inferred from the training table, recorded in metadata.json, and what
the model's matrix, the signature and monitoring are made of."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from modelrail_runtime import FeatureSpec, TensorSpec
from modelrail_runtime.tabular import Feature, SchemaError, TabularSchema, Task, TaskKind
from modelrail_runtime.tabular.schema import RESERVED

TABLE = {
    "tenure_months": np.array([3, 60, 12]),
    "monthly_charges": np.array([90.5, np.nan, 20.25]),
    "contract": np.array(["two-year", "month-to-month", "two-year"]),
    "has_support": np.array([False, True, True]),
}
CLASSIFIER = Task.classification(["churned", "stayed"])


def schema_of(table: dict[str, Any] = TABLE, task: Task = CLASSIFIER) -> TabularSchema:
    return TabularSchema.infer(table, task)


# --- the task ----------------------------------------------------------------------------
def test_a_classifier_keeps_its_classes_in_order_as_plain_values() -> None:
    task = Task.classification(np.array([2, 0, 1]))
    assert task == Task(TaskKind.CLASSIFICATION, classes=(2, 0, 1))
    assert all(type(value) is int for value in task.classes), "numpy integers become int"
    words = Task.classification(np.array(["stayed", "churned"]))
    assert words.classes == ("stayed", "churned")
    assert all(type(value) is str for value in words.classes), "numpy strings become str"


@pytest.mark.parametrize(
    "classes",
    [["only"], [1, 1], [0, "one"], [True, False], [0.5, 1.5], []],
    ids=["one class", "repeated", "mixed", "booleans", "floats", "none"],
)
def test_a_classifier_needs_two_distinct_integer_or_string_classes(classes: list[Any]) -> None:
    with pytest.raises(SchemaError):
        Task.classification(classes)


def test_the_task_decides_the_outputs() -> None:
    assert CLASSIFIER.outputs() == (
        TensorSpec("label", "BYTES", (-1,)),
        TensorSpec("probabilities", "FP64", (-1, 2)),
    )
    assert Task.classification([0, 1, 2]).outputs()[0] == TensorSpec("label", "INT64", (-1,))
    assert Task.regression().outputs() == (TensorSpec("prediction", "FP64", (-1,)),)
    assert Task.regression(3).outputs() == (TensorSpec("prediction", "FP64", (-1, 3)),)
    with pytest.raises(SchemaError, match="at least one target"):
        Task.regression(0)


# --- inferring the schema ----------------------------------------------------------------
def test_each_column_type_gives_its_feature() -> None:
    tenure, charges, contract, support = schema_of().features
    assert tenure == Feature("tenure_months", "INT64", minimum=3.0, maximum=60.0)
    assert charges == Feature(
        "monthly_charges", "FP64", minimum=20.25, maximum=90.5, nullable=True
    ), "NaN in training: nullable, and the range of the values present"
    assert contract == Feature("contract", "BYTES", categories=("month-to-month", "two-year"))
    assert support == Feature("has_support", "BOOL")
    assert [feature.categorical for feature in schema_of().features] == [
        False,
        False,
        True,
        True,
    ]


def test_a_float_column_without_nan_is_not_nullable_and_lists_of_values_are_columns() -> None:
    (feature,) = schema_of({"x": [1.0, 2.5]}).features  # type: ignore[dict-item]
    assert feature == Feature("x", "FP64", minimum=1.0, maximum=2.5)
    (words,) = schema_of({"w": np.array(["b", "a", "b"], dtype=object)}).features
    assert words.categories == ("a", "b"), "object columns of strings are categories too"


def test_a_float32_column_is_an_fp32_feature_and_is_served_as_one() -> None:
    single = np.array([0.5, np.nan, 2.0], dtype=np.float32)
    schema = schema_of({"x": single})
    assert schema.features == (Feature("x", "FP32", minimum=0.5, maximum=2.0, nullable=True),)
    assert schema.signature().inputs == (TensorSpec("x", "FP32", (-1,), nullable=True),)
    np.testing.assert_array_equal(schema.encode({"x": single})[:, 0], [0.5, np.nan, 2.0])
    assert TabularSchema.from_metadata(schema.as_metadata()) == schema


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"x": np.array([])}, "non-empty column"),
        ({"x": np.ones((2, 2))}, "non-empty column"),
        ({"x": np.array([np.nan, np.nan])}, "has no value in the training table"),
        ({"x": np.array(["a", None], dtype=object)}, "mixes strings with other values"),
        ({"x": np.array([1 + 2j])}, "use numbers, booleans or strings"),
        ({"": np.array([1])}, "cannot be served under that name"),
        ({"tab\there": np.array([1])}, "cannot be served under that name"),
    ],
    ids=["empty", "2-d", "all missing", "None among strings", "complex", "no name", "tab"],
)
def test_tables_it_cannot_serve_are_refused(table: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        schema_of(table)


@pytest.mark.parametrize("name", sorted(RESERVED))
def test_reserved_names_are_refused_with_the_fix(name: str) -> None:
    with pytest.raises(SchemaError, match=rf"feature '{name}' cannot be served.*rename"):
        schema_of({name: np.array([1.0])})


@pytest.mark.parametrize(
    "name",
    ["prediction_id", "row", "input-0", "inputs_sha256", "date", "output_label"],
)
def test_names_the_prediction_log_or_the_packed_input_use_are_reserved(name: str) -> None:
    # Prediction-log columns (one per input, by name; readers add `date` from the
    # partition path; outputs are `output_<name>`) and the packed input's name.
    assert name in RESERVED


# --- the model's matrix ------------------------------------------------------------------
def test_encode_gives_one_float_column_per_feature_in_schema_order() -> None:
    schema = schema_of()
    request = {
        "has_support": np.array([True, False]),
        "contract": np.array(["two-year", "weekly"], dtype=object),
        "monthly_charges": np.array([math.nan, 10.0]),
        "tenure_months": np.array([5, 80]),
    }
    matrix = schema.encode(request)
    assert matrix.dtype == np.float64
    np.testing.assert_array_equal(
        matrix,
        [[5.0, math.nan, 1.0, 1.0], [80.0, 10.0, math.nan, 0.0]],
    )
    assert schema.categorical_columns == [2], "the positions of the category codes"


def test_a_schema_of_numbers_only_encodes_the_same_matrix_in_one_pass() -> None:
    table = {
        "tenure_months": np.array([5, 80, 0]),
        "monthly_charges": np.array([math.nan, 10.5, 70.25]),
        "has_support": np.array([True, False, True]),
        "rate": np.array([0.5, 1.5, 2.5], dtype=np.float32),
    }
    schema = TabularSchema.infer(table, Task.regression())
    matrix = schema.encode(table)
    assert matrix.dtype == np.float64
    assert matrix.flags.c_contiguous, "what a framework expects of a matrix"
    np.testing.assert_array_equal(
        matrix, np.column_stack([np.asarray(table[name], np.float64) for name in table])
    )
    one_row = schema.encode({name: values[:1] for name, values in table.items()})
    np.testing.assert_array_equal(one_row, matrix[:1])
    assert schema.encode({name: values[:0] for name, values in table.items()}).shape == (0, 4)


def test_encode_codes_training_categories_by_their_sorted_position() -> None:
    schema = schema_of()
    codes = schema.encode(TABLE)[:, 2]
    np.testing.assert_array_equal(codes, [1.0, 0.0, 1.0])


# --- the signature -----------------------------------------------------------------------
def test_the_signature_takes_one_column_per_feature_and_gives_the_tasks_outputs() -> None:
    signature = schema_of().signature()
    assert signature.inputs == (
        TensorSpec("tenure_months", "INT64", (-1,)),
        TensorSpec("monthly_charges", "FP64", (-1,), nullable=True),
        TensorSpec("contract", "BYTES", (-1,)),
        TensorSpec("has_support", "BOOL", (-1,)),
    )
    assert signature.outputs == CLASSIFIER.outputs()
    assert signature.packed is None, "mixed datatypes cannot be packed"


@pytest.mark.parametrize("datatype", ["INT64", "FP64", "FP32"])
def test_features_of_one_numeric_datatype_may_also_come_packed(datatype: str) -> None:
    dtypes = {"INT64": np.int64, "FP64": np.float64, "FP32": np.float32}
    values = np.array([1, 2] if datatype == "INT64" else [1.5, 2.5], dtype=dtypes[datatype])
    signature = schema_of({"a": values, "b": values, "c": values}).signature()
    assert signature.packed == TensorSpec("input-0", datatype, (-1, 3))


@pytest.mark.parametrize(
    "table",
    [
        {"a": np.array([1.5, np.nan]), "b": np.array([1.5, 2.5])},
        {"a": np.array([True, False]), "b": np.array([True, True])},
        {"a": np.array(["x", "y"]), "b": np.array(["x", "z"])},
    ],
    ids=["a nullable feature", "booleans", "strings"],
)
def test_no_packed_form_for_missing_values_or_categories(table: dict[str, Any]) -> None:
    assert schema_of(table).signature().packed is None


# --- monitoring --------------------------------------------------------------------------
def test_a_classifier_watches_every_feature_its_label_and_probabilities() -> None:
    spec = schema_of().monitoring()
    assert spec.features == (
        FeatureSpec("tenure_months", "tenure_months", None, "numeric", (), 3.0, 60.0),
        FeatureSpec("monthly_charges", "monthly_charges", None, "numeric", (), 20.25, 90.5),
        FeatureSpec("contract", "contract", None, "categorical", ("month-to-month", "two-year")),
        FeatureSpec("has_support", "has_support", None, "categorical"),
    )
    assert (spec.class_output, spec.classes, spec.score_output) == (
        "label",
        ("churned", "stayed"),
        "probabilities",
    )
    assert (spec.value_output, spec.watched_output) == (None, "label")


def test_a_regressor_watches_its_prediction() -> None:
    spec = schema_of(task=Task.regression()).monitoring()
    assert (spec.class_output, spec.classes, spec.score_output) == (None, (), None)
    assert spec.value_output == spec.watched_output == "prediction"


# --- metadata.json -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "task",
    [CLASSIFIER, Task.classification([0, 1, 2]), Task.regression(), Task.regression(2)],
    ids=["string classes", "integer classes", "regression", "two targets"],
)
def test_the_schema_round_trips_through_json_metadata(task: Task) -> None:
    schema = schema_of(task=task)
    recorded = json.loads(json.dumps(schema.as_metadata()))
    assert TabularSchema.from_metadata(recorded) == schema
    assert TabularSchema.from_metadata({**recorded, "model_name": "churn"}) == schema


def test_metadata_records_only_what_each_feature_has() -> None:
    assert schema_of().as_metadata() == {
        "features": [
            {"name": "tenure_months", "datatype": "INT64", "minimum": 3.0, "maximum": 60.0},
            {
                "name": "monthly_charges",
                "datatype": "FP64",
                "minimum": 20.25,
                "maximum": 90.5,
                "nullable": True,
            },
            {
                "name": "contract",
                "datatype": "BYTES",
                "categories": ["month-to-month", "two-year"],
            },
            {"name": "has_support", "datatype": "BOOL"},
        ],
        "task": {"kind": "classification", "classes": ["churned", "stayed"]},
    }
    assert Task.regression(2).as_metadata() == {"kind": "regression", "targets": 2}


def test_metadata_without_a_schema_means_a_single_tensor_model() -> None:
    assert TabularSchema.from_metadata({"framework": "scikit-learn"}) is None


def recorded(**changes: Any) -> dict[str, Any]:
    """The recorded schema of `TABLE`, with top-level keys changed."""
    return {**schema_of().as_metadata(), **changes}


def feature_changed(**changes: Any) -> dict[str, Any]:
    """The recorded schema with its first feature changed (None: the key removed)."""
    document = schema_of().as_metadata()
    first = {**document["features"][0], **changes}
    document["features"][0] = {key: value for key, value in first.items() if value is not None}
    return document


MALFORMED = {
    "no task": {"features": recorded()["features"]},
    "no features": {"task": recorded()["task"]},
    "an empty feature list": recorded(features=[]),
    "features not a list": recorded(features=7),
    "a feature without a name": feature_changed(name=None),
    "a feature without a datatype": feature_changed(datatype=None),
    "an unknown datatype": feature_changed(datatype="FP16"),
    "a minimum that is not a number": feature_changed(minimum="low"),
    "a nullable integer": feature_changed(nullable=True),
    "an unknown task": recorded(task={"kind": "ranking"}),
    "a task that is not an object": recorded(task="classification"),
    "a classifier without classes": recorded(task={"kind": "classification"}),
    "a classifier with one class": recorded(task={"kind": "classification", "classes": ["a"]}),
    "a regressor without targets": recorded(task={"kind": "regression", "targets": 0}),
    "targets not a number": recorded(task={"kind": "regression", "targets": "two"}),
    "a reserved name": feature_changed(name="prediction_id"),
    "a repeated name": recorded(features=[recorded()["features"][0]] * 2),
}


@pytest.mark.parametrize("document", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_recorded_schema_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(SchemaError):
        TabularSchema.from_metadata(document)
