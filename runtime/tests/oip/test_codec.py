"""Request bodies: every problem is a 400 whose message says what to fix, never echoing data.

The property tests at the end send the same hostile bodies through HTTP too: any finite
batch is answered, and no body produces a 5xx.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrail_runtime import ServiceClient
from modelrail_runtime.oip.codec import (
    ProtocolError,
    encode_infer_response,
    parse_infer_request,
)
from modelrail_runtime.oip.signature import ModelSignature, TensorSpec

IRIS = ModelSignature(
    inputs=(TensorSpec("input-0", "FP64", (-1, 4)),),
    outputs=(TensorSpec("label", "INT64", (-1,)), TensorSpec("probabilities", "FP64", (-1, 3))),
)
TWO_INPUTS = ModelSignature(
    inputs=(TensorSpec("a", "FP32", (-1, 2)), TensorSpec("b", "INT64", (-1,))),
    outputs=(TensorSpec("y", "FP32", (-1,)),),
)
CANARY = 987654.123456
BINARY = {"binary_data": True}


def tensor(**changes: Any) -> dict[str, Any]:
    base = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1.0, 2.0, 3.0, CANARY]}
    return {**base, **changes}


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


# What is wrong, and the message that must say so (naming the input where there is one).
PROBLEMS = {
    "not JSON": (b"{not json", "request body is not valid JSON"),
    "a JSON array": (b"[1, 2]", "request body must be a JSON object with an 'inputs' list"),
    "id not a string": (encoded({"id": 7, "inputs": [tensor()]}), "'id' must be a string"),
    "no inputs": (
        encoded({"inputs": []}),
        "'inputs' must be a non-empty list; this model takes 'input-0'",
    ),
    "an input without a name": (
        encoded({"inputs": [{"shape": [1, 4]}]}),
        "each entry of 'inputs' must be an object with a 'name'",
    ),
    "an unknown input": (
        encoded({"inputs": [tensor(name="x")]}),
        "'inputs' names an unknown input 'x'; this model takes 'input-0'",
    ),
    "a duplicate input": (
        encoded({"inputs": [tensor(), tensor()]}),
        "input 'input-0' appears more than once",
    ),
    "the wrong datatype": (
        encoded({"inputs": [tensor(datatype="FP32")]}),
        "input 'input-0': 'datatype' must be 'FP64'",
    ),
    "the wrong shape": (
        encoded({"inputs": [tensor(shape=[1, 3])]}),
        "input 'input-0': 'shape' must be [N, 4] with N >= 1",
    ),
    "zero rows": (
        encoded({"inputs": [tensor(shape=[0, 4], data=[])]}),
        "input 'input-0': 'shape' must be [N, 4] with N >= 1",
    ),
    "a boolean in the shape": (
        encoded({"inputs": [tensor(shape=[True, 4])]}),
        "input 'input-0': 'shape' must be [N, 4]",
    ),
    "a fraction in the shape": (
        encoded({"inputs": [tensor(shape=[1.5, 4])]}),
        "input 'input-0': 'shape' must be [N, 4]",
    ),
    "data not a list": (
        encoded({"inputs": [tensor(data=CANARY)]}),
        "input 'input-0': 'data' must be a list (flat row-major, or nested)",
    ),
    "too few elements": (
        encoded({"inputs": [tensor(data=[1.0, 2.0, 3.0])]}),
        "input 'input-0': 'data' has 3 elements but 'shape' needs 4",
    ),
    "nested data of the wrong shape": (
        encoded({"inputs": [tensor(data=[[1.0, 2.0], [3.0, CANARY]])]}),
        "input 'input-0': nested 'data' does not match 'shape'",
    ),
    "nested data deeper than the shape": (
        encoded({"inputs": [tensor(data=[[1.0, 2.0, 3.0, [CANARY]]])]}),
        "input 'input-0': nested 'data' is deeper than 'shape'",
    ),
    "a string element": (
        encoded({"inputs": [tensor(data=[1.0, 2.0, 3.0, str(CANARY)])]}),
        "input 'input-0': every element of 'data' must be a FP64 value",
    ),
    "an integer beyond 64 bits": (
        encoded({"inputs": [tensor(data=[1, 2, 3, 10**400])]}),
        "request body is not valid JSON",
    ),
    "NaN": (
        encoded({"inputs": [tensor(data=[1.0, 2.0, 3.0, float("nan")])]}),
        "request body is not valid JSON",
    ),
    "outputs not a list": (
        encoded({"inputs": [tensor()], "outputs": {"name": "label"}}),
        "'outputs' must be a non-empty list of objects naming 'label', 'probabilities'",
    ),
    "an unknown output": (
        encoded({"inputs": [tensor()], "outputs": [{"name": "logits"}]}),
        "'outputs' requests an unknown output; this model has 'label', 'probabilities'",
    ),
    "a duplicate output": (
        encoded({"inputs": [tensor()], "outputs": [{"name": "label"}, {"name": "label"}]}),
        "output 'label' is requested more than once",
    ),
    # The protocol's parameters are an object of name-value pairs, wherever they appear.
    "request parameters as a list": (
        encoded({"inputs": [tensor()], "parameters": [{"name": "x", "value": 1}]}),
        "'parameters' of the request must be a JSON object of name-value pairs, not a list",
    ),
    "input parameters as a string": (
        encoded({"inputs": [tensor(parameters="content_type=np")]}),
        "'parameters' of input 'input-0' must be a JSON object of name-value pairs, not a string",
    ),
    "output parameters as a list": (
        encoded({"inputs": [tensor()], "outputs": [{"name": "label", "parameters": []}]}),
        "'parameters' of output 'label' must be a JSON object of name-value pairs, not a list",
    ),
    # The binary tensor data extension is refused by name, never answered in JSON silently.
    "binary input data": (
        encoded({"inputs": [tensor(data=None, parameters={"binary_data_size": 32})]}),
        "input 'input-0' asks for 'binary_data_size': the binary tensor data extension is not "
        "supported by this service",
    ),
    "binary outputs for the request": (
        encoded({"inputs": [tensor()], "parameters": {"binary_data_output": True}}),
        "the request asks for 'binary_data_output': the binary tensor data extension",
    ),
    "a binary output": (
        encoded(
            {
                "inputs": [tensor()],
                "outputs": [{"name": "label", "parameters": {"binary_data": True}}],
            }
        ),
        "output 'label' asks for 'binary_data': the binary tensor data extension",
    ),
}


def test_parameters_of_the_protocol_are_accepted_as_objects() -> None:
    body = {
        "inputs": [tensor(parameters={"content_type": "np"})],
        "parameters": {"binary_data_output": False, "custom": [1, 2]},
        "outputs": [{"name": "label", "parameters": {"binary_data": False}}],
    }
    assert parse_infer_request(encoded(body), IRIS).outputs == ("label",)


@pytest.mark.parametrize(("body", "message"), PROBLEMS.values(), ids=PROBLEMS.keys())
def test_each_problem_has_its_message_and_never_echoes_data(body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_infer_request(body, IRIS)
    assert message in str(error.value)
    assert "987654" not in str(error.value)


def test_a_missing_input_is_named() -> None:
    only_a = {"name": "a", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}
    with pytest.raises(ProtocolError, match=r"missing input\(s\): 'b'"):
        parse_infer_request(encoded({"inputs": [only_a]}), TWO_INPUTS)


def test_a_valid_request_becomes_arrays_of_the_declared_dtypes() -> None:
    body = {
        "id": "r-1",
        "inputs": [
            {"name": "b", "shape": [2], "datatype": "INT64", "data": [7, -1]},
            {"name": "a", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2.5], [3, 4]]},
        ],
    }
    request = parse_infer_request(encoded(body), TWO_INPUTS)
    assert request.id == "r-1"
    assert request.outputs == ("y",), "every output by default"
    assert request.inputs["a"].dtype == np.float32
    assert request.inputs["a"].tolist() == [[1.0, 2.5], [3.0, 4.0]]
    assert request.inputs["b"].dtype == np.int64
    assert request.inputs["b"].tolist() == [7, -1]


def test_an_integral_float_in_the_shape_is_that_integer() -> None:
    # JSON has one number type, and JSON Schema (the OpenAPI document) calls 1.0 an integer.
    request = parse_infer_request(encoded({"inputs": [tensor(shape=[1.0, 4.0])]}), IRIS)
    assert request.inputs["input-0"].shape == (1, 4)


def test_the_response_holds_the_requested_outputs_in_the_requested_order() -> None:
    body = {
        "id": "r-2",
        "inputs": [tensor()],
        "outputs": [{"name": "probabilities"}, {"name": "label"}],
    }
    request = parse_infer_request(encoded(body), IRIS)
    results = {"label": np.array([2]), "probabilities": np.array([[0.1, 0.2, 0.7]])}
    response = encode_infer_response(request, "iris", "0123456789ab", IRIS, results)
    assert response == {
        "model_name": "iris",
        "model_version": "0123456789ab",
        "id": "r-2",
        "outputs": [
            {"name": "probabilities", "datatype": "FP64", "shape": [1, 3], "data": [0.1, 0.2, 0.7]},
            {"name": "label", "datatype": "INT64", "shape": [1], "data": [2]},
        ],
    }
    without_id = parse_infer_request(encoded({"inputs": [tensor()]}), IRIS)
    assert "id" not in encode_infer_response(without_id, "iris", "v", IRIS, results)


# --- named columns: the packed form, missing values, row counts ---------------------------
COLUMNS = ModelSignature(
    inputs=(
        TensorSpec("age", "INT64", (-1,)),
        TensorSpec("income", "INT64", (-1,)),
        TensorSpec("kids", "INT64", (-1,)),
    ),
    outputs=(TensorSpec("y", "FP64", (-1,)),),
    packed=TensorSpec("input-0", "INT64", (-1, 3)),
)
NULLABLE = ModelSignature(
    inputs=(
        TensorSpec("charge", "FP64", (-1,), nullable=True),
        TensorSpec("tenure", "FP64", (-1,)),
    ),
    outputs=(TensorSpec("y", "FP64", (-1,)),),
)


def column(name: str, data: list[Any], datatype: str = "INT64") -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": [len(data)], "data": data}


def packed(data: list[Any], shape: list[int]) -> bytes:
    return encoded(
        {"inputs": [{"name": "input-0", "datatype": "INT64", "shape": shape, "data": data}]}
    )


def test_the_packed_tensor_is_split_into_the_inputs_in_their_order() -> None:
    request = parse_infer_request(packed([[30, 1000, 0], [41, 2500, 3]], [2, 3]), COLUMNS)
    assert list(request.inputs) == ["age", "income", "kids"]
    assert request.inputs["age"].tolist() == [30, 41]
    assert request.inputs["income"].tolist() == [1000, 2500]
    assert request.inputs["kids"].tolist() == [0, 3]
    for array in request.inputs.values():
        assert array.dtype == np.int64
        assert array.flags.c_contiguous, "a column of its own, not a strided view"


def test_the_packed_form_and_one_tensor_per_input_are_the_same_request() -> None:
    by_name = encoded(
        {
            "inputs": [
                column("kids", [0, 3]),
                column("age", [30, 41]),
                column("income", [1000, 2500]),
            ]
        }
    )
    named = parse_infer_request(by_name, COLUMNS).inputs
    flat = parse_infer_request(packed([30, 1000, 0, 41, 2500, 3], [2, 3]), COLUMNS).inputs
    assert {name: array.tolist() for name, array in named.items()} == {
        name: array.tolist() for name, array in flat.items()
    }


def test_a_whole_number_float_is_an_integer_as_json_schema_says() -> None:
    # The OpenAPI document types INT data as JSON Schema's integer, which 1.0 is: what it
    # accepts, the codec takes (1.5 is still refused, below).
    as_floats = parse_infer_request(packed([30.0, 1000, 0.0, 41, 2500.0, 3], [2, 3]), COLUMNS)
    as_ints = parse_infer_request(packed([30, 1000, 0, 41, 2500, 3], [2, 3]), COLUMNS)
    for name, array in as_ints.inputs.items():
        assert as_floats.inputs[name].dtype == array.dtype
        assert as_floats.inputs[name].tolist() == array.tolist()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (packed([1, 2, 3, 4], [2, 2]), "input 'input-0': 'shape' must be [N, 3] with N >= 1"),
        (packed([1.5, 2, 3], [1, 3]), "input 'input-0': every element of 'data' must be a INT64"),
        (
            encoded(
                {"inputs": [{**column("input-0", [1, 2, 3]), "shape": [1, 3]}, column("age", [1])]}
            ),
            "'inputs' names an unknown input 'input-0'",
        ),
    ],
    ids=["the wrong shape", "the wrong datatype", "packed and a column together"],
)
def test_the_packed_tensor_is_checked_like_any_other(body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_infer_request(body, COLUMNS)
    assert message in str(error.value)


def test_without_a_packed_form_input_0_is_an_unknown_input() -> None:
    unpacked = ModelSignature(COLUMNS.inputs, COLUMNS.outputs)
    with pytest.raises(ProtocolError, match="unknown input 'input-0'; this model takes 'age'"):
        parse_infer_request(packed([[1, 2, 3]], [1, 3]), unpacked)


def test_a_nullable_input_takes_null_as_a_missing_value() -> None:
    body = {
        "inputs": [column("charge", [1.5, None, None], "FP64"), column("tenure", [1, 2, 3], "FP64")]
    }
    charge = parse_infer_request(encoded(body), NULLABLE).inputs["charge"]
    assert charge.dtype == np.float64
    assert charge[0] == 1.5
    assert np.isnan(charge[1:]).all()
    only_missing = {"inputs": [column("charge", [None], "FP64"), column("tenure", [1], "FP64")]}
    assert np.isnan(parse_infer_request(encoded(only_missing), NULLABLE).inputs["charge"]).all()


def test_an_input_that_is_not_nullable_refuses_null() -> None:
    body = {"inputs": [column("charge", [1.5], "FP64"), column("tenure", [None], "FP64")]}
    with pytest.raises(ProtocolError) as error:
        parse_infer_request(encoded(body), NULLABLE)
    assert str(error.value) == (
        "input 'tenure': every element of 'data' must be a FP64 value (a number)"
    )


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_a_nullable_input_still_refuses_other_non_finite_numbers() -> None:
    # Beyond FP32's range: infinity once cast, which null does not excuse.
    narrow = ModelSignature(
        inputs=(TensorSpec("charge", "FP32", (-1,), nullable=True),), outputs=()
    )
    body = {"inputs": [column("charge", [None, 1e300], "FP32")]}
    with pytest.raises(ProtocolError, match=r"finite numbers \(null marks a missing value\)"):
        parse_infer_request(encoded(body), narrow)


def test_every_input_must_have_the_same_number_of_rows() -> None:
    body = {"inputs": [column("age", [30, 41]), column("income", [1000]), column("kids", [0, 3])]}
    with pytest.raises(
        ProtocolError, match=r"every input must have the same number of rows \(first dimension\)"
    ):
        parse_infer_request(encoded(body), COLUMNS)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("x" * 100, "'" + "x" * 64 + "'"),
        ("line\nbreak", "'line\\nbreak'"),
        ('quote"s', "'quote\"s'"),
        ("\u202eevil", "'\\u202eevil'"),
    ],
    ids=["cut to 64 characters", "a newline", "a quote", "a bidi control"],
)
def test_an_unknown_input_is_quoted_cut_short_and_escaped(name: str, shown: str) -> None:
    body = encoded({"inputs": [{"name": name, "datatype": "FP64", "shape": [1], "data": [1.0]}]})
    with pytest.raises(ProtocolError) as error:
        parse_infer_request(body, IRIS)
    assert (
        str(error.value) == f"'inputs' names an unknown input {shown}; this model takes 'input-0'"
    )
    assert str(error.value).isprintable()


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
batches = st.lists(st.lists(finite, min_size=4, max_size=4), min_size=1, max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
tensor_like = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["input-0", "x"]) | st.integers(),
        "shape": st.lists(st.integers(min_value=-2, max_value=5), max_size=3),
        "datatype": st.sampled_from(["FP64", "FP32", "INT64", "BYTES"]),
        "data": st.lists(finite | st.lists(finite, max_size=5), max_size=10) | json_values,
    },
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "inputs": st.lists(tensor_like, max_size=3) | json_values,
        "id": json_values,
        "outputs": st.lists(st.fixed_dictionaries({"name": st.text(max_size=12)}), max_size=3)
        | json_values,
    },
)


@given(document=bodies | json_values)
def test_any_body_is_parsed_or_refused_with_a_protocol_error(document: Any) -> None:
    # json.dumps writes NaN and infinity, which are not JSON: they must be refused too.
    raw = json.dumps(document).encode()
    try:
        request = parse_infer_request(raw, IRIS)
    except ProtocolError:
        return
    (array,) = request.inputs.values()
    assert array.shape[1:] == (4,)
    assert np.isfinite(array).all()


column_like = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["input-0", "age", "income", "kids", "charge", "tenure"]),
        "shape": st.lists(st.integers(min_value=0, max_value=3), max_size=3),
        "datatype": st.sampled_from(["FP64", "FP32", "INT64"]),
        "data": st.lists(st.none() | st.integers(-5, 5) | finite | st.lists(finite, max_size=3))
        | json_values,
    },
)


@given(
    document=st.fixed_dictionaries({"inputs": st.lists(column_like, min_size=1, max_size=4)}),
    signature=st.sampled_from([COLUMNS, NULLABLE]),
)
def test_any_body_for_named_columns_is_parsed_or_refused(
    document: Any, signature: ModelSignature
) -> None:
    try:
        request = parse_infer_request(encoded(document), signature)
    except ProtocolError:
        return
    assert list(request.inputs) == [spec.name for spec in signature.inputs]
    assert len({len(array) for array in request.inputs.values()}) == 1, "one row count"
    for spec in signature.inputs:
        array = request.inputs[spec.name]
        assert array.shape[1:] == ()
        if not spec.nullable:
            assert not np.isnan(array.astype(np.float64)).any()


@given(rows=batches)
def test_nested_and_flat_data_give_the_same_array(rows: list[list[float]]) -> None:
    flat = [value for row in rows for value in row]
    parsed = [
        parse_infer_request(encoded({"inputs": [tensor(shape=[len(rows), 4], data=data)]}), IRIS)
        for data in (rows, flat)
    ]
    np.testing.assert_array_equal(parsed[0].inputs["input-0"], parsed[1].inputs["input-0"])
    assert math.isclose(float(parsed[0].inputs["input-0"].sum()), math.fsum(flat), abs_tol=1e-6)


relaxed = settings(max_examples=60, deadline=None)


@relaxed
@given(
    batch=st.lists(st.lists(finite, min_size=4, max_size=4), min_size=1, max_size=20),
    nested=st.booleans(),
)
def test_any_finite_batch_is_answered(
    client: ServiceClient, batch: list[list[float]], nested: bool
) -> None:
    data: list[Any] = batch if nested else [value for row in batch for value in row]
    request = {
        "inputs": [{"name": "input-0", "shape": [len(batch), 4], "datatype": "FP64", "data": data}]
    }
    response = client.infer(request)
    assert response.status_code == 200
    outputs = {output["name"]: output for output in response.json()["outputs"]}
    assert outputs["label"]["shape"] == [len(batch)]
    assert set(outputs["label"]["data"]) <= {0, 1, 2}
    assert outputs["probabilities"]["shape"] == [len(batch), 3]


@relaxed
@given(payload=bodies | json_values)
def test_no_body_produces_a_server_error(client: ServiceClient, payload: Any) -> None:
    # json.dumps writes inf as Infinity, which is not JSON: the service must refuse it.
    response = client.post(client.infer_path, content=json.dumps(payload))
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(response.json()) == {"error"}


# --- inputs converted together -----------------------------------------------------------
SEPARATE = ModelSignature(
    inputs=(
        TensorSpec("tenure", "INT64", (-1,)),
        TensorSpec("charge", "FP64", (-1,), nullable=True),
        TensorSpec("rate", "FP64", (-1,)),
        TensorSpec("support", "BOOL", (-1,)),
        TensorSpec("pair", "FP32", (-1, 2)),
    ),
    outputs=(TensorSpec("y", "FP64", (-1,)),),
)


def named_column(name: str, datatype: str, data: list[Any], shape: list[int] | None = None) -> Any:
    return {"name": name, "datatype": datatype, "shape": shape or [len(data)], "data": data}


def separate_body(**changed: dict[str, Any]) -> bytes:
    inputs = {
        "tenure": named_column("tenure", "INT64", [5, 80]),
        "charge": named_column("charge", "FP64", [70.5, 1]),
        "rate": named_column("rate", "FP64", [0.5, 2]),
        "support": named_column("support", "BOOL", [True, False]),
        "pair": named_column("pair", "FP32", [[1.0, 2.0], [3.0, 4.0]], [2, 2]),
    }
    inputs.update(changed)
    return json.dumps({"inputs": list(inputs.values())}).encode()


def test_inputs_converted_together_are_each_their_own_array_in_request_order() -> None:
    tensors = parse_infer_request(separate_body(), SEPARATE).inputs
    assert list(tensors) == ["tenure", "charge", "rate", "support", "pair"]
    expected = {
        "tenure": np.array([5, 80], np.int64),
        "charge": np.array([70.5, 1.0]),
        "rate": np.array([0.5, 2.0]),
        "support": np.array([True, False]),
        "pair": np.array([[1.0, 2.0], [3.0, 4.0]], np.float32),
    }
    for name, array in expected.items():
        np.testing.assert_array_equal(tensors[name], array)
        assert tensors[name].dtype == array.dtype
    np.testing.assert_array_equal(tensors["rate"], [0.5, 2.0])


def test_a_null_among_inputs_converted_together_is_still_a_missing_value() -> None:
    body = separate_body(charge=named_column("charge", "FP64", [None, 1.5]))
    charge = parse_infer_request(body, SEPARATE).inputs["charge"]
    assert math.isnan(charge[0])
    assert charge[1] == 1.5


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        # Two problems: the first input's is the one reported, as before.
        (
            {
                "tenure": named_column("tenure", "INT64", [5, "80"]),
                "pair": named_column("pair", "FP32", [1.0], [1, 2]),
            },
            "input 'tenure': every element of 'data' must be a INT64 value",
        ),
        (
            {
                "tenure": named_column("tenure", "INT64", [5, 1.5]),
                "rate": named_column("rate", "FP64", [True, 2.0]),
            },
            "input 'tenure': every element of 'data' must be a INT64 value",
        ),
        (
            {
                "rate": named_column("rate", "FP64", [0.5, "x"]),
                "support": named_column("support", "BOOL", [True], [2]),
            },
            "input 'rate': every element of 'data' must be a FP64 value",
        ),
        (
            {"tenure": named_column("tenure", "INT64", [5, 2**63])},
            "input 'tenure': every element of 'data' must be a INT64 value",
        ),
        (
            {"pair": named_column("pair", "FP32", [1e39, 1.0, 2.0, 3.0], [2, 2])},
            "input 'pair': 'data' must hold finite numbers",
        ),
        (
            {"rate": named_column("rate", "FP64", [[0.5], [2.0]], [2])},
            "input 'rate': nested 'data' is deeper than 'shape'",
        ),
    ],
)
def test_inputs_converted_together_are_refused_as_each_alone(
    changed: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_infer_request(separate_body(**changed), SEPARATE)
