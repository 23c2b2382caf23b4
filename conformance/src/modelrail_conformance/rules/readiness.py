"""RDY: readiness, start-up and model-load failures."""

from __future__ import annotations

import uuid

from modelrail_conformance.config import Hook
from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules import _oip as oip
from modelrail_conformance.rules._loading import loading_timeline, violation
from modelrail_conformance.rules._support import exchange, model_path, rule
from modelrail_conformance.target import Target

MISSING_MODEL = "/nonexistent/modelrail-missing-model.bin"
QUICK_SECONDS = 1.0


@rule(
    "RDY-001",
    Level.MUST,
    "Readiness is 503 until the model is loaded, then 200",
    needs_container=True,
    hooks=(Hook.LOAD_DELAY,),
)
def ready_after_load(target: Target) -> None:
    """GET /v2/health/ready MUST answer 503 until the model is loaded and 200 from then on.

    Why:
        Traffic routed to a replica whose model is not loaded fails; readiness is the only
        signal the router has.

    Checked by:
        Starting a container of its own with the load-delay variable (``load_delay_env``,
        3 s) and polling readiness: the answers must be 503 (at least once) and then 200,
        never 200 before a 503 and never a status other than these.

    Fix:
        Set a "model loaded" flag only after the model is in memory and answer readiness
        from it; honour the load-delay variable so that the suite can observe loading.
    """
    timeline = loading_timeline(target)
    statuses = [p.ready for p in timeline.probes if p.ready is not None]
    if not statuses:
        raise violation(timeline, "GET /v2/health/ready", "no answer at all", "503 then 200")
    unexpected = [s for s in statuses if s not in (200, 503)]
    if unexpected:
        raise violation(
            timeline, "GET /v2/health/ready", f"{unexpected[0]} while loading", "503 then 200"
        )
    if statuses[0] == 200:
        name = next(iter(timeline.env))
        raise violation(
            timeline,
            "GET /v2/health/ready",
            f"200 at the first answer, with {name}={timeline.env[name]} set",
            "503 while the model loads, then 200",
        )
    if timeline.ready_at is None:
        raise violation(
            timeline,
            "GET /v2/health/ready",
            "503 and never 200",
            "200 once the model is loaded",
        )


@rule("RDY-002", Level.MUST, "Model readiness is 200, unknown models are 404")
def model_ready(target: Target) -> None:
    """GET /v2/models/{name}/ready MUST answer 200 for the served model (and each version it lists) and 404 for an unknown model.

    Why:
        Routers and clients check a model's readiness by name; a 200 for any name hides
        typos and stale routes.

    Checked by:
        Model readiness for ``model_name`` and every version listed in its metadata must
        be 200; for a random unknown name it must be 404.

    Fix:
        Look the name (and version) up in the loaded models and answer 404 when it is not
        there.
    """
    base = target.base_url
    name = target.config.model_name
    ex = exchange(base, "GET", model_path(name) + "/ready", expected="200")
    if ex.status != 200:
        raise RuleViolation(ex.request, ex.describe(), "200", reproduce=ex.curl)
    meta = exchange(base, "GET", model_path(name), expected="200").json() or {}
    for version in meta.get("versions") or []:
        ex = exchange(base, "GET", model_path(name, str(version)) + "/ready", expected="200")
        if ex.status != 200:
            raise RuleViolation(ex.request, ex.describe(), "200", reproduce=ex.curl)
    unknown = f"no-such-model-{uuid.uuid4().hex[:8]}"
    ex = exchange(base, "GET", model_path(unknown) + "/ready", expected="404")
    if ex.status != 404:
        raise RuleViolation(
            ex.request, ex.describe(), "404 for an unknown model", reproduce=ex.curl
        )


@rule(
    "RDY-003",
    Level.MUST,
    "Inference before ready is a quick 503",
    needs_container=True,
    hooks=(Hook.LOAD_DELAY,),
)
def infer_before_ready(target: Target) -> None:
    """POST /v2/models/{name}/infer MUST answer 503 within 1 s while the model is not loaded.

    Why:
        Requests that hang until the model loads pile up in clients and load balancers;
        a quick 503 lets them retry elsewhere.

    Checked by:
        During the delayed start of RDY-001, the golden request is sent at every poll
        until it succeeds; every answer before the first 200 must be a 503 within 1 s, and
        there must be at least one (the load takes 3 s).

    Fix:
        Check the "model loaded" flag first in the inference handler and return 503 with
        ``{"error": ...}`` instead of waiting for the load.
    """
    timeline = loading_timeline(target)
    path = f"POST /v2/models/{target.config.model_name}/infer"
    answered = [p for p in timeline.probes if p.infer is not None]
    before_ok = []
    for probe in answered:
        if probe.infer == 200:
            break
        before_ok.append(probe)
    if not before_ok:
        raise violation(
            timeline,
            path,
            "200 at the first answer, with the load delay set" if answered else "no answer",
            "a 503 within 1 s while the model loads (the service must honour the load-delay variable)",
        )
    for probe in before_ok:
        seconds = probe.infer_seconds or 0.0
        if probe.infer != 503 or seconds > QUICK_SECONDS:
            raise violation(
                timeline, path,
                f"{probe.infer} after {seconds:.2f} s at t={probe.at:.1f}s, before the model was loaded",
                f"503 within {QUICK_SECONDS:.0f} s",
            )  # fmt: skip


@rule("RDY-004", Level.MUST, "Ready within the start-up budget", needs_container=True)
def ready_within_budget(target: Target) -> None:
    """The service MUST report ready within ``startup_budget_seconds`` of its container starting.

    Why:
        Slow starts make scaling and rollouts slow, and orchestrators give up on them.

    Checked by:
        Timing the main container from start to the first 200 on /v2/health/ready (no
        load delay set).

    Fix:
        Load the model once at start-up without extra work (no training, no downloads at
        start); raise ``startup_budget_seconds`` only with a reason.
    """
    target.main  # noqa: B018 - starts the main container and times it
    seconds = target.startup_seconds or 0.0
    budget = target.config.startup_budget_seconds
    if seconds > budget:
        raise RuleViolation(
            "container start -> GET /v2/health/ready",
            f"ready after {seconds:.1f} s",
            f"ready within {budget:g} s (startup_budget_seconds)",
            reproduce="time (docker run -d ... ; until curl -sf http://127.0.0.1:PORT/v2/health/ready; do sleep 0.1; done)",
        )


@rule(
    "RDY-005",
    Level.SHOULD,
    "A model that fails to load makes the process exit non-zero",
    needs_container=True,
    hooks=(Hook.MODEL_URI,),
)
def exit_on_load_failure(target: Target) -> None:
    """A service whose model cannot be loaded SHOULD exit with a non-zero code within the start-up budget.

    Why:
        A process that stays up without a model is "running but never ready"; crashing
        makes the failure visible (CrashLoopBackOff) and keeps the old version serving.

    Checked by:
        Starting a container of its own with ``model_uri_env`` pointing at a missing
        file and waiting up to ``startup_budget_seconds`` + 5 s for it to exit non-zero.

    Fix:
        Let model-loading errors propagate out of start-up (or ``sys.exit(1)`` after
        logging them).
    """
    config = target.config
    variable = config.hook(Hook.MODEL_URI)
    env = {variable: MISSING_MODEL}
    with target.extra_container("missing model", env) as container:
        code = container.wait_exit(config.startup_budget_seconds + 5)
    reproduce = f"docker run --rm -e {variable}={MISSING_MODEL} <image>; echo $?"
    if code is None:
        raise RuleViolation(
            f"start with {variable}={MISSING_MODEL}",
            f"still running after {config.startup_budget_seconds + 5:g} s",
            "exit with a non-zero code",
            reproduce=reproduce,
        )
    if code == 0:
        raise RuleViolation(
            f"start with {variable}={MISSING_MODEL}",
            "exit code 0",
            "a non-zero exit code",
            reproduce=reproduce,
        )


@rule(
    "RDY-006", Level.MUST, "Server readiness is 200 once the model is loaded", spec=oip.SERVER_READY
)
def server_ready(target: Target) -> None:
    """GET /v2/health/ready MUST answer 200 once the served model is loaded.

    Why:
        Orchestrators route traffic by it (the protocol names it for the Kubernetes
        readinessProbe); a server that never says ready never gets traffic.

    Checked by:
        GET /v2/health/ready on the running service, after the suite has seen it answer
        (the main container is started by waiting for this 200; a base URL is asked once).

    Fix:
        Serve GET /v2/health/ready, answering 200 when every model is loaded.
    """
    ex = exchange(target.base_url, "GET", "/v2/health/ready", expected="200")
    if ex.status != 200:
        raise RuleViolation(ex.request, ex.describe(), "200", reproduce=ex.curl)


@rule("RDY-007", Level.MUST, "Model readiness is 200 for the served model", spec=oip.MODEL_READY)
def served_model_ready(target: Target) -> None:
    """GET /v2/models/{name}/ready MUST answer 200 for the served, loaded model.

    Why:
        Clients and routers ask whether the model they call is ready by its name.

    Checked by:
        GET /v2/models/{model_name}/ready on the running service. (RDY-002 asks more of a
        platform service: each listed version too, and 404 for an unknown model.)

    Fix:
        Serve GET /v2/models/{name}/ready for each loaded model.
    """
    path = model_path(target.config.model_name) + "/ready"
    ex = exchange(target.base_url, "GET", path, expected="200")
    if ex.status != 200:
        raise RuleViolation(ex.request, ex.describe(), "200", reproduce=ex.curl)


RULES = (
    ready_after_load,
    model_ready,
    infer_before_ready,
    ready_within_budget,
    exit_on_load_failure,
    server_ready,
    served_model_ready,
)
