"""Pure ASGI middleware: request ids, HTTP metrics by route template, size and load limits."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Route

from modelrail_runtime import ServiceClient
from modelrail_runtime.http.errors import error_response
from modelrail_runtime.http.middleware import (
    HttpMetrics,
    LimitsMiddleware,
    RequestContextMiddleware,
    route_template,
)

MODEL_ROUTE = "/v2/models/{model_name}/infer"
Message = dict[str, Any]


async def call(
    app: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> list[Message]:
    """One POST through ``app``; the messages it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers or []}
    await app(scope, receive, send)
    return sent


def duration_labels(client: ServiceClient) -> list[dict[str, str]]:
    text = client.get("/metrics").text
    (family,) = [
        family
        for family in text_string_to_metric_families(text)
        if family.name == "http_server_request_duration_seconds"
    ]
    return [sample.labels for sample in family.samples if sample.name.endswith("_count")]


# --- request ids -----------------------------------------------------------------------
def test_a_request_id_is_generated_when_absent(client: ServiceClient) -> None:
    request_id = client.get("/v2").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert client.get("/v2").headers["X-Request-ID"] != request_id


def test_a_given_request_id_is_sanitised_and_bounded(client: ServiceClient) -> None:
    assert (
        client.get("/v2", headers={"X-Request-ID": "abc-1.2:3_4"}).headers["X-Request-ID"]
        == "abc-1.2:3_4"
    )
    echoed = client.get("/v2", headers={"X-Request-ID": "<script>" + "a" * 500}).headers[
        "X-Request-ID"
    ]
    assert echoed.startswith("script")
    assert len(echoed) == 128
    replaced = client.get("/v2", headers={"X-Request-ID": "<>"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced), "nothing usable left: a fresh id"


def test_an_error_before_the_response_is_a_500_with_the_request_id() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    metrics = HttpMetrics(CollectorRegistry(), latency_slo_seconds=0.1)
    app = RequestContextMiddleware(broken, metrics=metrics, routes=[])
    start, body = asyncio.run(call(app, "/x", [(b"x-request-id", b"req-7")]))
    assert start["status"] == 500
    assert (b"x-request-id", b"req-7") in start["headers"]
    assert body["body"] == b'{"error":"internal error"}'


# --- HTTP metrics ----------------------------------------------------------------------
def test_requests_are_labelled_by_route_template(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    client.infer(golden_request)
    client.request("BREW", "/v2")
    client.get("/no/such/path")
    labels = duration_labels(client)
    assert {
        "http_request_method": "POST",
        "http_route": MODEL_ROUTE,
        "http_response_status_code": "200",
    } in labels
    assert any(label["http_request_method"] == "_OTHER" for label in labels)
    assert {
        "http_request_method": "GET",
        "http_route": "",
        "http_response_status_code": "404",
    } in labels
    assert all(client.settings.model_name not in label["http_route"] for label in labels)


def test_requests_refused_before_routing_still_name_their_route(client: ServiceClient) -> None:
    assert client.post(client.infer_path, content=b" " * (1_048_576 + 1)).status_code == 413
    assert {
        "http_request_method": "POST",
        "http_route": MODEL_ROUTE,
        "http_response_status_code": "413",
    } in duration_labels(client)


def test_the_latency_objective_is_a_bucket_boundary() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry, latency_slo_seconds=0.075)
    assert 0.075 in metrics.buckets
    assert metrics.buckets == tuple(sorted(metrics.buckets))
    assert HttpMetrics(CollectorRegistry(), latency_slo_seconds=0.1).buckets.count(0.1) == 1
    metrics.observe("GET", "/v2", 200, 0.07)
    below = registry.get_sample_value(
        "http_server_request_duration_seconds_bucket",
        {"http_request_method": "GET", "http_route": "/v2", "http_response_status_code": "200",
         "le": "0.075"},
    )  # fmt: skip
    assert below == 1


def test_the_latency_objective_setting_reaches_the_histogram(
    start: Callable[..., ServiceClient],
) -> None:
    with start(latency_slo_seconds=0.075) as client:
        client.get("/v2")
        assert 'le="0.075"' in client.get("/metrics").text


# --- limits ----------------------------------------------------------------------------
def test_requests_beyond_the_concurrency_limit_are_shed_but_probes_never_are() -> None:
    release = asyncio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] != "/v2/health/ready":
            await release.wait()
        await error_response(200, "done")(scope, receive, send)

    limits = LimitsMiddleware(slow_app, max_body_bytes=10, max_concurrent_requests=2)
    infer = "/v2/models/iris/infer"

    async def scenario() -> list[Any]:
        first = [asyncio.create_task(call(limits, infer)) for _ in range(2)]
        await asyncio.sleep(0.01)
        in_flight = limits.in_flight
        # A request that is not shed would wait for the release: fail instead of hanging.
        shed = await asyncio.wait_for(call(limits, infer), timeout=5)
        probe = await asyncio.wait_for(call(limits, "/v2/health/ready"), timeout=5)
        release.set()
        return [
            in_flight,
            shed[0]["status"],
            dict(shed[0]["headers"])[b"retry-after"],
            probe[0]["status"],
            *[(await task)[0]["status"] for task in first],
            limits.in_flight,
        ]

    assert asyncio.run(scenario()) == [2, 503, b"1", 200, 200, 200, 0]


def test_the_declared_length_is_checked_before_the_app_runs() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    limits = LimitsMiddleware(app, max_body_bytes=10, max_concurrent_requests=2)
    sent = asyncio.run(call(limits, "/v2/models/iris/infer", [(b"content-length", b"11")]))
    assert sent[0]["status"] == 413
    assert reached == []


def test_route_templates_of_requests_answered_before_routing() -> None:
    async def endpoint(_: Any) -> None: ...

    routes = [Route(MODEL_ROUTE, endpoint, methods=["POST"])]
    scope = {"type": "http", "method": "POST", "path": "/v2/models/iris/infer"}
    assert route_template(scope, routes) == MODEL_ROUTE
    assert route_template({**scope, "path": "/elsewhere"}, routes) == ""
