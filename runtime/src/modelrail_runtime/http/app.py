"""The application factory: registry, state, data plane, routes, middleware, lifespan.

Two background threads run with the app: the model monitor (prediction metrics, drift)
and, unless the sample rate is 0, the prediction-log writer, which the shutdown flushes.
The model loads in the background once the app starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ..adapter import ModelAdapter
from ..dataplane import DataPlane
from ..lake.intake import LabelIntake
from ..lake.labels import LabelTarget, NoGroundTruthError
from ..loading import LoadFailureHandler, load_in_background
from ..model import LoadedModel
from ..monitoring.monitor import ModelMonitor
from ..monitoring.registry import new_registry
from ..prediction_log import ParquetSink, PredictionLogWriter, RetryPolicy
from ..settings import Settings
from ..state import ServiceState
from .errors import install_error_handlers
from .infer import InferenceGateway
from .labels import LABELS_PATH, add_labels_route
from .middleware import HttpMetrics, LimitsMiddleware, RequestContextMiddleware, RequestGate
from .openapi import LabelsAccess, ServedModel, describe_service
from .routes import MODEL, build_router


class ServiceApp(FastAPI):
    """FastAPI behind the inference gateway, with the request-context middleware outside
    its error handling.

    The gateway answers ``POST .../infer`` before any of FastAPI's own work per request
    (its telemetry check, its middleware and router; see `infer`), under the same limits:
    both share one `RequestGate`. Starlette puts user middleware inside
    ServerErrorMiddleware, so a 500 produced there would bypass them: no request id
    header, no metrics sample, no access record.
    """

    dataplane: DataPlane
    settings: Settings
    http_metrics: HttpMetrics
    gate: RequestGate
    gateway: InferenceGateway
    # The service's own routes. FastAPI may wrap included routers in objects without a
    # `path`, so the middleware matches against these to name a route it answered itself.
    api_routes: tuple[BaseRoute, ...]

    def put_gateway_in_front(self) -> None:
        """Build the shared limits and the gateway in front of FastAPI."""
        gate = RequestGate(
            max_body_bytes=self.settings.max_body_bytes,
            max_concurrent_requests=self.settings.max_concurrent_requests,
        )
        # Read at scrape time: no cost per request.
        self.http_metrics.active_requests.set_function(lambda: gate.in_flight)
        self.gate = gate
        self.gateway = InferenceGateway(
            super().__call__, self.dataplane, gate=gate, metrics=self.http_metrics
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection: inference in the gateway, the rest in FastAPI."""
        await self.gateway(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap FastAPI's own stack in the limits and request-context middleware."""
        limited = LimitsMiddleware(super().build_middleware_stack(), gate=self.gate)
        return RequestContextMiddleware(limited, metrics=self.http_metrics, routes=self.api_routes)

    def openapi(self) -> dict[str, Any]:
        """The service's OpenAPI document (`openapi.describe_service`).

        Built once the model is loaded, since it names the model's version and inputs;
        until then, built afresh on each request without them.
        """
        if self.openapi_schema is None:
            document = super().openapi()
            dataplane = self.dataplane
            model = dataplane.state.model
            served = _served(dataplane.model_name, model, self.settings)
            describe_service(
                document,
                served,
                _labels_access(self.settings),
                model_path=MODEL,
                labels_path=LABELS_PATH,
            )
            # Kept (by FastAPI) only once it is complete.
            self.openapi_schema = document if model is not None else None
            return document
        return self.openapi_schema


def _served(name: str, model: LoadedModel | None, settings: Settings) -> ServedModel:
    """What the document says of the model: its name, and once it is loaded, the rest."""
    if model is None:
        return ServedModel(name, labels_max_items=settings.labels_max_items)
    try:
        outcome: LabelTarget | None = LabelTarget.of(model.monitoring)
    except NoGroundTruthError:
        outcome = None
    return ServedModel(
        model.name,
        model.version,
        model.signature,
        outcome,
        has_outcome=outcome is not None,
        labels_max_items=settings.labels_max_items,
    )


def _labels_access(settings: Settings) -> LabelsAccess:
    if settings.labels_auth == "mesh":
        return LabelsAccess.MESH
    return LabelsAccess.TOKEN if settings.labels_token else LabelsAccess.OFF


def create_app(
    settings: Settings,
    adapter: ModelAdapter | None = None,
    *,
    on_load_failure: LoadFailureHandler | None = None,
    prediction_sink: ParquetSink | None = None,
) -> ServiceApp:
    """Build the service. The model loads in the background once the app starts.

    Args:
        settings: the runtime settings.
        adapter: how to load the model; by default the one its metadata.json names.
        on_load_failure: called when the model cannot be loaded; the server passes a
            function that stops the process with exit code 1.
        prediction_sink: where prediction events go; by default the sink of
            ``PREDICTION_LOG_URL``, opened (and checked) here.

    Raises:
        SinkError: prediction logging is on and its destination is not writable.
    """
    registry = new_registry(settings.service_version, settings.service_revision)
    state = ServiceState(registry)
    monitor = ModelMonitor(
        registry,
        window_rows=settings.drift_window_rows,
        min_rows=settings.drift_min_rows,
        threshold=settings.drift_threshold,
    )
    prediction_log = None
    if settings.prediction_log_enabled:
        prediction_log = PredictionLogWriter(
            prediction_sink or ParquetSink.open(settings.prediction_log_url),
            registry,
            sample_rate=settings.prediction_log_sample_rate,
            policy=settings.prediction_log_inputs,
            flush_seconds=settings.prediction_log_flush_seconds,
            queue_size=settings.prediction_log_queue_size,
            retry=RetryPolicy(max_seconds=settings.prediction_log_retry_max_seconds),
        )
    dataplane = DataPlane(
        server_name=settings.served_as,
        server_version=settings.service_version,
        model_name=settings.model_name,
        state=state,
        registry=registry,
        monitor=monitor,
        prediction_log=prediction_log,
        request_limits=settings.request_limits,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        monitor.start()
        if prediction_log is not None:
            prediction_log.start()
        task = asyncio.create_task(
            load_in_background(
                settings,
                adapter=adapter,
                state=state,
                monitor=monitor,
                prediction_log=prediction_log,
                on_failure=on_load_failure,
            )
        )
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if state.runner is not None:
                await state.runner.aclose()
            monitor.close()
            # Requests in flight have finished: write every event they queued.
            if prediction_log is not None:
                await asyncio.to_thread(
                    prediction_log.close, settings.prediction_log_shutdown_seconds
                )

    app = ServiceApp(
        title=settings.served_as,
        version=settings.service_version,
        # The OpenAPI document is served; the Swagger/ReDoc pages are not, since they load
        # their scripts from a CDN that production networks often block.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.dataplane = dataplane
    app.settings = settings
    app.http_metrics = HttpMetrics(registry, settings.latency_slo_seconds)
    app.put_gateway_in_front()
    install_error_handlers(app)
    router = build_router(dataplane)
    add_labels_route(router, dataplane, LabelIntake(settings.labels_url, registry), settings)
    app.api_routes = tuple(router.routes)
    app.include_router(router)
    return app
