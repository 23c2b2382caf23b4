"""Prometheus metrics, in a registry of their own (never the process-global one).

A registry per application keeps tests independent: each test may build its own app.
Names follow the Prometheus conventions: base units (seconds), ``_total`` only on the
counter (added by prometheus_client), HELP text on every family.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format served by `GET /metrics`."""

STANDARD_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

HTTP_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
INFERENCE_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)


class ServiceMetrics:
    """Every metric family the service exposes."""

    def __init__(self, version: str, revision: str) -> None:
        # `_created` series add nothing here and double the output of counters.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_request_duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests, by method, route template and status code.",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.inference_duration = Histogram(
            "model_inference_duration_seconds",
            "Time the model spent predicting one inference request.",
            ["model_name", "model_version"],
            buckets=INFERENCE_BUCKETS,
            registry=self.registry,
        )
        self.inference_requests = Counter(
            "model_inference_requests",
            "Inference requests that reached the model.",
            ["model_name", "model_version"],
            registry=self.registry,
        )
        self.model_ready = Gauge(
            "model_ready",
            "1 while the model is loaded and the service is ready for traffic, else 0.",
            registry=self.registry,
        )
        self.model_load_duration = Gauge(
            "model_load_duration_seconds",
            "Time it took to verify and load the model artifact.",
            registry=self.registry,
        )
        build_info = Gauge(
            "service_build_info",
            "Version and source revision of the running service; always 1.",
            ["version", "revision"],
            registry=self.registry,
        )
        build_info.labels(version=version, revision=revision).set(1)
        # Labelled children by label values: `labels()` validates and locks on every call,
        # twice the cost of the observation itself. The label sets are few and bounded.
        self._request_series: dict[tuple[str, str, int], Histogram] = {}
        self._inference_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one HTTP request; unknown methods are folded into ``_OTHER``."""
        method = method if method in STANDARD_METHODS else "_OTHER"
        series = self._request_series.get((method, route, status))
        if series is None:
            series = self.http_request_duration.labels(method, route, str(status))
            self._request_series[method, route, status] = series
        series.observe(seconds)

    def observe_inference(self, model_name: str, model_version: str, seconds: float) -> None:
        """Record one prediction of the served model."""
        series = self._inference_series.get((model_name, model_version))
        if series is None:
            series = (
                self.inference_requests.labels(model_name, model_version),
                self.inference_duration.labels(model_name, model_version),
            )
            self._inference_series[model_name, model_version] = series
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> bytes:
        """The registry in the Prometheus text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
