"""The application's metric registry (never the process-global one) and its exposition.

A registry per application keeps tests independent: each may build its own app. Names
follow the Prometheus conventions: base units (seconds), ``_total`` only on counters
(added by prometheus_client), HELP text on every family.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format served by ``GET /metrics``."""

MODEL_LABELS: Final = ("model_name", "model_version")
"""The labels that say which model a model-level series is about."""


def new_registry(version: str, revision: str) -> CollectorRegistry:
    """A registry with the process metrics and ``service_build_info{version, revision} 1``."""
    # `_created` series add nothing here and double the output of counters.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=True)
    build_info = Gauge(
        "service_build_info",
        "Version and source revision of the running service; always 1.",
        ["version", "revision"],
        registry=registry,
    )
    build_info.labels(version=version, revision=revision).set(1)
    ProcessCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """``registry`` in the Prometheus text format (`CONTENT_TYPE`)."""
    return generate_latest(registry)
