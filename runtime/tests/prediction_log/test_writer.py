"""The writer: sampling, a bounded queue, a thread writing Parquet, and the service using it."""

from __future__ import annotations

import calendar
import dataclasses
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prometheus_client import CollectorRegistry

from modelrail_runtime import LoadedModel, ServiceClient, Settings, load_model
from modelrail_runtime.http.app import create_app
from modelrail_runtime.prediction_log import (
    InputPolicy,
    ParquetSink,
    PredictionLogWriter,
    RetryPolicy,
)
from modelrail_runtime.prediction_log import writer as writer_module
from modelrail_runtime.prediction_log.events import row_sha256

if TYPE_CHECKING:
    from conftest import TrainedTabular

Start = Callable[..., ServiceClient]
FAST_RETRY = RetryPolicy(first_seconds=0.05, max_seconds=0.2)


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
        retry=FAST_RETRY,
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
    rows = sorted(
        pq.read_table(tmp_path).to_pylist(), key=lambda row: (row["request_id"], row["row"])
    )
    assert [(row["request_id"], row["row"]) for row in rows] == [
        (f"request-{request}", row) for request in (1, 2, 3) for row in range(request)
    ], "one row per prediction"
    first = rows[0]
    assert (first["model_name"], first["model_version"]) == (model.name, model.version)
    assert first["latency_seconds"] == pytest.approx(0.001)
    assert partition.name == f"date={first['timestamp']:%Y-%m-%d}"
    for request in (1, 2, 3):
        inputs, outputs = predict(model, request)
        logged = [row for row in rows if row["request_id"] == f"request-{request}"]
        for number, row in enumerate(logged):
            assert row["output_label"] == outputs["label"][number]
            assert row["output_probabilities"] == outputs["probabilities"][number].tolist()
            stored = {"store": inputs["input-0"][number].tolist(), "hash": None, "drop": None}
            assert row["input-0"] == stored[policy]
            hashed = row_sha256(model.signature, inputs, number) if policy == "hash" else None
            assert row["inputs_sha256"] == hashed


@pytest.mark.parametrize("policy", ["store", "hash"])
def test_a_large_flush_is_converted_in_steps_into_one_file(
    tmp_path: Path, model: LoadedModel, policy: InputPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steps of 5 rows over events of 3 and 4 rows: steps end inside no event.
    monkeypatch.setattr(writer_module, "ROWS_PER_CONVERSION", 5)
    steps: list[int] = []
    to_table = writer_module.to_table

    def counted(events: list[Any], chosen: InputPolicy) -> pa.Table:
        steps.append(len(events))
        return to_table(events, chosen)

    monkeypatch.setattr(writer_module, "to_table", counted)
    stepped, whole = tmp_path / "stepped", tmp_path / "whole"
    for root in (stepped, whole):
        log = writer(ParquetSink.open(str(root)), CollectorRegistry(), policy=policy)
        for number in range(7):
            inputs, outputs = predict(model, 3 + number % 2)
            log.offer(model, f"request-{number}", 0.001, inputs, outputs)
        log.close()
        monkeypatch.setattr(writer_module, "ROWS_PER_CONVERSION", 10**9)
    # 3+4 | 3+4 | 3+4 | 3 rows, then the 7 events at once.
    assert steps == [2, 2, 2, 1, 7]
    (file,) = stepped.glob("date=*/*.parquet")
    columns = ["request_id", "row", "output_probabilities", "input-0", "inputs_sha256"]
    logged = pq.read_table(file).select(columns).to_pylist()
    assert len(logged) == 3 * 4 + 4 * 3
    assert logged == pq.read_table(whole).select(columns).to_pylist()


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


def test_a_write_refused_until_shutdown_is_retried_then_counted_once(
    tmp_path: Path, model: LoadedModel, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    log = writer(RefusingSink(str(tmp_path)), registry, policy="drop")
    inputs, outputs = predict(model)
    log.offer(model, "r", 0.001, inputs, outputs)
    log.offer(model, "r", 0.001, inputs, outputs)
    started = time.monotonic()
    log.close(timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 2, "retried until the shutdown timeout"
    assert counter(registry, "prediction_log_events_dropped_total", reason="shutdown") == 2
    assert counter(registry, "prediction_log_events_dropped_total", reason="write_error") == 0
    assert counter(registry, "prediction_log_events_written_total") == 0
    assert counter(registry, "prediction_log_write_retries_total") >= 2
    assert counter(registry, "prediction_log_store_up") == 0
    assert counter(registry, "prediction_log_queued_events") == 0
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.getMessage() for record in errors] == [
        f"prediction log: 2 events lost at shutdown: the store {tmp_path} still refused them "
        "after 0.5s of retries"
    ]


class FlakySink(ParquetSink):
    """Refuses its first write of ``refused_day``, after writing the file anyway (as a
    store that times out after storing the object does)."""

    def __init__(self, url: str, refused_day: str) -> None:
        super().__init__(url)
        self.refused_day = refused_day
        self.names: list[tuple[str, str]] = []

    def write(self, day: str, table: Any, name: str | None = None) -> str:
        path = super().write(day, table, name)
        self.names.append((day, Path(path).name))
        if day == self.refused_day and len(self.names) <= 2:
            raise OSError("timed out")
        return path


def test_a_batch_across_two_days_half_written_is_completed_without_duplicates(
    tmp_path: Path, model: LoadedModel
) -> None:
    registry = CollectorRegistry()
    sink = FlakySink(str(tmp_path), refused_day="2024-05-02")
    log = writer(sink, registry, policy="drop")
    inputs, outputs = predict(model)
    for number, day in enumerate(["2024-05-01", "2024-05-02", "2024-05-02"]):
        log.offer(model, f"r{number}", 0.001, inputs, outputs)
        # The same flush takes events of two days (one before midnight, two after).
        midnight = calendar.timegm(time.strptime(day, "%Y-%m-%d"))
        log._queue[-1] = log._queue[-1]._replace(timestamp=midnight + 60)
    assert log.flush() is False, "the second day's file was refused"
    assert counter(registry, "prediction_log_events_written_total") == 1
    assert counter(registry, "prediction_log_queued_events") == 2
    assert log.flush() is True
    assert counter(registry, "prediction_log_events_written_total") == 3
    assert counter(registry, "prediction_log_write_retries_total") == 1
    assert sink.names[1] == sink.names[2], "the retry wrote the same file again"
    rows = pq.read_table(tmp_path).to_pylist()
    assert sorted(row["request_id"] for row in rows) == ["r0", "r0", "r1", "r1", "r2", "r2"]
    assert sorted(path.parent.name for path in tmp_path.glob("*/*.parquet")) == [
        "date=2024-05-01",
        "date=2024-05-02",
    ]


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


def test_the_service_logs_every_prediction_under_the_id_it_returned(
    start: Start, tmp_path: Path, golden_request: dict[str, Any]
) -> None:
    # The default input policy (store): no PREDICTION_LOG_INPUTS given.
    logged = {"prediction_log_sample_rate": 1.0, "prediction_log_url": str(tmp_path)}
    returned: dict[str, tuple[str, int]] = {}
    with start(**logged) as client:
        assert client.settings.prediction_log_inputs == "store"
        for number in range(5):
            headers = {"X-Request-ID": f"req-{number}"}
            response = client.post(client.infer_path, json=golden_request, headers=headers)
            assert response.status_code == 200
            (ids,) = (o["data"] for o in response.json()["outputs"] if o["name"] == "prediction_id")
            returned.update({id_: (f"req-{number}", row) for row, id_ in enumerate(ids)})
        assert client.infer({"inputs": []}).status_code == 400
    # Leaving the client shut the service down, which wrote what was still queued.
    rows = pq.read_table(tmp_path).to_pylist()
    assert len(rows) == 5 * 3, "one row per prediction, three per request"
    assert {row["prediction_id"]: (row["request_id"], row["row"]) for row in rows} == returned
    for row in rows:
        number = row["row"]
        assert row["input-0"] == golden_request["inputs"][0]["data"][number * 4 : number * 4 + 4]
        assert row["output_label"] == number


@pytest.mark.parametrize("policy", ["store", "hash", "drop"])
def test_a_tabular_model_logs_each_feature_by_name(
    tmp_path: Path,
    churn_classifier: TrainedTabular,
    named_inputs: Callable[..., list[dict[str, Any]]],
    policy: InputPolicy,
) -> None:
    columns = {
        "tenure_months": [3, 60, 12],
        "monthly_charges": [None, 20.5, 99.0],
        "contract": ["month-to-month", "weekly", "one-year"],
        "has_support": [False, True, True],
    }
    with ServiceClient(
        churn_classifier.directory,
        model_name="churn",
        prediction_log_sample_rate=1.0,
        prediction_log_url=str(tmp_path),
        prediction_log_inputs=policy,
    ) as client:
        response = client.infer({"inputs": named_inputs(**columns)})
        assert response.status_code == 200
        signature = client.app.dataplane.state.model.signature  # type: ignore[union-attr]
    outputs = {output["name"]: output["data"] for output in response.json()["outputs"]}
    rows = sorted(pq.read_table(tmp_path).to_pylist(), key=lambda row: row["row"])
    assert [row["row"] for row in rows] == [0, 1, 2]
    assert [row["prediction_id"] for row in rows] == outputs["prediction_id"]
    assert [row["output_label"] for row in rows] == outputs["label"]
    assert [row["output_probabilities"] for row in rows] == [
        outputs["probabilities"][2 * number : 2 * number + 2] for number in range(3)
    ]
    features = list(columns)
    if policy == "store":
        assert [[row[name] for name in features] for row in rows][1:] == [
            [60, 20.5, "weekly", True],
            [12, 99.0, "one-year", True],
        ], "an unseen category is logged as it was sent"
        assert math.isnan(rows[0]["monthly_charges"]), "a missing value is logged as NaN"
    else:
        assert all(row[name] is None for row in rows for name in features)
    sent = {
        "tenure_months": np.array(columns["tenure_months"]),
        "monthly_charges": np.array([math.nan, 20.5, 99.0]),
        "contract": np.array(columns["contract"], dtype=object),
        "has_support": np.array(columns["has_support"]),
    }
    hashes = [row_sha256(signature, sent, number) for number in range(3)]
    expected = hashes if policy == "hash" else [None] * 3
    assert [row["inputs_sha256"] for row in rows] == expected
    assert len(set(hashes)) == 3


def test_no_writer_and_no_sink_at_a_sample_rate_of_zero(settings: Settings) -> None:
    off = dataclasses.replace(
        settings, prediction_log_sample_rate=0.0, prediction_log_url="/proc/nowhere"
    )
    assert create_app(off).dataplane.prediction_log is None


def test_text_is_logged_whole_as_utf8_string_columns(start_echo: Start, tmp_path: Path) -> None:
    longest = "é" * 8192  # 16,384 UTF-8 bytes: the default MAX_STRING_BYTES, all of it logged
    sent = ["naïve café \U0001f680", "NUL\x00 and \u202eRTL\u202c", "", longest]
    logged = {"prediction_log_sample_rate": 1.0, "prediction_log_url": str(tmp_path)}
    with start_echo(**logged) as client:
        body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [4], "data": sent}]}
        response = client.infer(body)
        assert response.status_code == 200
    labels = next(o["data"] for o in response.json()["outputs"] if o["name"] == "label")
    (path,) = tmp_path.glob("date=*/*.parquet")
    # Parquet's own schema, as any lake reader sees it: text (UTF-8), not binary.
    parquet_schema = pq.ParquetFile(path).schema_arrow
    for column in ("text", "output_echo", "output_label"):
        assert parquet_schema.field(column).type == pa.string(), column
    rows = sorted(pq.read_table(path).to_pylist(), key=lambda row: row["row"])
    assert [row["text"] for row in rows] == sent
    assert [row["output_echo"] for row in rows] == sent
    assert [row["output_label"] for row in rows] == labels == ["short", "short", "short", "long"]
    assert [row["output_length"] for row in rows] == [len(text) for text in sent]
