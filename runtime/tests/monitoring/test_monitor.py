"""The monitor: predictions by class, their scores, and drift against the training data."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from modelrail_runtime import (
    FeatureSpec,
    LoadedModel,
    ModelSignature,
    MonitoringSpec,
    ServiceClient,
    Tensor,
    TensorSpec,
    load_model,
)
from modelrail_runtime.monitoring.monitor import ModelMonitor
from modelrail_runtime.monitoring.reference_profile import build

Start = Callable[..., ServiceClient]
FEATURE_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def families(client: ServiceClient) -> dict[str, Any]:
    text = client.get("/metrics").text
    return {family.name: family for family in text_string_to_metric_families(text)}


def drift_gauges(client: ServiceClient) -> dict[str, float]:
    values = {}
    for family in families(client).values():
        for sample in family.samples:
            if sample.name == "model_feature_drift_psi":
                values[sample.labels["feature"]] = sample.value
            elif sample.name == "model_prediction_drift_psi":
                values["prediction"] = sample.value
            elif sample.name in ("model_drift_window_rows", "model_drift_psi_threshold"):
                values[sample.name] = sample.value
    return values


def send(client: ServiceClient, rows: NDArray[np.float64], batch: int = 50) -> None:
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        tensor = {"name": "input-0", "datatype": "FP64", "shape": list(chunk.shape)}
        response = client.infer({"inputs": [{**tensor, "data": chunk.ravel().tolist()}]})
        assert response.status_code == 200


def test_predictions_are_counted_and_scored_by_class(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    def by_class(name: str) -> dict[str, float]:
        samples = families(client)[name].samples
        return {
            s.labels["predicted_class"]: s.value
            for s in samples
            if s.name in (name + "_total", name + "_count")
        }

    predictions_before = by_class("model_predictions")
    scores_before = by_class("model_prediction_score")
    for _ in range(2):
        client.infer(golden_request)  # three rows: one of each class
    predictions = by_class("model_predictions")
    scores = by_class("model_prediction_score")
    for label in ("0", "1", "2"):
        assert predictions[label] - predictions_before.get(label, 0) == 2
        assert scores[label] - scores_before.get(label, 0) == 2
    assert predictions.get("other", 0) == 0
    buckets = [
        s for s in families(client)["model_prediction_score"].samples if s.name.endswith("_bucket")
    ]
    assert {s.labels["le"] for s in buckets} >= {"0.5", "0.9", "1.0", "+Inf"}
    assert all(s.labels["model_name"] == client.settings.model_name for s in buckets)


def test_training_traffic_stays_below_the_threshold_and_a_shift_crosses_it(
    start: Start, iris: tuple[NDArray[np.float64], NDArray[np.int64]]
) -> None:
    window = 600
    data, _ = iris
    rng = np.random.default_rng(7)
    with start(drift_window_rows=window, drift_min_rows=100) as client:
        assert all(math.isnan(drift_gauges(client)[name]) for name in FEATURE_NAMES)

        send(client, data[rng.integers(0, len(data), window)])
        calm = drift_gauges(client)
        assert calm["model_drift_window_rows"] == window
        threshold = calm["model_drift_psi_threshold"]
        assert threshold == client.settings.drift_threshold
        assert all(calm[name] < threshold for name in [*FEATURE_NAMES, "prediction"]), calm

        # Longer petals than any flower in the training data; the other features as before.
        shifted = data[rng.integers(0, len(data), window)].copy()
        shifted[:, FEATURE_NAMES.index("petal_length")] += 3.0
        send(client, shifted)
        drifted = drift_gauges(client)
        assert drifted["petal_length"] > threshold, drifted
        assert all(drifted[name] < threshold for name in FEATURE_NAMES if name != "petal_length")


def test_drift_stays_nan_until_the_window_holds_enough_rows(
    start: Start, iris: tuple[NDArray[np.float64], NDArray[np.int64]]
) -> None:
    data, _ = iris
    with start(drift_min_rows=100) as client:
        send(client, data[:99])
        gauges = drift_gauges(client)
        assert gauges["model_drift_window_rows"] == 99
        assert all(math.isnan(gauges[name]) for name in [*FEATURE_NAMES, "prediction"])
        send(client, data[99:100])
        assert not math.isnan(drift_gauges(client)["petal_length"])


def test_drift_is_off_without_a_profile(tmp_path: Path, artifacts: Path, start: Start) -> None:
    copy = shutil.copytree(artifacts, tmp_path / "copy")
    metadata = json.loads((copy / "metadata.json").read_text())
    del metadata["reference_profile"]
    (copy / "metadata.json").write_text(json.dumps(metadata))
    assert load_model(copy).reference is None
    with start(model_uri=copy) as client:
        assert drift_gauges(client) == {
            "model_drift_psi_threshold": client.settings.drift_threshold
        }


def test_a_window_of_zero_rows_turns_drift_off(start: Start) -> None:
    with start(drift_window_rows=0, drift_threshold=0.3) as client:
        assert drift_gauges(client) == {"model_drift_psi_threshold": 0.3}


# --- the monitor on its own ------------------------------------------------------------
class Constant:
    """Predicts the class it is given for every row, with a score of 0.6."""

    def __init__(self, predicted: int) -> None:
        self.predicted = predicted
        self.signature = ModelSignature(
            inputs=(TensorSpec("x", "FP64", (-1, 1)),),
            outputs=(TensorSpec("label", "INT64", (-1,)), TensorSpec("score", "FP64", (-1, 2))),
        )
        self.monitoring = MonitoringSpec(
            features=(FeatureSpec("f", "x", 0),),
            class_output="label",
            classes=(0, 1),
            score_output="score",
        )

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        rows = len(inputs["x"])
        return {
            "label": np.full(rows, self.predicted, dtype=np.int64),
            "score": np.tile([0.6, 0.4], (rows, 1)),
        }


def monitored(predicted: int) -> tuple[ModelMonitor, CollectorRegistry, Constant]:
    predictor = Constant(predicted)
    training = {"x": np.arange(10, dtype=np.float64).reshape(-1, 1)}
    reference = build(predictor.monitoring, training, Constant(0).predict(training))
    model = LoadedModel("m", "v1", "test", predictor, reference)
    registry = CollectorRegistry()
    monitor = ModelMonitor(registry, window_rows=10, min_rows=1, threshold=0.2)
    monitor.attach(model)
    return monitor, registry, predictor


def test_a_class_outside_the_declared_ones_is_counted_as_other() -> None:
    monitor, registry, predictor = monitored(predicted=7)
    inputs = {"x": np.ones((3, 1))}
    monitor.observe(inputs, predictor.predict(inputs))
    monitor.refresh()
    labels = {"model_name": "m", "model_version": "v1", "predicted_class": "other"}
    assert registry.get_sample_value("model_predictions_total", labels) == 3
    assert registry.get_sample_value("model_prediction_score_count", labels) == 3
    assert registry.get_sample_value("model_prediction_score_sum", labels) == pytest.approx(1.8)


def test_nothing_is_folded_before_a_scrape_or_the_background_refresh() -> None:
    monitor, registry, predictor = monitored(predicted=1)
    inputs = {"x": np.ones((2, 1))}
    monitor.observe(inputs, predictor.predict(inputs))
    labels = {"model_name": "m", "model_version": "v1", "predicted_class": "1"}
    assert registry.get_sample_value("model_predictions_total", labels) is None
    monitor.refresh()
    assert registry.get_sample_value("model_predictions_total", labels) == 2
    monitor.refresh()
    assert registry.get_sample_value("model_predictions_total", labels) == 2, "folded once"
    window = {"model_name": "m", "model_version": "v1"}
    assert registry.get_sample_value("model_drift_window_rows", window) == 2
    drift = {**window, "output": "label"}
    assert registry.get_sample_value("model_prediction_drift_psi", drift) > 1, "all class 1"


def test_the_background_thread_refreshes_without_a_scrape() -> None:
    predictor = Constant(0)
    registry = CollectorRegistry()
    monitor = ModelMonitor(
        registry, window_rows=0, min_rows=1, threshold=0.2, interval_seconds=0.01
    )
    monitor.attach(LoadedModel("m", "v1", "test", predictor, None))
    inputs = {"x": np.ones((1, 1))}
    monitor.observe(inputs, predictor.predict(inputs))
    monitor.start()
    try:
        labels = {"model_name": "m", "model_version": "v1", "predicted_class": "0"}
        for _ in range(500):
            if registry.get_sample_value("model_predictions_total", labels) == 1:
                break
            time.sleep(0.01)
        assert registry.get_sample_value("model_predictions_total", labels) == 1
    finally:
        monitor.close()
