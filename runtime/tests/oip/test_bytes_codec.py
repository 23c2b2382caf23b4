"""BYTES tensors in request bodies: UTF-8 strings, checked, bounded, and kept exactly."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrail_runtime.oip.codec import (
    ProtocolError,
    RequestLimits,
    RequestTooLargeError,
    parse_infer_request,
)
from modelrail_runtime.oip.signature import ModelSignature, TensorSpec

TEXT = ModelSignature(
    inputs=(TensorSpec("text", "BYTES", (-1,)),), outputs=(TensorSpec("label", "BYTES", (-1,)),)
)
PAIRS = ModelSignature(
    inputs=(TensorSpec("pair", "BYTES", (-1, 2)), TensorSpec("weight", "FP32", (-1,))),
    outputs=(TensorSpec("score", "FP32", (-1,)),),
)
CANARY = "canary-text-987654"
DEFAULT = RequestLimits()


def texts(*data: Any, shape: list[int] | None = None) -> bytes:
    tensor = {"name": "text", "datatype": "BYTES", "shape": shape or [len(data)], "data": data}
    return json.dumps({"inputs": [tensor]}).encode()


def parsed_text(body: bytes, limits: RequestLimits = DEFAULT) -> list[str]:
    array = parse_infer_request(body, TEXT, limits).inputs["text"]
    assert array.dtype == np.dtype(object)
    return list(array.tolist())


# Data, every one: control characters, NUL, emoji, combining marks, bidi controls.
ODD_STRINGS = {
    "NUL": "before\x00after",
    "control characters": "\x01\x07\x1b[31m\x7f\x9f",
    "newlines and tabs": "line 1\r\nline 2\tend",
    "emoji beyond the BMP": "rocket \U0001f680, family \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "RTL mark and override": "\u200f\u05e9\u05dc\u05d5\u05dd\u202e evil \u202c",
    "combining marks": "e\u0301 a\u0308",
    "the empty string": "",
    "noncharacters": "\ufffe\uffff\U0010ffff",
    "a JSON look-alike": '{"inputs": []}',
}


@pytest.mark.parametrize("text", ODD_STRINGS.values(), ids=ODD_STRINGS.keys())
def test_any_unicode_string_is_data_and_kept_exactly(text: str) -> None:
    assert parsed_text(texts(text, "plain")) == [text, "plain"]
    # The same text sent raw as UTF-8 rather than \u-escaped: the same string.
    tensor = {"name": "text", "datatype": "BYTES", "shape": [1], "data": [text]}
    raw = json.dumps({"inputs": [tensor]}, ensure_ascii=False).encode("utf-8")
    assert parsed_text(raw) == [text]


def test_nested_bytes_data_keeps_its_shape() -> None:
    body = {
        "inputs": [
            {"name": "pair", "datatype": "BYTES", "shape": [2, 2], "data": [["a", "b"], ["ç", ""]]},
            {"name": "weight", "datatype": "FP32", "shape": [2], "data": [1, 2]},
        ]
    }
    pair = parse_infer_request(json.dumps(body).encode(), PAIRS).inputs["pair"]
    assert pair.shape == (2, 2)
    assert pair.tolist() == [["a", "b"], ["ç", ""]]


NOT_STRINGS = {
    "a number": 7,
    "a float": 1.5,
    "null": None,
    "true": True,
    "an object": {"text": CANARY},
}


@pytest.mark.parametrize("element", NOT_STRINGS.values(), ids=NOT_STRINGS.keys())
def test_an_element_that_is_not_a_string_is_refused_naming_input_and_datatype(
    element: object,
) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_infer_request(texts(CANARY, element), TEXT)
    assert str(error.value) == (
        "input 'text': every element of 'data' must be a BYTES value (a JSON string: UTF-8 text)"
    )


def test_a_list_deeper_than_the_shape_is_refused() -> None:
    with pytest.raises(ProtocolError, match="input 'text': nested 'data' is deeper than 'shape'"):
        parse_infer_request(texts([CANARY], "b", shape=[2]), TEXT)


@pytest.mark.parametrize(
    "body",
    [texts(shape=[0]), texts(shape=[0, 1]), texts("a", shape=[0])],
    ids=["shape [0], data []", "shape [0, 1]", "shape [0], data [a]"],
)
def test_an_empty_batch_is_refused_asking_for_n_at_least_1(body: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_infer_request(body, TEXT)
    assert str(error.value) == "input 'text': 'shape' must be [N] with N >= 1"


def test_data_without_elements_for_a_row_is_refused() -> None:
    with pytest.raises(ProtocolError, match="'data' has 0 elements but 'shape' needs 1"):
        parse_infer_request(texts(shape=[1]), TEXT)


# --- the body's encoding ------------------------------------------------------------------
PREFIX = b'{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ['
FIRST = len(PREFIX) + 1  # the first byte inside the string


def raw_text(json_string: bytes) -> bytes:
    """A body whose one element is ``json_string``, a JSON string literal as bytes."""
    return PREFIX + json_string + b"]}]}"


UTF8 = "request body is not valid UTF-8 JSON: "
NOT_UTF8 = {
    "a lone continuation byte": (raw_text(b'"\x80"'), UTF8 + f"byte {FIRST} is not part"),
    "an invalid byte": (raw_text(b'"ab\xff"'), UTF8 + f"byte {FIRST + 2} is not part"),
    "a truncated sequence": (raw_text(b'"\xe2\x82"'), UTF8 + f"byte {FIRST} is not part"),
    "an overlong encoding": (raw_text(b'"\xc0\xaf"'), UTF8 + f"byte {FIRST} is not part"),
    "a surrogate encoded in UTF-8": (
        raw_text(b'"\xed\xa0\x80"'),
        UTF8 + f"byte {FIRST} is not part",
    ),
    "Latin-1 text": ("café".encode("latin-1"), UTF8 + "byte 3 is not part"),
    "UTF-16 text": ('{"inputs": []}'.encode("utf-16"), UTF8 + "byte 0 is not part"),
    "a lone high surrogate escape": (raw_text(b'"\\ud800"'), UTF8 + "a \\u escape is a lone"),
    "a lone low surrogate escape": (raw_text(b'"\\udc00x"'), UTF8 + "a \\u escape is a lone"),
    "a reversed pair": (raw_text(b'"\\ude00\\ud83d"'), UTF8 + "a \\u escape is a lone"),
    "a high surrogate before a letter": (
        raw_text(b'"\\ud800\\u0041"'),
        UTF8 + "a \\u escape is a lone",
    ),
    "a byte order mark": (b"\xef\xbb\xbf" + texts("a"), "starts with a byte order mark"),
    "a raw control character": (raw_text(b'"a\x01b"'), "request body is not valid JSON"),
}


@pytest.mark.parametrize(("body", "message"), NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_a_body_that_is_not_utf8_json_is_refused_precisely(body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_infer_request(body, TEXT)
    assert message in str(error.value)
    assert str(error.value).isascii(), "no byte of the body is echoed"
    assert str(error.value).isprintable()


def test_an_escaped_surrogate_pair_is_one_character() -> None:
    assert parsed_text(raw_text(b'"\\ud83d\\ude80"')) == ["\U0001f680"]


# --- limits -------------------------------------------------------------------------------
def test_a_string_of_max_string_bytes_passes_and_one_byte_more_is_refused() -> None:
    limits = RequestLimits(max_string_bytes=12)
    assert parsed_text(texts("x" * 12, "é" * 6, "\U0001f680" * 3), limits) == [
        "x" * 12,
        "é" * 6,
        "\U0001f680" * 3,
    ]
    cases = {"x" * 13: 13, "é" * 7: 14, "\U0001f680" * 3 + "x": 13, "€" * 5: 15}
    for text, size in cases.items():
        with pytest.raises(RequestTooLargeError) as error:
            parse_infer_request(texts("ok", text), TEXT, limits)
        assert str(error.value) == (
            f"input 'text': an element is {size} bytes long, more than MAX_STRING_BYTES=12; "
            "send shorter texts (UTF-8 bytes count)"
        )


def test_the_default_string_limit_is_16384_bytes() -> None:
    assert RequestLimits().max_string_bytes == 16_384
    assert parsed_text(texts("é" * 8192)) == ["é" * 8192]
    with pytest.raises(RequestTooLargeError, match="20000 bytes long, more than MAX_STRING_BYTES"):
        parse_infer_request(texts("a", "b" * 20_000), TEXT)


def test_the_element_limit_counts_from_the_shape_before_reading_data() -> None:
    limits = RequestLimits(max_tensor_elements=4)
    assert parsed_text(texts("a", "b", "c", "d"), limits) == ["a", "b", "c", "d"]
    # 'data' is not even a list: the shape alone is refused, before 'data' is looked at.
    huge = {"name": "text", "datatype": "BYTES", "shape": [2**62], "data": CANARY}
    with pytest.raises(RequestTooLargeError) as error:
        parse_infer_request(json.dumps({"inputs": [huge]}).encode(), TEXT, limits)
    assert str(error.value) == (
        f"input 'text': 'shape' holds {2**62} elements, more than MAX_TENSOR_ELEMENTS=4; "
        "send fewer rows per request"
    )


def test_the_element_limit_counts_every_input_together() -> None:
    body = {
        "inputs": [
            {"name": "pair", "datatype": "BYTES", "shape": [2, 2], "data": ["a", "b", "c", "d"]},
            {"name": "weight", "datatype": "FP32", "shape": [2], "data": [1, 2]},
        ]
    }
    raw = json.dumps(body).encode()
    assert parse_infer_request(raw, PAIRS, RequestLimits(max_tensor_elements=6)).inputs
    with pytest.raises(RequestTooLargeError) as error:
        parse_infer_request(raw, PAIRS, RequestLimits(max_tensor_elements=5))
    assert str(error.value) == (
        "input 'weight': 'shape' brings the request to 6 elements (all inputs together), "
        "more than MAX_TENSOR_ELEMENTS=5; send fewer rows per request"
    )


def test_the_element_limit_applies_to_numbers_too() -> None:
    numbers = ModelSignature(inputs=(TensorSpec("x", "FP64", (-1, 4)),), outputs=())
    body = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [3, 4], "data": [0.5] * 12}]}
    with pytest.raises(RequestTooLargeError, match="'shape' holds 12 elements"):
        parse_infer_request(json.dumps(body).encode(), numbers, RequestLimits(11, 11))


def test_a_string_that_is_too_long_and_not_a_string_elsewhere_is_a_400() -> None:
    # The types are checked first: a request that breaks the protocol is a 400 whatever
    # its size.
    with pytest.raises(ProtocolError):
        parse_infer_request(texts("b" * 50, 7), TEXT, RequestLimits(max_string_bytes=10))


# --- whatever is sent, a parsed request or one of the two errors ---------------------------
# Any code point, lone surrogates included (json.dumps writes them as \u escapes).
any_text = st.text(st.characters(codec=None, categories=None), max_size=12)
elements = st.one_of(
    any_text,
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
messy = st.recursive(st.lists(elements, max_size=6), lambda inner: st.lists(inner, max_size=3))


def sometimes(draw: st.DrawFn, good: Any, bad: st.SearchStrategy[Any]) -> Any:
    """``good`` nine times in ten, else something drawn from ``bad``."""
    return good if draw(st.integers(min_value=0, max_value=9)) else draw(bad)


@st.composite
def requests(draw: st.DrawFn) -> tuple[ModelSignature, bytes]:
    """A signature and a body for it, mostly well formed, with one thing or another wrong."""
    signature = draw(st.sampled_from([TEXT, PAIRS]))
    rows = sometimes(draw, draw(st.integers(min_value=1, max_value=4)), st.integers(-1, 5))
    strings = st.text(max_size=12) | any_text
    inputs = []
    for spec in draw(st.permutations(signature.inputs)):
        width = spec.shape[1] if len(spec.shape) > 1 else None
        shape = [rows] if width is None else [rows, width]
        count = max(rows * (width or 1), 0)
        element = strings if spec.datatype == "BYTES" else st.floats(-9, 9)
        if not draw(st.integers(min_value=0, max_value=9)):
            element |= elements  # some elements of another type
        values = draw(st.lists(element, min_size=count, max_size=count))
        nested = width is not None and rows > 0 and draw(st.booleans())
        inputs.append(
            {
                "name": sometimes(draw, spec.name, st.sampled_from(["pair", "text", "x", 3])),
                "datatype": sometimes(draw, spec.datatype, st.sampled_from(["BYTES", "FP32"])),
                "shape": sometimes(draw, shape, st.lists(st.integers(-1, 5), max_size=3)),
                "data": sometimes(
                    draw,
                    [values[r * width : (r + 1) * width] for r in range(rows)]
                    if nested
                    else values,
                    messy | elements,
                ),
            }
        )
    return signature, json.dumps({"inputs": inputs}).encode()


def feasible_limits() -> st.SearchStrategy[RequestLimits]:
    return st.builds(
        RequestLimits,
        st.integers(min_value=1, max_value=60),
        st.integers(min_value=1, max_value=16),
    )


@settings(max_examples=300)
@given(request=requests(), limits=feasible_limits())
def test_any_bytes_body_is_parsed_within_the_limits_or_refused(
    request: tuple[ModelSignature, bytes], limits: RequestLimits
) -> None:
    signature, body = request
    try:
        parsed = parse_infer_request(body, signature, limits)
    except (ProtocolError, RequestTooLargeError):
        return
    assert sum(array.size for array in parsed.inputs.values()) <= limits.max_tensor_elements
    for spec in signature.inputs:
        array = parsed.inputs[spec.name]
        assert array.shape[1:] == spec.shape[1:]
        assert len(array) >= 1
        if spec.datatype == "BYTES":
            values = array.ravel().tolist()
            assert all(isinstance(value, str) for value in values)
            assert all(len(value.encode()) <= limits.max_string_bytes for value in values)
