"""Drive wrk: write its Lua script, build its command line, parse what it prints.

Everything here is pure (no process is started), so tests/bench can cover it quickly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([0-9.]+)(us|ms|s|m|h)"


class WrkOutputError(ValueError):
    """wrk's output lacks a line the benchmark needs (usually: wrk failed to connect)."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run, latencies in milliseconds."""

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    non_2xx: int

    @property
    def errors(self) -> int:
        """Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses."""
        return self.socket_errors + self.non_2xx

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for the JSON results file, with the derived ``errors`` included."""
        return {**asdict(self), "errors": self.errors}


def duration_ms(text: str) -> float:
    """Convert one of wrk's durations (``612.00us``, ``1.77ms``, ``2.00s``) to milliseconds."""
    match = re.fullmatch(_DURATION, text.strip())
    if not match:
        raise WrkOutputError(f"not a wrk duration: {text!r} (expected e.g. 612.00us or 1.77ms)")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse(output: str) -> WrkResult:
    """Parse the text printed by ``wrk --latency``.

    Raises:
        WrkOutputError: when the request count, the rate or the latency distribution is
            missing; the message quotes the output so the cause (e.g. connection refused)
            is visible.
    """

    def need(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise WrkOutputError(f"wrk output has no match for {pattern!r}:\n{output.strip()}")
        return match

    total = need(r"^\s*(\d+) requests in ([0-9.]+\w+),")
    rps = need(r"^Requests/sec:\s+([0-9.]+)")
    latency = need(rf"^\s+Latency\s+{_DURATION}\s+{_DURATION}\s+{_DURATION}")
    percentiles = {
        int(p): duration_ms(v)
        for p, v in re.findall(r"^\s+(50|75|90|99)%\s+([0-9.]+\w+)\s*$", output, re.MULTILINE)
    }
    if set(percentiles) != {50, 75, 90, 99}:
        raise WrkOutputError(f"wrk output has no latency distribution (--latency):\n{output}")
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        duration_s=duration_ms(total.group(2)) / 1000.0,
        rps=float(rps.group(1)),
        p50_ms=percentiles[50],
        p75_ms=percentiles[75],
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        max_ms=float(latency.group(5)) * _UNIT_MS[latency.group(6)],
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def lua_script(body: str, headers: dict[str, str] | None = None, method: str = "POST") -> str:
    """A wrk Lua script sending ``body`` with ``headers`` on every request.

    The body goes in a long bracket (``[==[ ... ]==]``), so JSON needs no escaping; a body
    that contains the closing bracket itself is refused rather than silently cut.
    """
    if "]==]" in body:
        raise ValueError("body contains ']==]', which would end the Lua long bracket early")
    lines = [f'wrk.method = "{method}"', f"wrk.body = [==[{body}]==]"]
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    return "\n".join(lines) + "\n"


def lua_script_cycling(bodies: Sequence[str], headers: dict[str, str] | None = None) -> str:
    """A wrk Lua script sending ``bodies`` one per request, in order, round and round.

    For the embedding group: one text per request, as a search service gets them, so a
    batching server pads batches of unequal texts. wrk runs one thread (`command`), hence
    one Lua state and one order shared by all its connections: every target gets the same
    sequence (wrk calls ``request`` once before it connects, so it opens on the second).
    """
    if not bodies:
        raise ValueError("no bodies to cycle through")
    base = lua_script(bodies[0], headers).splitlines()
    for body in bodies:
        if "]==]" in body:
            raise ValueError("body contains ']==]', which would end the Lua long bracket early")
    lines = [line for line in base if not line.startswith("wrk.body")]
    lines.append("local bodies = {")
    lines += [f"[==[{body}]==]," for body in bodies]
    lines += [
        "}",
        "local i = 0",
        "request = function()",
        "  i = i % #bodies + 1",
        "  return wrk.format(nil, nil, nil, bodies[i])",
        "end",
    ]
    return "\n".join(lines) + "\n"


def command(
    url: str,
    script: str,
    *,
    connections: int,
    duration_s: float,
    cpu: int | None = 1,
    timeout_s: float = 5.0,
) -> list[str]:
    """The wrk command line: one thread (one core), ``connections`` open connections.

    One thread is enough: a single wrk thread drives well over 50k req/s on loopback, far
    above any target here, and keeps wrk on the one core it is pinned to.
    """
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "--latency",
        "-s",
        script,
        url,
    ]
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else cmd
