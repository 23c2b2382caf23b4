"""The data plane: everything a protocol front end asks of the served model.

Routes only adapt HTTP to these calls (as MLServer's REST endpoints adapt to its
``DataPlane``): model lookup by name and version, readiness, metadata, inference with
its validation, metrics and hand-over to monitoring and the prediction log.
"""

from __future__ import annotations

import os
from time import perf_counter

import numpy as np
import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram

from .errors import BadRequestError, ModelNotFoundError, PayloadTooLargeError, UnavailableError
from .model import PREDICTION_ID, LoadedModel
from .monitoring.monitor import ModelMonitor
from .monitoring.registry import MODEL_LABELS, render
from .oip.codec import (
    ProtocolError,
    RequestLimits,
    RequestTooLargeError,
    encode_infer_response,
    parse_infer_request,
)
from .prediction_log import PredictionLogWriter
from .state import ServiceState

INFERENCE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)


class InferenceMetrics:
    """How often and how long the model predicted, by model name and version."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "model_inference_duration_seconds",
            "Time the model spent predicting one inference request.",
            MODEL_LABELS,
            buckets=INFERENCE_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "model_inference_requests",
            "Inference requests that reached the model.",
            MODEL_LABELS,
            registry=registry,
        )
        # Children by label values: `labels()` validates and locks on every call, twice
        # the cost of the observation itself. One model is served: one child each.
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def observe(self, model_name: str, model_version: str, seconds: float) -> None:
        """Record one prediction of the served model."""
        children = self._children.get((model_name, model_version))
        if children is None:
            children = (
                self.requests.labels(model_name, model_version),
                self.duration.labels(model_name, model_version),
            )
            self._children[model_name, model_version] = children
        children[0].inc()
        children[1].observe(seconds)


def prediction_ids(rows: int) -> np.ndarray:
    """``rows`` fresh ids: 16 random hex digits for the request, then the row's index."""
    base = os.urandom(8).hex()
    return np.array([f"{base}-{row}" for row in range(rows)], dtype=object)


def _rows(results: dict[str, np.ndarray]) -> int:
    first = next(iter(results.values()))
    return len(first) if np.ndim(first) else 1


class DataPlane:
    """The served model's operations, independent of the transport."""

    def __init__(
        self,
        *,
        server_name: str,
        server_version: str,
        model_name: str,
        state: ServiceState,
        registry: CollectorRegistry,
        monitor: ModelMonitor,
        prediction_log: PredictionLogWriter | None,
        request_limits: RequestLimits,
    ) -> None:
        self.server_name = server_name
        self.server_version = server_version
        self.model_name = model_name
        self.state = state
        self.registry = registry
        self.monitor = monitor
        self.prediction_log = prediction_log
        self.request_limits = request_limits
        self.metrics = InferenceMetrics(registry)

    # --- health and metadata ---------------------------------------------------------
    def ready(self) -> None:
        """Return when the service takes inference traffic.

        Raises:
            UnavailableError: loading, failed or draining.
        """
        if not self.state.ready:
            raise UnavailableError(self.state.status.value)

    def server_metadata(self) -> dict[str, object]:
        """``GET /v2``: the server's name, version and protocol extensions."""
        return {"name": self.server_name, "version": self.server_version, "extensions": []}

    def model(self, name: str, version: str | None = None) -> LoadedModel:
        """The served model, if ``name`` (and ``version``, when given) are its own.

        Raises:
            ModelNotFoundError: another name or version.
            UnavailableError: the model is not loaded (yet, or at all).
        """
        # Only the served model's own name ever reaches metrics or logs, never the URL's.
        if name != self.model_name:
            raise ModelNotFoundError(f"unknown model; this server serves {self.model_name!r}")
        model = self.state.model
        if model is None:
            raise UnavailableError(self.state.status.value)
        if version is not None and version != model.version:
            raise ModelNotFoundError(
                f"unknown model version; the served version is {model.version!r}"
            )
        return model

    def model_metadata(self, name: str, version: str | None = None) -> dict[str, object]:
        """``GET /v2/models/<name>[/versions/<v>]``: name, versions, platform, tensors."""
        model = self.model(name, version)
        return {
            "name": model.name,
            "versions": [model.version],
            "platform": model.platform,
            **model.signature.as_metadata(),
        }

    def model_ready(self, name: str, version: str | None = None) -> dict[str, object]:
        """``GET /v2/models/<name>/ready``: 200 only while the service is ready."""
        model = self.model(name, version)
        self.ready()
        return {"name": model.name, "ready": True}

    # --- inference -------------------------------------------------------------------
    async def infer(self, name: str, version: str | None, body: bytes, request_id: str) -> bytes:
        """Check ``body`` against the model's signature, predict, and encode the response.

        Draining does not stop inference: requests keep being served until the server
        stops accepting them.

        Raises:
            BadRequestError: the body breaks the protocol or the signature.
            PayloadTooLargeError: a string or the tensors are larger than the limits allow.
            ModelNotFoundError: another model or version.
            UnavailableError: the model is not loaded.
        """
        model = self.model(name, version)
        runner = self.state.runner
        if runner is None:  # set together with state.model
            raise UnavailableError(self.state.status.value)
        try:
            request = parse_infer_request(body, model.signature, self.request_limits)
        except ProtocolError as exc:
            raise BadRequestError(str(exc)) from None
        except RequestTooLargeError as exc:
            raise PayloadTooLargeError(str(exc)) from None
        started_at = perf_counter()
        results = await runner.predict(request.inputs)
        seconds = perf_counter() - started_at
        results[PREDICTION_ID.name] = prediction_ids(_rows(results))
        self.metrics.observe(model.name, model.version, seconds)
        # Both hand-overs are O(1) appends; the work happens in background threads.
        self.monitor.observe(request.inputs, results)
        if self.prediction_log is not None:
            self.prediction_log.offer(model, request_id, seconds, request.inputs, results)
        response = encode_infer_response(
            request, model.name, model.version, model.signature, results
        )
        return orjson.dumps(response)

    # --- metrics ---------------------------------------------------------------------
    def metrics_exposition(self) -> bytes:
        """The registry in the Prometheus text format, with pending predictions folded in.

        Runs numpy work: call it from a worker thread.
        """
        self.monitor.refresh()
        return render(self.registry)
