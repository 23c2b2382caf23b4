"""Pure ASGI middleware (no BaseHTTPMiddleware, which costs throughput).

`RequestContextMiddleware` wraps the whole application, error handlers included: it
assigns the request id, records the HTTP metrics and writes the access log.
`LimitsMiddleware` sits inside it and refuses work the service should not take on:
bodies over the size limit (413) and requests beyond the concurrency limit (503).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from time import perf_counter
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Gauge, Histogram
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import PayloadTooLargeError
from .errors import error_response

access_logger = logging.getLogger(f"{__name__}.access")
logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX_LENGTH = 128
_UNSAFE_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9._:-]")

# Probes and scrapes: never access-logged, never shed.
QUIET_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/metrics"})

STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
BASE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    """The HTTP server's families: request duration by route template, requests in flight."""

    def __init__(self, registry: CollectorRegistry, latency_slo_seconds: float) -> None:
        # The latency objective is always a bucket boundary, so that the SLO alerts can
        # count the requests under it exactly (monitoring/prometheus/rules.yml).
        self.buckets = tuple(sorted({*BASE_BUCKETS, latency_slo_seconds}))
        self.request_duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests, by method, route template and status code.",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=self.buckets,
            registry=registry,
        )
        self.active_requests = Gauge(
            "http_server_active_requests",
            "HTTP requests in flight (probes and scrapes excluded).",
            registry=registry,
        )
        # Children by label values: `labels()` validates and locks on every call, twice
        # the cost of the observation itself. The label sets are few and bounded.
        self._children: dict[tuple[str, str, int], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one HTTP request; unknown methods are folded into ``_OTHER``."""
        method = method if method in STANDARD_METHODS else "_OTHER"
        child = self._children.get((method, route, status))
        if child is None:
            child = self.request_duration.labels(method, route, str(status))
            self._children[method, route, status] = child
        child.observe(seconds)


def request_id_from(scope: Scope) -> str:
    """The caller's X-Request-ID, sanitised and bounded, or 32 fresh random hex digits."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            cleaned = _UNSAFE_ID_CHARACTERS.sub("", value.decode("latin-1"))
            if cleaned:
                return cleaned[:REQUEST_ID_MAX_LENGTH]
    # 128 random bits, as in a uuid4's hex, without building a UUID object.
    return os.urandom(16).hex()


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The template of the route that handled (or would handle) the request, or ""."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # Answered before routing (413, 503): find the route the router would have chosen.
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            candidate_path = getattr(candidate, "path", None)
            return candidate_path if isinstance(candidate_path, str) else ""
    return ""


class RequestContextMiddleware:
    """Request id in and out, one access record and one metrics sample per request."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, routes: Iterable[BaseRoute]):
        self.app = app
        self.metrics = metrics
        self.routes: Sequence[BaseRoute] = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started_at = perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The error handler has logged it and sent the 500 unless the response had
            # already started; re-raising would only make the server log it a second time.
            if not response_started:
                logger.exception("unhandled error before the response started")
                await error_response(500, "internal error")(scope, receive, send_with_id)
            status = 500
        finally:
            self._record(scope, request_id, status, perf_counter() - started_at)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = route_template(scope, self.routes)
        answered = Answered(scope["method"], scope["path"], route, request_id, status, seconds)
        record_request(self.metrics, answered)


class Answered(NamedTuple):
    """One answered request, as its metrics sample and its access record describe it."""

    method: str
    path: str
    route: str
    """The route template (``/v2/models/{model_name}/infer``), or "" when none matched."""
    request_id: str
    status: int
    seconds: float


def record_request(metrics: HttpMetrics, answered: Answered) -> None:
    """One metrics sample and, but for probes and scrapes, one access record."""
    method, path, route, request_id, status, seconds = answered
    metrics.observe(method, route, status, seconds)
    if path in QUIET_PATHS:
        return
    if not access_logger.isEnabledFor(logging.INFO):
        return
    # Made and handled here rather than by `info`, which would walk the stack to find
    # the caller: a record with no source location costs a third less.
    record = access_logger.makeRecord(
        access_logger.name,
        logging.INFO,
        "",
        0,
        "%s %s %d",
        (method, path, status),
        None,
        extra={
            "fields": {
                "type": "access",
                "request_id": request_id,
                "http.request.method": method,
                "url.path": path,
                "http.route": route,
                "http.response.status_code": status,
                "duration_ms": round(seconds * 1000, 3),
            }
        },
    )
    access_logger.handle(record)


def body_too_large(limit: int) -> PayloadTooLargeError:
    """The 413 of a body larger than ``MAX_BODY_BYTES``, declared or as it is read."""
    return PayloadTooLargeError(
        f"request body is larger than MAX_BODY_BYTES={limit} bytes; send a smaller request"
    )


class RequestGate:
    """The limits every request but probes and scrapes passes, and the count they watch.

    One gate serves every path into the application (`LimitsMiddleware` and the inference
    gateway), so the concurrency limit counts all the requests in flight.
    """

    def __init__(self, *, max_body_bytes: int, max_concurrent_requests: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_concurrent_requests = max_concurrent_requests
        self.in_flight = 0

    def refusal(self, scope: Scope) -> JSONResponse | None:
        """The answer to a request refused before its body is read, or None to admit it:
        a declared body over the size limit (413), or one request too many (503)."""
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            refused = body_too_large(self.max_body_bytes)
            return error_response(refused.status, refused.message)
        if self.in_flight >= self.max_concurrent_requests:
            message = "too many requests in flight; retry shortly"
            return error_response(503, message, {"Retry-After": "1"})
        return None

    def too_large(self) -> PayloadTooLargeError:
        """The error of a body that grows past the size limit as it is read."""
        return body_too_large(self.max_body_bytes)


class LimitsMiddleware:
    """Body-size limit (413) and load shedding (503 with Retry-After)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = 0,
        max_concurrent_requests: int = 0,
        gate: RequestGate | None = None,
    ):
        self.app = app
        self.gate = gate or RequestGate(
            max_body_bytes=max_body_bytes, max_concurrent_requests=max_concurrent_requests
        )

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet answered."""
        return self.gate.in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or scope["path"] in QUIET_PATHS:
            await self.app(scope, receive, send)
            return
        gate = self.gate
        refusal = gate.refusal(scope)
        if refusal is not None:
            # Before routing, outside the error handlers: answered here, in their form.
            await refusal(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > gate.max_body_bytes:
                    # Raised inside the route reading the body: its error handler answers.
                    raise gate.too_large()
            return message

        gate.in_flight += 1
        try:
            await self.app(scope, limited_receive, send)
        finally:
            gate.in_flight -= 1


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
