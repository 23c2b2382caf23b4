"""Prediction logs of the generated image land in a directory DuckDB reads.

A host directory is mounted where the image writes its prediction logs; the container
runs as its own non-root user (10001) with a read-only root filesystem. N requests of two
customers each, then SIGTERM: the 2N prediction rows must all be there (the writer only
flushes at shutdown here), one per prediction with a column per feature, and
`make lake-report` must read them. A read-only mount is reported at start-up instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from modelrail_conformance.target import HttpStatusWait, ServiceContainer

from tests.helpers import run
from tests.integration.traffic import customers, features, infer_body, sample

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LOGS = "/app/prediction-logs"
REQUESTS = 40


def duckdb_query(project: Path, sql: str) -> list[list[object]]:
    """Rows of ``sql`` run by DuckDB in the generated project's environment."""
    script = f"import duckdb, json; print(json.dumps(duckdb.sql({sql!r}).fetchall()))"
    proc = run([str(project / ".venv" / "bin" / "python"), "-c", script], project)
    return json.loads(proc.stdout)


def test_every_accepted_prediction_is_in_the_lake_after_sigterm(
    generated_image: str, generated_project: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    lake.chmod(0o777)  # the container's user (10001) is not this one
    env = {"PREDICTION_LOG_FLUSH_SECONDS": "3600"}  # the inputs are stored by default
    container = ServiceContainer(
        generated_image, 8080, env, hardened=True, volumes=[(str(lake), LOGS, "rw")]
    ).start()
    rows = sample(customers(generated_project), REQUESTS * 2, seed=3)
    rows[0]["monthly_charges"], rows[1]["contract"] = None, "weekly"  # missing, unseen
    schema = features(generated_project)
    model = json.loads((generated_project / "artifacts" / "metadata.json").read_text())
    answers = []
    try:
        HttpStatusWait("/v2/health/ready", timeout=60).wait(container)
        with httpx.Client(base_url=container.base_url, timeout=10) as client:
            for number in range(REQUESTS):
                response = client.post(
                    f"/v2/models/{model['model_name']}/infer",
                    json=infer_body(schema, rows[2 * number : 2 * number + 2]),
                    headers={"X-Request-ID": f"lake-{number:03d}"},
                )
                assert response.status_code == 200, response.text
                answers.append({o["name"]: o["data"] for o in response.json()["outputs"]})
        assert not list(lake.rglob("*.parquet")), "events were written before the shutdown"
        container.kill("SIGTERM")
        assert container.wait_exit(timeout=30) == 0, container.all_logs()
    finally:
        container.stop()

    files = str(lake / "**" / "*.parquet")
    summary = duckdb_query(
        generated_project,
        "SELECT count(*), count(DISTINCT prediction_id), count(DISTINCT request_id), "
        "min(request_id), max(request_id), count(DISTINCT model_version), min(date) = max(date) "
        f"FROM read_parquet('{files}', hive_partitioning = true)",
    )
    assert summary == [
        [2 * REQUESTS, 2 * REQUESTS, REQUESTS, "lake-000", f"lake-{REQUESTS - 1:03d}", 1, True]
    ]
    # One row per prediction: its id as the caller got it, a column per feature, its
    # outputs. The missing charge is logged as NaN (floats as text, to compare NaN).
    columns = [f"{f['name']}::VARCHAR" if f["datatype"] == "FP64" else f["name"] for f in schema]
    logged = duckdb_query(
        generated_project,
        f"SELECT prediction_id, row, {', '.join(columns)}, output_label, "
        f"len(output_probabilities), model_version "
        f"FROM read_parquet('{files}') WHERE request_id = 'lake-000' ORDER BY row",
    )

    def text(value: object) -> object:
        return "nan" if value is None else str(value) if isinstance(value, float) else value

    version = model["artifact_sha256"][:12]
    assert logged == [
        [
            answers[0]["prediction_id"][row],
            row,
            *(
                text(rows[row][f["name"]]) if f["datatype"] == "FP64" else rows[row][f["name"]]
                for f in schema
            ),
            answers[0]["label"][row],
            2,
            version,
        ]
        for row in (0, 1)
    ]

    report = run(["make", "lake-report", f"LAKE={lake}"], generated_project).stdout
    for title in ("Predictions per model version and day", "Class distribution", "Input features"):
        assert title in report
    # The day's row: requests and predictions (two per request).
    assert re.search(rf"│\s+{REQUESTS}\s+│\s+{2 * REQUESTS}\s+│", report), report


def test_an_unwritable_prediction_log_directory_is_reported_at_start_up(
    generated_image: str, tmp_path: Path
) -> None:
    lake = tmp_path / "read-only"
    lake.mkdir()
    container = ServiceContainer(
        generated_image, 8080, hardened=True, volumes=[(str(lake), LOGS, "ro")]
    ).start()
    try:
        code = container.wait_exit(timeout=30)
        logs = container.stdout()
    finally:
        container.stop()
    assert code == 2, logs
    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    errors = [record for record in records if record.get("level") == "error"]
    assert len(errors) == 1, logs
    assert "PREDICTION_LOG_URL /app/prediction-logs is not writable" in errors[0]["message"]
    assert "Read-only file system" in errors[0]["message"]
