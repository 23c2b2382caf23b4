"""The performance report job: read the lake, score, write the day files, expose the latest.

`run` is what ``python -m modelrail_runtime.lake performance`` (and the CronJob) does:

1. read the predictions and the labels (of the last ``days`` days, or all);
2. compute `performance.realized_performance`;
3. write one file per prediction day, ``<output>/date=YYYY-MM-DD/performance.parquet``
   (a re-run replaces it: the job is idempotent);
4. expose each model version's latest scores as Prometheus gauges: pushed to a
   Pushgateway (grouped by model name) and/or written to a textfile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from .labels import schema as labels_schema
from .performance import (
    CLASS_OUTPUT,
    FILE_NAME,
    VALUE_OUTPUT,
    Performance,
    as_table,
    latest,
    realized_performance,
)
from .tables import read_partitioned, write_day

if TYPE_CHECKING:
    import pyarrow as pa

PUSH_JOB = "model_performance_report"
"""The Pushgateway's ``job`` label of the pushed metrics."""


@dataclass(frozen=True)
class ReportRequest:
    """Where the job reads and writes, and how far back it looks."""

    predictions_url: str
    labels_url: str
    output_url: str
    days: int | None = None
    """Only the predictions (and labels) of the last ``days`` days, today included."""
    pushgateway: str | None = None
    textfile: Path | None = None


def run(request: ReportRequest, now: datetime | None = None) -> list[Performance]:
    """Score, write and expose; the rows computed."""
    now = now or datetime.now(UTC)
    window = _window(now, request.days)
    predictions = _read_predictions(request.predictions_url, window)
    found = read_partitioned(
        request.labels_url, ["prediction_id", "label", "value", "observed_at"], window
    )
    labels = found if found.num_rows else labels_schema().empty_table()
    rows = realized_performance(predictions, labels)
    by_day: dict[str, list[Performance]] = defaultdict(list)
    for row in rows:
        by_day[row.date].append(row)
    for day, day_rows in sorted(by_day.items()):
        write_day(request.output_url, day, FILE_NAME, as_table(day_rows, now))
    if request.pushgateway or request.textfile:
        expose(rows, now, pushgateway=request.pushgateway, textfile=request.textfile)
    return rows


def _window(now: datetime, days: int | None) -> list[str] | None:
    if days is None:
        return None
    return [(now - timedelta(days=back)).strftime("%Y-%m-%d") for back in range(days)]


def _read_predictions(url: str, window: list[str] | None) -> pa.Table:
    base = ["prediction_id", "model_name", "model_version"]
    try:
        return read_partitioned(url, [*base, CLASS_OUTPUT], window)
    except KeyError:
        # A regressor's predictions (or none: then the error names both columns).
        return read_partitioned(url, [*base, VALUE_OUTPUT], window)


def metrics_registry(rows: Sequence[Performance], now: datetime) -> CollectorRegistry:
    """The latest scores of each model version in ``rows`` as gauges, in a new registry."""
    registry = CollectorRegistry()
    labels = ["model_name", "model_version"]
    gauges = {
        "accuracy": Gauge(
            "model_realized_accuracy",
            "Share of labelled predictions of the latest labelled day that were right.",
            labels,
            registry=registry,
        ),
        "macro_f1": Gauge(
            "model_realized_macro_f1",
            "Macro F1 of the labelled predictions of the latest labelled day.",
            labels,
            registry=registry,
        ),
        "rmse": Gauge(
            "model_realized_rmse",
            "Root mean squared error of the labelled predictions of the latest labelled day.",
            labels,
            registry=registry,
        ),
        "mae": Gauge(
            "model_realized_mae",
            "Mean absolute error of the labelled predictions of the latest labelled day.",
            labels,
            registry=registry,
        ),
        "coverage": Gauge(
            "model_label_coverage",
            "Share of the latest labelled day's predictions that have a true outcome.",
            labels,
            registry=registry,
        ),
        "labelled": Gauge(
            "model_labelled_predictions",
            "Predictions of the latest labelled day that have a true outcome.",
            labels,
            registry=registry,
        ),
    }
    computed = Gauge(
        "model_realized_performance_timestamp_seconds",
        "When the performance report last ran (Unix time).",
        ["model_name"],
        registry=registry,
    )
    for row in latest(rows):
        for field, gauge in gauges.items():
            value = getattr(row, field)
            if value is not None:
                gauge.labels(row.model_name, row.model_version).set(value)
        computed.labels(row.model_name).set(now.timestamp())
    return registry


def expose(
    rows: Sequence[Performance],
    now: datetime,
    *,
    pushgateway: str | None = None,
    textfile: Path | None = None,
) -> None:
    """Push the latest scores to ``pushgateway`` (one group per model name) and/or write
    them to ``textfile`` (for node-exporter's textfile collector, or a scrape sidecar)."""
    if pushgateway:
        for model_name in sorted({row.model_name for row in rows}):
            own = [row for row in rows if row.model_name == model_name]
            push_to_gateway(
                pushgateway,
                job=PUSH_JOB,
                registry=metrics_registry(own, now),
                grouping_key={"model_name": model_name},
            )
    if textfile:
        textfile.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(textfile), metrics_registry(rows, now))
