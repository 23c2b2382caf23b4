"""JSON logs: one object per line on stdout, for the service and for uvicorn alike.

Under load the service writes an access record per request, and a write to stdout (a
pipe to the container runtime) costs more than building the record. `DeferredFlushHandler`
writes each record into stdout's buffer and flushes at once when the stream has been quiet
for `FLUSH_INTERVAL_SECONDS`, or for a warning or an error; otherwise a background thread
flushes within that interval: one write per interval instead of one per request.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import orjson

FLUSH_INTERVAL_SECONDS: Final = 0.1
"""How late a record may reach stdout under load (`DeferredFlushHandler`)."""


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


class DeferredFlushHandler(logging.StreamHandler[TextIO]):
    """A stream handler that flushes once per interval while records keep coming.

    A record is flushed at once when the last flush is at least ``interval`` seconds old,
    or when it is a warning or worse; otherwise a background thread flushes it within
    ``interval``. `flush` (at shutdown, by `logging.shutdown`) still writes everything.
    """

    def __init__(self, stream: TextIO, interval: float = FLUSH_INTERVAL_SECONDS) -> None:
        super().__init__(stream)
        self.interval = interval
        self._flushed_at = 0.0
        self._due = threading.Event()
        self._thread: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record``; flush now, or leave it to the flushing thread."""
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING or (
                time.monotonic() - self._flushed_at >= self.interval
            ):
                self.flush()
            elif not self._due.is_set():
                self._flush_later()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Write what the stream holds now."""
        self._flushed_at = time.monotonic()
        super().flush()

    def _flush_later(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="log-flush", daemon=True)
            self._thread.start()
        self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            time.sleep(self.interval)
            with self.lock or contextlib.nullcontext():
                self._due.clear()
                self.flush()


def configure_logging(level: str, service_name: str, service_version: str) -> None:
    """Send every logger, uvicorn's included, through one JSON handler on stdout.

    uvicorn's own access log is switched off: the service writes its own access records
    (see `middleware.record_request`). Records leave out the thread and process names,
    which the JSON lines do not show: looking them up is a third of a record's cost.
    """
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = DeferredFlushHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service_name, service_version))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
