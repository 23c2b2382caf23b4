"""The loading experiment shared by HLT-001, RDY-001 and RDY-003.

A container of its own starts with the artificial model-load delay set; liveness,
readiness and inference are polled from the first moment until the service is ready.
The timeline is computed once per session and kept in ``target.memo``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx

from modelrail_conformance.config import Hook
from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.target import Target

LOAD_DELAY_SECONDS = 3


@dataclass
class Probe:
    """One poll: seconds since start, then live/ready/infer status (None: no answer)."""

    at: float
    live: int | None
    ready: int | None
    infer: int | None = None
    infer_seconds: float | None = None


@dataclass
class LoadingTimeline:
    """What the service answered while its model loaded."""

    env: dict[str, str]
    base_url: str = ""
    probes: list[Probe] = field(default_factory=list)
    ready_at: float | None = None

    def loading(self) -> list[Probe]:
        """Probes taken while readiness said 503."""
        return [p for p in self.probes if p.ready == 503]

    def summary(self, limit: int = 12) -> str:
        """A compact rendering for messages."""
        shown = [
            f"t={p.at:.1f}s live={p.live} ready={p.ready}"
            + (f" infer={p.infer}({p.infer_seconds:.2f}s)" if p.infer is not None else "")
            for p in self.probes[:limit]
        ]
        return "; ".join(shown) + (" ..." if len(self.probes) > limit else "")


def _status(client: httpx.Client, method: str, url: str, body: bytes | None = None) -> int | None:
    # Without a content type, some servers (KServe) take a body for binary tensor data.
    headers = {"Content-Type": "application/json"} if body is not None else None
    try:
        return client.request(method, url, content=body, headers=headers, timeout=5.0).status_code
    except httpx.HTTPError:
        return None


def loading_timeline(target: Target) -> LoadingTimeline:
    """Run (once) the delayed-load experiment and return its timeline."""
    target.require_container("a container of its own started with the load-delay variable")
    if "loading" in target.memo:
        return target.memo["loading"]
    config = target.config
    env = {config.hook(Hook.LOAD_DELAY): str(LOAD_DELAY_SECONDS)}
    timeline = LoadingTimeline(env=env)
    body = json.dumps(config.golden_request_body()).encode()
    infer_path = f"/v2/models/{config.model_name}/infer"
    with target.extra_container("loading with a delay", env) as container, httpx.Client() as client:
        base = container.base_url
        timeline.base_url = base
        deadline = time.monotonic() + LOAD_DELAY_SECONDS + config.startup_budget_seconds + 30
        inferred_ok = False
        while time.monotonic() < deadline:
            at = time.monotonic() - container.started_at
            live = _status(client, "GET", base + "/v2/health/live")
            ready = _status(client, "GET", base + "/v2/health/ready")
            probe = Probe(at, live, ready)
            if not inferred_ok:
                started = time.monotonic()
                probe.infer = _status(client, "POST", base + infer_path, body)
                probe.infer_seconds = time.monotonic() - started
                inferred_ok = probe.infer == 200
            timeline.probes.append(probe)
            if ready == 200 and timeline.ready_at is None:
                timeline.ready_at = at
            if timeline.ready_at is not None and inferred_ok:
                break
            if live is None and ready is None and not container.running():
                break
            time.sleep(0.05)
    target.memo["loading"] = timeline
    return timeline


def violation(
    timeline: LoadingTimeline, request: str, received: str, expected: str
) -> RuleViolation:
    """A violation whose reproduction restarts the service with the delay set."""
    ((name, value),) = timeline.env.items()
    return RuleViolation(
        request,
        received,
        expected,
        reproduce=(
            f"docker run --rm -e {name}={value} -p 127.0.0.1:8080:<port> <image> & "
            f"while sleep 0.2; do curl -s -o /dev/null -w '%{{http_code}} ' "
            f"http://127.0.0.1:8080{request.split(' ', 1)[1]}; done"
        ),
        details=timeline.summary(40),
    )
