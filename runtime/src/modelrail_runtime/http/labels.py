"""``POST /v2/models/{model_name}/labels``: the team's systems report true outcomes.

Authentication is one of two, set by ``LABELS_AUTH``:

- ``token`` (the default): callers send ``Authorization: Bearer <LABELS_TOKEN>``, a shared
  secret the deployment reads from a Secret, compared in constant time. Without
  ``LABELS_TOKEN`` the endpoint refuses every request (403): it is never open by mistake.
- ``mesh``: the service mesh (mTLS and an authorization policy) decides who may call;
  the service checks nothing itself.

A 200 answer means the labels are stored: they are written to ``LABELS_URL`` (one Parquet
file per request, in a worker thread) before the answer. An unreachable store gives 503
with ``Retry-After``, and the client sends the same labels again (the latest wins).
"""

from __future__ import annotations

import hmac
from typing import Final

import orjson
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..dataplane import DataPlane
from ..lake.intake import LabelIntake, LabelStoreError
from ..lake.labels import (
    Label,
    LabelError,
    LabelTarget,
    NoGroundTruthError,
    TooManyLabelsError,
    parse_labels,
    parse_source,
)
from ..settings import Settings
from .errors import error_response

LABELS_PATH: Final = "/v2/models/{model_name}/labels"
RETRY_AFTER_SECONDS: Final = "5"
DEFAULT_SOURCE: Final = "api"


def add_labels_route(
    router: APIRouter, dataplane: DataPlane, intake: LabelIntake, settings: Settings
) -> None:
    """Add ``POST`` `LABELS_PATH` to ``router``."""

    async def report_labels(request: Request) -> Response:
        refusal = _refusal(request, settings)
        if refusal is not None:
            return refusal
        model = dataplane.model(request.path_params["model_name"])  # 404, 503 as elsewhere
        try:
            target = LabelTarget.of(model.monitoring)
        except NoGroundTruthError as exc:
            return error_response(404, str(exc))
        parsed = await _read_labels(request, target, settings.labels_max_items)
        if isinstance(parsed, Response):
            return parsed
        labels, source = parsed
        try:
            await run_in_threadpool(intake.write, model.name, labels, source)
        except LabelStoreError:
            return error_response(
                503,
                "the labels could not be stored (LABELS_URL is unreachable); nothing was "
                "kept: send the same labels again later",
                {"Retry-After": RETRY_AFTER_SECONDS},
            )
        return JSONResponse({"stored": len(labels)})

    router.add_route(LABELS_PATH, report_labels, methods=["POST"], include_in_schema=False)


async def _read_labels(
    request: Request, target: LabelTarget, max_items: int
) -> tuple[list[Label], str] | Response:
    """The body's labels and source, or the 400/413 answer naming what is wrong."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error_response(400, "the body is not valid JSON")
    try:
        return parse_labels(body, target, max_items), parse_source(body, DEFAULT_SOURCE)
    except TooManyLabelsError as exc:
        return error_response(413, str(exc))
    except LabelError as exc:
        return error_response(400, str(exc))


def _refusal(request: Request, settings: Settings) -> Response | None:
    """The answer to a caller who may not report labels, or None."""
    if settings.labels_auth == "mesh":
        return None
    if not settings.labels_token:
        return error_response(
            403,
            "the labels endpoint is off: set LABELS_TOKEN (a shared secret, from a Secret) "
            "or LABELS_AUTH=mesh when the service mesh authenticates callers",
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), settings.labels_token.encode()
    ):
        return error_response(
            401,
            "send the labels token: Authorization: Bearer <LABELS_TOKEN>",
            {"WWW-Authenticate": "Bearer"},
        )
    return None
