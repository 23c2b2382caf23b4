"""The inference gateway: ``POST .../infer`` answered by one pure-ASGI layer.

Inference is the path every request of a busy service takes, and with a compiled model
the model's own share of it is a few microseconds. FastAPI's stack around a route (its
router, Starlette's request and response objects, the exception middleware, the request
context and limits middleware) cost more than parsing, predicting and encoding together,
so the gateway answers inference itself, before any of it, and hands every other request
to the application unchanged.

What a client and an operator see stays the same as for the other routes: the
``{"error": ...}`` bodies and their statuses (`errors.error_response`), the X-Request-ID
header in and out, one ``http_server_request_duration_seconds`` sample labelled with the
route template and one access record (`middleware.record_request`), and the body-size
and concurrency limits of the shared `middleware.RequestGate`.
"""

from __future__ import annotations

from time import perf_counter
from typing import Final, NamedTuple

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..dataplane import DataPlane
from ..errors import DataPlaneError
from ..oip.codec import BINARY_EXTENSION
from .errors import error_response, log_unexpected
from .middleware import Answered, HttpMetrics, RequestGate, record_request, request_id_from
from .routes import MODEL, VERSION

MODEL_INFER: Final = MODEL + "/infer"
VERSION_INFER: Final = VERSION + "/infer"

_PREFIX: Final = "/v2/models/"
_SUFFIX: Final = "/infer"
_JSON: Final = (b"content-type", b"application/json")
BINARY_HEADER: Final = b"inference-header-content-length"


class InferTarget(NamedTuple):
    """What an inference path names."""

    route: str
    """`MODEL_INFER` or `VERSION_INFER`: the template metrics and access records name."""
    model_name: str
    model_version: str | None


_MAX_TARGETS: Final = 256
_TARGETS: dict[str, InferTarget] = {}


def infer_route(path: str) -> InferTarget | None:
    """The route template, model name and version of an inference path, or None.

    Matches as the router's templates do: each parameter is one non-empty path segment.
    """
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    # Clients send the same path again and again: its target is kept (a bounded number).
    target = _TARGETS.get(path)
    if target is None:
        target = _target(path)
        if target is not None and len(_TARGETS) < _MAX_TARGETS:
            _TARGETS[path] = target
    return target


def _target(path: str) -> InferTarget | None:
    middle = path[len(_PREFIX) : -len(_SUFFIX)].split("/")
    if len(middle) == 1 and middle[0]:
        return InferTarget(MODEL_INFER, middle[0], None)
    if len(middle) == 3 and middle[1] == "versions" and middle[0] and middle[2]:
        return InferTarget(VERSION_INFER, middle[0], middle[2])
    return None


async def read_body(receive: Receive, gate: RequestGate) -> bytes:
    """The whole request body, refused as soon as it grows past the gate's size limit.

    Raises:
        PayloadTooLargeError: the body is larger than ``MAX_BODY_BYTES``.
        ClientDisconnect: the client went away before sending all of it.
    """
    message = await receive()
    if message["type"] != "http.request":
        raise ClientDisconnect
    body: bytes = message.get("body", b"")
    if len(body) > gate.max_body_bytes:
        raise gate.too_large()
    if not message.get("more_body", False):
        return body
    chunks = [body]
    received = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > gate.max_body_bytes:
            raise gate.too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class InferenceGateway:
    """Answers ``POST`` on both inference paths; passes everything else to ``app``."""

    def __init__(
        self, app: ASGIApp, dataplane: DataPlane, *, gate: RequestGate, metrics: HttpMetrics
    ) -> None:
        self.app = app
        self.dataplane = dataplane
        self.gate = gate
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] == "http" and scope["method"] == "POST":
            target = infer_route(scope["path"])
            if target is not None:
                await self._infer(scope, receive, send, target)
                return
        await self.app(scope, receive, send)

    async def _infer(self, scope: Scope, receive: Receive, send: Send, target: InferTarget) -> None:
        started_at = perf_counter()
        request_id = request_id_from(scope)
        status = 500
        try:
            status = await self._answer(scope, receive, send, request_id, target)
        finally:
            seconds = perf_counter() - started_at
            answered = Answered("POST", scope["path"], target.route, request_id, status, seconds)
            record_request(self.metrics, answered)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, target: InferTarget
    ) -> int:
        """Send the response; its status."""
        gate = self.gate
        refusal = gate.refusal(scope) or _binary_extension_refusal(scope)
        if refusal is not None:
            return await _send_error(refusal, request_id, scope, receive, send)
        gate.in_flight += 1
        try:
            try:
                body = await read_body(receive, gate)
                encoded = await self.dataplane.infer(
                    target.model_name, target.model_version, body, request_id
                )
            except DataPlaneError as exc:
                response = error_response(exc.status, exc.message, exc.headers)
                return await _send_error(response, request_id, scope, receive, send)
            except Exception as exc:
                log_unexpected(exc, "POST", scope["path"])
                response = error_response(500, "internal error")
                return await _send_error(response, request_id, scope, receive, send)
            headers = [
                (b"content-length", str(len(encoded)).encode()),
                _JSON,
                (b"x-request-id", request_id.encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": encoded})
            return 200
        finally:
            gate.in_flight -= 1


def _binary_extension_refusal(scope: Scope) -> JSONResponse | None:
    """A 400 for a body in the binary tensor data extension's form (a JSON header of
    ``Inference-Header-Content-Length`` bytes, then raw tensors), or None.

    Read as JSON it would fail with a vaguer message, or worse, pass with tensors missing.
    """
    for name, _ in scope.get("headers", ()):
        if name == BINARY_HEADER:
            return error_response(400, f"Inference-Header-Content-Length given: {BINARY_EXTENSION}")
    return None


async def _send_error(
    response: JSONResponse, request_id: str, scope: Scope, receive: Receive, send: Send
) -> int:
    """Send an error response with the request id as its last header; its status."""
    response.raw_headers.append((b"x-request-id", request_id.encode()))
    await response(scope, receive, send)
    return response.status_code
