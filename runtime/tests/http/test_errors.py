"""Every error is ``{"error": ...}``: bad requests 4xx (never 422), unexpected ones a bare 500."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from modelrail_runtime import ServiceClient
from modelrail_runtime.http.errors import install_error_handlers

CANARY = 987654.123456
TOO_LARGE = "request body is larger than MAX_BODY_BYTES=1048576 bytes; send a smaller request"


def body(**tensor: Any) -> dict[str, Any]:
    base = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1.0, 2.0, 3.0, CANARY]}
    base.update(tensor)
    return {"inputs": [base]}


BAD_JSON_BODIES = {
    "malformed JSON": b"{not json",
    "empty body": b"",
    "a JSON array": b"[1, 2, 3]",
    "NaN literal": b'{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64",'
    b' "data": [NaN, 1, 2, 3]}]}',
    "1e400 overflows to infinity": b'{"inputs": [{"name": "input-0", "shape": [1, 4],'
    b' "datatype": "FP64", "data": [1e400, 1, 2, 3]}]}',
    "invalid UTF-8": b'{"inputs": "\xff"}',
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
}

BAD_TENSORS = {
    "no inputs": {"inputs": []},
    "inputs not a list": {"inputs": {"name": "input-0"}},
    "missing input-0": {
        "inputs": [{"name": "other", "shape": [1], "datatype": "FP64", "data": [1]}]
    },
    "duplicate input": {"inputs": body()["inputs"] * 2},
    "extra input": {
        "inputs": [*body()["inputs"], {"name": "x", "shape": [1], "datatype": "FP64", "data": [1]}]
    },
    "wrong datatype": body(datatype="FP32"),
    "wrong shape": body(shape=[1, 3]),
    "zero rows": body(shape=[0, 4], data=[]),
    "shape not a list": body(shape="1,4"),
    "bool in shape": body(shape=[True, 4]),
    "too few elements": body(data=[1.0, 2.0, 3.0]),
    "too many elements": body(data=[1.0, 2.0, 3.0, 4.0, CANARY]),
    "nested data of the wrong shape": body(data=[[1.0, 2.0], [3.0, CANARY]]),
    "string element": body(data=[1.0, 2.0, 3.0, "4.0"]),
    "bool element": body(data=[1.0, 2.0, 3.0, True]),
    "null element": body(data=[1.0, 2.0, 3.0, None]),
    "data not a list": body(data=CANARY),
    "id not a string": {**body(), "id": 7},
    "unknown output": {**body(), "outputs": [{"name": "logits"}]},
    "duplicate output": {**body(), "outputs": [{"name": "label"}, {"name": "label"}]},
    "huge integer": body(data=[1, 2, 3, 10**400]),
}


@pytest.mark.parametrize("raw", BAD_JSON_BODIES.values(), ids=BAD_JSON_BODIES.keys())
def test_unparseable_bodies_are_400(client: ServiceClient, raw: bytes) -> None:
    response = client.post(
        client.infer_path, content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("payload", BAD_TENSORS.values(), ids=BAD_TENSORS.keys())
def test_protocol_violations_are_400_without_echoing_data(
    client: ServiceClient, payload: dict[str, Any]
) -> None:
    response = client.post(client.infer_path, content=json.dumps(payload, allow_nan=True))
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert str(CANARY) not in response.text
    assert str(CANARY).split(".", maxsplit=1)[0] not in response.text


def test_a_bad_tensor_is_named_in_the_answer(client: ServiceClient) -> None:
    response = client.infer(body(shape=[1, 3]))
    assert response.status_code == 400
    assert response.json() == {"error": "input 'input-0': 'shape' must be [N, 4] with N >= 1"}


def test_an_unknown_path_is_404(client: ServiceClient) -> None:
    response = client.get("/v1/models")
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_the_wrong_method_is_405_with_allow(client: ServiceClient) -> None:
    response = client.get(client.infer_path)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert set(response.json()) == {"error"}


def test_a_declared_oversized_body_is_413(client: ServiceClient) -> None:
    response = client.post(client.infer_path, content=b" " * (1_048_576 + 1))
    assert response.status_code == 413
    assert response.json() == {"error": TOO_LARGE}


def test_a_streamed_oversized_body_is_413(client: ServiceClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 65_536

    response = client.post(client.infer_path, content=chunks())
    assert "content-length" not in {name.lower() for name in response.request.headers}
    assert response.status_code == 413
    assert response.json() == {"error": TOO_LARGE}


def test_the_body_limit_is_a_setting(
    start: Callable[..., ServiceClient], golden_request: dict[str, Any]
) -> None:
    with start(max_body_bytes=64) as small:
        response = small.infer(golden_request)
        assert response.status_code == 413
        assert response.json() == {
            "error": "request body is larger than MAX_BODY_BYTES=64 bytes; send a smaller request"
        }


def test_unexpected_errors_are_500_without_a_traceback(
    client: ServiceClient, golden_request: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = client.app.dataplane.state.model
    assert model is not None

    def explode(_: object) -> None:
        raise RuntimeError("boom: internal detail")

    monkeypatch.setattr(model.predictor, "predict", explode)
    response = client.post(
        client.infer_path, json=golden_request, headers={"X-Request-ID": "trace-500"}
    )
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    assert response.headers["X-Request-ID"] == "trace-500"


def test_validation_errors_are_400_naming_the_field_not_the_value() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    async def items(limit: int) -> dict[str, int]:
        return {"limit": limit}

    with TestClient(app) as client:
        response = client.get("/items", params={"limit": "987654x"})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("invalid request: query.limit: ")
    assert "987654" not in message
