"""HLT: liveness and health endpoints."""

from __future__ import annotations

import asyncio

from modelrail_conformance.config import Hook
from modelrail_conformance.failures import NotApplicable, RuleViolation
from modelrail_conformance.load import require_loopback, run_load_with_probes
from modelrail_conformance.registry import Level
from modelrail_conformance.rules import _oip as oip
from modelrail_conformance.rules._loading import loading_timeline, violation
from modelrail_conformance.rules._support import curl, exchange, fetch_metrics, rule
from modelrail_conformance.rules._tensors import load_request_bodies
from modelrail_conformance.target import Target


@rule(
    "HLT-001",
    Level.MUST,
    "Liveness is 200 from port bind on, also while loading",
    needs_container=True,
    hooks=(Hook.LOAD_DELAY,),
)
def liveness_while_loading(target: Target) -> None:
    """GET /v2/health/live MUST answer 200 as soon as the port accepts connections, including while the model is still loading.

    Why:
        An orchestrator that sees a failing liveness probe during a slow model load kills
        the pod, which restarts the load: the service never comes up.

    Checked by:
        Starting a container of its own with the load-delay variable (``load_delay_env``,
        3 s), polling liveness from the first moment; every answer must be 200, the first
        one included.

    Fix:
        Serve liveness from the web process itself, independent of model state; report
        model state only through readiness.
    """
    timeline = loading_timeline(target)
    answered = [p for p in timeline.probes if p.live is not None]
    if not answered:
        raise violation(timeline, "GET /v2/health/live", "no answer at all", "200")
    for probe in answered:
        if probe.live != 200:
            state = "while readiness was 503" if probe.ready == 503 else "during start-up"
            raise violation(
                timeline,
                "GET /v2/health/live",
                f"{probe.live} at t={probe.at:.1f}s {state}",
                "200 from the first answer on",
            )


@rule("HLT-002", Level.MUST, "Liveness does not depend on the model")
def liveness_independent_of_model(target: Target) -> None:
    """GET /v2/health/live MUST NOT run or depend on the model: a liveness probe performs no inference.

    Why:
        A "deep" liveness check that runs the model turns a slow or busy model into
        restarts, and makes every probe cost an inference.

    Checked by:
        Sending the golden request once (so that the series exist), reading
        ``model_inference_requests_total`` from /metrics, calling liveness 5 times,
        and reading it again: the counter must not move. Not applicable when /metrics does
        not expose that counter (MET-004 reports that).

    Fix:
        Return 200 from liveness without touching the model; use readiness for model state.
    """
    base = target.base_url

    def inference_count() -> float:
        try:
            _, expo = fetch_metrics(target.metrics_url)
        except RuleViolation as exc:
            raise NotApplicable(f"/metrics is unavailable ({exc.received})") from exc
        if "model_inference_requests_total" not in {s.name for s in expo.samples}:
            raise NotApplicable("/metrics has no model_inference_requests_total (see MET-004)")
        return expo.total("model_inference_requests_total")

    golden = target.config.golden_request_body()
    infer = f"/v2/models/{target.config.model_name}/infer"
    exchange(base, "POST", infer, json_body=golden, expected="200")  # creates the series
    before = inference_count()
    for _ in range(5):
        ex = exchange(base, "GET", "/v2/health/live", expected="200")
        if ex.status != 200:
            raise RuleViolation(ex.request, ex.describe(), "200", reproduce=ex.curl)
    after = inference_count()
    if after != before:
        raise RuleViolation(
            "GET /v2/health/live (5 times)",
            f"model_inference_requests_total grew by {after - before:g}",
            "no inference: the counter unchanged",
            reproduce=f"{curl('GET', base + '/v2/health/live')}; curl -s {base}/metrics "
            f"| grep model_inference_requests_total",
        )


@rule("HLT-003", Level.MUST, "Health endpoints answer within 1 s under load")
def health_under_load(target: Target) -> None:
    """GET /v2/health/live and /v2/health/ready MUST answer within 1 s while the service is under inference load at the configured concurrency.

    Why:
        Probes that time out under load make the orchestrator restart or unroute exactly
        the replicas that are busiest, turning load into an outage.

    Checked by:
        Running inference load (LAT-001's: the golden request or, for a text model, its
        variants with generated sentences; ``latency.concurrency`` clients, at most
        3 s and ``latency.requests`` requests) on loopback while probing both health
        endpoints every 100 ms; every probe must be a 200 within 1 s.

    Fix:
        Do not block the event loop in inference (run the model in a thread pool or a
        worker process) and keep health handlers free of locks the model holds.
    """
    base = target.base_url
    require_loopback(base)
    config = target.config
    first, *more = load_request_bodies(target)
    result = asyncio.run(
        run_load_with_probes(
            base,
            f"/v2/models/{config.model_name}/infer",
            first,
            concurrency=config.latency.concurrency,
            requests=config.latency.requests,
            max_seconds=3.0,
            probe_paths=("/v2/health/live", "/v2/health/ready"),
            more_bodies=more,
        )
    )
    if not result.probes:
        raise RuleViolation(
            "GET /v2/health/live under load", "no probe completed", "200 within 1 s"
        )
    worst = max(result.probes, key=lambda p: (p[2] != 200, p[1]))
    path, seconds, status = worst
    if status != 200 or seconds > 1.0:
        raise RuleViolation(
            f"GET {path} during inference load ({result.sent} requests at concurrency "
            f"{config.latency.concurrency})",
            f"{status if status else 'no answer'} after {seconds:.2f} s",
            "200 within 1 s",
            reproduce=curl("GET", base + path) + " (while the load runs)",
        )


@rule("HLT-004", Level.MUST, "Server liveness is 200", spec=oip.SERVER_LIVE)
def server_live(target: Target) -> None:
    """GET /v2/health/live MUST answer 200 while the server can take metadata and inference requests.

    Why:
        Orchestrators restart a server whose liveness fails (the protocol names it for the
        Kubernetes livenessProbe).

    Checked by:
        GET /v2/health/live on the running, ready service.

    Fix:
        Serve GET /v2/health/live from the web process, answering 200.
    """
    ex = exchange(target.base_url, "GET", "/v2/health/live", expected="200")
    if ex.status != 200:
        raise RuleViolation(ex.request, ex.describe(), "200", reproduce=ex.curl)


RULES = (liveness_while_loading, liveness_independent_of_model, health_under_load, server_live)
