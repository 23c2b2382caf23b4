"""The ONNX adapter: tabular graphs served through onnxruntime, checked against the schema.

The graphs are built here with ``onnx.helper`` (no torch): a linear model on the churn
table's matrix, NaN (a missing charge, an unseen contract) replaced by 0 inside the graph
as an exported module would do it, then softmax, sigmoid or nothing (regression).
"""

from __future__ import annotations

import pickle
import types
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from modelrail_runtime import ModelLoadError, ServiceClient, adapter_for, load_model, save_model
from modelrail_runtime.artifacts import VerifiedArtifact, sha256_hex
from modelrail_runtime.frameworks import BUILT_IN
from modelrail_runtime.frameworks.onnx import OnnxAdapter
from modelrail_runtime.tabular import TabularPredictor, TabularSchema, Task

Data = Any  # conftest's Data: a task's rows, targets and schema
Infer = Callable[[Path, dict[str, Any]], dict[str, list[Any]]]
Dims = Sequence[int | str]


def linear_graph(
    weights: NDArray[Any],
    bias: NDArray[Any],
    *,
    head: str | None = "Softmax",
    input_shape: Dims = ("batch", 4),
    output_shape: Dims | None = None,
    input_name: str = "features",
    output_name: str = "probabilities",
    element_type: int = TensorProto.FLOAT,
    input_type: int | None = None,
    flatten: bool = False,
    extra_outputs: Sequence[str] = (),
) -> onnx.ModelProto:
    """``head(nan_to_0(features) @ weights + bias)``: ``head`` Softmax, Sigmoid or None.

    ``input_type`` is the input's element type when it differs (cast inside); ``flatten``
    gives ``[batch]`` instead of ``[batch, 1]``; ``extra_outputs`` adds outputs holding the
    same scores under other names.
    """
    dtype = np.float64 if element_type == TensorProto.DOUBLE else np.float32
    width = weights.shape[1]
    last = "scores"
    nodes = [helper.make_node("Cast", [input_name], ["cast"], to=element_type)]
    nodes += [
        helper.make_node("IsNaN", ["cast"], ["missing"]),
        helper.make_node("Where", ["missing", "zero", "cast"], ["filled"]),
        helper.make_node("MatMul", ["filled", "W"], ["product"]),
        helper.make_node("Add", ["product", "b"], [last]),
    ]
    if head is not None:
        nodes.append(helper.make_node(head, [last], ["activated"], **_axis(head)))
        last = "activated"
    if flatten:
        nodes.append(helper.make_node("Reshape", [last, "flat"], ["flattened"]))
        last = "flattened"
    nodes.append(helper.make_node("Identity", [last], [output_name]))
    nodes += [helper.make_node("Identity", [last], [name]) for name in extra_outputs]
    shape = output_shape or (("batch",) if flatten else ("batch", width))
    initializers = [
        numpy_helper.from_array(np.zeros((), dtype), "zero"),
        numpy_helper.from_array(weights.astype(dtype), "W"),
        numpy_helper.from_array(bias.astype(dtype), "b"),
        numpy_helper.from_array(np.array([-1], np.int64), "flat"),
    ]
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info(input_name, input_type or element_type, list(input_shape))],
        [
            helper.make_tensor_value_info(name, element_type, list(shape))
            for name in (output_name, *extra_outputs)
        ],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _axis(head: str) -> dict[str, int]:
    return {"axis": -1} if head == "Softmax" else {}


def fitted(data: Data, width: int, seed: int = 0) -> tuple[NDArray[np.float64], NDArray[Any]]:
    """Small random weights and biases for ``width`` outputs of ``data``'s matrix."""
    rng = np.random.default_rng(seed)
    features = len(data.schema.features)
    weights = rng.normal(0, 0.05, (features, width))
    return weights, rng.normal(0, 0.1, width)


def reference(data: Data, weights: NDArray[Any], bias: NDArray[Any], head: str | None) -> Any:
    """What the graph computes, in numpy (float32 as the graph does)."""
    matrix = np.nan_to_num(data.held_out_matrix).astype(np.float32)
    scores = matrix @ weights.astype(np.float32) + bias.astype(np.float32)
    if head == "Softmax":
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)
    if head == "Sigmoid":
        return 1 / (1 + np.exp(-scores))
    return scores


def save(directory: Path, data: Data, model: object, adapter: OnnxAdapter | None = None) -> None:
    save_model(
        directory, adapter or OnnxAdapter(), model, training_inputs=data.train, schema=data.schema
    )


def artifact(data: bytes, schema: TabularSchema | None) -> VerifiedArtifact:
    metadata = schema.as_metadata() if schema is not None else {}
    return VerifiedArtifact(
        Path("model.onnx"), data, sha256_hex(data), types.MappingProxyType(metadata)
    )


def load(graph: onnx.ModelProto | bytes, schema: TabularSchema) -> Any:
    return OnnxAdapter().load(artifact(OnnxAdapter().dump(graph), schema))


def test_adapter_for_finds_it() -> None:
    adapter = adapter_for("onnx")
    assert isinstance(adapter, OnnxAdapter)
    assert (adapter.name, adapter.platform, adapter.artifact_file) == (
        "onnx",
        "onnxruntime_onnx",
        "model.onnx",
    )
    assert BUILT_IN["onnx"][2] == "onnx"
    assert adapter.threads == 1
    assert set(adapter.library_versions()) == {"python", "onnxruntime", "tokenizers", "numpy"}


@pytest.mark.parametrize("task", ["churn", "plan"])
def test_served_probabilities_and_labels_are_the_graphs(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer, task: str
) -> None:
    data = churn_data(task)
    classes = data.schema.task.classes
    weights, bias = fitted(data, len(classes))
    save(tmp_path, data, linear_graph(weights, bias))
    outputs = infer(tmp_path, data.held_out)
    expected = reference(data, weights, bias, "Softmax")
    served = np.reshape(outputs["probabilities"], expected.shape)
    np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-7)
    assert outputs["label"] == [classes[i] for i in np.argmax(expected, axis=1)]
    # Row 0 has a missing charge, row 1 an unseen contract: both served (NaN -> 0 in the graph).
    assert np.isfinite(served[:2]).all()


@pytest.mark.parametrize("flatten", [False, True], ids=["[batch, 1]", "[batch]"])
def test_a_binary_graph_may_give_the_positive_class_alone(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer, flatten: bool
) -> None:
    data = churn_data("churn")
    weights, bias = fitted(data, 1)
    save(tmp_path, data, linear_graph(weights, bias, head="Sigmoid", flatten=flatten))
    outputs = infer(tmp_path, data.held_out)
    positive = reference(data, weights, bias, "Sigmoid").reshape(-1)
    served = np.reshape(outputs["probabilities"], (-1, 2))
    np.testing.assert_allclose(served[:, 1], positive, rtol=1e-6)
    np.testing.assert_allclose(served[:, 0], 1 - positive, rtol=1e-6)
    assert outputs["label"] == ["stayed" if p > 0.5 else "churned" for p in positive]


@pytest.mark.parametrize("flatten", [False, True], ids=["[batch, 1]", "[batch]"])
def test_served_values_are_the_graphs(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer, flatten: bool
) -> None:
    data = churn_data("spend")
    weights, bias = fitted(data, 1)
    save(
        tmp_path,
        data,
        linear_graph(weights, bias, head=None, output_name="prediction", flatten=flatten),
    )
    outputs = infer(tmp_path, data.held_out)
    expected = reference(data, weights, bias, None).reshape(-1)
    np.testing.assert_allclose(outputs["prediction"], expected, rtol=1e-6)


def test_several_targets_are_served(churn_data: Callable[[str], Data]) -> None:
    data = churn_data("spend")
    schema = TabularSchema(data.schema.features, Task.regression(3))
    weights, bias = fitted(data, 3)
    graph = linear_graph(weights, bias, head=None, output_name="prediction")
    predicted = load(graph, schema).predict(data.held_out)["prediction"]
    np.testing.assert_allclose(predicted, reference(data, weights, bias, None), rtol=1e-6)
    assert predicted.shape == (len(data.held_out["tenure_months"]), 3)


def test_a_double_precision_graph_is_fed_float64(churn_data: Callable[[str], Data]) -> None:
    data = churn_data("plan")
    weights, bias = fitted(data, 3)
    graph = linear_graph(weights, bias, element_type=TensorProto.DOUBLE)
    predicted = load(graph, data.schema).predict(data.held_out)["probabilities"]
    matrix = np.nan_to_num(data.held_out_matrix)
    scores = matrix @ weights + bias
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(predicted, expected, rtol=1e-12)


def test_of_several_outputs_the_one_named_after_the_task_is_served(
    churn_data: Callable[[str], Data],
) -> None:
    data = churn_data("plan")
    weights, bias = fitted(data, 3)
    graph = linear_graph(weights, bias, output_name="logits_first", extra_outputs=["probabilities"])
    graph.graph.node[-2].input[0] = "scores"  # logits_first: the scores before softmax
    predictor = load(graph, data.schema)
    assert isinstance(predictor, TabularPredictor)
    served = predictor.predict(data.held_out)["probabilities"]
    np.testing.assert_allclose(served, reference(data, weights, bias, "Softmax"), rtol=1e-6)


@pytest.mark.parametrize("mode", ["inline", "thread", "batch"])
def test_every_predict_mode_serves_the_graph(
    tmp_path: Path,
    churn_data: Callable[[str], Data],
    request_of: Callable[[dict[str, Any]], dict[str, Any]],
    mode: str,
) -> None:
    data = churn_data("plan")
    weights, bias = fitted(data, 3)
    save(tmp_path, data, linear_graph(weights, bias))
    body = request_of(data.held_out)
    with ServiceClient(tmp_path, model_name="churn", predict_mode=mode) as client:
        response = client.infer(body)
    assert response.status_code == 200, response.text
    outputs = {output["name"]: output["data"] for output in response.json()["outputs"]}
    expected = reference(data, weights, bias, "Softmax")
    served = np.reshape(outputs["probabilities"], expected.shape)
    np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-7)


def test_one_row_and_a_batch_agree(tmp_path: Path, churn_data: Callable[[str], Data]) -> None:
    data = churn_data("plan")
    save(tmp_path, data, linear_graph(*fitted(data, 3)))
    predictor = load_model(tmp_path).predictor
    batch = predictor.predict(data.held_out)["probabilities"]
    for row in range(3):
        one = {name: column[row : row + 1] for name, column in data.held_out.items()}
        np.testing.assert_allclose(predictor.predict(one)["probabilities"], batch[row : row + 1])


def test_concurrent_predicts_agree(tmp_path: Path, churn_data: Callable[[str], Data]) -> None:
    # PREDICT_MODE=thread predicts on several threads at once, on one session.
    data = churn_data("churn")
    save(tmp_path, data, linear_graph(*fitted(data, 2)))
    predictor = load_model(tmp_path).predictor
    expected = predictor.predict(data.held_out)["probabilities"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: predictor.predict(data.held_out), range(32)))
    for result in results:
        np.testing.assert_array_equal(result["probabilities"], expected)


def test_dump_keeps_bytes_and_serialises_a_model_proto_the_same_way_twice(
    churn_data: Callable[[str], Data],
) -> None:
    graph = linear_graph(*fitted(churn_data("plan"), 3))
    adapter = OnnxAdapter()
    first = adapter.dump(graph)
    assert first == graph.SerializeToString()
    assert adapter.dump(onnx.load_from_string(first)) == first
    assert adapter.dump(first) == first
    assert adapter.dump(bytearray(first)) == first
    assert adapter.dump(linear_graph(*fitted(churn_data("plan"), 3, seed=1))) != first


def test_dump_refuses_what_is_not_onnx() -> None:
    with pytest.raises(TypeError, match=r"ONNX model's bytes \(export_onnx\(\.\.\.\) gives them\)"):
        OnnxAdapter().dump(object())


def test_threads_are_the_sessions(churn_data: Callable[[str], Data]) -> None:
    data = churn_data("plan")
    predictor = OnnxAdapter(threads=2).load(
        artifact(OnnxAdapter().dump(linear_graph(*fitted(data, 3))), data.schema)
    )
    assert predictor.predict(data.held_out)["probabilities"].shape[1] == 3
    with pytest.raises(ValueError, match="threads must be a whole number of at least 1, not 0"):
        OnnxAdapter(threads=0)


def test_an_artifact_without_a_schema_is_refused_with_the_fix(
    churn_data: Callable[[str], Data],
) -> None:
    graph = OnnxAdapter().dump(linear_graph(*fitted(churn_data("churn"), 2)))
    with pytest.raises(ModelLoadError, match=r"records no feature schema.*re-run `make train`"):
        OnnxAdapter().load(artifact(graph, None))


def _opset(version: int) -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "future",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", version)])
    return model.SerializeToString()


@pytest.mark.parametrize(
    "foreign",
    [
        b"",
        b"not a model",
        pickle.dumps({"weights": [1, 2]}),  # a pickle, which must never be loaded
        b"PK\x03\x04" + bytes(40),  # a zip (skops)
        _opset(99),  # an opset this onnxruntime does not know
    ],
    ids=["empty", "text", "pickle", "zip", "opset-99"],
)
def test_foreign_bytes_are_refused(churn_data: Callable[[str], Data], foreign: bytes) -> None:
    schema = churn_data("churn").schema
    with pytest.raises(
        ModelLoadError,
        match=r"model\.onnx is not an ONNX model onnxruntime [\d.]+ can load \(.+\); export "
        r"it again",
    ):
        OnnxAdapter().load(artifact(foreign, schema))


def test_weights_outside_the_verified_bytes_are_refused(churn_data: Callable[[str], Data]) -> None:
    # An initializer stored as external data would be read from another file, which the
    # artifact's sha256 does not cover (here: a system file).
    data = churn_data("churn")
    graph = linear_graph(*fitted(data, 2))
    weights = next(tensor for tensor in graph.graph.initializer if tensor.name == "W")
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "/etc/hostname"), ("length", "32")):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    with pytest.raises(ModelLoadError, match="is not an ONNX model onnxruntime"):
        load(graph, data.schema)


def _two_inputs(weights: NDArray[Any], bias: NDArray[Any]) -> onnx.ModelProto:
    graph = linear_graph(weights, bias)
    graph.graph.input.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, ["b", 1]))
    return graph


def _logits(weights: NDArray[Any], bias: NDArray[Any]) -> onnx.ModelProto:
    return linear_graph(weights, bias, head=None)


def _infinite(weights: NDArray[Any], bias: NDArray[Any]) -> onnx.ModelProto:
    return linear_graph(weights, bias - np.inf, head=None, output_name="prediction")


def _compressed(weights: NDArray[Any], bias: NDArray[Any]) -> onnx.ModelProto:
    """Two of the three columns, through an operator whose output shape the graph cannot
    declare (it depends on a tensor's values): only running the graph shows it."""
    graph = linear_graph(weights, bias, output_shape=("batch", "classes"))
    keep = numpy_helper.from_array(np.array([True, True, False]), "keep")
    graph.graph.initializer.append(keep)
    final = graph.graph.node[-1]
    final.op_type = "Compress"
    final.input.append("keep")
    final.attribute.append(helper.make_attribute("axis", 1))
    return graph


MISMATCHES: list[tuple[str, Callable[[NDArray[Any], NDArray[Any]], onnx.ModelProto], str]] = [
    (
        "fixed batch",
        lambda w, b: linear_graph(w, b, input_shape=(8, 4)),
        r"the graph's 'features' tensor\(float\) \[8, 4\] has a fixed batch size of 8; the "
        r"service predicts batches of any size: export with a dynamic batch axis "
        r"\(export_onnx\(\.\.\., dynamic_axes=\{'features': \{0: 'batch'\}, \.\.\.\}\)\)",
    ),
    (
        "fixed output batch",
        lambda w, b: linear_graph(w, b, output_shape=(1, 3)),
        r"'probabilities' tensor\(float\) \[1, 3\] has a fixed batch size of 1.*dynamic batch",
    ),
    (
        "two inputs",
        _two_inputs,
        r"the graph takes 2 inputs \('features' tensor\(float\) \[batch, 4\], 'extra' "
        r"tensor\(float\) \[b, 1\]\); a tabular model takes one float32 input \[batch, 4\]",
    ),
    (
        "int64 input",
        lambda w, b: linear_graph(w, b, input_type=TensorProto.INT64),
        r"the graph's input is 'features' tensor\(int64\) \[batch, 4\]; .*export with the "
        r"matrix as float32",
    ),
    (
        "rank 3 input",
        lambda w, b: linear_graph(w, b, input_shape=("batch", 1, 4)),
        r"the graph's input is 'features' tensor\(float\) \[batch, 1, 4\]; it must be one "
        r"float32 input \[batch, 4\]",
    ),
    (
        "five features",
        lambda w, b: linear_graph(np.vstack([w, w[:1]]), b, input_shape=("batch", 5)),
        r"takes 5 features, the schema has 4 \(tenure_months, monthly_charges, contract, "
        r"has_support\): export the module again on schema\.encode\(table\)",
    ),
    (
        "two classes",
        lambda w, b: linear_graph(w[:, :2], b[:2]),
        r"the graph's output is 'probabilities' tensor\(float\) \[batch, 2\]; for the "
        r"schema's classification task it must be \[batch, 3\] \(the probabilities of "
        r"\[0, 1, 2\], in that order\)",
    ),
    (
        "several outputs, none named",
        lambda w, b: linear_graph(w, b, output_name="scores_out", extra_outputs=["other"]),
        r"the graph gives 2 outputs \(.*\): a tabular model gives one, or names the one to "
        r"serve 'probabilities'",
    ),
    (
        "logits",
        _logits,
        r"the graph's output 'probabilities' gives no probabilities on 2 rows of zeros.*end the "
        r"module with softmax",
    ),
    (
        "dynamic features, wrong at run",
        lambda w, b: linear_graph(np.vstack([w, w[:1]]), b, input_shape=("batch", "features")),
        r"the graph fails on 2 rows of zeros \[2, 4\] \(.+\): export the module again",
    ),
    (
        "dynamic classes, wrong at run",
        _compressed,
        r"the graph's output 'probabilities' is \[2, 2\] on 2 rows of zeros.*must be \[batch, 3\]",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"), [case[1:] for case in MISMATCHES], ids=[case[0] for case in MISMATCHES]
)
def test_a_graph_that_does_not_fit_the_schema_is_refused_naming_what_differs(
    churn_data: Callable[[str], Data],
    build: Callable[[NDArray[Any], NDArray[Any]], onnx.ModelProto],
    message: str,
) -> None:
    data = churn_data("plan")
    with pytest.raises(ModelLoadError, match=message):
        load(build(*fitted(data, 3)), data.schema)


def test_a_regressor_that_gives_no_finite_values_is_refused(
    churn_data: Callable[[str], Data],
) -> None:
    data = churn_data("spend")
    with pytest.raises(ModelLoadError, match=r"'prediction' holds NaN or infinity on 2 rows"):
        load(_infinite(*fitted(data, 1)), data.schema)


def test_a_classifier_graph_for_a_regression_schema_is_refused(
    churn_data: Callable[[str], Data],
) -> None:
    data = churn_data("spend")
    with pytest.raises(
        ModelLoadError,
        match=r"'probabilities' tensor\(float\) \[batch, 3\]; for the schema's regression task "
        r"it must be \[batch\] or \[batch, 1\] \(one value per row\)",
    ):
        load(linear_graph(*fitted(data, 3)), data.schema)


def test_save_model_refuses_a_mismatch_before_writing(
    tmp_path: Path, churn_data: Callable[[str], Data]
) -> None:
    data = churn_data("plan")
    with pytest.raises(ModelLoadError, match="fixed batch size of 8"):
        save(tmp_path, data, linear_graph(*fitted(data, 3), input_shape=(8, 4)))
    assert not (tmp_path / "metadata.json").exists()


def test_the_service_reports_the_platform_and_named_features(
    tmp_path: Path, churn_data: Callable[[str], Data]
) -> None:
    data = churn_data("spend")
    save(tmp_path, data, linear_graph(*fitted(data, 1), head=None, output_name="prediction"))
    with ServiceClient(tmp_path, model_name="churn") as client:
        metadata = client.model_metadata()
        refused = client.infer({"inputs": [{"name": "tenure_months", "datatype": "INT64"}]})
    assert metadata["platform"] == "onnxruntime_onnx"
    assert [spec["name"] for spec in metadata["inputs"]] == list(data.train)
    assert refused.status_code == 400
    assert "error" in refused.json()
