"""BYTES through the service: text in and out, 413 past the limits, 4xx (never 5xx) for the rest.

The model is the echo text model (`echo_text`): it sends each text back as ``echo``, so
what the service made of a string is visible in the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from modelrail_runtime import ServiceClient

Start = Callable[..., ServiceClient]
CANARY = "canary-text-987654"


@pytest.fixture(scope="module")
def echo(start_echo: Start) -> Iterator[ServiceClient]:
    """The echo model with the default limits."""
    with start_echo() as client:
        yield client


@pytest.fixture(scope="module")
def tight(start_echo: Start) -> Iterator[ServiceClient]:
    """The echo model with small limits: 64-byte strings, 16 elements per request."""
    with start_echo(max_string_bytes=64, max_tensor_elements=16) as client:
        yield client


def texts(*data: Any, shape: list[int] | None = None) -> dict[str, Any]:
    tensor = {"name": "text", "datatype": "BYTES", "shape": shape or [len(data)], "data": data}
    return {"inputs": [tensor]}


def outputs(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return {output["name"]: output for output in response.json()["outputs"]}


# --- text in, text out --------------------------------------------------------------------
SENT = [
    "naïve café, 東京, Ελληνικά, \U0001f680\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "NUL\x00, bell\x07, escape\x1b, DEL\x7f, C1\x85, line\u2028separator",
    "\u200fRTL mark, \u202eoverride\u202c, zero\u200bwidth, BOM\ufeff inside",
    "",
    "plain ASCII",
]


def test_any_text_round_trips_through_the_service(echo: ServiceClient) -> None:
    response = echo.infer(texts(*SENT))
    result = outputs(response)
    assert result["echo"] == {"name": "echo", "datatype": "BYTES", "shape": [5], "data": SENT}
    assert result["length"]["data"] == [len(text) for text in SENT]


def test_text_sent_as_raw_utf8_round_trips_too(echo: ServiceClient) -> None:
    body = json.dumps(texts(*SENT), ensure_ascii=False).encode("utf-8")
    response = echo.post(echo.infer_path, content=body)
    assert outputs(response)["echo"]["data"] == SENT


def test_a_bytes_output_with_non_ascii_text_is_utf8_json(echo: ServiceClient) -> None:
    text = "Grüße aus Zürich — 日本語のテキスト \U0001f600"
    response = echo.infer(texts(text))
    assert response.headers["content-type"] == "application/json"
    assert outputs(response)["echo"]["data"] == [text]
    assert text.encode("utf-8") in response.content, "sent as UTF-8, not as \\u escapes"


def test_a_string_label_is_a_bytes_output(echo: ServiceClient) -> None:
    result = outputs(echo.infer(texts("short one", "x" * 21)))
    assert result["label"] == {
        "name": "label",
        "datatype": "BYTES",
        "shape": [2],
        "data": ["short", "long"],
    }


def test_the_metadata_lists_bytes_inputs_and_outputs(echo: ServiceClient) -> None:
    metadata = echo.model_metadata()
    assert metadata["platform"] == "echo_text"
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"] == [
        {"name": "echo", "datatype": "BYTES", "shape": [-1]},
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "length", "datatype": "INT64", "shape": [-1]},
        {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
    ]


# --- limits: 413 naming the setting -------------------------------------------------------
def test_a_string_past_the_default_limit_is_413_naming_it(echo: ServiceClient) -> None:
    response = echo.infer(texts("ok", CANARY + "x" * 20_000))
    assert response.status_code == 413
    length = len(CANARY) + 20_000
    assert response.json() == {
        "error": f"input 'text': an element is {length} bytes long, more than "
        "MAX_STRING_BYTES=16384; send shorter texts (UTF-8 bytes count)"
    }
    assert outputs(echo.infer(texts("é" * 8192)))["length"]["data"] == [8192]


def test_the_string_limit_is_a_setting_counted_in_utf8_bytes(tight: ServiceClient) -> None:
    assert outputs(tight.infer(texts("\U0001f680" * 16)))["length"]["data"] == [16]
    response = tight.infer(texts("\U0001f680" * 16 + "!"))
    assert response.status_code == 413
    assert response.json()["error"] == (
        "input 'text': an element is 65 bytes long, more than MAX_STRING_BYTES=64; "
        "send shorter texts (UTF-8 bytes count)"
    )


def test_the_element_limit_is_a_setting(tight: ServiceClient) -> None:
    assert outputs(tight.infer(texts(*["a"] * 16)))["echo"]["shape"] == [16]
    response = tight.infer(texts(*["a"] * 17))
    assert response.status_code == 413
    assert response.json() == {
        "error": "input 'text': 'shape' holds 17 elements, more than MAX_TENSOR_ELEMENTS=16; "
        "send fewer rows per request"
    }


def test_the_element_limit_is_checked_from_the_shape(tight: ServiceClient) -> None:
    response = tight.infer(texts(CANARY, shape=[1_000_000_000]))
    assert response.status_code == 413
    assert "MAX_TENSOR_ELEMENTS=16" in response.json()["error"]
    assert CANARY not in response.text


def test_the_default_element_limit_leaves_tabular_batches_alone(client: ServiceClient) -> None:
    """65,536 elements: 16,384 iris rows pass (in far less than MAX_BODY_BYTES), one more is 413."""

    def rows(count: int) -> dict[str, Any]:
        data = [1.5, 2.5, 3.5, 0.5] * count
        return {
            "inputs": [{"name": "input-0", "shape": [count, 4], "datatype": "FP64", "data": data}]
        }

    largest = rows(16_384)
    assert len(json.dumps(largest)) < client.settings.max_body_bytes
    assert client.infer(largest).status_code == 200
    response = client.infer(rows(16_385))
    assert response.status_code == 413
    assert "MAX_TENSOR_ELEMENTS=65536" in response.json()["error"]


# --- bad requests: 400 naming the input ---------------------------------------------------
@pytest.mark.parametrize(
    "element",
    [7, 1.5, None, True, {"text": CANARY}],
    ids=["a number", "a float", "null", "a boolean", "an object"],
)
def test_an_element_that_is_not_a_string_is_400(echo: ServiceClient, element: object) -> None:
    response = echo.infer(texts(CANARY, element))
    assert response.status_code == 400
    assert response.json() == {
        "error": "input 'text': every element of 'data' must be a BYTES value "
        "(a JSON string: UTF-8 text)"
    }


def one_text(json_string: bytes) -> bytes:
    """A body whose one element is ``json_string``, a JSON string literal as bytes."""
    return b'{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [%s]}]}' % (
        json_string
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            one_text(b'"\xff"'),
            "request body is not valid UTF-8 JSON: byte 74 is not part of a UTF-8 character; "
            "send the body encoded as UTF-8",
        ),
        (
            one_text(b'"\\ud800"'),
            "request body is not valid UTF-8 JSON: a \\u escape is a lone surrogate (half of a "
            "UTF-16 pair), which is not a character; escape a character beyond U+FFFF as a "
            "whole pair, or send it as UTF-8",
        ),
    ],
    ids=["invalid UTF-8", "a lone surrogate escape"],
)
def test_a_body_that_is_not_utf8_json_is_400(
    echo: ServiceClient, body: bytes, message: str
) -> None:
    response = echo.post(echo.infer_path, content=body)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_an_empty_batch_is_400(echo: ServiceClient) -> None:
    response = echo.infer(texts(shape=[0]))
    assert response.status_code == 400
    assert response.json() == {"error": "input 'text': 'shape' must be [N] with N >= 1"}


# --- whatever is posted: a 200 echoing it, or a 4xx naming what is wrong --------------------
# Any code point, lone surrogates included (json.dumps writes them as \u escapes).
any_text = st.text(st.characters(codec=None, categories=None), max_size=40)
elements = st.one_of(
    any_text,
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.dictionaries(st.text(max_size=3), any_text, max_size=2),
    st.lists(any_text, max_size=3),
)


def rarely(draw: st.DrawFn) -> bool:
    """True one time in eight: how often each part of a payload goes wrong."""
    return draw(st.integers(min_value=0, max_value=7)) == 0


def sometimes(draw: st.DrawFn, good: Any, bad: st.SearchStrategy[Any]) -> Any:
    """``good``, or rarely something drawn from ``bad``."""
    return draw(bad) if rarely(draw) else good


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies for the echo model, mostly well formed, with one thing or another wrong."""
    rows = sometimes(draw, draw(st.integers(min_value=1, max_value=20)), st.integers(-2, 30))
    element = any_text if rarely(draw) else st.text(max_size=40)
    if rarely(draw):
        element |= elements
    data = draw(st.lists(element, min_size=max(rows, 0), max_size=max(rows, 0)))
    tensor = {
        "name": sometimes(draw, "text", st.sampled_from(["Text", "", "input-0"]) | elements),
        "datatype": sometimes(draw, "BYTES", st.sampled_from(["FP32", "bytes", "STRING"])),
        "shape": sometimes(draw, [rows], st.lists(st.integers(-1, 30), max_size=3) | elements),
        "data": sometimes(draw, data, st.lists(st.lists(element, max_size=3)) | elements),
    }
    if rarely(draw):
        del tensor[draw(st.sampled_from(list(tensor)))]
    extra = [draw(st.just(tensor) | st.fixed_dictionaries({"name": elements}))]
    return {"inputs": [tensor, *extra] if rarely(draw) else [tensor]}


@settings(max_examples=200, deadline=None)
@given(payload=payloads())
def test_no_bytes_payload_produces_a_server_error(tight: ServiceClient, payload: Any) -> None:
    response = tight.post(tight.infer_path, content=json.dumps(payload))
    assert response.status_code in (200, 400, 413), response.text
    event(f"HTTP {response.status_code}")
    if response.status_code == 200:
        assert outputs(response)["echo"]["data"] == payload["inputs"][0]["data"]
        return
    error = response.json()
    assert set(error) == {"error"}
    message = error["error"]
    assert isinstance(message, str)
    assert message.isprintable()
    if not message.startswith("request body is not valid"):
        assert "'text'" in message, "the input is named"
