"""The writer: sampling, a bounded queue, a thread writing Parquet, and the service using it."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from prometheus_client import CollectorRegistry

from modelrail_runtime import LoadedModel, ServiceClient, Settings, load_model
from modelrail_runtime.http.app import create_app
from modelrail_runtime.prediction_log import InputPolicy, ParquetSink, PredictionLogWriter
from modelrail_runtime.prediction_log.events import inputs_sha256

Start = Callable[..., ServiceClient]


@pytest.fixture(scope="module")
def model(artifacts: Path) -> LoadedModel:
    return load_model(artifacts, "iris")


def predict(model: LoadedModel, rows: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = {"input-0": np.random.default_rng(rows).uniform(0, 7, (rows, 4))}
    return inputs, model.predictor.predict(inputs)


def writer(
    sink: ParquetSink,
    registry: CollectorRegistry,
    *,
    sample_rate: float = 1.0,
    policy: InputPolicy = "hash",
    queue_size: int = 1000,
) -> PredictionLogWriter:
    return PredictionLogWriter(
        sink,
        registry,
        sample_rate=sample_rate,
        policy=policy,
        flush_seconds=3600.0,
        queue_size=queue_size,
    )


def counter(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("policy", ["store", "hash", "drop"])
def test_events_are_date_partitioned_parquet_per_the_input_policy(
    tmp_path: Path, model: LoadedModel, policy: InputPolicy
) -> None:
    registry = CollectorRegistry()
    log = writer(ParquetSink.open(str(tmp_path)), registry, policy=policy)
    log.start()
    for rows in (1, 2, 3):
        inputs, outputs = predict(model, rows)
        log.offer(model, f"request-{rows}", 0.001 * rows, inputs, outputs)
    log.close()
    assert counter(registry, "prediction_log_events_written_total") == 3
    (partition,) = tmp_path.iterdir()
    assert partition.name.startswith("date=")
    assert all(path.suffix == ".parquet" for path in partition.iterdir())
    events = sorted(pq.read_table(tmp_path).to_pylist(), key=lambda event: event["rows"])
    assert [event["request_id"] for event in events] == ["request-1", "request-2", "request-3"]
    first = events[0]
    assert (first["model_name"], first["model_version"]) == (model.name, model.version)
    assert first["latency_seconds"] == pytest.approx(0.001)
    assert partition.name == f"date={first['timestamp']:%Y-%m-%d}"
    inputs, outputs = predict(model, 1)
    assert first["outputs"]["label"] == outputs["label"].tolist()
    assert first["outputs"]["probabilities"] == outputs["probabilities"].tolist()
    stored = {"store": {"input-0": inputs["input-0"].tolist()}, "hash": None, "drop": None}
    assert first["inputs"] == stored[policy]
    hashed = inputs_sha256(model.signature, inputs) if policy == "hash" else None
    assert first["inputs_sha256"] == hashed


def test_sampling_logs_the_configured_share(tmp_path: Path, model: LoadedModel) -> None:
    registry = CollectorRegistry()
    log = writer(ParquetSink(str(tmp_path)), registry, sample_rate=0.25, queue_size=10_000)
    inputs, outputs = predict(model)
    random.seed(3)
    for _ in range(4000):
        log.offer(model, "r", 0.001, inputs, outputs)
    log.close()
    assert 850 <= counter(registry, "prediction_log_events_written_total") <= 1150


def test_a_full_queue_drops_and_counts_instead_of_blocking(
    tmp_path: Path, model: LoadedModel
) -> None:
    registry = CollectorRegistry()
    log = writer(ParquetSink(str(tmp_path)), registry, queue_size=3)
    inputs, outputs = predict(model)
    for _ in range(5):  # the writer thread is not started: nothing leaves the queue
        log.offer(model, "r", 0.001, inputs, outputs)
    assert counter(registry, "prediction_log_queued_events") == 3
    assert counter(registry, "prediction_log_events_dropped_total", reason="queue_full") == 2
    log.close()
    assert counter(registry, "prediction_log_events_written_total") == 3
    assert counter(registry, "prediction_log_queued_events") == 0


class RefusingSink(ParquetSink):
    def write(self, day: str, table: Any) -> str:
        raise OSError("disk full")


def test_a_refused_write_is_counted_and_never_raised(
    tmp_path: Path, model: LoadedModel, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    log = writer(RefusingSink(str(tmp_path)), registry, policy="drop")
    inputs, outputs = predict(model)
    log.offer(model, "r", 0.001, inputs, outputs)
    log.offer(model, "r", 0.001, inputs, outputs)
    log.close()
    assert counter(registry, "prediction_log_events_dropped_total", reason="write_error") == 2
    assert counter(registry, "prediction_log_events_written_total") == 0
    assert "2 events lost" in caplog.text


def test_a_half_full_queue_wakes_the_writer(tmp_path: Path, model: LoadedModel) -> None:
    registry = CollectorRegistry()
    log = writer(ParquetSink(str(tmp_path)), registry, queue_size=4)
    log.start()
    inputs, outputs = predict(model)
    try:
        for _ in range(2):
            log.offer(model, "r", 0.001, inputs, outputs)
        for _ in range(500):  # flush_seconds is an hour: only the wake-up writes
            if counter(registry, "prediction_log_events_written_total") == 2:
                break
            time.sleep(0.01)
        assert counter(registry, "prediction_log_events_written_total") == 2
    finally:
        log.close()


def test_the_service_logs_every_prediction_with_its_request_id(
    start: Start, tmp_path: Path, golden_request: dict[str, Any]
) -> None:
    logged = {
        "prediction_log_sample_rate": 1.0,
        "prediction_log_url": str(tmp_path),
        "prediction_log_inputs": "store",
    }
    with start(**logged) as client:
        for number in range(5):
            headers = {"X-Request-ID": f"req-{number}"}
            response = client.post(client.infer_path, json=golden_request, headers=headers)
            assert response.status_code == 200
        assert client.infer({"inputs": []}).status_code == 400
    # Leaving the client shut the service down, which wrote what was still queued.
    events = pq.read_table(tmp_path).to_pylist()
    assert sorted(event["request_id"] for event in events) == [f"req-{n}" for n in range(5)]
    assert events[0]["inputs"]["input-0"] == [
        golden_request["inputs"][0]["data"][row * 4 : row * 4 + 4] for row in range(3)
    ]
    assert events[0]["outputs"]["label"] == [0, 1, 2]


def test_no_writer_and_no_sink_at_a_sample_rate_of_zero(settings: Settings) -> None:
    off = dataclasses.replace(
        settings, prediction_log_sample_rate=0.0, prediction_log_url="/proc/nowhere"
    )
    assert create_app(off).dataplane.prediction_log is None
