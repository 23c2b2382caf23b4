"""Every error leaves the service as ``{"error": "<message>"}``.

FastAPI's defaults (422 with a ``detail`` list, HTML-less 500s) are replaced here: client
mistakes are 400 with a message that says what to fix, unknown things are 404, and an
unexpected exception is logged and answered with a bare 500 (no traceback in the body).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import DataPlaneError

logger = logging.getLogger(__name__)


def error_response(
    status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The one error body: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


async def _data_plane_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DataPlaneError)  # noqa: S101 - registered for DataPlaneError only
    return error_response(exc.status, exc.message, exc.headers)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return error_response(exc.status_code, message, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    # Only where the problem is and pydantic's description, never the input value.
    first = exc.errors()[0] if exc.errors() else {}
    location = ".".join(str(part) for part in first.get("loc", ()))
    reason = str(first.get("msg", "invalid value"))
    return error_response(400, f"invalid request: {location}: {reason}")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log_unexpected(exc, request.method, request.url.path)
    return error_response(500, "internal error")


def log_unexpected(exc: BaseException, method: str, path: str) -> None:
    """Log an exception no handler expected, with its traceback (never sent to the client)."""
    logger.error("unhandled %s in %s %s", type(exc).__name__, method, path, exc_info=exc)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error of ``app`` through `error_response`."""
    app.add_exception_handler(DataPlaneError, _data_plane_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
