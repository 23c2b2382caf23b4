"""The real process, ``python -m modelrail_runtime``: exit codes, draining, the final flush."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
import uvicorn

from modelrail_runtime import Settings, serve
from modelrail_runtime.http.app import create_app
from modelrail_runtime.server import DrainingServer, close_connections_while_draining
from modelrail_runtime.state import Status

PYTHON_M = [sys.executable, "-m", "modelrail_runtime"]
SCRIPT = [str(Path(sys.executable).with_name("modelrail-serve"))]


def start(env: dict[str, str], command: list[str] = PYTHON_M) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status(url: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("command", [PYTHON_M, SCRIPT], ids=["python -m", "modelrail-serve"])
def test_bad_configuration_exits_2_naming_the_variable(command: list[str]) -> None:
    process = start({"MAX_BODY_BYTES": "lots"}, command)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "configuration error: MAX_BODY_BYTES='lots' is not valid" in stderr
    assert "whole number" in stderr


def test_a_missing_model_exits_1(tmp_path: Path) -> None:
    env = {
        "MODEL_URI": str(tmp_path / "nothing"),
        "PORT": str(free_port()),
        "PREDICTION_LOG_SAMPLE_RATE": "0",
    }
    process = start(env)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    errors = [line for line in json_lines(stdout) if line["level"] == "error"]
    assert any("model failed to load" in line["message"] for line in errors), stdout
    assert any("exiting with code 1" in line["message"] for line in errors), stdout


def test_an_unwritable_prediction_log_exits_2_before_serving(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    port = free_port()
    env = {"PORT": str(port), "PREDICTION_LOG_URL": str(blocker / "prediction-logs")}
    process = start(env)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    errors = [line for line in json_lines(stdout) if line["level"] == "error"]
    assert len(errors) == 1, stdout
    assert "PREDICTION_LOG_URL" in errors[0]["message"]
    assert "is not writable" in errors[0]["message"]
    assert status(f"http://127.0.0.1:{port}/v2/health/live") == 0


def test_sigterm_drains_serving_every_request_then_flushes_the_prediction_log(
    artifacts: Path, tmp_path: Path, golden_request: dict[str, Any]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = tmp_path / "prediction-logs"
    env = {
        "MODEL_NAME": "iris",
        "SERVICE_NAME": "iris-service",
        "MODEL_URI": str(artifacts),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DRAIN_SECONDS": "1",
        "PREDICTION_LOG_URL": str(logs),
        # Only the shutdown writes: no event of a request served while draining may be lost.
        "PREDICTION_LOG_FLUSH_SECONDS": "3600",
    }
    infer = "/v2/models/iris/infer"
    body = json.dumps(golden_request).encode()
    process = start(env)
    try:
        deadline = time.monotonic() + 60
        while status(f"{base}/v2/health/ready") != 200:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "not ready after 60s"
            time.sleep(0.05)
        half = len(body) // 2
        with socket.create_connection(("127.0.0.1", port)) as sock:
            head = (
                f"POST {infer} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            sock.sendall(head + body[:half])
            process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            # Draining: load balancers see "not ready" while every request is still served.
            assert status(f"{base}/v2/health/ready") == 503
            assert status(f"{base}/v2/health/live") == 200
            assert status(base + infer, body) == 200
            time.sleep(1.0)  # past DRAIN_SECONDS: the server is shutting down now
            sock.sendall(body[half:])
            sock.settimeout(10)
            reply = sock.recv(65_536).decode()
        assert reply.startswith("HTTP/1.1 200"), reply
        assert process.wait(timeout=30) == 0
        rows = pq.read_table(logs).to_pylist()
        assert len(rows) == 2 * 3, "both requests served while draining were logged, by row"
        assert len({row["request_id"] for row in rows}) == 2
        rows_of_the_golden_request = golden_request["inputs"][0]["data"]
        for row in rows:
            assert row["date"] == row["timestamp"].strftime("%Y-%m-%d")
            assert row["output_label"] == row["row"]
            # The process' default input policy (store) keeps each row's values.
            number = row["row"]
            assert row["input-0"] == rows_of_the_golden_request[number * 4 : number * 4 + 4]
    finally:
        if process.poll() is None:
            process.kill()
        stdout, _ = process.communicate()
    records = json_lines(stdout)
    assert {record["service.name"] for record in records} == {"iris-service"}
    assert any("SIGTERM received: draining" in record["message"] for record in records)
    # The fast event loop and HTTP parser are installed and picked up.
    chosen = [r for r in records if "server.event_loop" in r]
    assert [(r["server.event_loop"], r["server.http_protocol"]) for r in chosen] == [
        ("uvloop", "HttpToolsProtocol")
    ]


def test_the_first_signal_drains_and_a_second_one_stops(settings: Settings) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), lifespan="off", log_config=None
    )
    state = app.dataplane.state
    server = DrainingServer(config, state, drain_seconds=60)

    async def scenario() -> tuple[bool, bool, bool]:
        serving = asyncio.create_task(server.serve())
        while not server.started:  # uvicorn has no 'started' event to wait for
            assert not serving.done(), "the server stopped before it started"
            await asyncio.sleep(0.01)
        server.handle_exit(signal.SIGTERM, None)
        await asyncio.sleep(0.1)
        draining = (state.status is Status.DRAINING, server.should_exit)
        server.handle_exit(signal.SIGTERM, None)
        await asyncio.wait_for(serving, timeout=10)
        return (*draining, server.should_exit)

    assert asyncio.run(scenario()) == (True, False, True)


def test_connections_queued_when_the_server_stops_listening_are_answered_not_reset(
    settings: Settings,
) -> None:
    """Connections still in the kernel's accept queue at shutdown get their answer.

    The event loop is held busy while clients connect and send, so their connections wait
    in the accept queue; closing the listening socket then would reset every one of them.
    """
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    server = DrainingServer(config, app.dataplane.state, drain_seconds=0)
    request = b"GET /v2/health/live HTTP/1.1\r\nHost: test\r\n\r\n"
    queued = 5
    replies: list[bytes | str] = []

    def client() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                replies.append(sock.recv(65_536))
        except OSError as error:
            replies.append(repr(error))

    async def scenario() -> None:
        config.load()
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        clients = [threading.Thread(target=client) for _ in range(queued)]
        for thread in clients:
            thread.start()
        # Blocks the loop on purpose: the connections wait in the accept queue.
        time.sleep(0.5)  # noqa: ASYNC251
        await server.shutdown()
        for thread in clients:
            await asyncio.to_thread(thread.join, 15)

    asyncio.run(scenario())
    assert len(replies) == queued
    assert all(isinstance(r, bytes) and r.startswith(b"HTTP/1.1 200") for r in replies), replies
    # After shutdown nothing listens: a new connection is refused, never reset.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_while_draining_every_response_closes_its_connection(settings: Settings) -> None:
    """Keep-alive callers reconnect (to another replica) once the service drains."""
    app = create_app(settings)
    state = app.dataplane.state
    closing = close_connections_while_draining(app, state)

    async def headers_of_live() -> dict[str, str]:
        transport = httpx.ASGITransport(app=closing)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/v2/health/live")
        assert response.status_code == 200
        return dict(response.headers)

    assert "connection" not in asyncio.run(headers_of_live())
    state.start_draining()
    assert asyncio.run(headers_of_live())["connection"] == "close"


def test_serve_reports_a_bad_default_or_variable_with_exit_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert serve(model_name="churn-model", environ={"PREDICT_MODE": "gpu"}) == 2
    assert "churn-model: configuration error: PREDICT_MODE='gpu'" in capsys.readouterr().err
    assert serve(model_name="churn-model", port=0, environ={}) == 2
    assert "port=0 (PORT) is not valid" in capsys.readouterr().err
    assert serve(model_nmae="typo", environ={}) == 2
    assert "model_nmae" in capsys.readouterr().err
