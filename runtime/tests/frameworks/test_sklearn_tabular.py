"""The scikit-learn adapter's tabular path: named features, string classes, regression.

metadata.json records the features and the task; the adapter serves the fitted pipeline
behind a `TabularPredictor`. Requests send one JSON tensor per feature (or the packed
``input-0`` when every feature is a number of one datatype).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelrail_runtime import ModelLoadError, ServiceClient, load_model, save_model
from modelrail_runtime.artifacts import VerifiedArtifact, sha256_hex
from modelrail_runtime.execution.warmup import warm_up
from modelrail_runtime.frameworks.sklearn import SklearnAdapter, SklearnPredictor
from modelrail_runtime.tabular import TabularPredictor, TabularSchema, Task
from modelrail_runtime.testing import ServiceNotReadyError

if TYPE_CHECKING:
    from conftest import Churn, TrainedTabular

NamedInputs = Callable[..., list[dict[str, Any]]]
Pipelines = Callable[[TabularSchema, Any], Pipeline]
CLASSES = ("churned", "stayed")
# Two customers: one with a missing charge (null), one with a contract never seen in training.
REQUEST_COLUMNS = {
    "tenure_months": [3, 60],
    "monthly_charges": [None, 20.5],
    "contract": ["month-to-month", "weekly"],
    "has_support": [False, True],
}


@pytest.fixture(scope="module")
def churn_client(churn_classifier: TrainedTabular) -> Iterator[ServiceClient]:
    """The churn classifier's service, shared by the tests of requests it refuses."""
    with ServiceClient(churn_classifier.directory) as client:
        yield client


def outputs_by_name(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {output["name"]: output for output in response.json()["outputs"]}


def as_table(columns: dict[str, list[Any]]) -> dict[str, Any]:
    """The request's columns as the arrays training encodes (null: NaN)."""
    table: dict[str, Any] = {}
    for name, values in columns.items():
        if name == "monthly_charges":
            table[name] = np.array([math.nan if v is None else v for v in values], float)
        else:
            table[name] = np.array(values, dtype=object if name == "contract" else None)
    return table


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    raise AssertionError(f"no sample {name} {labels}")


def artifact(data: bytes, metadata: dict[str, Any]) -> VerifiedArtifact:
    return VerifiedArtifact(Path("model.skops"), data, sha256_hex(data), MappingProxyType(metadata))


# --- classification with string classes -------------------------------------------------
def test_named_json_tensors_with_null_and_an_unseen_category_are_classified(
    churn_classifier: TrainedTabular, named_inputs: NamedInputs
) -> None:
    with ServiceClient(churn_classifier.directory, model_name="churn") as client:
        metadata = client.model_metadata()
        response = client.infer({"inputs": named_inputs(**REQUEST_COLUMNS)})
        metrics = client.get("/metrics").text
    assert metadata["inputs"] == [
        {"name": "tenure_months", "datatype": "INT64", "shape": [-1]},
        {"name": "monthly_charges", "datatype": "FP64", "shape": [-1]},
        {"name": "contract", "datatype": "BYTES", "shape": [-1]},
        {"name": "has_support", "datatype": "BOOL", "shape": [-1]},
    ]
    assert metadata["outputs"] == [
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
        {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
    ]
    outputs = outputs_by_name(response)
    matrix = churn_classifier.schema.encode(as_table(REQUEST_COLUMNS))
    expected = churn_classifier.model.predict_proba(matrix)
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["label"]["data"] == churn_classifier.model.predict(matrix).tolist()
    assert set(outputs["label"]["data"]) <= set(CLASSES)
    assert outputs["probabilities"]["shape"] == [2, 2]
    np.testing.assert_allclose(outputs["probabilities"]["data"], expected.ravel())
    assert outputs["prediction_id"]["shape"] == [2]
    model = {"model_name": "churn", "model_version": metadata["versions"][0]}
    missing = metric(metrics, "model_input_missing_values_total", feature="monthly_charges")
    unseen = metric(metrics, "model_input_unseen_categories_total", feature="contract")
    assert (missing, unseen) == (1, 1)
    assert metric(metrics, "model_input_unseen_categories_total", feature="has_support") == 0
    predicted = sum(
        metric(metrics, "model_predictions_total", predicted_class=label, **model)
        for label in set(outputs["label"]["data"])
    )
    assert predicted == 2


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("has_support", [0, 1], "input 'has_support': every element of 'data' must be a BOOL"),
        ("tenure_months", [None, 1], "input 'tenure_months': every element of 'data' must be"),
        ("contract", [None, "one-year"], "input 'contract': every element of 'data' must be"),
        ("tenure_months", [1.5, 2], "input 'tenure_months': every element of 'data' must be"),
    ],
    ids=["numbers for booleans", "null integer", "null category", "float integer"],
)
def test_only_float_features_take_null_and_types_are_checked_per_feature(
    churn_client: ServiceClient,
    named_inputs: NamedInputs,
    column: str,
    values: list[Any],
    message: str,
) -> None:
    response = churn_client.infer({"inputs": named_inputs(**{column: values})})
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_missing_feature_and_unequal_row_counts_are_refused(
    churn_client: ServiceClient, named_inputs: NamedInputs
) -> None:
    without = [item for item in named_inputs() if item["name"] != "contract"]
    missing = churn_client.infer({"inputs": without})
    unequal = churn_client.infer({"inputs": named_inputs(contract=["one-year"])})
    assert missing.json() == {"error": "missing input(s): 'contract'"}
    assert unequal.status_code == 400
    assert "same number of rows" in unequal.json()["error"]


def test_every_predict_mode_serves_string_labels_alike(
    churn_classifier: TrainedTabular, named_inputs: NamedInputs
) -> None:
    body = {"inputs": named_inputs(rows=3)}
    answers = {}
    for mode in ("inline", "batch"):
        with (
            ServiceClient(
                churn_classifier.directory, predict_mode=mode, batch_max_wait_seconds=0.01
            ) as client,
            ThreadPoolExecutor(4) as pool,
        ):
            # Concurrent requests, so that batch mode stacks their object arrays.
            responses = list(pool.map(lambda _: client.infer(body), range(6)))
        answers[mode] = [outputs_by_name(response)["label"]["data"] for response in responses]
    assert answers["batch"] == answers["inline"]
    assert len({tuple(labels) for labels in answers["inline"]}) == 1


def test_the_warm_up_on_zeros_and_empty_strings_succeeds(churn_classifier: TrainedTabular) -> None:
    predictor = load_model(churn_classifier.directory).predictor
    assert isinstance(predictor, TabularPredictor)
    assert warm_up(predictor).error is None


def test_a_classifier_fitted_on_class_indices_is_served_with_the_class_names(
    tmp_path: Path, churn: Churn, churn_pipeline: Pipelines
) -> None:
    schema = TabularSchema.infer(churn.table, Task.classification(CLASSES))
    indices = np.searchsorted(CLASSES, churn.churned)
    model = churn_pipeline(schema, LogisticRegression(max_iter=1000))
    model.fit(schema.encode(churn.table), indices)
    saved = save_model(
        tmp_path, SklearnAdapter(), model, training_inputs=churn.table, schema=schema
    )
    outputs = load_model(tmp_path).predictor.predict(churn.table)
    expected = np.asarray(CLASSES, dtype=object)[model.predict(schema.encode(churn.table))]
    assert outputs["label"].tolist() == expected.tolist()
    assert saved.metadata["task"] == {"kind": "classification", "classes": list(CLASSES)}


def test_integer_classes_are_served_as_int64_labels(
    tmp_path: Path, churn: Churn, churn_pipeline: Pipelines
) -> None:
    labels = np.where(churn.churned == "churned", 1, 0)
    schema = TabularSchema.infer(churn.table, Task.classification([0, 1]))
    model = churn_pipeline(schema, LogisticRegression(max_iter=1000))
    model.fit(schema.encode(churn.table), labels)
    save_model(tmp_path, SklearnAdapter(), model, training_inputs=churn.table, schema=schema)
    predictor = load_model(tmp_path).predictor
    assert predictor.signature.outputs[0].datatype == "INT64"
    outputs = predictor.predict(churn.table)
    assert outputs["label"].dtype == np.int64
    assert outputs["label"].tolist() == model.predict(schema.encode(churn.table)).tolist()


# --- regression --------------------------------------------------------------------------
def test_a_regressor_predicts_values_and_fills_the_value_histogram(
    churn_regressor: TrainedTabular, named_inputs: NamedInputs
) -> None:
    with ServiceClient(churn_regressor.directory, model_name="spend") as client:
        metadata = client.model_metadata()
        response = client.infer({"inputs": named_inputs(**REQUEST_COLUMNS)})
        metrics = client.get("/metrics").text
    assert [output["name"] for output in metadata["outputs"]] == ["prediction", "prediction_id"]
    prediction = outputs_by_name(response)["prediction"]
    assert (prediction["datatype"], prediction["shape"]) == ("FP64", [2])
    matrix = churn_regressor.schema.encode(as_table(REQUEST_COLUMNS))
    np.testing.assert_allclose(prediction["data"], churn_regressor.model.predict(matrix))
    count = metric(metrics, "model_prediction_value_count", output="prediction")
    assert count == 2
    assert "model_predictions_total{" not in metrics, "no class counts for a regressor"


# --- the packed form ---------------------------------------------------------------------
def test_numbers_of_one_datatype_may_be_sent_packed(tmp_path: Path, churn: Churn) -> None:
    table = {
        "tenure_months": churn.table["tenure_months"].astype(np.float64),
        "age": np.linspace(18, 80, len(churn.spend)),
    }
    schema = TabularSchema.infer(table, Task.regression())
    model = Pipeline([("scale", StandardScaler()), ("reg", LinearRegression())])
    model.fit(schema.encode(table), churn.spend)
    save_model(tmp_path, SklearnAdapter(), model, training_inputs=table, schema=schema)
    rows = [[3.0, 40.0], [60.0, 22.5]]
    packed = {"name": "input-0", "datatype": "FP64", "shape": [2, 2], "data": rows}
    named = [
        {"name": name, "datatype": "FP64", "shape": [2], "data": [row[i] for row in rows]}
        for i, name in enumerate(("tenure_months", "age"))
    ]
    with ServiceClient(tmp_path) as client:
        metadata = client.model_metadata()
        from_packed = outputs_by_name(client.infer({"inputs": [packed]}))["prediction"]
        from_named = outputs_by_name(client.infer({"inputs": named}))["prediction"]
    assert [item["name"] for item in metadata["inputs"]] == ["tenure_months", "age"]
    assert from_packed["data"] == from_named["data"]
    np.testing.assert_allclose(from_packed["data"], model.predict(np.array(rows)))


def test_float32_training_columns_are_fp32_features_and_fp64_for_them_is_refused(
    tmp_path: Path, churn: Churn
) -> None:
    table = {"tenure_months": churn.table["tenure_months"].astype(np.float32)}
    schema = TabularSchema.infer(table, Task.regression())
    model = LinearRegression().fit(schema.encode(table), churn.spend)
    save_model(tmp_path, SklearnAdapter(), model, training_inputs=table, schema=schema)
    tenure = {"name": "tenure_months", "datatype": "FP32", "shape": [2], "data": [3.0, 60.5]}
    with ServiceClient(tmp_path) as client:
        (spec,) = client.model_metadata()["inputs"]
        served = client.infer({"inputs": [tenure]})
        as_fp64 = client.infer({"inputs": [dict(tenure, datatype="FP64")]})
    assert spec == {"name": "tenure_months", "datatype": "FP32", "shape": [-1]}
    prediction = outputs_by_name(served)["prediction"]["data"]
    np.testing.assert_allclose(prediction, model.predict(np.array([[3.0], [60.5]])))
    assert as_fp64.status_code == 400
    assert "tenure_months" in as_fp64.json()["error"]


# --- what the adapter refuses ------------------------------------------------------------
def test_the_legacy_single_tensor_path_stays_for_artifacts_without_a_schema(
    artifacts: Path,
) -> None:
    predictor = load_model(artifacts).predictor
    assert isinstance(predictor, SklearnPredictor)
    assert [spec.name for spec in predictor.signature.inputs] == ["input-0"]


@pytest.mark.parametrize(
    ("task", "estimator", "message"),
    [
        (
            Task.classification(["stayed", "churned"]),
            LogisticRegression(max_iter=1000),
            r"predict_proba over the recorded classes \['stayed', 'churned'\]",
        ),
        (
            Task.classification(["churned", "stayed", "left"]),
            LogisticRegression(max_iter=1000),
            "over the recorded classes",
        ),
        (Task.classification(CLASSES), LinearRegression(), "with predict_proba"),
        (Task.regression(), StandardScaler(), "fitted scikit-learn regressor"),
    ],
    ids=["classes in another order", "other classes", "a regressor", "no predict"],
)
def test_a_model_that_does_not_fit_the_recorded_task_is_refused(
    churn: Churn, churn_pipeline: Pipelines, task: Task, estimator: Any, message: str
) -> None:
    schema = TabularSchema.infer(churn.table, Task.classification(CLASSES))
    matrix = schema.encode(churn.table)
    target = churn.spend if isinstance(estimator, LinearRegression) else churn.churned
    model = churn_pipeline(schema, estimator).fit(matrix, target)
    metadata = TabularSchema(schema.features, task).as_metadata()
    with pytest.raises(ModelLoadError, match=message):
        SklearnAdapter().load(artifact(SklearnAdapter().dump(model), metadata))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["features"][0].pop("datatype"), "malformed feature schema"),
        (lambda m: m["features"][2].update(datatype="COMPLEX"), "has datatype 'COMPLEX'"),
        (lambda m: m.update(task={"kind": "clustering"}), "unknown task kind 'clustering'"),
        (lambda m: m.update(features=[]), "lists no features"),
        (lambda m: m.pop("task"), "malformed feature schema"),
    ],
    ids=["no datatype", "unknown datatype", "unknown task", "no features", "no task"],
)
def test_a_malformed_schema_in_metadata_json_is_a_load_error(
    tmp_path: Path,
    churn_classifier: TrainedTabular,
    change: Callable[[dict[str, Any]], object],
    message: str,
) -> None:
    # metadata.json is not covered by the artifact's hash: an edit there is caught here.
    copy = shutil.copytree(churn_classifier.directory, tmp_path / "copy")
    metadata = json.loads((copy / "metadata.json").read_text())
    change(metadata)
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match=message):
        load_model(copy)
    with pytest.raises(ServiceNotReadyError, match=message), ServiceClient(copy):
        pass


def test_integer_classes_out_of_order_are_refused_as_ambiguous(
    churn: Churn, churn_pipeline: Pipelines
) -> None:
    # Fitted on 0/1: the model's columns are [0, 1]. Recorded as [1, 0], they could be the
    # classes in another order (labels swapped) or indices of the classes: never guessed.
    labels = np.where(churn.churned == "churned", 1, 0)
    schema = TabularSchema.infer(churn.table, Task.classification([1, 0]))
    model = churn_pipeline(schema, LogisticRegression(max_iter=1000))
    model.fit(schema.encode(churn.table), labels)
    with pytest.raises(ModelLoadError, match=r"\[1, 0\].*the model's order \[0, 1\]"):
        SklearnAdapter().load(artifact(SklearnAdapter().dump(model), schema.as_metadata()))


def test_an_encoders_dtype_is_trusted_by_default(churn_classifier: TrainedTabular) -> None:
    # OneHotEncoder keeps its `dtype` parameter: a numpy.dtype, outside skops' defaults.
    data = SklearnAdapter().dump(churn_classifier.model)
    metadata = churn_classifier.schema.as_metadata()
    assert isinstance(SklearnAdapter().load(artifact(data, metadata)), TabularPredictor)
    with pytest.raises(ModelLoadError, match=r"outside the allow-list: numpy\.dtype"):
        SklearnAdapter(trusted_types=["sklearn.tree._tree.Tree"]).load(artifact(data, metadata))
