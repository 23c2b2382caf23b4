"""A small asyncio load generator: one keep-alive connection per worker (`keepalive`).

Bounded in requests *and* seconds, loopback only: it refuses any other host. A run is a
warm-up phase (not measured) followed by a measured phase; the result gives p50/p95/p99,
max, throughput and errors.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from modelrail_conformance.failures import NotApplicable
from modelrail_conformance.keepalive import KeepAliveConnection, ProtocolError
from modelrail_conformance.target import is_loopback

REQUEST_TIMEOUT = 10.0


def require_loopback(base_url: str, what: str = "load") -> None:
    """Raise NotApplicable unless the service is on this machine's loopback.

    Args:
        base_url: The service's base URL.
        what: What would be sent, for the message (``load``, ``generated requests``).
    """
    if not is_loopback(base_url):
        raise NotApplicable(
            f"the suite sends {what} only to loopback, and {base_url} is not on 127.0.0.0/8 or ::1"
        )


@dataclass
class LoadResult:
    """What a load run measured (latencies in seconds)."""

    concurrency: int
    warmup_sent: int = 0
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    duration: float = 0.0
    probes: list[tuple[str, float, int]] = field(default_factory=list)

    @property
    def measured(self) -> int:
        """Requests in the measured phase."""
        return len(self.latencies)

    @property
    def failures(self) -> int:
        """Measured requests that were not 2xx (0 = no answer)."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def percentile(self, pct: float) -> float:
        """Nearest-rank percentile of the measured latencies (seconds)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
        return ordered[rank - 1]

    @property
    def throughput(self) -> float:
        """Measured requests per second."""
        return self.measured / self.duration if self.duration else 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-friendly numbers for the report."""
        ms = 1000.0
        return {
            "concurrency": self.concurrency,
            "warmup_requests": self.warmup_sent,
            "measured_requests": self.measured,
            "p50_ms": round(self.percentile(50) * ms, 3),
            "p95_ms": round(self.percentile(95) * ms, 3),
            "p99_ms": round(self.percentile(99) * ms, 3),
            "max_ms": round(max(self.latencies, default=0.0) * ms, 3),
            "throughput_rps": round(self.throughput, 1),
            "errors": self.failures,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }

    def describe(self) -> str:
        """One line for messages."""
        s = self.summary()
        return (
            f"p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, "
            f"max {s['max_ms']:.1f} ms, {s['throughput_rps']} req/s, "
            f"{s['errors']} errors of {s['measured_requests']}"
        )


async def _phase(
    url: str,
    contents: Sequence[bytes],
    *,
    concurrency: int,
    count: int,
    deadline: float,
    sink: list[tuple[float, int, str]],
) -> None:
    counter = itertools.count()

    async def worker(index: int) -> None:
        connection = KeepAliveConnection(url, contents, start=index)
        try:
            while time.monotonic() < deadline and next(counter) < count:
                started = time.perf_counter()
                try:
                    status = await asyncio.wait_for(connection.post(), REQUEST_TIMEOUT)
                    sink.append((time.perf_counter() - started, status, ""))
                except (OSError, ProtocolError, TimeoutError) as exc:
                    await connection.close()
                    error = f"{type(exc).__name__}: {exc}"
                    sink.append((time.perf_counter() - started, 0, error))
        finally:
            await connection.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))


async def run_load(
    base_url: str,
    path: str,
    body: Any,
    *,
    concurrency: int,
    warmup: int,
    requests: int,
    max_seconds: float,
    more_bodies: Sequence[Any] = (),
) -> LoadResult:
    """Warm up, then measure ``requests`` POSTs of ``body`` (JSON), within ``max_seconds``.

    With ``more_bodies``, each connection sends ``body`` and those in turn (each starting
    at another one), so that a text model sees different texts.
    """
    return await run_load_with_probes(
        base_url,
        path,
        body,
        concurrency=concurrency,
        warmup=warmup,
        requests=requests,
        max_seconds=max_seconds,
        more_bodies=more_bodies,
    )


async def run_load_with_probes(
    base_url: str,
    path: str,
    body: Any,
    *,
    concurrency: int,
    requests: int,
    max_seconds: float,
    warmup: int = 0,
    probe_paths: tuple[str, ...] = (),
    probe_interval: float = 0.1,
    more_bodies: Sequence[Any] = (),
) -> LoadResult:
    """Like :func:`run_load`, probing ``probe_paths`` during the measured phase."""
    require_loopback(base_url)
    url = base_url.rstrip("/") + path
    contents = [json.dumps(b).encode() for b in (body, *more_bodies)]
    result = LoadResult(concurrency=concurrency)
    start = time.monotonic()
    if warmup:
        sink: list[tuple[float, int, str]] = []
        await _phase(
            url,
            contents,
            concurrency=concurrency,
            count=warmup,
            deadline=start + max_seconds / 3,
            sink=sink,
        )
        result.warmup_sent = len(sink)
    measured: list[tuple[float, int, str]] = []
    done = asyncio.Event()

    async def prober() -> None:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as probe_client:
            while not done.is_set():
                for probe_path in probe_paths:
                    began = time.perf_counter()
                    try:
                        status = (await probe_client.get(base_url + probe_path)).status_code
                    except httpx.HTTPError:
                        status = 0
                    result.probes.append((probe_path, time.perf_counter() - began, status))
                await asyncio.sleep(probe_interval)

    probe_task = asyncio.create_task(prober()) if probe_paths else None
    began = time.monotonic()
    await _phase(
        url,
        contents,
        concurrency=concurrency,
        count=requests,
        deadline=start + max_seconds,
        sink=measured,
    )
    result.duration = time.monotonic() - began
    done.set()
    if probe_task is not None:
        await probe_task
    result.sent = result.warmup_sent + len(measured)
    for seconds, status, error in measured:
        result.latencies.append(seconds)
        result.statuses[status] += 1
        if error and len(result.errors) < 5:
            result.errors.append(error)
    return result


async def run_burst(
    base_url: str,
    path: str,
    body: Any,
    *,
    size: int,
    timeout: float,
    more_bodies: Sequence[Any] = (),
) -> list[tuple[float, int]]:
    """Send ``size`` requests at once (one connection each); (seconds, status) per request.

    With ``more_bodies``, the requests take ``body`` and those in turn.
    """
    require_loopback(base_url)
    url = base_url.rstrip("/") + path
    contents = [json.dumps(b).encode() for b in (body, *more_bodies)]
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(timeout)) as client:

        async def one(content: bytes) -> tuple[float, int]:
            started = time.perf_counter()
            try:
                response = await client.post(
                    url, content=content, headers={"Content-Type": "application/json"}
                )
                return time.perf_counter() - started, response.status_code
            except httpx.HTTPError:
                return time.perf_counter() - started, 0

        return list(await asyncio.gather(*(one(contents[i % len(contents)]) for i in range(size))))
