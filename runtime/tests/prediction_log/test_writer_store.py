"""The writer against a real S3 store (SeaweedFS): every offered event arrives, an outage
loses nothing within the queue bound and never blocks a request, and every loss is counted.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from tests.servers.seaweedfs import ACCESS_KEY, REGION, SECRET_KEY, SeaweedS3

from modelrail_runtime import LoadedModel, load_model
from modelrail_runtime.prediction_log import (
    ParquetSink,
    PredictionLogWriter,
    RetryPolicy,
    SinkError,
)

FAST_RETRY = RetryPolicy(first_seconds=0.05, max_seconds=0.2)
ROWS = 2


@pytest.fixture(scope="module")
def model(artifacts: Path) -> LoadedModel:
    return load_model(artifacts, "iris")


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets a store's client variables in this process (pyarrow reads them)."""

    def use(store: SeaweedS3) -> None:
        for key, value in store.client_env().items():
            monkeypatch.setenv(key, value)

    return use


def new_writer(
    sink: ParquetSink, registry: CollectorRegistry, queue_size: int = 10_000
) -> PredictionLogWriter:
    return PredictionLogWriter(
        sink,
        registry,
        sample_rate=1.0,
        policy="hash",
        flush_seconds=0.1,
        queue_size=queue_size,
        retry=FAST_RETRY,
    )


def offer(log: PredictionLogWriter, model: LoadedModel, request_id: str) -> float:
    """Offer one request of `ROWS` predictions; the seconds `offer` took."""
    inputs = {"input-0": np.full((ROWS, 4), 1.5)}
    outputs = model.predictor.predict(inputs)
    started = time.perf_counter()
    log.offer(model, request_id, 0.001, inputs, outputs)
    return time.perf_counter() - started


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def stored_ids(store: SeaweedS3, root: str) -> list[str]:
    """Every stored row's prediction id (duplicates kept), read with the test's own client."""
    filesystem = pafs.S3FileSystem(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        endpoint_override=store.endpoint,
        scheme="http",
    )
    selector = pafs.FileSelector(root, recursive=True)
    paths = [i.path for i in filesystem.get_file_info(selector) if i.path.endswith(".parquet")]
    return [
        identifier
        for path in paths
        for identifier in pq.read_table(path, filesystem=filesystem)["prediction_id"].to_pylist()
    ]


def test_every_offered_event_is_written_to_the_store(
    s3_store: SeaweedS3,
    store_env: Any,
    model: LoadedModel,
) -> None:
    store_env(s3_store)
    prefix = f"writer-{uuid.uuid4().hex[:8]}"
    registry = CollectorRegistry()
    log = new_writer(ParquetSink.open(f"s3://lake/{prefix}"), registry)
    log.start()
    for number in range(200):
        offer(log, model, f"r{number}")
    log.close()
    assert value(registry, "prediction_log_events_written_total") == 200
    ids = stored_ids(s3_store, f"lake/{prefix}")
    assert len(ids) == len(set(ids)) == 200 * ROWS


def test_a_mounted_credentials_file_is_enough(
    s3_store: SeaweedS3,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    model: LoadedModel,
) -> None:
    # As a Kubernetes Secret mounted as a file: no key in the environment.
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    for key, value in s3_store.client_env().items():
        if key not in {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}:
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    prefix = f"file-credentials-{uuid.uuid4().hex[:8]}"
    registry = CollectorRegistry()
    log = new_writer(ParquetSink.open(f"s3://lake/{prefix}"), registry)
    offer(log, model, "r0")
    log.close()
    assert len(stored_ids(s3_store, f"lake/{prefix}")) == ROWS


def test_the_service_writes_every_answered_prediction_to_the_store_by_shutdown(
    s3_store: SeaweedS3,
    store_env: Any,
    start: Any,
    golden_request: dict[str, Any],
) -> None:
    store_env(s3_store)
    prefix = f"service-{uuid.uuid4().hex[:8]}"
    returned: list[str] = []
    # The flush interval is an hour: only the shutdown writes.
    with start(
        prediction_log_sample_rate=1.0,
        prediction_log_url=f"s3://lake/{prefix}",
        prediction_log_flush_seconds=3600.0,
    ) as client:
        for _ in range(50):
            response = client.infer(golden_request)
            assert response.status_code == 200
            outputs = response.json()["outputs"]
            returned += next(o["data"] for o in outputs if o["name"] == "prediction_id")
    assert sorted(stored_ids(s3_store, f"lake/{prefix}")) == sorted(returned)


def test_an_outage_of_the_store_loses_nothing_and_blocks_no_request(
    tmp_path: Path, store_env: Any, model: LoadedModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = SeaweedS3(tmp_path).start()
    try:
        store.create_bucket("lake")
        store_env(store)
        registry = CollectorRegistry()
        log = new_writer(ParquetSink.open("s3://lake/outage"), registry)
        log.start()
        offered, slowest = 0, 0.0
        for _ in range(20):
            slowest = max(slowest, offer(log, model, f"r{offered}"))
            offered += 1
        wait_for(lambda: value(registry, "prediction_log_events_written_total") == 20, 10, "20")
        store.stop()
        outage_started = time.monotonic()
        while time.monotonic() - outage_started < 3:
            slowest = max(slowest, offer(log, model, f"r{offered}"))
            offered += 1
            time.sleep(0.005)
        assert value(registry, "prediction_log_store_up") == 0
        retries_in_outage = value(registry, "prediction_log_write_retries_total")
        assert retries_in_outage >= 3, "the writer kept trying (0.05 s doubling to 0.2 s)"
        store.start()
        wait_for(
            lambda: value(registry, "prediction_log_events_written_total") == offered,
            30,
            f"all {offered} events written after the store came back",
        )
        assert value(registry, "prediction_log_store_up") == 1
        log.close()
        ids = stored_ids(store, "lake/outage")
    finally:
        store.stop()
    assert len(ids) == len(set(ids)) == offered * ROWS, "every event once, none twice"
    for reason in ("queue_full", "write_error", "shutdown"):
        assert value(registry, "prediction_log_events_dropped_total", reason=reason) == 0
    # The request path never waited for the store (a dict build and a deque append).
    assert slowest < 0.01, f"offer took {slowest * 1000:.1f} ms"
    assert SECRET_KEY not in caplog.text
    assert "takes writes again" in caplog.text
    print(
        f"outage: {offered} events offered, all written; {retries_in_outage:.0f} retries; "
        f"slowest offer {slowest * 1e6:.0f} us"
    )


def test_a_store_that_is_down_fills_the_queue_then_drops_and_counts(
    tmp_path: Path, store_env: Any, model: LoadedModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    down = SeaweedS3(tmp_path)  # never started: its port refuses connections
    store_env(down)
    registry = CollectorRegistry()
    capacity = 20
    # Opened without the start-up check, as if the store went down after it.
    log = new_writer(ParquetSink("s3://lake/down"), registry, queue_size=capacity)
    log.start()
    for number in range(50):
        offer(log, model, f"r{number}")
        time.sleep(0.01)  # the writer takes events into held files meanwhile
    assert value(registry, "prediction_log_write_retries_total") >= 1
    dropped = value(registry, "prediction_log_events_dropped_total", reason="queue_full")
    assert dropped == 50 - capacity
    assert value(registry, "prediction_log_queued_events") == capacity
    log.close(timeout=0.3)
    assert value(registry, "prediction_log_events_dropped_total", reason="shutdown") == capacity
    assert value(registry, "prediction_log_events_written_total") == 0
    assert "20 events lost at shutdown" in caplog.text
    assert SECRET_KEY not in caplog.text
    assert SECRET_KEY.encode() not in generate_latest(registry)


def test_credentials_in_the_url_are_refused_without_showing_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SinkError) as error:
        ParquetSink.open(f"s3://modelrail-test:{SECRET_KEY}@lake/logs")
    message = str(error.value)
    assert SECRET_KEY not in message
    assert SECRET_KEY not in caplog.text
    assert "s3://***@lake/logs: credentials in the URL are refused" in message
    assert "AWS_ACCESS_KEY_ID" in message
    assert "AWS_SHARED_CREDENTIALS_FILE" in message
