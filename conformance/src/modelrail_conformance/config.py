"""``[tool.modelrail]`` parsing and validation.

Every error names the key, the bad value and what is accepted, so that the message says
what to fix in ``pyproject.toml``.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from modelrail_conformance.failures import ConfigError, NotApplicable

TABLE = "[tool.modelrail]"


class Hook(StrEnum):
    """A way into the service that a rule needs and a ``[tool.modelrail]`` key declares.

    A service that does not declare the hook makes the rule "not applicable", never a
    failure: the suite checks services it did not make.
    """

    LOAD_DELAY = "load_delay_env"
    MODEL_URI = "model_uri_env"


@dataclass(frozen=True)
class LatencyConfig:
    """``[tool.modelrail.latency]``: the latency SLO and the shape of the load run."""

    p99_ms: float = 500.0
    concurrency: int = 8
    warmup_requests: int = 200
    requests: int = 2000
    max_seconds: float = 30.0


@dataclass(frozen=True)
class ModelrailConfig:
    """The per-repo parameters of the contract."""

    project_dir: Path
    model_name: str
    golden_request: Path
    golden_response: Path
    port: int = 8080
    metrics_port: int | None = None
    """Where /metrics is served when not on ``port`` (MLServer's 8082, for one)."""
    tolerance: float = 1e-6
    startup_budget_seconds: float = 10.0
    shutdown_grace_seconds: float = 10.0
    load_delay_env: str | None = None
    """Hook: the variable that delays the model's load by N seconds (RDY-001, RDY-003,
    HLT-001). Rules that need an undeclared hook are not applicable."""
    model_uri_env: str | None = None
    """Hook: the variable that says where the model is (RDY-005)."""
    max_body_bytes: int = 1_048_576
    image_size_budget_mb: float = 800.0
    latency: LatencyConfig = field(default_factory=LatencyConfig)

    def hook(self, hook: Hook) -> str:
        """The variable the service declares for ``hook``.

        Raises:
            NotApplicable: the table does not declare it.
        """
        variable: str | None = getattr(self, hook.value)
        if variable is None:
            raise NotApplicable(
                f"needs the service hook {hook.value}, which {TABLE} does not declare; "
                f'declare it (e.g. {hook.value} = "{_HOOK_EXAMPLES[hook]}") if the service has one'
            )
        return variable

    def golden_request_body(self) -> dict[str, Any]:
        """The golden inference request (parsed JSON)."""
        return _read_json(self.golden_request, "golden_request")

    def golden_response_body(self) -> dict[str, Any]:
        """The golden inference response (parsed JSON; may list a subset of outputs)."""
        return _read_json(self.golden_response, "golden_response")


_HOOK_EXAMPLES = {Hook.LOAD_DELAY: "MODEL_LOAD_DELAY_SECONDS", Hook.MODEL_URI: "MODEL_URI"}

# key -> (type, lower bound or None, upper bound or None)
_NUMBERS: dict[str, tuple[type, float | None, float | None]] = {
    "port": (int, 1, 65535),
    "metrics_port": (int, 1, 65535),
    "tolerance": (float, 0, None),
    "startup_budget_seconds": (float, 0.1, 600),
    "shutdown_grace_seconds": (float, 0.1, 600),
    "max_body_bytes": (int, 1, None),
    "image_size_budget_mb": (float, 1, None),
}
_LATENCY: dict[str, tuple[type, float | None, float | None]] = {
    "p99_ms": (float, 0.1, None),
    "concurrency": (int, 1, 256),
    "warmup_requests": (int, 0, 100_000),
    "requests": (int, 1, 100_000),
    "max_seconds": (float, 0.5, 600),
}
_STRINGS = ("model_name", "load_delay_env", "model_uri_env")
_PATHS = ("golden_request", "golden_response")
_REQUIRED = ("model_name", "golden_request", "golden_response")


def load_config(project_dir: Path) -> ModelrailConfig:
    """Read and validate ``[tool.modelrail]`` from ``project_dir/pyproject.toml``.

    Raises:
        ConfigError: the file or table is missing, or a value is invalid.
    """
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file():
        raise ConfigError(
            f"{pyproject} does not exist; run from the service repo's root or pass "
            f"--modelrail-project DIR (the directory whose pyproject.toml has {TABLE})"
        )
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from exc
    table = data.get("tool", {}).get("modelrail")
    if not isinstance(table, dict):
        raise ConfigError(
            f"{pyproject} has no {TABLE} table; add one with at least model_name, "
            f"golden_request and golden_response"
        )
    return parse_config(table, project_dir, source=str(pyproject))


def parse_config(table: dict[str, Any], project_dir: Path, source: str = TABLE) -> ModelrailConfig:
    """Validate a ``[tool.modelrail]`` table already read from TOML."""
    table = dict(table)
    latency_table = table.pop("latency", {})
    if not isinstance(latency_table, dict):
        raise ConfigError(f"{source}: latency must be a table [tool.modelrail.latency]")
    known = {f.name for f in fields(ModelrailConfig)} - {"project_dir", "latency"}
    _reject_unknown(table, known, source, TABLE)
    _reject_unknown(latency_table, set(_LATENCY), source, "[tool.modelrail.latency]")
    for key in _REQUIRED:
        if key not in table:
            raise ConfigError(f"{source}: {TABLE} is missing {key}; add {key} = ...")
    values: dict[str, Any] = {}
    for key in _STRINGS:
        if key in table:
            value = table[key]
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(
                    f"{source}: {key} = {value!r} is invalid; expected a non-empty string"
                )
            values[key] = value
    for key in _PATHS:
        value = table[key]
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{source}: {key} = {value!r}; expected a path (string)")
        path = (project_dir / value).resolve()
        if not path.is_file():
            raise ConfigError(
                f"{source}: {key} = {value!r} points to {path}, which does not exist; "
                f"give a JSON file path relative to {project_dir}"
            )
        values[key] = path
    for key, spec in _NUMBERS.items():
        if key in table:
            values[key] = _number(table[key], key, spec, source)
    latency = LatencyConfig(
        **{
            key: _number(v, f"latency.{key}", _LATENCY[key], source)
            for key, v in latency_table.items()
        }
    )
    return ModelrailConfig(project_dir=project_dir, latency=latency, **values)


def _reject_unknown(table: dict[str, Any], known: set[str], source: str, where: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{source}: unknown key {key!r} in {where}; {hint}accepted keys: "
                f"{', '.join(sorted(known))}"
            )


def _number(
    value: Any, key: str, spec: tuple[type, float | None, float | None], source: str
) -> Any:
    kind, low, high = spec
    ok_type = isinstance(value, int) if kind is int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        raise ConfigError(
            f"{source}: {key} = {value!r} is invalid; expected {'an integer' if kind is int else 'a number'}"
        )
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{source}: {key} = {value!r} is out of range; expected {bounds}")
    return kind(value)


def _read_json(path: Path, key: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{TABLE} {key} = {str(path)!r} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{TABLE} {key} = {str(path)!r} must hold a JSON object")
    return data
