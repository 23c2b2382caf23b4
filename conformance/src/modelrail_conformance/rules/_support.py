"""Helpers shared by the rule modules: HTTP exchanges, curl commands, metrics parsing."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Hook, Level, Rule, SpecSection

OIP_DATATYPES = {
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES",
}  # fmt: skip
MAX_CURL_BODY = 2000


def rule(
    rule_id: str,
    level: Level,
    title: str,
    *,
    needs_container: bool = False,
    spec: SpecSection | None = None,
    hooks: tuple[Hook, ...] = (),
) -> Any:
    """Turn a check function into a :class:`Rule` (returns the Rule, not the function)."""

    def wrap(check: Any) -> Rule:
        return Rule(
            rule_id, level, title, check, needs_container=needs_container, spec=spec, hooks=hooks
        )

    return wrap


def curl(
    method: str,
    url: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """A runnable curl command that sends the same request."""
    parts = ["curl", "-i"]
    if method != "GET" or body is not None:
        parts += ["-X", method]
    parts.append(shlex.quote(url))
    for name, value in (headers or {}).items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body is not None:
        raw = body if isinstance(body, bytes) else body.encode()
        if len(raw) > MAX_CURL_BODY:
            # A huge body does not fit a message; generate one of the same size instead.
            parts += ["--data-binary", f"@<(head -c {len(raw)} /dev/zero | tr '\\0' 'x')"]
        else:
            try:
                parts += ["--data-binary", shlex.quote(raw.decode())]
            except UnicodeDecodeError:
                # Not UTF-8 on purpose (TXT-001): printf writes the very bytes.
                parts += ["--data-binary", f"@<(printf '%b' {shlex.quote(_octal(raw))})"]
    return " ".join(parts)


def _octal(raw: bytes) -> str:
    """``raw`` for printf's %b: printable ASCII as is, other bytes as octal escapes."""
    return "".join(
        "\\\\" if b == 0x5C else chr(b) if 0x20 <= b < 0x7F else f"\\0{b:03o}" for b in raw
    )


@dataclass
class Exchange:
    """One request and its response."""

    method: str
    path: str
    response: httpx.Response
    curl: str
    seconds: float

    @property
    def status(self) -> int:
        """The response status code."""
        return self.response.status_code

    @property
    def request(self) -> str:
        """``METHOD /path`` for messages."""
        return f"{self.method} {self.path}"

    def json(self) -> Any:
        """The JSON body, or None when the body is not JSON."""
        try:
            return self.response.json()
        except ValueError:
            return None

    def describe(self, limit: int = 200) -> str:
        """Status and a short body, for the "received" part of messages."""
        body = self.response.text
        body = body if len(body) <= limit else body[:limit] + "..."
        return f"{self.status} {body!r}" if body else f"{self.status} (empty body)"


def exchange(
    base_url: str,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    expected: str = "a response",
    timeout: float = 10.0,
    follow_redirects: bool = False,
    client: httpx.Client | None = None,
) -> Exchange:
    """Send one request; a transport error becomes a RuleViolation with a curl command."""
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body, allow_nan=True)
        headers.setdefault("Content-Type", "application/json")
    url = base_url.rstrip("/") + path
    command = curl(method, url, body=body, headers=headers)
    own = client is None
    client = client or httpx.Client(timeout=timeout)
    try:
        response = client.request(
            method,
            url,
            content=body,
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
        )
    except httpx.HTTPError as exc:
        raise RuleViolation(
            f"{method} {path}",
            f"no response ({type(exc).__name__}: {exc})",
            expected,
            reproduce=command,
        ) from exc
    finally:
        if own:
            client.close()
    return Exchange(method, path, response, command, response.elapsed.total_seconds())


def require_status(ex: Exchange, statuses: Iterable[int], expected: str | None = None) -> None:
    """Raise a violation unless the exchange's status is one of ``statuses``."""
    allowed = set(statuses)
    if ex.status not in allowed:
        raise RuleViolation(
            ex.request,
            ex.describe(),
            expected or " or ".join(str(s) for s in sorted(allowed)),
            reproduce=ex.curl,
        )


def error_body_problem(ex: Exchange) -> str | None:
    """Why an error response's body is not ``{"error": "<message>"}`` (None if it is)."""
    data = ex.json()
    if not isinstance(data, dict):
        return "a body that is not a JSON object"
    if not isinstance(data.get("error"), str) or not data["error"].strip():
        return f"a JSON object without a non-empty string 'error' (keys: {sorted(data)})"
    return None


# --- Prometheus text ------------------------------------------------------------------
_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


@dataclass(frozen=True)
class Sample:
    """One exposition line: name, labels, value."""

    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Exposition:
    """A parsed ``/metrics`` page: TYPE and HELP per family, and every sample."""

    types: dict[str, str]
    helps: dict[str, str]
    samples: list[Sample]
    problems: list[str]

    def find(self, name: str, **labels: str) -> list[Sample]:
        """Samples called ``name`` whose labels include ``labels``."""
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def total(self, name: str, **labels: str) -> float:
        """The sum of the matching samples' values."""
        return sum(s.value for s in self.find(name, **labels))


def parse_exposition(text: str) -> Exposition:
    """Parse Prometheus text (or OpenMetrics) without hiding naming details.

    prometheus_client's parser renames counters, so TYPE and HELP lines are kept as written
    here; lines that do not parse are listed in ``problems``.
    """
    types: dict[str, str] = {}
    helps: dict[str, str] = {}
    samples: list[Sample] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line == "# EOF":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
            elif len(parts) >= 3 and parts[1] == "HELP":
                helps[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
            continue
        match = _SAMPLE.match(line)
        if not match:
            problems.append(f"line {number} does not parse: {line[:120]!r}")
            continue
        labels_text = match.group("labels") or ""
        labels = {k: _unescape(v) for k, v in _LABEL.findall(labels_text)}
        if _LABEL.sub("", labels_text).strip():
            problems.append(f"line {number} has malformed labels: {line[:120]!r}")
        try:
            value = float(match.group("value"))
        except ValueError:
            problems.append(f"line {number} has a non-numeric value: {line[:120]!r}")
            continue
        samples.append(Sample(match.group("name"), labels, value))
    return Exposition(types, helps, samples, problems)


def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def fetch_metrics(base_url: str, *, follow_redirects: bool = True) -> tuple[Exchange, Exposition]:
    """GET /metrics (following redirects: only MET-001 judges the route itself)."""
    ex = exchange(
        base_url,
        "GET",
        "/metrics",
        expected="200 with Prometheus text",
        follow_redirects=follow_redirects,
    )
    require_status(ex, {200}, "200 with Prometheus text")
    return ex, parse_exposition(ex.response.text)


def flatten(data: Any) -> list[Any]:
    """The elements of nested lists, row-major."""
    if isinstance(data, list):
        return [x for item in data for x in flatten(item)]
    return [data]


def model_path(name: str, version: str | None = None) -> str:
    """``/v2/models/{name}[/versions/{version}]``."""
    return f"/v2/models/{name}" + (f"/versions/{version}" if version else "")
