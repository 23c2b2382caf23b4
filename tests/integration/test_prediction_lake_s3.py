"""The generated image writes its prediction logs to a real S3 store and loses nothing.

The issue's reliability figures, measured on the image CI builds: SeaweedFS's S3 gateway
(tests/servers) on loopback, the service on the host's network bound to 127.0.0.1. Paced
traffic runs throughout; the store is stopped for `OUTAGE_SECONDS` and started again; then
the service gets SIGTERM while requests are still being sent. Every request answered 200
must have its rows in the store, and the writer's metrics must show the outage (retries,
store down) without a dropped event.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
from prometheus_client.parser import text_string_to_metric_families
from testcontainers.core.container import DockerContainer

from tests.helpers import free_port
from tests.integration.traffic import customers, features, infer_body, sample
from tests.servers.seaweedfs import ACCESS_KEY, REGION, SECRET_KEY, SeaweedS3

pytestmark = [pytest.mark.docker, pytest.mark.slow]

OUTAGE_SECONDS = 30
CATCH_UP_SECONDS = 45  # the writer's longest backoff (30 s) and a margin
REQUESTS_PER_SECOND = 40
BUCKET = "lake"
PREFIX = "churn-model/predictions"


@dataclass
class Traffic:
    """Requests sent one after another at a bounded rate until stopped."""

    client: httpx.Client
    path: str
    bodies: list[dict[str, object]]
    answered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            request_id = f"s3-{number:06d}"
            body = self.bodies[number % len(self.bodies)]
            number += 1
            try:
                response = self.client.post(
                    self.path, json=body, headers={"X-Request-ID": request_id}
                )
            except httpx.TransportError:
                # The service is going away (SIGTERM): nothing was acknowledged.
                self.failed.append(request_id)
            else:
                if response.status_code == 200:
                    self.answered.append(request_id)
                else:
                    self.failed.append(request_id)
            time.sleep(1 / REQUESTS_PER_SECOND)


def ready(client: httpx.Client) -> bool:
    try:
        return client.get("/v2/health/ready").status_code == 200
    except httpx.TransportError:
        return False


def log_metrics(base_url: str) -> dict[str, float]:
    """The prediction log's samples, by name and labels (``name{label=value}``)."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    samples = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("prediction_log"):
            for sample_ in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample_.labels.items()))
                samples[f"{sample_.name}{{{labels}}}"] = sample_.value
    return samples


def caught_up(base_url: str) -> dict[str, float]:
    """The log's samples once the writer has written again after the outage.

    Its next retry may be up to a backoff step away (16 s after a 30 s outage, jittered),
    so this polls, bounded by the cap of the backoff (`PREDICTION_LOG_RETRY_MAX_SECONDS`).
    """
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        samples = log_metrics(base_url)
        if samples["prediction_log_store_up{}"] == 1 or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


def stored_request_ids(store: SeaweedS3) -> list[str]:
    filesystem = pafs.S3FileSystem(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        endpoint_override=store.endpoint,
        scheme="http",
    )
    dataset = ds.dataset(f"{BUCKET}/{PREFIX}", filesystem=filesystem, partitioning="hive")
    return dataset.to_table(columns=["request_id"])["request_id"].to_pylist()


def test_no_acknowledged_prediction_is_lost_through_a_store_outage_and_a_sigterm(
    generated_image: str, generated_project: Path, tmp_path: Path
) -> None:
    store = SeaweedS3(tmp_path / "store").start()
    store.create_bucket(BUCKET)
    port = free_port()
    env = {
        **store.client_env(),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PREDICTION_LOG_URL": f"s3://{BUCKET}/{PREFIX}",
        "PREDICTION_LOG_FLUSH_SECONDS": "1",
    }
    # The host's network: the store listens on loopback only, and so does the service.
    container = DockerContainer(
        generated_image,
        env=env,
        network_mode="host",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
    )
    container.with_tmpfs_mount("/tmp")
    schema = features(generated_project)
    rows = sample(customers(generated_project), 64, seed=5)
    model = json.loads((generated_project / "artifacts" / "metadata.json").read_text())
    bodies = [infer_body(schema, rows[i : i + 2]) for i in range(0, 64, 2)]
    base_url = f"http://127.0.0.1:{port}"
    container.start()
    try:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            deadline = time.monotonic() + 60
            while not ready(client):
                assert time.monotonic() < deadline, "not ready in 60 s"
                time.sleep(0.2)
            traffic = Traffic(client, f"/v2/models/{model['model_name']}/infer", bodies).start()
            time.sleep(3)
            store.stop()
            time.sleep(OUTAGE_SECONDS)
            during = log_metrics(base_url)
            store.start()
            back_at = time.monotonic()
            after = caught_up(base_url)
            catch_up_seconds = time.monotonic() - back_at
            container.get_wrapped_container().kill(signal="SIGTERM")
            exit_code = container.get_wrapped_container().wait(timeout=60)["StatusCode"]
            traffic.stop()
        logs = container.get_wrapped_container().logs().decode(errors="replace")
        assert exit_code == 0, logs
        stored = stored_request_ids(store)
    finally:
        container.stop()
        store.stop()

    answered = set(traffic.answered)
    print(
        f"lake figures: {len(answered)} requests answered 200 ({len(traffic.failed)} not), "
        f"{len(stored)} rows stored for {len(set(stored))} requests; during the outage: "
        f"{during}; written again {catch_up_seconds:.1f}s after the store was back: {after}"
    )
    assert len(answered) > OUTAGE_SECONDS * REQUESTS_PER_SECOND / 2, "too little traffic"
    # Two rows per request, each stored once; every acknowledged request is there.
    assert answered <= set(stored), sorted(answered - set(stored))[:10]
    assert len(stored) == 2 * len(set(stored))
    assert during["prediction_log_store_up{}"] == 0
    assert during["prediction_log_write_retries_total{}"] > 0
    assert after["prediction_log_store_up{}"] == 1
    for reason in ("queue_full", "write_error"):
        assert after[f"prediction_log_events_dropped_total{{reason={reason}}}"] == 0
