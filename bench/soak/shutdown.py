"""SIGTERM under load: what became of each request, and whether the log holds every 200.

A few client threads send paced requests, each on a new connection (so that a refused
connection means "not accepted", never a stale keep-alive) with its own ``X-Request-ID``,
while the container is stopped; they go on until connections are refused. `classify`
sorts every outcome; `check_log` compares the prediction log with the 200s.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import httpx


class Outcome(enum.StrEnum):
    """What one request got."""

    ACKNOWLEDGED = "acknowledged"
    """200: the caller holds an answer, so its prediction events must be logged."""
    NOT_ACCEPTED = "not_accepted"
    """503 (draining, shedding) or the connection refused: the caller knows to retry."""
    UNANSWERED = "unanswered"
    """Connected and sent, then no answer (reset, closed, timed out): a violation."""
    OTHER_STATUS = "other_status"
    """Any other status (a 500...): a violation too."""


class Failure(enum.StrEnum):
    """Where a request without an HTTP answer failed."""

    CONNECT = "connect"
    """Before the server took the connection: refused, or no route."""
    AFTER_CONNECT = "after_connect"
    """Once connected: writing, reading, or the server closing without an answer."""


def classify(status: int | None, failure: Failure | None = None) -> Outcome:
    """The outcome of a request that got ``status``, or failed at ``failure``."""
    if status is None:
        if failure is None:
            raise ValueError("a request without a status must say where it failed")
        return Outcome.NOT_ACCEPTED if failure is Failure.CONNECT else Outcome.UNANSWERED
    if status == 200:
        return Outcome.ACKNOWLEDGED
    if status == 503:
        return Outcome.NOT_ACCEPTED
    return Outcome.OTHER_STATUS


def failure_of(err: httpx.TransportError) -> Failure:
    """httpx's errors as `Failure`: only a failed connect means the request was not taken."""
    return (
        Failure.CONNECT
        if isinstance(err, httpx.ConnectError | httpx.ConnectTimeout)
        else (Failure.AFTER_CONNECT)
    )


@dataclass
class Traffic:
    """Every request the client threads sent: id to outcome, and when each was sent."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """The error text of each request that failed after connecting (first few kept)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request_id: str, sent: float, outcome: Outcome, error: str = "") -> None:
        """Keep one request's outcome (thread-safe)."""
        with self.lock:
            self.outcomes[request_id] = outcome
            self.sent_at[request_id] = sent
            if error and outcome is not Outcome.NOT_ACCEPTED and len(self.errors) < 20:
                self.errors[request_id] = error

    def counts(self) -> dict[str, int]:
        """How many requests had each outcome (every outcome listed, zeros included)."""
        found = Counter(self.outcomes.values())
        return {o.value: found.get(o, 0) for o in Outcome}


def drive(
    url: str,
    body: bytes,
    *,
    threads: int,
    rps: float,
    stop: threading.Event,
    traffic: Traffic,
    deadline_s: float,
) -> None:
    """Send ``rps`` requests a second in all from ``threads`` threads until ``stop`` is set
    and every thread has seen a refused connection (or ``deadline_s`` passes)."""
    period = threads / rps

    def worker(number: int) -> None:
        # No keep-alive: each request connects anew, so a refusal is unambiguous.
        limits = httpx.Limits(max_keepalive_connections=0)
        headers = {"Content-Type": "application/json"}
        end = time.monotonic() + deadline_s
        with httpx.Client(timeout=10, limits=limits, headers=headers) as client:
            count = 0
            next_at = time.monotonic()
            while time.monotonic() < end:
                request_id = f"shutdown-{number}-{count:06d}"
                count += 1
                sent = time.monotonic()
                status, failure, error = None, None, ""
                try:
                    status = client.post(
                        url, content=body, headers={"X-Request-ID": request_id}
                    ).status_code
                except httpx.TransportError as err:
                    failure, error = failure_of(err), f"{type(err).__name__}: {err}"
                outcome = classify(status, failure)
                traffic.record(request_id, sent, outcome, error)
                if stop.is_set() and failure is Failure.CONNECT:
                    return
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


@dataclass(frozen=True)
class LogCheck:
    """The prediction log against the acknowledged requests."""

    acknowledged: int
    rows_expected: int
    rows_found: int
    missing_requests: list[str]
    """Acknowledged requests with fewer rows than they sent (none logged, or some)."""
    unacknowledged_logged: int
    """Requests of this run logged without a 200 (a 503 is never logged; harmless)."""

    @property
    def complete(self) -> bool:
        """Every acknowledged request has all its rows."""
        return not self.missing_requests

    def to_dict(self) -> dict[str, object]:
        """Plain dict for the JSON results file (the first missing ids only)."""
        out = asdict(self)
        out["missing_requests"] = self.missing_requests[:20]
        out["missing_count"] = len(self.missing_requests)
        out["complete"] = self.complete
        return out


def check_log(
    outcomes: Mapping[str, Outcome], rows_per_request: int, logged: Iterable[str]
) -> LogCheck:
    """Compare the request ids of the logged rows with the outcomes of this run's requests.

    ``logged`` holds one request id per logged row; rows of other requests (the soak's)
    are ignored.
    """
    rows = Counter(rid for rid in logged if rid in outcomes)
    acked = sorted(rid for rid, o in outcomes.items() if o is Outcome.ACKNOWLEDGED)
    return LogCheck(
        acknowledged=len(acked),
        rows_expected=len(acked) * rows_per_request,
        rows_found=sum(rows[rid] for rid in acked),
        missing_requests=[rid for rid in acked if rows[rid] < rows_per_request],
        unacknowledged_logged=sum(1 for rid in rows if outcomes[rid] is not Outcome.ACKNOWLEDGED),
    )


def read_request_ids(directory: str) -> list[str]:
    """The ``request_id`` of every row of the Parquet files under ``directory``."""
    import pyarrow.dataset as ds

    # The day partitions (date=...) are not needed: only the ids are compared.
    dataset = ds.dataset(directory, format="parquet", partitioning=None)
    return dataset.to_table(columns=["request_id"]).column("request_id").to_pylist()
