"""JSON logs: one object per line, access records with request ids, never a payload."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modelrail_runtime import ServiceClient
from modelrail_runtime.logs import DeferredFlushHandler, JsonFormatter, configure_logging, rfc3339

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CANARY = "314159.2653589"


def rendered(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter("svc", "1.2.3")
    return [json.loads(formatter.format(record)) for record in caplog.records]


def access_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [line for line in rendered(caplog) if line.get("type") == "access"]


def record(message: str, *args: object, **extra: Any) -> logging.LogRecord:
    log_record = logging.LogRecord("x", logging.WARNING, __file__, 1, message, args, None)
    log_record.__dict__.update(extra)
    return log_record


def test_the_formatter_writes_one_json_object_with_the_services_identity() -> None:
    line = JsonFormatter("svc", "1.2.3").format(record("hello %s", "world"))
    assert "\n" not in line
    payload = json.loads(line)
    assert TIMESTAMP.match(payload["timestamp"])
    assert payload["level"] == "warning"
    assert payload["message"] == "hello world"
    assert payload["logger"] == "x"
    assert payload["service.name"] == "svc"
    assert payload["service.version"] == "1.2.3"


def test_fields_are_added_as_given_even_where_orjson_refuses_them() -> None:
    formatter = JsonFormatter("svc", "1")
    fields = {"duration_ms": 1.5, "big": 2**70, "path": object()}
    payload = json.loads(formatter.format(record("m", fields=fields)))
    assert payload["duration_ms"] == 1.5
    assert payload["big"] == 2**70
    assert payload["path"].startswith("<object object")


def test_exceptions_are_logged_with_their_type_and_stack() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", (), sys.exc_info())
    payload = json.loads(JsonFormatter("svc", "1").format(failed))
    assert payload["error.type"] == "ValueError"
    assert "ValueError: broken" in payload["error.stack_trace"]


def test_timestamps_are_rfc3339_utc_with_milliseconds() -> None:
    assert rfc3339(0.0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(1_714_564_800.1239) == "2024-05-01T12:00:00.123Z"
    assert rfc3339(1_714_564_800.9999) == "2024-05-01T12:00:00.999Z"


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Restore the root logger and uvicorn's after `configure_logging` changed them."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    access = logging.getLogger("uvicorn.access")
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    access.disabled = False


@pytest.mark.usefixtures("root_logging")
def test_every_logger_goes_through_one_json_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", "svc", "1.2.3")
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    logging.getLogger("modelrail_runtime.anything").info("below the level")
    assert logging.getLogger("uvicorn.access").disabled, "the service writes its own"
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["message"] == "from uvicorn"
    assert json.loads(line)["service.name"] == "svc"


def test_one_access_record_per_request(
    client: ServiceClient, caplog: pytest.LogCaptureFixture, golden_request: dict[str, Any]
) -> None:
    with caplog.at_level(logging.INFO):
        client.post(client.infer_path, json=golden_request, headers={"X-Request-ID": "req-42"})
    (access,) = access_records(caplog)
    assert access["request_id"] == "req-42"
    assert access["message"] == f"POST {client.infer_path} 200"
    assert access["http.request.method"] == "POST"
    assert access["url.path"] == client.infer_path
    assert access["http.route"] == "/v2/models/{model_name}/infer"
    assert access["http.response.status_code"] == 200
    assert access["duration_ms"] >= 0


def test_probes_and_scrapes_are_not_access_logged(
    client: ServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        for path in ("/v2/health/live", "/v2/health/ready", "/metrics"):
            client.get(path)
    assert access_records(caplog) == []


def test_payloads_never_reach_the_logs(
    client: ServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    tensor = {"name": "input-0", "shape": [1, 4], "datatype": "FP64"}
    good = {"inputs": [{**tensor, "data": [float(CANARY), 1.0, 1.0, 1.0]}], "id": CANARY}
    bad = {"inputs": [{**tensor, "data": [CANARY, 1.0, 1.0, 1.0]}]}
    with caplog.at_level(logging.DEBUG):
        assert client.infer(good).status_code == 200
        assert client.infer(bad).status_code == 400
        client.post(client.infer_path, content=b"[" + CANARY.encode())
    text = json.dumps(rendered(caplog))
    assert CANARY not in text
    assert len(access_records(caplog)) == 3


def test_the_loaded_model_is_logged_once_with_how_it_predicts(
    start: Callable[..., ServiceClient], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), start(predict_mode="thread"):
        pass
    (loaded,) = [line for line in rendered(caplog) if line["message"] == "model loaded"]
    assert loaded["model.name"] == "iris"
    assert len(loaded["model.version"]) == 12
    assert loaded["predict.mode"] == "thread"
    assert loaded["duration_ms"] > 0
    assert loaded["predict.warmup_ms"] >= 0
    assert loaded["load_seconds"] > 0
    assert loaded["warmup_seconds"] >= 0


class CountingStream(io.StringIO):
    """A stream that counts its flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def handler_on(stream: CountingStream, interval: float) -> DeferredFlushHandler:
    handler = DeferredFlushHandler(stream, interval=interval)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def info(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("x", level, __file__, 1, message, (), None)


def test_a_record_after_a_quiet_spell_is_flushed_at_once() -> None:
    stream = CountingStream()
    handler_on(stream, interval=60).handle(info("first"))
    assert stream.flushes == 1
    assert stream.getvalue() == "first\n"


def test_records_under_load_are_flushed_together_within_the_interval() -> None:
    stream = CountingStream()
    handler = handler_on(stream, interval=0.2)
    for n in range(50):
        handler.handle(info(f"record {n}"))
    assert stream.flushes == 1, "the first at once, the others later"
    deadline = time.monotonic() + 5
    while stream.flushes < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.flushes == 2
    assert stream.getvalue().splitlines() == [f"record {n}" for n in range(50)]


def test_warnings_and_errors_are_flushed_at_once() -> None:
    stream = CountingStream()
    handler = handler_on(stream, interval=60)
    handler.handle(info("first"))
    handler.handle(info("later"))
    handler.handle(info("broken", logging.ERROR))
    assert stream.flushes == 2


def test_closing_the_handler_writes_what_it_holds() -> None:
    stream = CountingStream()
    handler = handler_on(stream, interval=60)
    handler.handle(info("first"))
    handler.handle(info("held"))
    flushes = stream.flushes
    handler.flush()
    assert stream.flushes == flushes + 1
