"""The service's side of ground truth: labels written to the lake before they are
acknowledged, and counted."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter

from ..prediction_log.sink import ParquetSink, redacted
from .labels import Label, labels_table


class LabelStoreError(Exception):
    """The labels root cannot be written now; the labels were not stored."""


class LabelIntake:
    """Writes each request's labels as one Parquet file under ``LABELS_URL``.

    Compaction merges the small files later; one file per request keeps a label that was
    acknowledged stored, whatever happens to the process afterwards.
    """

    def __init__(self, url: str, registry: CollectorRegistry) -> None:
        self.url = url
        self._sink: ParquetSink | None = None
        self._lock = threading.Lock()
        self.received = Counter(
            "model_labels_received",
            "True outcomes (labels) stored through the labels endpoint.",
            ["model_name"],
            registry=registry,
        )
        self.write_failures = Counter(
            "model_label_write_failures",
            "Label requests refused with 503 because LABELS_URL could not be written.",
            ["model_name"],
            registry=registry,
        )

    def write(self, model_name: str, labels: Sequence[Label], source: str) -> str:
        """Store ``labels`` (blocking: call it in a worker thread); the file's path.

        Raises:
            LabelStoreError: the store is unreachable or refuses the write.
        """
        observed_at = datetime.now(UTC)
        table = labels_table(labels, source, observed_at.timestamp())
        try:
            path = self._open().write(observed_at.strftime("%Y-%m-%d"), table)
        except Exception as exc:
            self.write_failures.labels(model_name).inc()
            reason = redacted(f"{type(exc).__name__}: {exc}")
            raise LabelStoreError(f"{redacted(self.url)} cannot be written: {reason}") from exc
        self.received.labels(model_name).inc(len(labels))
        return path

    def _open(self) -> ParquetSink:
        # Opened at the first request, not at start-up: a store that is down must not stop
        # the service from serving predictions, only this endpoint from acknowledging.
        with self._lock:
            if self._sink is None:
                self._sink = ParquetSink(self.url)
            return self._sink
