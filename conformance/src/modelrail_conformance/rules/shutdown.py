"""SHD: graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules._support import model_path, rule
from modelrail_conformance.target import HttpStatusWait, Target

SHELLS = ("/bin/sh", "sh", "/bin/bash", "bash", "/bin/dash")


@dataclass
class ShutdownResult:
    """What happened around one SIGTERM."""

    inflight_status: int | None = None
    inflight_error: str = ""
    ready_during_drain: list[int | None] = field(default_factory=list)
    exit_code: int | None = None
    exit_seconds: float | None = None
    killed: bool = False


def _read_response(sock: socket.socket, timeout: float) -> int:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"no HTTP status line (got {line!r})")
    return int(parts[1])


def shutdown_experiment(target: Target) -> ShutdownResult:
    """Run (once) the SIGTERM experiment in a container of its own.

    A request is put in flight portably: its headers and half of its body are sent, then
    SIGTERM goes to the container through the Docker API, readiness is polled for 1 s,
    and only then the rest of the body is sent.
    """
    target.require_container("a container of its own to send SIGTERM to")
    if "shutdown" in target.memo:
        return target.memo["shutdown"]
    config = target.config
    result = ShutdownResult()
    body = json.dumps(config.golden_request_body()).encode()
    half = len(body) // 2
    path = model_path(config.model_name) + "/infer"
    with target.extra_container("SIGTERM") as container:
        HttpStatusWait("/v2/health/ready", timeout=config.startup_budget_seconds + 30).wait(
            container
        )
        url = urlsplit(container.base_url)
        sock = socket.create_connection((url.hostname, url.port), timeout=5)
        try:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            sock.sendall(head + body[:half])
            time.sleep(0.3)
            signalled = time.monotonic()
            container.kill("SIGTERM")
            for _ in range(10):
                try:
                    status = httpx.get(
                        container.base_url + "/v2/health/ready", timeout=0.5
                    ).status_code
                except httpx.HTTPError:
                    status = None
                result.ready_during_drain.append(status)
                time.sleep(0.1)
            try:
                sock.sendall(body[half:])
                result.inflight_status = _read_response(sock, timeout=config.shutdown_grace_seconds)
            except OSError as exc:
                result.inflight_error = f"{type(exc).__name__}: {exc}"
        finally:
            sock.close()
        remaining = config.shutdown_grace_seconds - (time.monotonic() - signalled)
        result.exit_code = container.wait_exit(max(remaining, 0.1))
        if result.exit_code is None:
            result.killed = True
            container.kill("SIGKILL")
            result.exit_code = container.wait_exit(10)
        else:
            result.exit_seconds = time.monotonic() - signalled
    target.memo["shutdown"] = result
    return result


def _reproduce(target: Target) -> str:
    return (
        f"docker run -d --name mr-shd -p 127.0.0.1:8080:{target.config.port} <image> && sleep 5 && "
        f"docker kill --signal SIGTERM mr-shd && docker wait mr-shd"
    )


@rule("SHD-001", Level.MUST, "Exec-form CMD and ENTRYPOINT", needs_container=True)
def exec_form(target: Target) -> None:
    """The image's ``CMD`` and ``ENTRYPOINT`` MUST use the exec (JSON array) form, so that the server is PID 1 and receives SIGTERM.

    Why:
        In shell form, ``/bin/sh -c`` is PID 1; it does not forward SIGTERM, so the server
        is SIGKILLed after the grace period and in-flight requests are cut off.

    Checked by:
        ``Config.Entrypoint`` and ``Config.Cmd`` of the image must not start with a shell
        and ``-c`` (unless the script itself starts with ``exec``).

    Fix:
        Write ``CMD ["python", "-m", "service"]`` (or ``ENTRYPOINT [...]``), not
        ``CMD python -m service``.
    """
    config = target.image_attrs().get("Config") or {}
    for key in ("Entrypoint", "Cmd"):
        value = config.get(key) or []
        if len(value) >= 3 and value[0] in SHELLS and value[1] == "-c":
            if value[2].lstrip().startswith("exec "):
                continue
            raise RuleViolation(
                f"image config {key}",
                json.dumps(value),
                'exec form, e.g. ["python", "-m", "service"]',
                reproduce=f"docker image inspect {target.image} --format '{{{{json .Config.{key}}}}}'",
            )


@rule("SHD-002", Level.MUST, "A request in flight at SIGTERM completes", needs_container=True)
def inflight_completes(target: Target) -> None:
    """A request that is in flight when the process gets SIGTERM MUST complete with 200.

    Why:
        Every rollout and scale-down sends SIGTERM; dropping in-flight requests turns each
        deployment into a burst of client errors.

    Checked by:
        Sending the golden request's headers and half its body, sending SIGTERM through the
        Docker API, waiting 1 s, then sending the rest: the response must be a 200.

    Fix:
        Let the server drain: stop accepting new connections but finish open requests
        before exiting (uvicorn does this on SIGTERM; do not call ``os._exit`` or exit
        from a signal handler).
    """
    result = shutdown_experiment(target)
    if result.inflight_status != 200:
        received = (
            f"{result.inflight_status}"
            if result.inflight_status
            else f"no response ({result.inflight_error})"
        )
        raise RuleViolation(
            f"POST {model_path(target.config.model_name)}/infer in flight at SIGTERM",
            received,
            "200",
            reproduce=_reproduce(target),
        )


@rule("SHD-003", Level.MUST, "Exit within the grace period with 0 or 143", needs_container=True)
def exits_in_grace(target: Target) -> None:
    """After SIGTERM the process MUST exit within ``shutdown_grace_seconds`` with exit code 0 or 143.

    Why:
        When the grace period ends the orchestrator SIGKILLs the process (137), which loses
        buffered logs and metrics and marks the stop as a failure.

    Checked by:
        The SIGTERM experiment of SHD-002: time from the signal to the exit and the exit
        code; a process still running at the deadline is SIGKILLed and fails.

    Fix:
        Handle SIGTERM (frameworks do: run the server as PID 1 in exec form) and bound the
        drain time below the grace period.
    """
    result = shutdown_experiment(target)
    grace = target.config.shutdown_grace_seconds
    if result.killed or result.exit_code not in (0, 143):
        received = (
            f"still running after {grace:g} s (SIGKILLed: exit {result.exit_code})"
            if result.killed
            else f"exit code {result.exit_code} after {result.exit_seconds or 0:.1f} s"
        )
        raise RuleViolation(
            "SIGTERM to the container",
            received,
            f"exit 0 or 143 within {grace:g} s",
            reproduce=_reproduce(target),
        )


@rule("SHD-004", Level.SHOULD, "Readiness turns 503 while draining", needs_container=True)
def ready_503_while_draining(target: Target) -> None:
    """After SIGTERM, GET /v2/health/ready SHOULD answer 503 while the service drains, before it stops accepting connections.

    Why:
        Routers take the replica out of rotation when readiness fails; without that,
        new requests keep arriving at a process that is shutting down.

    Checked by:
        Polling readiness every 100 ms for 1 s right after SIGTERM (SHD-002's experiment);
        at least one answer must be 503.

    Fix:
        On SIGTERM set a "draining" flag that readiness reports as 503, keep serving for a
        short drain delay, then stop the server.
    """
    result = shutdown_experiment(target)
    if 503 not in result.ready_during_drain:
        raise RuleViolation(
            "GET /v2/health/ready during the 1 s after SIGTERM",
            f"statuses {result.ready_during_drain} (None: refused)",
            "503 at least once",
            reproduce=_reproduce(target),
        )


RULES = (exec_form, inflight_completes, exits_in_grace, ready_503_while_draining)
