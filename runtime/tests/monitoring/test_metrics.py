"""`GET /metrics`: the families each component registers, in the Prometheus text format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from modelrail_runtime import ServiceClient
from modelrail_runtime.dataplane import InferenceMetrics
from modelrail_runtime.http.middleware import HttpMetrics
from modelrail_runtime.monitoring.batch_histogram import BatchHistogram
from modelrail_runtime.monitoring.monitor import MonitorMetrics
from modelrail_runtime.monitoring.registry import CONTENT_TYPE, new_registry, render
from modelrail_runtime.prediction_log.writer import LogMetrics
from modelrail_runtime.state import ServiceState

Start = Callable[..., ServiceClient]

# Each component and the families it registers in the application's registry.
COMPONENTS: dict[str, tuple[Callable[[CollectorRegistry], object], set[str]]] = {
    "HttpMetrics": (
        lambda registry: HttpMetrics(registry, latency_slo_seconds=0.1),
        {"http_server_request_duration_seconds", "http_server_active_requests"},
    ),
    "InferenceMetrics": (
        InferenceMetrics,
        {"model_inference_duration_seconds", "model_inference_requests"},
    ),
    "ServiceState": (ServiceState, {"model_ready", "model_load_duration_seconds"}),
    "MonitorMetrics": (
        MonitorMetrics,
        {
            "model_predictions",
            "model_prediction_score",
            "model_feature_drift_psi",
            "model_prediction_drift_psi",
            "model_drift_psi_threshold",
            "model_drift_window_rows",
            "model_input_missing_values",
            "model_input_out_of_range_values",
            "model_input_unseen_categories",
            "model_input_text_length_characters",
            "model_input_tokens",
            "model_input_unknown_tokens",
            "model_training_unknown_token_share",
            "model_embedding_projection_drift_psi",
            "model_embedding_mean_cosine_distance",
        },
    ),
    "LogMetrics": (
        LogMetrics,
        {
            "prediction_log_events_written",
            "prediction_log_events_dropped",
            "prediction_log_queued_events",
            "prediction_log_write_retries",
            "prediction_log_store_up",
        },
    ),
}
FEATURE_NAMES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
REGISTRY_FAMILIES = {"service_build_info", "process_cpu_seconds", "process_resident_memory_bytes"}
PREDICTION_LOG = COMPONENTS["LogMetrics"][1]


def registered(registry: CollectorRegistry) -> dict[str, Any]:
    return {family.name: family for family in registry.collect()}


def scraped(client: ServiceClient) -> dict[str, Any]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {family.name: family for family in text_string_to_metric_families(response.text)}


@pytest.mark.parametrize("component", COMPONENTS, ids=COMPONENTS.keys())
def test_each_component_registers_its_own_families_with_help(component: str) -> None:
    factory, families = COMPONENTS[component]
    registry = CollectorRegistry()
    factory(registry)
    found = registered(registry)
    assert set(found) == families
    assert all(family.documentation for family in found.values())


def test_the_registry_holds_build_info_and_process_metrics() -> None:
    registry = new_registry("1.2.3", "abc123")
    found = registered(registry)
    assert set(found) >= REGISTRY_FAMILIES
    labels = {"version": "1.2.3", "revision": "abc123"}
    assert registry.get_sample_value("service_build_info", labels) == 1
    assert b"_created" not in render(registry), "no _created series"


def test_metrics_is_a_plain_route_in_text_format(client: ServiceClient) -> None:
    response = client.get("/metrics", follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE


def test_the_service_exposes_every_family_but_the_prediction_logs(client: ServiceClient) -> None:
    found = scraped(client)
    expected = set().union(*(families for _, families in COMPONENTS.values())) - PREDICTION_LOG
    assert set(found) >= expected | REGISTRY_FAMILIES
    assert not set(found) & PREDICTION_LOG, "prediction logging is off"
    assert all(found[name].documentation for name in expected)
    assert found["model_inference_requests"].type == "counter"
    assert [s.value for s in found["model_ready"].samples] == [1.0]
    assert found["model_load_duration_seconds"].samples[0].value > 0
    assert found["service_build_info"].samples[0].labels["revision"] == "test"
    assert [s.value for s in found["http_server_active_requests"].samples] == [0.0]


def test_prediction_log_families_exist_only_when_logging_is_on(
    start: Start, tmp_path: Path
) -> None:
    with start(prediction_log_sample_rate=1.0, prediction_log_url=str(tmp_path)) as client:
        found = scraped(client)
    assert set(found) >= PREDICTION_LOG
    dropped = found["prediction_log_events_dropped"].samples
    assert {s.labels["reason"]: s.value for s in dropped} == {
        "queue_full": 0,
        "shutdown": 0,
        "write_error": 0,
    }


def test_inference_is_counted_and_timed_by_model_name_and_version(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    version = client.model_metadata()["versions"][0]
    labels = {"model_name": client.settings.model_name, "model_version": version}
    registry = client.app.dataplane.registry
    before = registry.get_sample_value("model_inference_requests_total", labels) or 0
    client.infer(golden_request)
    client.infer({"inputs": []})  # refused before it reaches the model: not counted
    assert registry.get_sample_value("model_inference_requests_total", labels) == before + 1
    assert registry.get_sample_value("model_inference_duration_seconds_count", labels) == before + 1


def test_model_labels_never_come_from_the_url(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    client.post("/v2/models/some-other-model/infer", json=golden_request)
    client.infer(golden_request)
    samples = scraped(client)["model_inference_requests"].samples
    assert {s.labels["model_name"] for s in samples} == {client.settings.model_name}
    assert all(len(s.labels["model_version"]) == 12 for s in samples)


@pytest.mark.parametrize(
    ("buckets", "values"),
    [
        ([0.1, 0.5, 1.0], [0.05, 0.5, 0.7, 1.0, 3.0]),
        # A regressor's values, bucketed at its training quantiles, may be negative.
        ([-10.0, -1.0, 2.5], [-20.0, -1.0, 0.0, 2.5, 9.0]),
    ],
    ids=["scores", "negative buckets"],
)
def test_a_batch_histogram_exposes_what_a_histogram_would(
    buckets: list[float], values: list[float]
) -> None:
    batched, reference = CollectorRegistry(), CollectorRegistry()
    histogram = BatchHistogram("score", "Scores.", ["cls"], buckets)
    batched.register(histogram)
    histogram.observe_many(("a",), np.array(values[:2]))
    histogram.observe_many(("a",), np.array(values[2:]))
    one_by_one = Histogram("score", "Scores.", ["cls"], buckets=buckets, registry=reference)
    for value in values:
        one_by_one.labels("a").observe(value)

    def samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
        (family,) = registry.collect()
        return [
            (s.name, s.labels, s.value) for s in family.samples if not s.name.endswith("_created")
        ]

    assert samples(batched) == samples(reference)


def test_the_regression_histogram_is_registered_once_a_regressor_is_watched() -> None:
    registry = CollectorRegistry()
    metrics = MonitorMetrics(registry)
    assert metrics.prediction_value is None, "a classifier has no value histogram"
    metrics.watch_values((10.0, 20.0))
    histogram = metrics.prediction_value
    assert histogram is not None
    metrics.watch_values((5.0,))
    assert metrics.prediction_value is histogram, "registered once"
    assert histogram.bounds.tolist() == [10.0, 20.0]
    family = registered(registry)["model_prediction_value"]
    assert family.type == "histogram"
    assert family.documentation


def test_data_quality_series_exist_for_every_feature(client: ServiceClient) -> None:
    # The iris input takes no null, and its features have no range or categories: 0 each.
    found = scraped(client)
    for name in (
        "model_input_missing_values",
        "model_input_out_of_range_values",
        "model_input_unseen_categories",
    ):
        samples = {s.labels["feature"]: s.value for s in found[name].samples}
        assert samples == dict.fromkeys(FEATURE_NAMES, 0.0), name
