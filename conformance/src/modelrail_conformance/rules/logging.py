"""LOG: structured logs, access records, request ids, payload hygiene."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules._support import exchange, model_path, rule
from modelrail_conformance.target import Target

REQUIRED_FIELDS = ("timestamp", "level", "message", "service.name", "service.version")
ACCESS_FIELDS = (
    "request_id", "http.request.method", "url.path", "http.route",
    "http.response.status_code", "duration_ms",
)  # fmt: skip
CANARY_NUMBER = 7315.0091357


def field(record: dict[str, Any], dotted: str) -> Any:
    """A field by dotted name, flat (``"service.name"``) or nested (``{"service": {"name"}}``)."""
    if dotted in record:
        return record[dotted]
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def records(text: str) -> list[tuple[str, dict[str, Any] | None]]:
    """Each non-empty stdout line with its JSON object (None when it is not one)."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        out.append((line, obj if isinstance(obj, dict) else None))
    return out


def access_records(target: Target, request_id: str, wait: float = 2.0) -> list[dict[str, Any]]:
    """Access records of the main container carrying ``request_id`` (waits for flushing)."""
    deadline = time.monotonic() + wait
    while True:
        found = [
            obj
            for _, obj in records(target.main_stdout())
            if obj and field(obj, "type") == "access" and field(obj, "request_id") == request_id
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _logs_command() -> str:
    return "docker logs <container> | tail"


@rule("LOG-001", Level.MUST, "stdout is JSON lines with the standard fields", needs_container=True)
def json_lines(target: Target) -> None:
    """Every line the service writes to stdout MUST be a JSON object with ``timestamp``, ``level``, ``message``, ``service.name`` and ``service.version``.

    Why:
        The log pipeline parses stdout as JSON lines; anything else lands as unsearchable
        text, without the service and version to filter on.

    Checked by:
        Sending a few requests to the main container and parsing every non-empty stdout
        line (dotted fields may be flat keys or nested objects).

    Fix:
        Configure one JSON formatter for the root, uvicorn and access loggers, writing to
        stdout, and turn off the server's default text access log.
    """
    base = target.main.base_url
    exchange(base, "GET", model_path(target.config.model_name), expected="200")
    time.sleep(0.3)
    lines = records(target.main_stdout())
    if not lines:
        raise RuleViolation(
            "container stdout", "no lines at all", "JSON lines", reproduce=_logs_command()
        )
    for line, obj in lines:
        missing = [f for f in REQUIRED_FIELDS if obj is None or field(obj, f) in (None, "")]
        if missing:
            what = (
                "a line that is not a JSON object" if obj is None else f"a record without {missing}"
            )
            raise RuleViolation(
                "container stdout", f"{what}: {line[:160]!r}",
                f"JSON objects with {', '.join(REQUIRED_FIELDS)}", reproduce=_logs_command(),
            )  # fmt: skip


@rule(
    "LOG-002",
    Level.MUST,
    "One access record per request, with its request id",
    needs_container=True,
)
def access_log(target: Target) -> None:
    """Each request (other than probes and /metrics) MUST produce exactly one access record on stdout with ``type: "access"``, the ``request_id``, ``http.request.method``, ``url.path``, ``http.route``, ``http.response.status_code`` and ``duration_ms``.

    Why:
        Access records are how incidents are traced request by request; duplicates inflate
        counts, and records without the request id cannot be joined with client logs.

    Checked by:
        Sending the golden request with a unique ``X-Request-ID`` and finding exactly one
        access record with that id and all the fields.

    Fix:
        Emit the access record from one middleware after the response, using the request
        id it assigned, and disable the server's own access log.
    """
    base = target.main.base_url
    request_id = f"mr-{uuid.uuid4().hex}"
    path = model_path(target.config.model_name) + "/infer"
    exchange(
        base, "POST", path, json_body=target.config.golden_request_body(),
        headers={"X-Request-ID": request_id}, expected="200",
    )  # fmt: skip
    found = access_records(target, request_id)
    time.sleep(0.2)
    found = access_records(target, request_id, wait=0)
    if len(found) != 1:
        raise RuleViolation(
            f"POST {path} with X-Request-ID: {request_id}",
            f"{len(found)} access records with that request_id",
            'exactly one record with type "access" and that request_id',
            reproduce=_logs_command(),
        )
    missing = [f for f in ACCESS_FIELDS if field(found[0], f) in (None, "")]
    if missing:
        raise RuleViolation(
            f"POST {path} with X-Request-ID: {request_id}",
            f"an access record without {missing}: {json.dumps(found[0])[:200]}",
            f"fields {', '.join(ACCESS_FIELDS)}",
            reproduce=_logs_command(),
        )


@rule("LOG-003", Level.MUST, "Payloads are never logged", needs_container=True)
def no_payloads(target: Target) -> None:
    """The service MUST NOT log request or response payloads: neither tensor data nor request ``parameters`` may appear in its output.

    Why:
        Inference payloads carry personal and business data; logs are kept longer and read
        by more people than the data's owners allow.

    Checked by:
        Sending the golden request with a canary number in the data of its first float
        input, a canary string in the data of its first BYTES input and in ``parameters``
        (the request's and an input's), then searching stdout and stderr for either canary.

    Fix:
        Log only metadata (route, status, sizes, durations); never log ``await
        request.body()``, the parsed request or the outputs, also not at debug level.
    """
    base = target.main.base_url
    canary = f"mr-canary-{uuid.uuid4().hex}"
    body = json.loads(json.dumps(target.config.golden_request_body()))
    body["parameters"] = {**body.get("parameters", {}), "note": canary}
    body["inputs"][0].setdefault("parameters", {})["note"] = canary
    needles = [canary]
    for kind, value in (("FP", CANARY_NUMBER), ("BYTES", canary)):
        for tensor_ in body["inputs"]:
            data = tensor_.get("data")
            flat = isinstance(data, list) and data and not isinstance(data[0], list)
            if flat and str(tensor_.get("datatype")).startswith(kind):
                data[0] = value
                needles.append(f"{value}")
                break
    request_id = f"mr-{uuid.uuid4().hex}"
    path = model_path(target.config.model_name) + "/infer"
    exchange(
        base,
        "POST",
        path,
        json_body=body,
        headers={"X-Request-ID": request_id},
        expected="a response",
    )
    access_records(target, request_id)
    time.sleep(0.3)
    text = target.main.all_logs()
    for needle in dict.fromkeys(needles):
        if needle in text:
            line = next(line for line in text.splitlines() if needle in line)
            raise RuleViolation(
                f"POST {path} with canary {needle!r} in the payload",
                f"the canary in the logs: {line[:160]!r}",
                "no payload content in the logs",
                reproduce=_logs_command(),
            )


@rule("LOG-004", Level.SHOULD, "Probes and /metrics are not access-logged", needs_container=True)
def probes_not_logged(target: Target) -> None:
    """Requests to /v2/health/live, /v2/health/ready and /metrics SHOULD NOT produce access records.

    Why:
        Probes and scrapes arrive every few seconds per replica; logging them drowns real
        traffic and costs storage.

    Checked by:
        Calling the three paths with unique ``X-Request-ID`` values and looking for any
        stdout line carrying those ids.

    Fix:
        Skip these paths in the access-log middleware.
    """
    base = target.main.base_url
    ids = {}
    for path in ("/v2/health/live", "/v2/health/ready", "/metrics"):
        ids[path] = f"mr-{uuid.uuid4().hex}"
        exchange(base, "GET", path, headers={"X-Request-ID": ids[path]}, expected="200")
    time.sleep(0.5)
    text = target.main_stdout()
    for path, request_id in ids.items():
        if request_id in text:
            raise RuleViolation(
                f"GET {path} with X-Request-ID: {request_id}",
                "an access record for it",
                "no access record for probes and /metrics",
                reproduce=_logs_command(),
            )


@rule("LOG-005", Level.MUST, "X-Request-ID is honoured, echoed, and generated when absent")
def request_id_header(target: Target) -> None:
    """A response MUST carry ``X-Request-ID``: the request's own value when it sent one, otherwise a newly generated, unique one.

    Why:
        The request id ties client logs, access records and traces together; it only works
        if the service keeps the caller's id and mints one otherwise.

    Checked by:
        Sending a request with a unique ``X-Request-ID`` (it must come back unchanged) and
        two without one (each must get a non-empty id, different from the other).

    Fix:
        In middleware, take ``X-Request-ID`` from the request or generate a UUID, store it
        for logging, and set it on the response.
    """
    base = target.base_url
    path = model_path(target.config.model_name)
    sent = f"mr-{uuid.uuid4().hex}"
    ex = exchange(base, "GET", path, headers={"X-Request-ID": sent}, expected="200")
    echoed = ex.response.headers.get("x-request-id")
    if echoed != sent:
        raise RuleViolation(
            f"GET {path} with X-Request-ID: {sent}", f"X-Request-ID {echoed!r}",
            f"X-Request-ID {sent!r}", reproduce=ex.curl,
        )  # fmt: skip
    generated = [
        exchange(base, "GET", path, expected="200").response.headers.get("x-request-id")
        for _ in range(2)
    ]
    if not all(generated) or generated[0] == generated[1]:
        raise RuleViolation(
            f"GET {path} without X-Request-ID (twice)", f"X-Request-ID values {generated}",
            "a new, unique X-Request-ID on each response", reproduce=f"curl -si {base}{path} | grep -i x-request-id",
        )  # fmt: skip


RULES = (json_lines, access_log, no_payloads, probes_not_logged, request_id_header)
