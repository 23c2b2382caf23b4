"""The prediction-log writer: a bounded queue in front of a background thread.

The request path only samples and appends to a deque (`offer`); it never waits for the
sink and never fails because of it. The thread writes what is queued every
``flush_seconds``, sooner when the queue is half full, and once more on `close` (at
shutdown).

Reliability: an event is *written* (``prediction_log_events_written_total``) once the sink's
write of its file has returned, that is once the whole object is in the store. A batch the
store refuses is kept, not dropped, and written again after a capped exponential backoff
with jitter (`RetryPolicy`: 0.5 s doubling up to ``PREDICTION_LOG_RETRY_MAX_SECONDS``); each
failed attempt counts in ``prediction_log_write_retries_total`` and
``prediction_log_store_up`` is 0 until a write succeeds again. A retried file keeps its
name, so a write that reached the store but reported a failure is replaced, not duplicated;
a batch spanning two days is two files, retried separately.

Events waiting for a retry count against the queue bound (``PREDICTION_LOG_QUEUE_SIZE``):
while the store is down the queue fills up, and then each further event is dropped and
counted. Every event lost is counted in ``prediction_log_events_dropped_total`` by reason:

- ``queue_full``: the queue (with the events held for a retry) was full;
- ``write_error``: the events could not be turned into a table (never retried);
- ``shutdown``: the store was still refusing them when `close` gave up (one error log).
"""

from __future__ import annotations

import collections
import logging
import random
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge

from .events import InputPolicy, PredictionEvent, to_table
from .sink import ParquetSink, part_name, redacted

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
CLOSE_MARGIN_SECONDS: Final = 5.0
"""How long `close` waits past its deadline for a write still under way."""
PYARROW_LOOKERS: Final = ("sklearn",)
"""Libraries whose predicts look pyarrow up in ``sys.modules``."""
DROP_REASONS = ("queue_full", "write_error", "shutdown")
"""Why an event can be lost (see the module docstring)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long the writer waits before writing a refused batch again."""

    first_seconds: float = 0.5
    max_seconds: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` failed attempts in a row: doubling, capped, jittered.

        The jitter (a random 50-100 % of the step) keeps the replicas of a service from
        retrying in step against a store that is coming back.
        """
        step = min(self.max_seconds, self.first_seconds * 2.0 ** min(failures - 1, 62))
        return step * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


@dataclass
class PendingFile:
    """Events of one day taken from the queue: a file to write, under a name kept across
    retries (so that a retry replaces what an unclear failure may have left)."""

    day: str
    events: list[PredictionEvent]
    """The events, until converted into `table` (then released: only the table is kept)."""
    count: int
    name: str = field(default_factory=part_name)
    table: Any = None
    """The Arrow table, once converted (kept for the retries)."""


class LogMetrics:
    """The writer's families: events written, dropped (by reason), queued, write retries
    and whether the store takes writes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.written = Counter(
            "prediction_log_events_written",
            "Prediction-log events written to the sink.",
            registry=registry,
        )
        self.dropped = Counter(
            "prediction_log_events_dropped",
            "Prediction-log events lost, by reason (queue_full: the queue, with the events "
            "held for a retry, was full; write_error: not convertible to a table; shutdown: "
            "the store still refused them at shutdown).",
            ["reason"],
            registry=registry,
        )
        for reason in DROP_REASONS:
            # Every reason exists from the start, so that increase() sees the first drop.
            self.dropped.labels(reason)
        self.queued = Gauge(
            "prediction_log_queued_events",
            "Prediction-log events waiting to be written (queued or held for a retry).",
            registry=registry,
        )
        self.retries = Counter(
            "prediction_log_write_retries",
            "Failed prediction-log writes that will be tried again after a backoff.",
            registry=registry,
        )
        self.store_up = Gauge(
            "prediction_log_store_up",
            "1 if the last prediction-log write succeeded (or none failed yet), else 0.",
            registry=registry,
        )
        self.store_up.set(1)


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
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.sink = sink
        self._metrics = LogMetrics(registry)
        self._sample_rate = sample_rate
        self._policy = policy
        self._flush_seconds = flush_seconds
        self._retry = retry
        self._capacity = queue_size
        self._wake_at = max(1, queue_size // 2)
        self._queue: collections.deque[PredictionEvent] = collections.deque()
        self._pending: collections.deque[PendingFile] = collections.deque()
        self._held = 0
        """Events taken from the queue and not yet written (only the writer changes it)."""
        self._failures = 0
        """Failed writes in a row."""
        self._retry_at = 0.0
        self._deadline = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._metrics.queued.set_function(lambda: len(self._queue) + self._held)

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
        # Events held for a retry count too: a store that is down fills the queue.
        if len(queue) + self._held >= self._capacity:
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
        """Write everything queued, retrying refused writes for up to ``timeout`` seconds.

        What the store still refuses then is dropped, counted (``reason="shutdown"``) and
        reported in one error log.
        """
        self._deadline = time.monotonic() + timeout
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            # The thread stops retrying at the deadline; the margin is for a write under way.
            thread.join(timeout + CLOSE_MARGIN_SECONDS)
        else:
            self._drain()
        left = len(self._queue) + self._held
        if not left:
            return
        self._metrics.dropped.labels("shutdown").inc(left)
        logger.error(
            "prediction log: %d events lost at shutdown: the store %s still refused them "
            "after %.1fs of retries",
            left,
            self.sink.url,
            timeout,
        )
        if thread is None or not thread.is_alive():
            self._queue.clear()
            self._pending.clear()
            self._held = 0

    def flush(self) -> bool:
        """Write everything queued now (in the calling thread), one file per day.

        Returns:
            False if the store refused a file: it is kept, with what follows it, for a
            retry after the backoff; True when nothing is left to write.
        """
        with self._lock:
            self._take_all()
            while self._pending:
                pending = self._pending[0]
                if pending.table is None and not self._convert(pending):
                    continue
                try:
                    path = self.sink.write(pending.day, pending.table, pending.name)
                except Exception as exc:
                    self._failed(pending, exc)
                    return False
                # The write returned: the whole file is in the store.
                self._pending.popleft()
                self._held -= pending.count
                self._metrics.written.inc(pending.count)
                logger.debug("prediction log: %d events written to %s", pending.count, path)
                self._succeeded()
            return True

    def _run(self) -> None:
        while True:
            waiting = bool(self._pending)
            wait = max(0.0, self._retry_at - time.monotonic()) if waiting else self._flush_seconds
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopping:
                self._drain()
                return
            if self._pending and time.monotonic() < self._retry_at:
                continue  # woken by a half-full queue during the backoff
            self.flush()

    def _drain(self) -> None:
        """Flush, retrying after each backoff until everything is written or the deadline."""
        while not self.flush():
            now = time.monotonic()
            if now >= self._deadline:
                return
            time.sleep(max(0.0, min(self._retry_at, self._deadline) - now))

    def _take_all(self) -> None:
        """Move the queued events into pending files, at most `MAX_EVENTS_PER_FILE` each."""
        queue = self._queue
        while queue:
            batch: list[PredictionEvent] = []
            while queue and len(batch) < MAX_EVENTS_PER_FILE:
                # Held first, then taken: `offer` never sees room that is not there.
                self._held += 1
                batch.append(queue.popleft())
            self._pending.extend(
                PendingFile(day, events, len(events)) for day, events in _by_day(batch).items()
            )

    def _convert(self, pending: PendingFile) -> bool:
        """Make the pending file's table; on failure drop its events (no retry can help)."""
        try:
            pending.table = self._table(pending.events)
            pending.events = []
        except Exception:
            self._pending.popleft()
            self._held -= pending.count
            self._metrics.dropped.labels("write_error").inc(pending.count)
            logger.exception(
                "prediction log: %d events lost, they could not be made into a table",
                pending.count,
            )
            return False
        return True

    def _failed(self, pending: PendingFile, exc: Exception) -> None:
        self._failures += 1
        self._metrics.retries.inc()
        self._metrics.store_up.set(0)
        delay = self._retry.delay(self._failures)
        self._retry_at = time.monotonic() + delay
        # One warning when the store goes away, then debug: an outage is not a log flood.
        log = logger.warning if self._failures == 1 else logger.debug
        log(
            "prediction log: the store %s refused %d events (%s); %d held, retrying in %.1fs",
            self.sink.url,
            pending.count,
            redacted(f"{type(exc).__name__}: {exc}"),
            self._held,
            delay,
        )

    def _succeeded(self) -> None:
        if self._failures:
            logger.warning(
                "prediction log: the store %s takes writes again after %d failed attempts",
                self.sink.url,
                self._failures,
            )
        self._failures = 0
        self._retry_at = 0.0
        self._metrics.store_up.set(1)

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


def _by_day(events: list[PredictionEvent]) -> dict[str, list[PredictionEvent]]:
    """Events grouped by their UTC day (``YYYY-MM-DD``), in order."""
    days = np.array([int(event.timestamp // SECONDS_PER_DAY) for event in events])
    groups: dict[str, list[PredictionEvent]] = {}
    for day in np.unique(days):
        label = time.strftime("%Y-%m-%d", time.gmtime(int(day) * SECONDS_PER_DAY))
        groups[label] = [event for event, d in zip(events, days, strict=True) if d == day]
    return groups
