"""Run the service: settings, logging, uvicorn (one worker), signals and exit codes.

Exit codes: 0 after a graceful shutdown, 1 when the model cannot be loaded, 2 when the
configuration is invalid, including a prediction-log destination (PREDICTION_LOG_URL)
that cannot be written: that is checked before the port is bound, not per request.

SIGTERM starts draining: readiness turns 503 while requests are still served for
DRAIN_SECONDS (so load balancers stop sending traffic), and every response says
``Connection: close`` (so keep-alive clients reconnect to another replica). Then the
server stops listening without resetting a connection it has already taken (see
`DrainingServer.shutdown`), uvicorn shuts down gracefully, giving in-flight requests up to
GRACEFUL_TIMEOUT_SECONDS, and the app's shutdown writes every queued prediction-log event.
A second SIGTERM or SIGINT skips the rest of the drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any

import uvicorn
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .adapter import ModelAdapter
from .http.app import create_app
from .loading import freeze_startup_heap
from .logs import configure_logging
from .prediction_log import ParquetSink, SinkError
from .settings import Settings, SettingsError
from .state import ServiceState, Status

EXIT_MODEL_LOAD_FAILED = 1
EXIT_BAD_CONFIGURATION = 2

# How long a connection taken as the server stops listening may take to send its request
# before the graceful shutdown closes it as idle.
FIRST_REQUEST_SECONDS = 1.0

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains before it shuts down."""

    def __init__(self, config: uvicorn.Config, state: ServiceState, drain_seconds: float):
        super().__init__(config)
        self._state = state
        self._drain_seconds = drain_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_task: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve until shut down; remember the loop so signal handlers can reach it."""
        self._loop = asyncio.get_running_loop()
        if not self.config.loaded:
            self.config.load()
        # uvicorn falls back to asyncio + h11 (pure Python, about twice the CPU per
        # request) when uvloop or httptools cannot be imported: say which ones run.
        event_loop = type(self._loop).__module__.partition(".")[0]
        http = self.config.http_protocol_class.__name__
        logger.info(
            "serving with the %s event loop and %s",
            event_loop,
            http,
            extra={"fields": {"server.event_loop": event_loop, "server.http_protocol": http}},
        )
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain. Another one: shut down now (a second SIGINT: force)."""
        if self._state.status is Status.DRAINING or self._loop is None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            return
        self._state.start_draining()
        self._loop.call_soon_threadsafe(self._start_drain, signal.Signals(sig).name)

    def _start_drain(self, signal_name: str) -> None:
        logger.info(
            "%s received: draining for %.1fs before shutdown", signal_name, self._drain_seconds
        )
        self._drain_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        await asyncio.sleep(self._drain_seconds)
        self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop listening without resetting a connection already made, then shut down.

        Closing a listening socket resets the connections still in its accept queue: their
        clients have connected and sent a request, and get no answer. So the queue is
        accepted first, then the socket closed (later connections are refused: the caller
        knows to retry), and every connection not yet past its first request gets a moment
        to send it, before uvicorn's graceful shutdown closes the idle ones.
        """
        loop = asyncio.get_running_loop()
        queued = [sock for server in self.servers for sock in _accept_queued(server)]
        for server in self.servers:
            server.close()

        def protocol() -> asyncio.Protocol:
            # As uvicorn's `startup` makes the protocol of each connection it accepts.
            return self.config.http_protocol_class(  # type: ignore[call-arg]
                config=self.config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
            )

        for sock in queued:
            await loop.connect_accepted_socket(protocol, sock)
        if queued:
            logger.info("stopped listening; took %d queued connection(s) first", len(queued))
        await self._wait_for_first_requests()
        await super().shutdown(sockets)

    async def _wait_for_first_requests(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_REQUEST_SECONDS):
                # uvicorn offers no event to await for "a request arrived": poll.
                while self._awaiting_a_first_request():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)

    def _awaiting_a_first_request(self) -> bool:
        # uvicorn's HTTP protocols start a `cycle` when a request arrives on the connection.
        return any(
            getattr(connection, "cycle", True) is None
            for connection in self.server_state.connections
        )


def _accept_queued(server: asyncio.AbstractServer) -> list[socket.socket]:
    """Accept, without waiting, every connection in the server's accept queues."""
    accepted: list[socket.socket] = []
    for listening in getattr(server, "sockets", None) or ():
        # A duplicate of the listening socket: asyncio's own object refuses `accept`.
        with socket.fromfd(listening.fileno(), listening.family, listening.type) as sock:
            sock.setblocking(False)
            while True:
                try:
                    connection, _ = sock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # e.g. out of file descriptors: leave the rest queued
                    logger.exception("could not accept a queued connection at shutdown")
                    break
                connection.setblocking(False)
                accepted.append(connection)
    return accepted


def close_connections_while_draining(app: ASGIApp, state: ServiceState) -> ASGIApp:
    """``app``, answering ``Connection: close`` once the service drains.

    A keep-alive client otherwise goes on sending to the draining replica over the same
    connection after the load balancer has taken the replica out of rotation.
    """

    async def closing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or state.status is not Status.DRAINING:
            await app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await app(scope, receive, send_closing)

    return closing


def run(
    settings: Settings,
    adapter: ModelAdapter | None = None,
    prediction_sink: ParquetSink | None = None,
) -> int:
    """Serve until shut down; return the process exit code."""
    exit_code = 0
    server: DrainingServer | None = None

    def on_load_failure(_: BaseException) -> None:
        nonlocal exit_code
        exit_code = EXIT_MODEL_LOAD_FAILED
        if server is not None:
            server.should_exit = True

    app = create_app(
        settings, adapter, on_load_failure=on_load_failure, prediction_sink=prediction_sink
    )
    config = uvicorn.Config(
        close_connections_while_draining(app, app.dataplane.state),
        host=settings.host,
        port=settings.port,
        workers=1,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=max(1, round(settings.graceful_timeout_seconds)),
    )
    server = DrainingServer(config, app.dataplane.state, settings.drain_seconds)
    server.run()
    if exit_code:
        logger.error("exiting with code %d: the model could not be loaded", exit_code)
    return exit_code


def serve(
    adapter: ModelAdapter | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **defaults: Any,
) -> int:
    """Serve the model until shut down; returns the process exit code.

    A model repository calls this from its ``__main__`` with its own defaults, which the
    environment overrides (variables in `Settings`' documentation)::

        raise SystemExit(serve(model_name="churn-model", latency_slo_seconds=0.1))

    Args:
        adapter: how to load the model; by default the adapter its metadata.json names.
        environ: the environment to read (default: ``os.environ``).
        **defaults: `Settings` fields, e.g. ``model_name``.
    """
    # The modules imported so far live as long as the process: out of every collection
    # from now on (the loaded model joins them once it is ready, see `loading`).
    freeze_startup_heap()
    name = defaults.get("model_name", Settings.model_name)
    try:
        base = dataclasses.replace(Settings(), **defaults).check()
        settings = Settings.from_env(os.environ if environ is None else environ, base)
    except (SettingsError, TypeError) as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    configure_logging(settings.log_level, settings.served_as, settings.service_version)
    sink = None
    if settings.prediction_log_enabled:
        try:
            sink = ParquetSink.open(settings.prediction_log_url)
        except SinkError as exc:
            logger.error(
                "configuration error: PREDICTION_LOG_URL %s. Point it at a writable directory "
                "or URL, or set PREDICTION_LOG_SAMPLE_RATE=0 to turn prediction logging off.",
                exc,
            )
            return EXIT_BAD_CONFIGURATION
    return run(settings, adapter, sink)


def main() -> int:
    """``modelrail-serve`` (``python -m modelrail_runtime``): settings from the environment."""
    return serve()
