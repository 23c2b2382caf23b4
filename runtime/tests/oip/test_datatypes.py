"""One datatype table for the protocol; signatures in their OIP metadata form."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from modelrail_runtime.oip.codec import ProtocolError, parse_infer_request
from modelrail_runtime.oip.datatypes import DATATYPES, Element, datatype
from modelrail_runtime.oip.signature import ModelSignature, TensorSpec

OIP_DATATYPES = [
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]
INTEGERS = [name for name in OIP_DATATYPES if "INT" in name]


def test_every_oip_datatype_is_in_the_table() -> None:
    assert list(DATATYPES) == OIP_DATATYPES
    assert datatype("FP32").numpy == np.dtype(np.float32)
    with pytest.raises(KeyError):
        datatype("FP128")


@pytest.mark.parametrize("name", OIP_DATATYPES)
def test_each_datatype_has_a_numpy_dtype_and_an_arrow_type(name: str) -> None:
    entry = DATATYPES[name]
    assert entry.name == name
    arrow_type = getattr(pa, entry.arrow)()
    assert isinstance(arrow_type, pa.DataType)
    if entry.element is not Element.STRING:
        assert arrow_type == pa.from_numpy_dtype(entry.numpy)


def test_bytes_are_utf8_text_in_arrow() -> None:
    # JSON carries BYTES as strings: a data lake reads them as text, not as binary.
    assert getattr(pa, DATATYPES["BYTES"].arrow)() == pa.string()


@pytest.mark.parametrize("name", INTEGERS)
def test_integer_bounds_are_those_of_the_dtype(name: str) -> None:
    entry = DATATYPES[name]
    info = np.iinfo(entry.numpy)
    assert entry.element is Element.INTEGER
    assert entry.bounds == (int(info.min), int(info.max))


def one_column(name: str) -> ModelSignature:
    return ModelSignature(
        inputs=(TensorSpec("x", name, (-1,)),), outputs=(TensorSpec("y", name, (-1,)),)
    )


def body(name: str, *values: object) -> bytes:
    tensor = {"name": "x", "datatype": name, "shape": [len(values)], "data": list(values)}
    return json.dumps({"inputs": [tensor]}).encode()


@pytest.mark.parametrize("name", INTEGERS)
def test_integer_inputs_accept_their_range_and_refuse_beyond_it(name: str) -> None:
    low, high = DATATYPES[name].bounds or (0, 0)
    parsed = parse_infer_request(body(name, low, high), one_column(name)).inputs["x"]
    assert parsed.dtype == DATATYPES[name].numpy
    assert parsed.tolist() == [low, high]
    for outside in (low - 1, high + 1):
        with pytest.raises(ProtocolError, match=f"every element of 'data' must be a {name} value"):
            parse_infer_request(body(name, outside), one_column(name))


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("BOOL", [True, False], [1, 0]),
        ("FP32", [1, 2.5], [True, "1.0"]),
        ("FP64", [1, -2.5], [None, [1.0]]),
        ("BYTES", ["a", ""], [1, 2.0]),
        ("INT64", [1, -2.0], [1.5, True, 2.0**63]),
    ],
)
def test_elements_must_be_of_the_datatypes_json_type(
    name: str, good: list[object], bad: list[object]
) -> None:
    parsed = parse_infer_request(body(name, *good), one_column(name)).inputs["x"]
    assert parsed.dtype == DATATYPES[name].numpy
    for element in bad:
        with pytest.raises(ProtocolError):
            parse_infer_request(body(name, element), one_column(name))


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_a_float_beyond_fp32_is_refused_as_not_finite() -> None:
    with pytest.raises(ProtocolError, match="finite numbers"):
        parse_infer_request(body("FP32", 1e300), one_column("FP32"))


def test_a_tensor_spec_refuses_an_unknown_datatype() -> None:
    with pytest.raises(ValueError, match="'FLOAT' is not an OIP datatype"):
        TensorSpec("x", "FLOAT", (-1,))


def test_signatures_round_trip_through_their_metadata_form() -> None:
    signature = ModelSignature(
        inputs=(TensorSpec("a", "FP64", (-1, 4)), TensorSpec("b", "BYTES", (-1,))),
        outputs=(TensorSpec("label", "INT64", (-1,)),),
    )
    metadata = signature.as_metadata()
    assert metadata["inputs"][0] == {"name": "a", "datatype": "FP64", "shape": [-1, 4]}
    restored = ModelSignature(
        inputs=tuple(TensorSpec.from_metadata(item) for item in metadata["inputs"]),
        outputs=tuple(TensorSpec.from_metadata(item) for item in metadata["outputs"]),
    )
    assert restored == signature
    assert signature.input("b") == TensorSpec("b", "BYTES", (-1,))
    assert signature.input("c") is None
    assert signature.output_names() == ("label",)
