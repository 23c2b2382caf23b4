"""`make lake-report LAKE=s3://...`: the generated lake report reads predictions and labels
from a real S3 store (SeaweedFS) through pyarrow, with no DuckDB extension to download."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pyarrow as pa

from modelrail_runtime.lake.labels import Label, labels_table
from modelrail_runtime.lake.tables import write_day
from tests.servers.fixtures import LAKE_BUCKET
from tests.servers.seaweedfs import SeaweedS3
from tests.template.conftest import Rendered

ROOT = f"s3://{LAKE_BUCKET}/lake-report-test"
DAYS = ("2026-02-01", "2026-02-02")


def churn_predictions(day: str, offset: int) -> pa.Table:
    """Four predictions of the default (churn) model on ``day``: the columns the report reads."""
    ids = [f"{day}-{offset + row}" for row in range(4)]
    return pa.table(
        {
            "timestamp": pa.array([0] * 4, pa.timestamp("us", tz="UTC")),
            "prediction_id": ids,
            "request_id": [f"r-{day}"] * 4,
            "model_name": ["churn-model"] * 4,
            "model_version": ["0123456789ab"] * 4,
            "latency_seconds": [0.01] * 4,
            "row": [0, 1, 2, 3],
            "tenure_months": [1, 2, 3, 40 if offset else 4],
            "inputs_sha256": pa.nulls(4, pa.string()),
            "output_label": ["churned", "stayed", "stayed", "stayed"],
            "output_probabilities": [[0.7, 0.3], [0.2, 0.8], [0.4, 0.6], [0.1, 0.9]],
        }
    )


def test_the_lake_report_reads_an_s3_lake(
    s3_store: SeaweedS3, default_env: Path, rendered: Rendered
) -> None:
    env = {**os.environ, **s3_store.client_env()}
    os.environ.update(s3_store.client_env())  # this process writes the lake through pyarrow
    for offset, day in enumerate(DAYS):
        write_day(f"{ROOT}/predictions", day, "part-0.parquet", churn_predictions(day, offset))
    # Two of the first day's predictions labelled: one right, one wrong.
    labels = [Label(f"{DAYS[0]}-0", "churned", None), Label(f"{DAYS[0]}-1", "churned", None)]
    write_day(f"{ROOT}/labels", DAYS[1], "job.parquet", labels_table(labels, "crm-job"))
    project = rendered["defaults"]
    report = subprocess.run(
        [default_env, "monitoring/lake_report.py", f"{ROOT}/predictions",
         "--labels", f"{ROOT}/labels"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert report.returncode == 0, report.stderr
    text = report.stdout
    for title in ("Predictions per model version and day", "Realized performance",
                  "Label coverage", "Labels per source", "Drift summary"):
        assert title in text, title
    # The first day: 2 of 4 labelled, accuracy 0.5; the second: none labelled.
    assert re.search(r"2026-02-01\s+│\s+0123456789ab\s+│\s+2\s+│\s+0\.5\s+│", text), text
    assert re.search(r"2026-02-02\s+│\s+0123456789ab\s+│\s+4\s+│\s+0\s+│\s+0\.0\s+│", text), text
    assert re.search(r"crm-job\s+│\s+2\s+│\s+2\s+│\s+0\s+│", text), text
