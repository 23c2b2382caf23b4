"""The lake on real servers: labels and predictions in S3 (SeaweedFS), performance written
back to S3, a store outage answered with 503, the scores pushed to a real Pushgateway."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.servers.fixtures import LAKE_BUCKET, s3_store  # noqa: F401
from tests.servers.pushgateway import Pushgateway
from tests.servers.seaweedfs import SeaweedS3

from modelrail_runtime import ServiceClient
from modelrail_runtime.lake.report import ReportRequest, run

TOKEN = "lake-token"  # noqa: S105 - a test token
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def s3_env(s3_store: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> SeaweedS3:  # noqa: F811
    """The variables pyarrow's S3 filesystem reads, pointing at the test store."""
    for name, value in s3_store.client_env().items():
        monkeypatch.setenv(name, value)
    return s3_store


def labelled_predictions(client: ServiceClient, request: dict[str, Any]) -> list[str]:
    """Predict the three golden rows; label the first two as classes 0 and 2."""
    response = client.post("/v2/models/iris/infer", json=request)
    ids = {o["name"]: o["data"] for o in response.json()["outputs"]}["prediction_id"]
    body = {
        "labels": [{"prediction_id": ids[0], "label": 0}, {"prediction_id": ids[1], "label": 2}]
    }
    stored = client.post("/v2/models/iris/labels", json=body, headers=AUTH)
    assert stored.status_code == 200, stored.text
    return [str(value) for value in ids]


def test_labels_and_predictions_in_s3_give_performance_in_s3(
    s3_env: SeaweedS3, start: Callable[..., ServiceClient], golden_request: dict[str, Any]
) -> None:
    root = f"s3://{LAKE_BUCKET}/iris-performance-test"
    with start(
        prediction_log_sample_rate=1.0,
        prediction_log_url=f"{root}/predictions",
        labels_url=f"{root}/labels",
        labels_token=TOKEN,
    ) as client:
        labelled_predictions(client, golden_request)
    # Leaving the client flushed the prediction log.
    rows = run(ReportRequest(f"{root}/predictions", f"{root}/labels", f"{root}/performance"))
    [row] = rows
    # The golden rows are classes 0, 1, 2: the label 2 of the second row is wrong.
    assert (row.predictions, row.labelled, row.accuracy) == (3, 2, 0.5)
    filesystem, path = pafs.FileSystem.from_uri(f"{root}/performance")
    written = ds.dataset(path, filesystem=filesystem, partitioning="hive").to_table()
    assert written["accuracy"].to_pylist() == [0.5]
    assert written["date"].to_pylist() == [row.date]


@pytest.fixture
def outage_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeaweedS3]:
    """A store of this test's own, which the test stops and starts again."""
    with SeaweedS3(tmp_path / "store") as store:
        store.create_bucket("labels")
        for name, value in store.client_env().items():
            monkeypatch.setenv(name, value)
        yield store


def test_a_store_outage_gives_503_then_labels_are_stored_again(
    outage_store: SeaweedS3, start: Callable[..., ServiceClient]
) -> None:
    body = {"labels": [{"prediction_id": "p-0", "label": 1}]}
    with start(labels_url="s3://labels/iris", labels_token=TOKEN) as client:
        assert client.post("/v2/models/iris/labels", json=body, headers=AUTH).status_code == 200
        outage_store.stop()
        down = client.post("/v2/models/iris/labels", json=body, headers=AUTH)
        outage_store.start()
        back = client.post("/v2/models/iris/labels", json=body, headers=AUTH)
        metrics = client.get("/metrics").text
    assert down.status_code == 503, down.text
    assert down.headers["retry-after"] == "5"
    assert "LABELS_URL is unreachable" in down.json()["error"]
    assert back.status_code == 200, back.text
    assert 'model_label_write_failures_total{model_name="iris"} 1.0' in metrics
    assert 'model_labels_received_total{model_name="iris"} 2.0' in metrics


def test_the_latest_scores_are_pushed_to_a_pushgateway(
    tmp_path: Path, start: Callable[..., ServiceClient], golden_request: dict[str, Any]
) -> None:
    with start(
        prediction_log_sample_rate=1.0,
        prediction_log_url=str(tmp_path / "predictions"),
        labels_url=str(tmp_path / "labels"),
        labels_token=TOKEN,
    ) as client:
        labelled_predictions(client, golden_request)
    with Pushgateway(tmp_path) as gateway:
        request = ReportRequest(
            str(tmp_path / "predictions"),
            str(tmp_path / "labels"),
            str(tmp_path / "performance"),
            pushgateway=gateway.url,
        )
        run(request)
        exposition = gateway.metrics()
    pushed = {
        sample.name: sample
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name.startswith(("model_realized", "model_label"))
    }
    accuracy = pushed["model_realized_accuracy"]
    assert accuracy.value == 0.5
    assert accuracy.labels["model_name"] == "iris"
    assert accuracy.labels["job"] == "model_performance_report"
    assert pushed["model_label_coverage"].value == pytest.approx(2 / 3)
    assert pushed["model_realized_performance_timestamp_seconds"].value > 0
    assert os.path.isdir(tmp_path / "performance")
