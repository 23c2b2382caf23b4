"""Service configuration: every environment variable the service reads, in one place.

`Settings.from_env` reads them once at start-up. A bad value stops the process with a
message that names the variable, the value and what is accepted.

| Variable | Default | Meaning |
| --- | --- | --- |
| `PORT` | `8080` | TCP port the HTTP server listens on |
| `HOST` | `0.0.0.0` | Address the HTTP server binds |
| `MODEL_URI` | `artifacts/model.skops` | Path of the model artifact (`metadata.json` beside it) |
| `MODEL_LOAD_DELAY_SECONDS` | `0` | Artificial delay before loading the model (readiness tests) |
| `LOG_LEVEL` | `info` | One of debug, info, warning, error, critical |
| `MAX_BODY_BYTES` | `1048576` | Larger request bodies get 413 |
| `MAX_CONCURRENT_REQUESTS` | `64` | Requests in flight beyond this get 503 (load shedding) |
| `DRAIN_SECONDS` | `2` | After SIGTERM: readiness 503 while still serving, for this long |
| `GRACEFUL_TIMEOUT_SECONDS` | `5` | Then: how long in-flight requests get to finish |
| `SERVICE_VERSION` | package version | Reported in logs, `GET /v2` and `service_build_info` |
| `SERVICE_REVISION` | `unknown` | Source revision, reported in `service_build_info` |
| `PREDICT_MODE` | `auto` | Where predict runs: auto, inline, thread, batch (see `inference`) |
| `BATCH_MAX_SIZE` | `32` | With `PREDICT_MODE=batch`: most rows predicted in one call |
| `BATCH_MAX_WAIT_MS` | `2` | With `PREDICT_MODE=batch`: longest wait for other requests to join |
| `DRIFT_WINDOW_ROWS` | `1000` | Recent input rows drift is computed on; `0`: no drift |
| `DRIFT_MIN_ROWS` | `100` | Drift gauges are NaN until the window has this many rows |
| `DRIFT_THRESHOLD` | `0.2` | Stability index (PSI) above which the drift alerts fire |
| `PREDICTION_LOG_URL` | `prediction-logs` | Directory or URL (`s3://...`) of the prediction logs |
| `PREDICTION_LOG_SAMPLE_RATE` | `1.0` | Share of predictions logged; `0`: no logging |
| `PREDICTION_LOG_INPUTS` | `hash` | Inputs in the events: `store`, `hash` (sha256) or `drop` |
| `PREDICTION_LOG_FLUSH_SECONDS` | `10` | Queued events are written at least this often |
| `PREDICTION_LOG_QUEUE_SIZE` | `10000` | Queued events beyond this are dropped (and counted) |

Drift and the prediction logs are described in docs/monitor.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .identity import package_version

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
PREDICT_MODES = ("auto", "inline", "thread", "batch")
INPUT_POLICIES = ("store", "hash", "drop")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Runtime settings. The variable each field is read from is in the module docstring."""

    port: int = 8080
    host: str = "0.0.0.0"  # noqa: S104 - a container must listen on all interfaces
    model_uri: Path = Path("artifacts/model.skops")
    model_load_delay_seconds: float = 0.0
    log_level: str = "info"
    max_body_bytes: int = 1_048_576
    max_concurrent_requests: int = 64
    drain_seconds: float = 2.0
    graceful_timeout_seconds: float = 5.0
    service_version: str = dataclasses.field(default_factory=package_version)
    service_revision: str = "unknown"
    predict_mode: str = "auto"
    batch_max_size: int = 32
    batch_max_wait_seconds: float = 0.002
    drift_window_rows: int = 1000
    drift_min_rows: int = 100
    drift_threshold: float = 0.2
    prediction_log_url: str = "prediction-logs"
    prediction_log_sample_rate: float = 1.0
    prediction_log_inputs: str = "hash"
    prediction_log_flush_seconds: float = 10.0
    prediction_log_queue_size: int = 10_000

    @property
    def prediction_log_enabled(self) -> bool:
        """True unless the sample rate is 0."""
        return self.prediction_log_sample_rate > 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the settings from ``environ``; unset variables keep their defaults.

        Raises:
            SettingsError: a variable is set to a value that is not accepted.
        """
        changes: dict[str, Any] = {}
        for field_name, variable, parse in _SOURCES:
            raw = environ.get(variable)
            if raw is None:
                continue
            try:
                changes[field_name] = parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{variable}={raw!r} is not valid: expected {exc}.") from None
        return dataclasses.replace(cls(), **changes)


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return parse


def _seconds(high: float) -> Callable[[str], float]:
    return _number(0, high, "a number of seconds")


def _text(max_length: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value or len(value) > max_length or not value.isprintable():
            raise ValueError(f"1 to {max_length} printable characters")
        return value

    return parse


def _number(low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            value = float("nan")
        # `not <=` also refuses NaN.
        if not low <= value <= high:
            raise ValueError(f"{what} from {low:g} to {high:g}")
        return value

    return parse


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError("one of " + ", ".join(choices))
        return value

    return parse


def _milliseconds_as_seconds(high: float) -> Callable[[str], float]:
    milliseconds = _number(0, high, "a number of milliseconds")
    return lambda raw: milliseconds(raw) / 1000


def _path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("a file path, e.g. /app/artifacts/model.skops")
    return Path(raw.strip())


_SOURCES: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("port", "PORT", _integer(1, 65_535)),
    ("host", "HOST", _text(255)),
    ("model_uri", "MODEL_URI", _path),
    ("model_load_delay_seconds", "MODEL_LOAD_DELAY_SECONDS", _seconds(3600)),
    ("log_level", "LOG_LEVEL", _choice(LOG_LEVELS)),
    ("max_body_bytes", "MAX_BODY_BYTES", _integer(1, 1 << 30)),
    ("max_concurrent_requests", "MAX_CONCURRENT_REQUESTS", _integer(1, 100_000)),
    ("drain_seconds", "DRAIN_SECONDS", _seconds(300)),
    ("graceful_timeout_seconds", "GRACEFUL_TIMEOUT_SECONDS", _seconds(300)),
    ("service_version", "SERVICE_VERSION", _text(128)),
    ("service_revision", "SERVICE_REVISION", _text(128)),
    ("predict_mode", "PREDICT_MODE", _choice(PREDICT_MODES)),
    ("batch_max_size", "BATCH_MAX_SIZE", _integer(1, 65_536)),
    ("batch_max_wait_seconds", "BATCH_MAX_WAIT_MS", _milliseconds_as_seconds(1000)),
    ("drift_window_rows", "DRIFT_WINDOW_ROWS", _integer(0, 1_000_000)),
    ("drift_min_rows", "DRIFT_MIN_ROWS", _integer(1, 1_000_000)),
    ("drift_threshold", "DRIFT_THRESHOLD", _number(0.001, 100, "a number")),
    ("prediction_log_url", "PREDICTION_LOG_URL", _text(2048)),
    ("prediction_log_sample_rate", "PREDICTION_LOG_SAMPLE_RATE", _number(0, 1, "a fraction")),
    ("prediction_log_inputs", "PREDICTION_LOG_INPUTS", _choice(INPUT_POLICIES)),
    (
        "prediction_log_flush_seconds",
        "PREDICTION_LOG_FLUSH_SECONDS",
        _number(0.1, 3600, "a number of seconds"),
    ),
    ("prediction_log_queue_size", "PREDICTION_LOG_QUEUE_SIZE", _integer(1, 10_000_000)),
)
