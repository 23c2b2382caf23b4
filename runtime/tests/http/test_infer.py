"""The inference gateway: ``POST .../infer`` answered before FastAPI, as the router would."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from modelrail_runtime import ServiceClient
from modelrail_runtime.errors import BadRequestError
from modelrail_runtime.http import infer as infer_module
from modelrail_runtime.http.infer import (
    MODEL_INFER,
    VERSION_INFER,
    InferenceGateway,
    InferTarget,
    infer_route,
)
from modelrail_runtime.http.middleware import HttpMetrics, RequestGate

Message = dict[str, Any]
INFER = "/v2/models/iris/infer"


class FakeDataPlane:
    """Answers every inference with its body, or raises what it is given."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple[str, str | None, bytes, str]] = []

    async def infer(self, name: str, version: str | None, body: bytes, request_id: str) -> bytes:
        self.calls.append((name, version, body, request_id))
        if self.error is not None:
            raise self.error
        return b'{"echo":' + body + b"}"


class Exchange:
    """A gateway in front of an application that records what reaches it."""

    def __init__(self, error: Exception | None = None, **limits: int) -> None:
        self.reached: list[str] = []
        self.registry = CollectorRegistry()
        self.dataplane = FakeDataPlane(error)
        self.gate = RequestGate(
            max_body_bytes=limits.get("max_body_bytes", 100),
            max_concurrent_requests=limits.get("max_concurrent_requests", 4),
        )

        async def fallback(scope: Any, receive: Any, send: Any) -> None:
            self.reached.append(f"{scope['method']} {scope['path']}")

        self.gateway = InferenceGateway(
            fallback,
            self.dataplane,  # type: ignore[arg-type]
            gate=self.gate,
            metrics=HttpMetrics(self.registry, latency_slo_seconds=0.1),
        )

    def send(
        self,
        path: str = INFER,
        chunks: tuple[bytes, ...] = (b"[1]",),
        *,
        method: str = "POST",
        headers: list[tuple[bytes, bytes]] | None = None,
        complete: bool = True,
    ) -> list[Message]:
        """One request through the gateway, its body in ``chunks``; the messages sent.

        Unless ``complete``, the client disconnects after the last chunk.
        """
        sent: list[Message] = []
        incoming = [
            {
                "type": "http.request",
                "body": chunk,
                "more_body": i < len(chunks) - 1 or not complete,
            }
            for i, chunk in enumerate(chunks)
        ]

        async def receive() -> Message:
            return incoming.pop(0) if incoming else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "method": method, "path": path, "headers": headers or []}
        asyncio.run(self.gateway(scope, receive, send))
        return sent

    def count(self, route: str, status: int) -> float | None:
        labels = {
            "http_request_method": "POST",
            "http_route": route,
            "http_response_status_code": str(status),
        }
        return self.registry.get_sample_value("http_server_request_duration_seconds_count", labels)


def headers_of(start: Message) -> dict[bytes, bytes]:
    return dict(start["headers"])


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/v2/models/iris/infer", InferTarget(MODEL_INFER, "iris", None)),
        ("/v2/models/iris/versions/7/infer", InferTarget(VERSION_INFER, "iris", "7")),
        ("/v2/models/a b/infer", InferTarget(MODEL_INFER, "a b", None)),
        ("/v2/models//infer", None),
        ("/v2/models/iris/infer/", None),
        ("/v2/models/iris/x/infer", None),
        ("/v2/models/iris/versions//infer", None),
        ("/v2/models/iris/versions/7/8/infer", None),
        ("/v2/models/iris", None),
        ("/v2/health/ready", None),
    ],
)
def test_inference_paths_match_as_the_route_templates_do(
    path: str, target: InferTarget | None
) -> None:
    assert infer_route(path) == target


def test_the_paths_remembered_are_bounded() -> None:
    # Clients may send any model name: the remembered targets must not grow with them.
    for number in range(2 * infer_module._MAX_TARGETS):
        assert infer_route(f"/v2/models/m{number}/infer") == InferTarget(
            MODEL_INFER, f"m{number}", None
        )
    assert len(infer_module._TARGETS) <= infer_module._MAX_TARGETS


def test_inference_is_answered_without_reaching_the_application() -> None:
    exchange = Exchange()
    start, body = exchange.send(headers=[(b"x-request-id", b"req-1")])
    assert start["status"] == 200
    assert start["headers"] == [
        (b"content-length", b"12"),
        (b"content-type", b"application/json"),
        (b"x-request-id", b"req-1"),
    ]
    assert body["body"] == b'{"echo":[1]}'
    assert exchange.dataplane.calls == [("iris", None, b"[1]", "req-1")]
    assert exchange.reached == []
    assert exchange.count(MODEL_INFER, 200) == 1


def test_everything_else_goes_to_the_application() -> None:
    exchange = Exchange()
    exchange.send("/v2/models/iris/infer", method="GET")
    exchange.send("/v2/models/iris/infer/")
    exchange.send("/v2/models/iris")
    assert exchange.reached == [
        "GET /v2/models/iris/infer",
        "POST /v2/models/iris/infer/",
        "POST /v2/models/iris",
    ]
    assert exchange.dataplane.calls == []


def test_a_body_in_chunks_is_joined_and_the_version_passed_on() -> None:
    exchange = Exchange()
    start, _ = exchange.send("/v2/models/iris/versions/3/infer", (b"[1,", b"2", b"]"))
    assert start["status"] == 200
    ((name, version, body, _),) = exchange.dataplane.calls
    assert (name, version, body) == ("iris", "3", b"[1,2]")
    assert exchange.count(VERSION_INFER, 200) == 1


def test_data_plane_errors_are_error_bodies_with_the_request_id() -> None:
    exchange = Exchange(BadRequestError("'inputs' must be a non-empty list"))
    start, body = exchange.send(headers=[(b"x-request-id", b"req-2")])
    assert start["status"] == 400
    assert start["headers"] == [
        (b"content-length", b"45"),
        (b"content-type", b"application/json"),
        (b"x-request-id", b"req-2"),
    ]
    assert body["body"] == b'{"error":"\'inputs\' must be a non-empty list"}'
    assert exchange.count(MODEL_INFER, 400) == 1


def test_unexpected_errors_are_logged_and_a_bare_500(caplog: pytest.LogCaptureFixture) -> None:
    exchange = Exchange(RuntimeError("secret detail"))
    with caplog.at_level(logging.ERROR):
        start, body = exchange.send()
    assert start["status"] == 500
    assert body["body"] == b'{"error":"internal error"}'
    (record,) = [r for r in caplog.records if r.name == "modelrail_runtime.http.errors"]
    assert record.getMessage() == f"unhandled RuntimeError in POST {INFER}"
    assert record.exc_info is not None
    assert exchange.count(MODEL_INFER, 500) == 1


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read() -> None:
    exchange = Exchange(max_body_bytes=10)
    start, body = exchange.send(headers=[(b"content-length", b"11")])
    assert start["status"] == 413
    assert b"MAX_BODY_BYTES=10" in body["body"]
    assert b"x-request-id" in headers_of(start)
    assert exchange.dataplane.calls == []
    assert exchange.count(MODEL_INFER, 413) == 1


def test_the_binary_tensor_extension_is_refused_by_name_before_the_body_is_read() -> None:
    # A JSON header of 20 bytes, then raw tensor bytes: not JSON, and not to be guessed at.
    exchange = Exchange()
    start, body = exchange.send(
        chunks=(b'{"inputs": []}      \x00\x00\x80?',),
        headers=[(b"inference-header-content-length", b"20")],
    )
    assert start["status"] == 400
    message = json.loads(body["body"])["error"]
    assert message.startswith("Inference-Header-Content-Length given: the binary tensor data")
    assert exchange.dataplane.calls == []
    assert exchange.count(MODEL_INFER, 400) == 1


def test_a_body_growing_over_the_limit_is_refused_as_it_is_read() -> None:
    exchange = Exchange(max_body_bytes=10)
    start, _ = exchange.send(chunks=(b"x" * 6, b"x" * 6, b"never read"))
    assert start["status"] == 413
    assert exchange.dataplane.calls == []
    assert exchange.gate.in_flight == 0


def test_requests_beyond_the_concurrency_limit_are_shed() -> None:
    exchange = Exchange(max_concurrent_requests=2)
    exchange.gate.in_flight = 2  # two requests in flight on other routes
    start, body = exchange.send()
    assert start["status"] == 503
    assert headers_of(start)[b"retry-after"] == b"1"
    assert body["body"] == b'{"error":"too many requests in flight; retry shortly"}'
    assert exchange.dataplane.calls == []


def test_a_client_gone_before_its_body_is_logged_as_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exchange = Exchange()
    with caplog.at_level(logging.ERROR):
        exchange.send(chunks=(b"[1,",), complete=False)
        exchange.send(chunks=())
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"unhandled ClientDisconnect in POST {INFER}"] * 2
    assert exchange.dataplane.calls == []
    assert exchange.count(MODEL_INFER, 500) == 2
    assert exchange.gate.in_flight == 0


# --- in the service ----------------------------------------------------------------------
def test_the_service_answers_inference_through_the_gateway(
    client: ServiceClient, golden_request: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    router_calls: list[str] = []
    original = client.app.router.middleware_stack

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        router_calls.append(scope["path"])
        await original(scope, receive, send)

    monkeypatch.setattr(client.app.router, "middleware_stack", spy)
    assert client.infer(golden_request).status_code == 200
    assert client.get("/v2").status_code == 200
    assert router_calls == ["/v2"]


def test_inference_and_the_other_routes_share_the_concurrency_limit(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    gate = client.app.gate
    assert client.app.gateway.gate is gate
    gate.in_flight = gate.max_concurrent_requests
    try:
        assert client.infer(golden_request).status_code == 503
        assert client.get("/v2").status_code == 503
        assert client.get("/v2/health/ready").status_code == 200, "probes are never shed"
        assert "http_server_active_requests " + f"{float(gate.in_flight)}" in (
            client.get("/metrics").text
        )
    finally:
        gate.in_flight = 0
