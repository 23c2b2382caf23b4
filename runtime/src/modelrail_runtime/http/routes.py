"""The HTTP surface: OIP v2 health, metadata and inference, plus ``/metrics``.

Each route adapts HTTP to one `DataPlane` call. ``POST`` on the inference routes is
answered before the router by `infer.InferenceGateway`; the routes stay here so that
other methods on those paths are refused (405) as on every route, and so that the router
answers inference the same way wherever the gateway is not in front of it. The OpenAPI
document describes every route from what it does (`openapi`), not from these signatures.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..dataplane import DataPlane
from ..monitoring.registry import CONTENT_TYPE

MODEL = "/v2/models/{model_name}"
VERSION = MODEL + "/versions/{model_version}"


def build_router(dataplane: DataPlane) -> APIRouter:
    """Every route of the service, bound to ``dataplane``."""
    router = APIRouter()

    async def infer(request: Request) -> Response:
        params = request.path_params
        body = await request.body()
        request_id = request.scope["state"].get("request_id", "")
        encoded = await dataplane.infer(
            params["model_name"], params.get("model_version"), body, request_id
        )
        return Response(encoded, media_type="application/json")

    # First in the router, so that the hottest path is matched first.
    router.add_route(MODEL + "/infer", infer, methods=["POST"], include_in_schema=False)
    router.add_route(VERSION + "/infer", infer, methods=["POST"], include_in_schema=False)

    @router.get("/v2/health/live")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @router.get("/v2/health/ready")
    async def ready() -> dict[str, bool]:
        dataplane.ready()
        return {"ready": True}

    @router.get("/v2")
    async def server_metadata() -> dict[str, object]:
        return dataplane.server_metadata()

    @router.get(MODEL)
    @router.get(VERSION)
    async def model_metadata(
        model_name: str, model_version: str | None = None
    ) -> dict[str, object]:
        return dataplane.model_metadata(model_name, model_version)

    @router.get(MODEL + "/ready")
    @router.get(VERSION + "/ready")
    async def model_ready(model_name: str, model_version: str | None = None) -> dict[str, object]:
        return dataplane.model_ready(model_name, model_version)

    @router.get("/metrics")
    async def metrics() -> Response:
        # Pending predictions are folded in first (numpy work: in a thread).
        return Response(
            await run_in_threadpool(dataplane.metrics_exposition), media_type=CONTENT_TYPE
        )

    return router
