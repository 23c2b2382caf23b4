"""Service configuration: every environment variable the runtime reads, in one place.

`Settings.from_env` reads them once at start-up; `serve` takes a model repository's own
defaults (its model name, its latency objective) and lets the environment override them.
A bad value stops the process with a message that names the variable, the value and what
is accepted.

Prediction logs on S3 take their credentials from the environment, never from
`PREDICTION_LOG_URL`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (or a mounted file named by
`AWS_SHARED_CREDENTIALS_FILE`), `AWS_REGION`, and `AWS_ENDPOINT_URL` for an S3-compatible store.

| Variable | Default | Meaning |
| --- | --- | --- |
| `MODEL_NAME` | `model` | The served model's name: `/v2/models/<name>`, metrics, logs |
| `SERVICE_NAME` | the model name | `service.name` in logs, `name` in `GET /v2` |
| `MODEL_URI` | `artifacts` | The model's directory (`metadata.json` in it), or its artifact file |
| `MODEL_LOAD_DELAY_SECONDS` | `0` | Artificial delay before loading the model (readiness tests) |
| `PORT` | `8080` | TCP port the HTTP server listens on |
| `HOST` | `0.0.0.0` | Address the HTTP server binds |
| `LOG_LEVEL` | `info` | One of debug, info, warning, error, critical |
| `MAX_BODY_BYTES` | `1048576` | Larger request bodies get 413 |
| `MAX_STRING_BYTES` | `16384` | A longer BYTES element (in UTF-8 bytes) gets 413 |
| `MAX_TENSOR_ELEMENTS` | `65536` | A request with more elements (all inputs together) gets 413 |
| `MAX_CONCURRENT_REQUESTS` | `64` | Requests in flight beyond this get 503 (load shedding) |
| `DRAIN_SECONDS` | `2` | After SIGTERM: readiness 503 while still serving, for this long |
| `GRACEFUL_TIMEOUT_SECONDS` | `5` | Then: how long in-flight requests get to finish |
| `SERVICE_VERSION` | `0.0.0` | Reported in logs, `GET /v2` and `service_build_info` |
| `SERVICE_REVISION` | `unknown` | Source revision, reported in `service_build_info` |
| `LATENCY_SLO_SECONDS` | `0.1` | The p99 objective: a bucket boundary of the HTTP histogram |
| `PREDICT_MODE` | `auto` | Where predict runs: auto, inline, thread, batch |
| `BATCH_MAX_SIZE` | `32` | With `PREDICT_MODE=batch`: most rows predicted in one call |
| `BATCH_MAX_WAIT_MS` | `0` | With batching: longest wait for more requests (0: no wait) |
| `DRIFT_WINDOW_ROWS` | `1000` | Recent input rows drift is computed on; `0`: no drift |
| `DRIFT_MIN_ROWS` | `100` | Drift gauges are NaN until the window has this many rows |
| `DRIFT_THRESHOLD` | `0.2` | Stability index (PSI) above which the drift alerts fire |
| `PREDICTION_LOG_URL` | `prediction-logs` | Directory or URL (`s3://...`) of the prediction logs |
| `PREDICTION_LOG_SAMPLE_RATE` | `1.0` | Share of predictions logged; `0`: no logging |
| `PREDICTION_LOG_INPUTS` | `store` | Inputs in the log: `store`, `hash` (sha256) or `drop` |
| `PREDICTION_LOG_FLUSH_SECONDS` | `10` | Queued events are written at least this often |
| `PREDICTION_LOG_QUEUE_SIZE` | `10000` | Events queued or held for retry beyond this are dropped |
| `PREDICTION_LOG_RETRY_MAX_SECONDS` | `30` | Longest wait between retries of a refused write |
| `PREDICTION_LOG_SHUTDOWN_SECONDS` | `10` | At shutdown: how long refused writes are retried |
| `LABELS_URL` | `labels` | Directory or URL (`s3://...`) the labels endpoint writes to |
| `LABELS_AUTH` | `token` | Who authenticates label reports: `token` (`LABELS_TOKEN`) or `mesh` |
| `LABELS_TOKEN` | (none) | Secret for `Authorization: Bearer`; unset: the endpoint refuses |
| `LABELS_MAX_ITEMS` | `1000` | Labels in one request beyond this get 413 |
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

from .execution import BatchLimits, PredictMode
from .oip.codec import RequestLimits
from .prediction_log import InputPolicy

LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
INPUT_POLICIES: Final = ("store", "hash", "drop")
LABELS_AUTH_MODES: Final = ("token", "mesh")
LabelsAuth = Literal["token", "mesh"]
SECRETS: Final = frozenset({"LABELS_TOKEN"})
"""Variables whose values never appear in a message."""
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class SettingsError(ValueError):
    """An environment variable (or a default given to `serve`) holds an unusable value."""


@dataclass(frozen=True)
class Settings:
    """Runtime settings. The variable each field is read from is in the module docstring."""

    model_name: str = "model"
    service_name: str = ""
    """Empty: the model name."""
    model_uri: Path = Path("artifacts")
    model_load_delay_seconds: float = 0.0
    port: int = 8080
    host: str = "0.0.0.0"  # noqa: S104 - a container must listen on all interfaces
    log_level: str = "info"
    max_body_bytes: int = 1_048_576
    max_string_bytes: int = 16_384
    max_tensor_elements: int = 65_536
    max_concurrent_requests: int = 64
    drain_seconds: float = 2.0
    graceful_timeout_seconds: float = 5.0
    service_version: str = "0.0.0"
    service_revision: str = "unknown"
    latency_slo_seconds: float = 0.1
    predict_mode: PredictMode = PredictMode.AUTO
    batch_max_size: int = 32
    batch_max_wait_seconds: float = 0.0
    drift_window_rows: int = 1000
    drift_min_rows: int = 100
    drift_threshold: float = 0.2
    prediction_log_url: str = "prediction-logs"
    prediction_log_sample_rate: float = 1.0
    prediction_log_inputs: InputPolicy = "store"
    prediction_log_flush_seconds: float = 10.0
    prediction_log_queue_size: int = 10_000
    prediction_log_retry_max_seconds: float = 30.0
    prediction_log_shutdown_seconds: float = 10.0
    labels_url: str = "labels"
    labels_auth: LabelsAuth = "token"
    labels_token: str = dataclasses.field(default="", repr=False)
    """A secret: never in the settings' repr (logs, tracebacks)."""
    labels_max_items: int = 1000

    @property
    def served_as(self) -> str:
        """The service's name: `service_name`, or the model name when that is empty."""
        return self.service_name or self.model_name

    @property
    def prediction_log_enabled(self) -> bool:
        """True unless the sample rate is 0."""
        return self.prediction_log_sample_rate > 0

    @property
    def batch_limits(self) -> BatchLimits:
        """`BATCH_MAX_SIZE` and `BATCH_MAX_WAIT_MS` together."""
        return BatchLimits(self.batch_max_size, self.batch_max_wait_seconds)

    @property
    def request_limits(self) -> RequestLimits:
        """`MAX_STRING_BYTES` and `MAX_TENSOR_ELEMENTS` together."""
        return RequestLimits(self.max_string_bytes, self.max_tensor_elements)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], defaults: Settings | None = None) -> Settings:
        """Read the settings from ``environ``; unset variables keep ``defaults``' values.

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
                shown = "<secret>" if variable in SECRETS else repr(raw)
                raise SettingsError(f"{variable}={shown} is not valid: expected {exc}.") from None
        return dataclasses.replace(defaults or cls(), **changes)

    def check(self) -> Settings:
        """``self`` with the values given in code checked and read as the environment's are.

        ``predict_mode="thread"`` becomes `PredictMode.THREAD` and ``model_uri="models"`` a
        `Path`, as PREDICT_MODE and MODEL_URI would give them.

        Raises:
            SettingsError: a value is not one its variable would accept.
        """
        changes: dict[str, Any] = {}
        for field_name, variable, parse in _SOURCES:
            value = getattr(self, field_name)
            milliseconds = field_name == "batch_max_wait_seconds"
            raw = str(value * 1000) if milliseconds else str(value)
            try:
                parsed = parse(raw)
            except ValueError as exc:
                shown = "<secret>" if variable in SECRETS else repr(value)
                raise SettingsError(
                    f"{field_name}={shown} ({variable}) is not valid: expected {exc}."
                ) from None
            # The seconds as given: a round trip through milliseconds could change the float.
            changes[field_name] = float(value) if milliseconds else parsed
        return dataclasses.replace(self, **changes)


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


def _seconds(high: float) -> Callable[[str], float]:
    return _number(0, high, "a number of seconds")


def _text(max_length: int, *, allow_empty: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if (not value and not allow_empty) or len(value) > max_length or not value.isprintable():
            raise ValueError(f"1 to {max_length} printable characters")
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


def _model_name(raw: str) -> str:
    value = raw.strip()
    if not _MODEL_NAME.match(value):
        raise ValueError(
            "1 to 128 letters, digits, dots, dashes or underscores, starting with a letter "
            "or digit (it is part of the URL /v2/models/<name>)"
        )
    return value


def _path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("a path, e.g. /app/artifacts")
    return Path(raw.strip())


def _labels_auth(raw: str) -> LabelsAuth:
    return cast(LabelsAuth, _choice(LABELS_AUTH_MODES)(raw))


def _token(raw: str) -> str:
    value = raw.strip()
    if len(value) > 4096 or not value.isprintable() or " " in value:
        raise ValueError("up to 4096 printable characters without spaces")
    return value


def _predict_mode(raw: str) -> PredictMode:
    return PredictMode(_choice(tuple(PredictMode))(raw))


def _input_policy(raw: str) -> InputPolicy:
    return cast(InputPolicy, _choice(INPUT_POLICIES)(raw))


_SOURCES: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("model_name", "MODEL_NAME", _model_name),
    ("service_name", "SERVICE_NAME", _text(128, allow_empty=True)),
    ("model_uri", "MODEL_URI", _path),
    ("model_load_delay_seconds", "MODEL_LOAD_DELAY_SECONDS", _seconds(3600)),
    ("port", "PORT", _integer(1, 65_535)),
    ("host", "HOST", _text(255)),
    ("log_level", "LOG_LEVEL", _choice(LOG_LEVELS)),
    ("max_body_bytes", "MAX_BODY_BYTES", _integer(1, 1 << 30)),
    ("max_string_bytes", "MAX_STRING_BYTES", _integer(1, 1 << 30)),
    ("max_tensor_elements", "MAX_TENSOR_ELEMENTS", _integer(1, 1 << 30)),
    ("max_concurrent_requests", "MAX_CONCURRENT_REQUESTS", _integer(1, 100_000)),
    ("drain_seconds", "DRAIN_SECONDS", _seconds(300)),
    ("graceful_timeout_seconds", "GRACEFUL_TIMEOUT_SECONDS", _seconds(300)),
    ("service_version", "SERVICE_VERSION", _text(128)),
    ("service_revision", "SERVICE_REVISION", _text(128)),
    ("latency_slo_seconds", "LATENCY_SLO_SECONDS", _number(0.001, 60, "a number of seconds")),
    ("predict_mode", "PREDICT_MODE", _predict_mode),
    ("batch_max_size", "BATCH_MAX_SIZE", _integer(1, 65_536)),
    ("batch_max_wait_seconds", "BATCH_MAX_WAIT_MS", _milliseconds_as_seconds(1000)),
    ("drift_window_rows", "DRIFT_WINDOW_ROWS", _integer(0, 1_000_000)),
    ("drift_min_rows", "DRIFT_MIN_ROWS", _integer(1, 1_000_000)),
    ("drift_threshold", "DRIFT_THRESHOLD", _number(0.001, 100, "a number")),
    ("prediction_log_url", "PREDICTION_LOG_URL", _text(2048)),
    ("prediction_log_sample_rate", "PREDICTION_LOG_SAMPLE_RATE", _number(0, 1, "a fraction")),
    ("prediction_log_inputs", "PREDICTION_LOG_INPUTS", _input_policy),
    (
        "prediction_log_flush_seconds",
        "PREDICTION_LOG_FLUSH_SECONDS",
        _number(0.1, 3600, "a number of seconds"),
    ),
    ("prediction_log_queue_size", "PREDICTION_LOG_QUEUE_SIZE", _integer(1, 10_000_000)),
    (
        "prediction_log_retry_max_seconds",
        "PREDICTION_LOG_RETRY_MAX_SECONDS",
        _number(0.5, 3600, "a number of seconds"),
    ),
    ("prediction_log_shutdown_seconds", "PREDICTION_LOG_SHUTDOWN_SECONDS", _seconds(3600)),
    ("labels_url", "LABELS_URL", _text(2048)),
    ("labels_auth", "LABELS_AUTH", _labels_auth),
    ("labels_token", "LABELS_TOKEN", _token),
    ("labels_max_items", "LABELS_MAX_ITEMS", _integer(1, 100_000)),
)
