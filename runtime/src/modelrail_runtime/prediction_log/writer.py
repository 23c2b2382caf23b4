"""The prediction-log writer: a bounded queue in front of a background thread.

The request path only samples and appends to a deque (`offer`); it never waits for the
sink and never fails because of it. When the queue is full the event is dropped and
counted (``prediction_log_events_dropped_total{reason="queue_full"}``). The thread writes
what is queued every ``flush_seconds``, sooner when the queue is half full, and once more
on `close` (at shutdown), so that nothing accepted is lost on SIGTERM. A batch the sink
refuses is dropped and counted (``reason="write_error"``) and logged.
"""

from __future__ import annotations

import collections
import logging
import random
import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge

from .events import InputPolicy, PredictionEvent, to_table
from .sink import ParquetSink

if TYPE_CHECKING:
    from ..adapter import Tensor
    from ..model import LoadedModel

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_FILE = 50_000
ROWS_PER_CONVERSION: Final = 4096
"""Rows turned into Arrow columns per step. Each step runs in C holding the GIL, which the
request path then waits for: a file of a busy flush interval holds a million rows and more,
and converting it at once stalled requests for a tenth of a second and more (measured with
64-row requests); steps of this size keep each wait near a millisecond."""
SECONDS_PER_DAY = 86_400
PYARROW_LOOKERS: Final = ("sklearn",)
"""Libraries whose predicts look pyarrow up in ``sys.modules``."""
DROP_REASONS = ("queue_full", "write_error")
"""Why an event can be lost: the queue was full, or its batch failed to write."""


class LogMetrics:
    """The writer's families: events written, dropped (by reason) and queued."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.written = Counter(
            "prediction_log_events_written",
            "Prediction-log events written to the sink.",
            registry=registry,
        )
        self.dropped = Counter(
            "prediction_log_events_dropped",
            "Prediction-log events lost, by reason (queue_full: the writer fell behind; "
            "write_error: the sink refused a batch).",
            ["reason"],
            registry=registry,
        )
        for reason in DROP_REASONS:
            # Every reason exists from the start, so that increase() sees the first drop.
            self.dropped.labels(reason)
        self.queued = Gauge(
            "prediction_log_queued_events",
            "Prediction-log events waiting to be written.",
            registry=registry,
        )


class PredictionLogWriter:
    """Samples predictions into a bounded queue; a thread writes them to the sink."""

    def __init__(
        self,
        sink: ParquetSink,
        registry: CollectorRegistry,
        *,
        sample_rate: float,
        policy: InputPolicy,
        flush_seconds: float,
        queue_size: int,
    ) -> None:
        self.sink = sink
        self._metrics = LogMetrics(registry)
        self._sample_rate = sample_rate
        self._policy = policy
        self._flush_seconds = flush_seconds
        self._capacity = queue_size
        self._wake_at = max(1, queue_size // 2)
        self._queue: collections.deque[PredictionEvent] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._metrics.queued.set_function(lambda: len(self._queue))

    def offer(
        self,
        model: LoadedModel,
        request_id: str,
        latency_seconds: float,
        inputs: Mapping[str, Tensor],
        outputs: Mapping[str, Tensor],
    ) -> None:
        """Queue one prediction (if sampled); O(1), never blocks, never raises."""
        if self._sample_rate < 1.0 and random.random() >= self._sample_rate:  # noqa: S311 - sampling, not security
            return
        queue = self._queue
        if len(queue) >= self._capacity:
            self._metrics.dropped.labels("queue_full").inc()
            return
        queue.append(
            PredictionEvent(
                time.time(),
                request_id,
                model.name,
                model.version,
                model.signature,
                latency_seconds,
                inputs,
                outputs,
            )
        )
        if len(queue) == self._wake_at:
            self._wake.set()

    def prepare(self) -> None:
        """Import the Parquet writer now (otherwise the first flush does)."""
        import pyarrow.parquet  # noqa: F401, PLC0415

    def prepare_before_predicts(self) -> None:
        """Import the Parquet writer now if the loaded model's library could race it.

        The app calls this once the model is loaded, before its first predict. pyarrow
        takes longer to import than the rest of the service, so it is left to the first
        flush, in the writer thread, when nothing looks for it: but scikit-learn checks
        whether each input is a pyarrow table, and a pyarrow that another thread is still
        importing is half there, so a predict racing that import fails (the warm-up did,
        and `PREDICT_MODE=auto` then chose threads). With one of `PYARROW_LOOKERS` loaded
        the import comes first.
        """
        if any(name in sys.modules for name in PYARROW_LOOKERS):
            self.prepare()

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread (waits up to ``timeout``)."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)
            if thread.is_alive():
                logger.error(
                    "prediction log: %d events still queued after %.0fs at shutdown",
                    len(self._queue),
                    timeout,
                )
                return
        # The thread has written everything, or never ran: write what is left here.
        self.flush()

    def flush(self) -> None:
        """Write everything queued now (in the calling thread)."""
        while self._queue:
            batch = self._take(MAX_EVENTS_PER_FILE)
            for day, events in _by_day(batch).items():
                self._write(day, events)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            stopping = self._stopping
            self.flush()
            if stopping:
                return

    def _table(self, events: list[PredictionEvent]) -> Any:
        """One Arrow table of ``events``, converted in steps of `ROWS_PER_CONVERSION` rows."""
        import pyarrow as pa  # noqa: PLC0415 - the writer thread's, like the sink's

        tables, start, rows = [], 0, 0
        for end, event in enumerate(events, start=1):
            rows += event.rows
            if rows >= ROWS_PER_CONVERSION or end == len(events):
                tables.append(to_table(events[start:end], self._policy))
                start, rows = end, 0
        if len(tables) <= 1:
            return tables[0] if tables else to_table(events, self._policy)
        return pa.concat_tables(tables)

    def _take(self, limit: int) -> list[PredictionEvent]:
        queue = self._queue
        batch: list[PredictionEvent] = []
        while queue and len(batch) < limit:
            batch.append(queue.popleft())
        return batch

    def _write(self, day: str, events: list[PredictionEvent]) -> None:
        try:
            path = self.sink.write(day, self._table(events))
        except Exception:
            self._metrics.dropped.labels("write_error").inc(len(events))
            logger.exception(
                "prediction log: %d events lost, the sink %s refused them",
                len(events),
                self.sink.url,
            )
            return
        self._metrics.written.inc(len(events))
        logger.debug("prediction log: %d events written to %s", len(events), path)


def _by_day(events: list[PredictionEvent]) -> dict[str, list[PredictionEvent]]:
    """Events grouped by their UTC day (``YYYY-MM-DD``), in order."""
    days = np.array([int(event.timestamp // SECONDS_PER_DAY) for event in events])
    groups: dict[str, list[PredictionEvent]] = {}
    for day in np.unique(days):
        label = time.strftime("%Y-%m-%d", time.gmtime(int(day) * SECONDS_PER_DAY))
        groups[label] = [event for event, d in zip(events, days, strict=True) if d == day]
    return groups
