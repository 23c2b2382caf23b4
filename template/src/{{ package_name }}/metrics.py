"""Prometheus metrics, in a registry of their own (never the process-global one).

A registry per application keeps tests independent: each test may build its own app.
Names follow the Prometheus conventions: base units (seconds), ``_total`` only on the
counter (added by prometheus_client), HELP text on every family.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .slo import LATENCY_SLO_SECONDS

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format served by `GET /metrics`."""

STANDARD_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

# The latency objective is always a bucket boundary, so that the SLO alerts can count the
# requests under it exactly (monitoring/prometheus/rules.yml).
HTTP_BUCKETS: Final = tuple(
    sorted(
        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
        | {LATENCY_SLO_SECONDS}
    )
)
INFERENCE_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)
SCORE_BUCKETS: Final = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
MODEL_LABELS: Final = ("model_name", "model_version")
DROP_REASONS: Final = ("queue_full", "write_error")
"""Why a prediction-log event can be lost: the queue was full, or its batch failed to write."""


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
        self.active_requests = Gauge(
            "http_server_active_requests",
            "HTTP requests in flight (probes and scrapes excluded).",
            registry=self.registry,
        )
        self.predictions = Counter(
            "model_predictions",
            "Predictions made, one per input row, by predicted class.",
            [*MODEL_LABELS, "predicted_class"],
            registry=self.registry,
        )
        self.prediction_score = BatchHistogram(
            "model_prediction_score",
            "Probability the model gave the class it predicted, one observation per row.",
            [*MODEL_LABELS, "predicted_class"],
            SCORE_BUCKETS,
        )
        self.registry.register(self.prediction_score)
        self.feature_drift = Gauge(
            "model_feature_drift_psi",
            "Population stability index of each input feature: the recent window against "
            "the training data (NaN until the window holds DRIFT_MIN_ROWS rows).",
            [*MODEL_LABELS, "feature"],
            registry=self.registry,
        )
        self.prediction_drift = Gauge(
            "model_prediction_drift_psi",
            "Population stability index of the predicted class: the recent window against "
            "the predictions on the training data (NaN until DRIFT_MIN_ROWS rows).",
            [*MODEL_LABELS, "output"],
            registry=self.registry,
        )
        self.drift_threshold = Gauge(
            "model_drift_psi_threshold",
            "DRIFT_THRESHOLD: a drift index above it raises the drift alerts.",
            registry=self.registry,
        )
        self.drift_window_rows = Gauge(
            "model_drift_window_rows",
            "Input rows in the sliding window the drift indices are computed on.",
            MODEL_LABELS,
            registry=self.registry,
        )
        self.log_written = Counter(
            "prediction_log_events_written",
            "Prediction-log events written to the sink.",
            registry=self.registry,
        )
        self.log_dropped = Counter(
            "prediction_log_events_dropped",
            "Prediction-log events lost, by reason (queue_full: the writer fell behind; "
            "write_error: the sink refused a batch).",
            ["reason"],
            registry=self.registry,
        )
        for reason in DROP_REASONS:
            # Every reason exists from the start, so that increase() sees the first drop.
            self.log_dropped.labels(reason)
        self.log_queued = Gauge(
            "prediction_log_queued_events",
            "Prediction-log events waiting to be written.",
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)

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

    def observe_predictions(
        self,
        model_name: str,
        model_version: str,
        classes: Sequence[str],
        counts: NDArray[np.int64],
        scores: Sequence[NDArray[np.float64]] | None,
    ) -> None:
        """Count predicted classes and record their scores (one batch of rows at a time)."""
        for index, name in enumerate(classes):
            if counts[index]:
                self.predictions.labels(model_name, model_version, name).inc(int(counts[index]))
            if scores is not None and len(scores[index]):
                self.prediction_score.observe_many((model_name, model_version, name), scores[index])

    def render(self) -> bytes:
        """The registry in the Prometheus text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class BatchHistogram(Collector):
    """A histogram fed whole arrays: one numpy call per batch instead of one call per row.

    prometheus_client's `Histogram.observe` costs about a microsecond per value; the
    prediction scores arrive in batches of many rows, off the request path.
    """

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Iterable[float]
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = np.asarray(sorted(buckets), dtype=np.float64)
        # `le` labels spelled as prometheus_client spells them ("0.1", "1.0").
        bounds = [floatToGoString(bound) for bound in self.bounds]  # type: ignore[no-untyped-call]
        self._les = [*bounds, "+Inf"]
        self._series: dict[tuple[str, ...], tuple[NDArray[np.int64], float]] = {}
        self._lock = threading.Lock()

    def observe_many(self, labels: tuple[str, ...], values: NDArray[Any]) -> None:
        """Observe every value of ``values`` under ``labels``."""
        observed = np.asarray(values, dtype=np.float64)
        # Bucket i counts values <= bound i (Prometheus' `le`), the last one is +Inf.
        index = np.searchsorted(self.bounds, observed, side="left")
        counts = np.bincount(index, minlength=len(self.bounds) + 1).astype(np.int64)
        total = float(observed.sum())
        with self._lock:
            previous, previous_sum = self._series.get(
                labels, (np.zeros(len(self.bounds) + 1, dtype=np.int64), 0.0)
            )
            self._series[labels] = (previous + counts, previous_sum + total)

    def describe(self) -> Iterator[Metric]:
        """The family without samples (lets the registry check names once)."""
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterator[Metric]:
        """The family with one histogram per label set observed so far."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            series = dict(self._series)
        for labels, (counts, total) in sorted(series.items()):
            cumulative = np.cumsum(counts)
            buckets = [(le, float(count)) for le, count in zip(self._les, cumulative, strict=True)]
            family.add_metric(list(labels), buckets, total)
        yield family
