"""Run the fixture service in a container: ``python -m fixture_service``.

Environment: ``FLAW``, ``FIXTURE_MODEL``, ``MODEL_LOAD_DELAY_SECONDS``, ``MODEL_URI``. On SIGTERM it drains:
readiness turns 503 for 1.5 s, then uvicorn stops and finishes requests in flight.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

import uvicorn

from fixture_service.app import FixtureApp, JsonFormatter, json_logger

DRAIN_SECONDS = 1.5
FLAW = os.environ.get("FLAW") or None


def _log_config() -> dict[str, Any] | None:
    if FLAW == "plain_logs":
        return uvicorn.config.LOGGING_CONFIG
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {"uvicorn": {"handlers": ["stdout"], "level": "INFO", "propagate": False}},
    }


class DrainingServer(uvicorn.Server):
    """uvicorn, with a drain period on SIGTERM (and the shutdown flaws)."""

    app_ref: FixtureApp

    def handle_exit(self, sig: int, frame: Any) -> None:
        if FLAW == "ignore_sigterm":
            return
        if FLAW == "abort_inflight":
            os._exit(0)
        if FLAW == "no_drain" or self.app_ref.draining:
            super().handle_exit(sig, frame)
            return
        self.app_ref.draining = True
        threading.Timer(DRAIN_SECONDS, super().handle_exit, (sig, frame)).start()


def main() -> None:
    if FLAW == "plain_logs":
        logger = logging.getLogger("fixture")
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
    else:
        logger = json_logger("fixture")
    app = FixtureApp(
        FLAW,
        model=os.environ.get("FIXTURE_MODEL") or None,
        load_delay=float(os.environ.get("MODEL_LOAD_DELAY_SECONDS") or 0),
        model_uri=os.environ.get("MODEL_URI") or None,
        logger=logger,
    )
    config = uvicorn.Config(
        app,
        host="0.0.0.0",
        port=8080,
        log_config=_log_config(),
        access_log=FLAW == "plain_logs",
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = DrainingServer(config)
    server.app_ref = app
    server.run()


if __name__ == "__main__":
    main()
