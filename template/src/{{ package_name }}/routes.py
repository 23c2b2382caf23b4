"""The HTTP surface: OIP v2 health, metadata and inference, plus `/metrics`.

Inference is a plain Starlette route: its handler reads and checks the body itself
(`protocol`), so FastAPI's dependency solving and response validation would only add
time to the hottest path. The other routes are FastAPI's.
"""

from __future__ import annotations

from time import perf_counter

import orjson
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .errors import ServiceError
from .identity import MODEL_NAME, SERVICE_NAME
from .metrics import CONTENT_TYPE
from .model import LoadedModel
from .protocol import ProtocolError, encode_infer_response, parse_infer_request
from .state import ServiceState

MODEL = "/v2/models/{model_name}"
VERSION = MODEL + "/versions/{model_version}"


def build_router(state: ServiceState, service_version: str) -> APIRouter:
    """All routes, bound to ``state``."""
    router = APIRouter()

    def served_model(model_name: str, model_version: str | None) -> LoadedModel:
        # Only the served model's own name ever reaches metrics or logs, never the URL's.
        if model_name != MODEL_NAME:
            raise ServiceError(404, f"unknown model; this server serves {MODEL_NAME!r}")
        model = state.model
        if model is None:
            raise ServiceError(503, state.not_ready_reason(), {"Retry-After": "1"})
        if model_version is not None and model_version != model.version:
            raise ServiceError(
                404, f"unknown model version; the served version is {model.version!r}"
            )
        return model

    async def infer(request: Request) -> Response:
        params = request.path_params
        model = served_model(params["model_name"], params.get("model_version"))
        runner = state.runner
        assert runner is not None  # noqa: S101 - set together with state.model
        body = await request.body()
        try:
            parsed = parse_infer_request(body, model.signature)
        except ProtocolError as exc:
            raise ServiceError(400, str(exc)) from None
        started_at = perf_counter()
        results = await runner.predict(parsed.inputs)
        seconds = perf_counter() - started_at
        state.metrics.observe_inference(model.name, model.version, seconds)
        # Both hand-overs are O(1) appends; the work happens in background threads.
        state.monitor.observe(parsed.inputs, results)
        if state.prediction_log is not None:
            request_id = request.scope["state"].get("request_id", "")
            state.prediction_log.offer(model, request_id, seconds, parsed.inputs, results)
        return Response(
            orjson.dumps(
                encode_infer_response(parsed, model.name, model.version, model.signature, results)
            ),
            media_type="application/json",
        )

    # First in the router, so that the hottest path is matched first.
    router.add_route(MODEL + "/infer", infer, methods=["POST"], include_in_schema=False)
    router.add_route(VERSION + "/infer", infer, methods=["POST"], include_in_schema=False)

    @router.get("/v2/health/live")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @router.get("/v2/health/ready")
    async def ready() -> dict[str, bool]:
        if not state.ready:
            raise ServiceError(503, state.not_ready_reason(), {"Retry-After": "1"})
        return {"ready": True}

    @router.get("/v2")
    async def server_metadata() -> dict[str, object]:
        return {"name": SERVICE_NAME, "version": service_version, "extensions": []}

    @router.get(MODEL)
    @router.get(VERSION)
    async def model_metadata(
        model_name: str, model_version: str | None = None
    ) -> dict[str, object]:
        model = served_model(model_name, model_version)
        return {
            "name": model.name,
            "versions": [model.version],
            "platform": model.platform,
            "inputs": [spec.as_metadata() for spec in model.signature.inputs],
            "outputs": [spec.as_metadata() for spec in model.signature.outputs],
        }

    @router.get(MODEL + "/ready")
    @router.get(VERSION + "/ready")
    async def model_ready(model_name: str, model_version: str | None = None) -> dict[str, object]:
        model = served_model(model_name, model_version)
        if not state.ready:
            raise ServiceError(503, state.not_ready_reason(), {"Retry-After": "1"})
        return {"name": model.name, "ready": True}

    @router.get("/metrics")
    async def metrics() -> Response:
        # Fold pending predictions first (in a thread: numpy work), so a scrape is current.
        await run_in_threadpool(state.monitor.refresh)
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    return router
