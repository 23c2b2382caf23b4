"""LAT: latency under load, errors under load, overload behaviour."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.load import LoadResult, require_loopback, run_burst, run_load
from modelrail_conformance.registry import Level
from modelrail_conformance.rules._support import Exposition, fetch_metrics, model_path, rule
from modelrail_conformance.rules._tensors import load_request_bodies
from modelrail_conformance.rules.metrics import HTTP_HISTOGRAM, _route_matches
from modelrail_conformance.target import Target


@dataclass
class LoadRun:
    """The shared measured run and the server's view of it."""

    result: LoadResult
    before: Exposition | None
    after: Exposition | None


def _reproduce(target: Target) -> str:
    lat = target.config.latency
    return (
        f"modelrail-conformance --modelrail-rules LAT-001 (concurrency {lat.concurrency}, "
        f"{lat.warmup_requests} warm-up + {lat.requests} requests, max {lat.max_seconds:g} s)"
    )


def load_run(target: Target) -> LoadRun:
    """Run (once) the warm-up + measured load with the golden request (or its text variants)."""
    base = target.base_url
    require_loopback(base)
    if "load" not in target.memo:
        config = target.config
        lat = config.latency
        first, *more = load_request_bodies(target)

        def scrape() -> Exposition | None:
            try:
                return fetch_metrics(target.metrics_url)[1]
            except RuleViolation:
                return None

        before = scrape()
        result = asyncio.run(
            run_load(
                base,
                model_path(config.model_name) + "/infer",
                first,
                concurrency=lat.concurrency,
                warmup=lat.warmup_requests,
                requests=lat.requests,
                max_seconds=lat.max_seconds,
                more_bodies=more,
            )
        )
        target.memo["load"] = LoadRun(result, before, scrape())
        target.memo["latency_report"] = {
            **result.summary(),
            "slo_p99_ms": lat.p99_ms,
            "distinct_bodies": 1 + len(more),
            "latencies_ms": [round(x * 1000, 3) for x in result.latencies],
        }
    return target.memo["load"]


@rule("LAT-001", Level.MUST, "p99 latency within the SLO after warm-up")
def p99_within_slo(target: Target) -> None:
    """After warm-up, the client-side p99 latency of the golden request at the configured concurrency MUST be within ``latency.p99_ms``.

    Why:
        The SLO is what callers budget for; a service that misses it on an idle loopback
        will miss it in production.

    Checked by:
        The built-in load generator on loopback: ``warmup_requests`` unmeasured, then up
        to ``requests`` measured with ``concurrency`` connections, bounded by
        ``max_seconds``; p50/p95/p99/max and throughput go to the report. For a model
        that takes free text (a BYTES input whose golden values have 3 words or more),
        the connections cycle through 16 variants of the golden request whose texts are
        seeded sentences from a fixed word list, each as many words long as the golden
        text it replaces: the model does the work of real text, never a cached answer.

    Fix:
        Profile the model call, keep the model in memory, avoid per-request set-up, and run
        CPU-bound inference off the event loop.
    """
    run = load_run(target)
    slo = target.config.latency.p99_ms
    p99_ms = run.result.percentile(99) * 1000
    if not run.result.measured or p99_ms > slo:
        raise RuleViolation(
            f"load: POST {model_path(target.config.model_name)}/infer",
            f"p99 {p99_ms:.1f} ms ({run.result.describe()})",
            f"p99 <= {slo:g} ms",
            reproduce=_reproduce(target),
        )


@rule("LAT-002", Level.SHOULD, "No errors during the load run")
def no_errors_under_load(target: Target) -> None:
    """Every request of the measured load run SHOULD succeed (2xx).

    Why:
        Errors at the configured concurrency mean the service cannot carry its expected
        load, even if the successful requests are fast.

    Checked by:
        Counting non-2xx statuses and transport errors in LAT-001's measured run.

    Fix:
        Size worker and connection limits for the configured concurrency.
    """
    result = load_run(target).result
    if result.failures:
        raise RuleViolation(
            f"load: POST {model_path(target.config.model_name)}/infer",
            f"{result.failures} errors of {result.measured} (statuses {dict(result.statuses)}"
            + (f"; {result.errors[0]}" if result.errors else "")
            + ")",
            "no errors",
            reproduce=_reproduce(target),
        )


@rule("LAT-003", Level.SHOULD, "The server's histogram agrees with the client's count")
def server_count_agrees(target: Target) -> None:
    """The growth of ``http_server_request_duration_seconds_count`` for the infer route SHOULD equal the number of requests the client sent during the load run.

    Why:
        If the server's own metrics miss requests under load, dashboards and SLO alerts
        under-report exactly when it matters.

    Checked by:
        Scraping /metrics before and after LAT-001's run (warm-up included) and comparing
        the POST series whose route template matches the infer path.

    Fix:
        Record the histogram in middleware that sees every response, including errors and
        cancelled requests.
    """
    run = load_run(target)
    path = model_path(target.config.model_name) + "/infer"
    name = HTTP_HISTOGRAM + "_count"

    def count(expo: Exposition | None) -> float | None:
        if expo is None:
            return None
        return sum(
            s.value
            for s in expo.find(name, http_request_method="POST")
            if _route_matches(s.labels.get("http_route", ""), path)
        )

    before, after = count(run.before), count(run.after)
    if before is None or after is None or after - before != run.result.sent:
        grown = (
            "unknown (/metrics unavailable)"
            if before is None or after is None
            else f"{after - before:g}"
        )
        raise RuleViolation(
            f"load: {run.result.sent} x POST {path}",
            f"server count grew by {grown}",
            f"growth by {run.result.sent}",
            reproduce=_reproduce(target),
        )


@rule("LAT-004", Level.SHOULD, "Overload is shed with 429/503, not queued without bound")
def overload_shed(target: Target) -> None:
    """Under a burst of 8 x concurrency simultaneous requests, every request SHOULD be answered within max(1 s, 10 x p99 SLO): served, or shed with 429 or 503.

    Why:
        An unbounded queue turns overload into timeouts for everyone; shedding keeps
        latency bounded for the requests that are served and tells clients to back off.

    Checked by:
        Sending the burst at once on loopback (at most 128 requests; for a text model,
        LAT-001's text variants in turn) and checking each request's status and time.

    Fix:
        Limit in-flight inferences (a semaphore sized to the workers) and answer 503 with
        ``Retry-After`` when it is full.
    """
    base = target.base_url
    require_loopback(base)
    lat = target.config.latency
    size = min(128, lat.concurrency * 8)
    bound = max(1.0, 10 * lat.p99_ms / 1000)
    path = model_path(target.config.model_name) + "/infer"
    first, *more = load_request_bodies(target)
    results = asyncio.run(
        run_burst(base, path, first, size=size, timeout=bound + 5, more_bodies=more)
    )
    slow = [(s, status) for s, status in results if s > bound or status == 0]
    if slow:
        seconds, status = max(slow)
        raise RuleViolation(
            f"burst of {size} x POST {path}",
            f"{len(slow)} requests slower than {bound:g} s (worst {seconds:.2f} s, status {status or 'none'})",
            f"each answered within {bound:g} s (200, or 429/503 when shed)",
            reproduce=_reproduce(target).replace("LAT-001", "LAT-004"),
        )


RULES = (p99_within_slo, no_errors_under_load, server_count_agrees, overload_shed)
