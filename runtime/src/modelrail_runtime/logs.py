"""JSON logs: one object per line on stdout, for the service and for uvicorn alike."""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
from datetime import UTC, datetime
from typing import Any

import orjson


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object with the service's identity attached.

    Extra keys travel in ``extra={"fields": {...}}``; they are added as they are, so callers
    decide what is logged. Request and response payloads never are.
    """

    def __init__(self, service_name: str, service_version: str) -> None:
        super().__init__()
        self._identity = {"service.name": service_name, "service.version": service_version}

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single line of JSON."""
        payload: dict[str, Any] = {
            "timestamp": rfc3339(record.created),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "logger": record.name,
            **self._identity,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            payload["error.type"] = record.exc_info[0].__name__
            payload["error.stack_trace"] = self.formatException(record.exc_info)
        try:
            # A tenth of the standard encoder's time. It refuses integers beyond 64 bits
            # and strings with lone surrogates, which the standard one still writes.
            return orjson.dumps(payload, default=str).decode()
        except TypeError:
            return json.dumps(payload, ensure_ascii=False, default=str)


def rfc3339(timestamp: float) -> str:
    """``timestamp`` as RFC 3339 UTC with milliseconds and a ``Z``: 2024-05-01T12:00:00.123Z."""
    second = math.floor(timestamp)
    millis = min(999, int((timestamp - second) * 1000))
    return f"{_formatted_second(second)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4)
def _formatted_second(second: int) -> str:
    # Formatting a datetime is most of what a log line costs to build; every record within
    # the same second shares its text.
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def configure_logging(level: str, service_name: str, service_version: str) -> None:
    """Send every logger, uvicorn's included, through one JSON handler on stdout.

    uvicorn's own access log is switched off: the service writes its own access records
    (see `middleware.RequestContextMiddleware`).
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service_name, service_version))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
