"""Loading in the background: the order of the steps, failures, and the frozen start-up heap."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from modelrail_runtime import LoadedModel, ServiceClient, Settings, load_model
from modelrail_runtime import loading as loading_module
from modelrail_runtime.execution import prepare_runner
from modelrail_runtime.http.app import create_app
from modelrail_runtime.prediction_log import PredictionLogWriter
from modelrail_runtime.state import Status
from modelrail_runtime.testing import ServiceNotReadyError

Start = Callable[..., ServiceClient]


def test_the_loaded_model_is_kept_out_of_garbage_collections(start: Start) -> None:
    # A full collection walking the model and every imported module stalled serving for
    # up to 190 ms (a 100-tree forest); `freeze_startup_heap` keeps them out of it.
    gc.unfreeze()
    try:
        with start() as client:
            model = client.app.dataplane.state.model
            assert gc.get_freeze_count() > 0
            assert not any(tracked is model for tracked in gc.get_objects())
            created_after: list[object] = []
            assert any(tracked is created_after for tracked in gc.get_objects())
    finally:
        gc.unfreeze()


def test_a_scikit_learn_models_parquet_writer_is_imported_before_its_first_predict(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A predict racing pyarrow's import in the writer thread fails (scikit-learn looks for
    # pyarrow tables), so the import comes before the warm-up.
    calls: list[str] = []
    monkeypatch.setattr(PredictionLogWriter, "prepare", lambda _self: calls.append("prepare"))

    def loading(*args: Any) -> LoadedModel:
        calls.append("load")
        return load_model(*args)

    async def warming(*args: Any) -> Any:
        calls.append("warm-up")
        return await prepare_runner(*args)

    monkeypatch.setattr(loading_module, "load_model", loading)
    monkeypatch.setattr(loading_module, "prepare_runner", warming)
    with start(prediction_log_sample_rate=1.0, prediction_log_url=str(tmp_path)):
        pass
    assert calls == ["load", "prepare", "warm-up"]


def test_without_scikit_learn_pyarrow_waits_for_the_first_flush(
    echo_artifacts: Path, tmp_path: Path
) -> None:
    # pyarrow takes longer to import than the rest of the service: not before readiness.
    code = f"""
import sys
from echo_text import EchoTextAdapter
from modelrail_runtime import ServiceClient
logs = {str(tmp_path)!r}
with ServiceClient({str(echo_artifacts)!r}, adapter=EchoTextAdapter(), model_name="echo",
                   prediction_log_sample_rate=1.0, prediction_log_url=logs) as client:
    body = {{"inputs": [{{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}}]}}
    assert client.infer(body).status_code == 200
    print("pyarrow" in sys.modules, "sklearn" in sys.modules)
print("pyarrow" in sys.modules)
"""
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": str(tests)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.split() == ["False", "False", "True"]
    assert len(list(tmp_path.rglob("*.parquet"))) == 1, "written at shutdown"


def test_readiness_is_logged_with_the_load_warm_up_and_start_up_times(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), start():
        pass
    (loaded,) = [r for r in caplog.records if r.getMessage() == "model loaded"]
    fields = loaded.fields  # type: ignore[attr-defined]
    assert 0 < fields["load_seconds"] < 60
    assert 0 <= fields["warmup_seconds"] < 60
    # The test process started long before this service: its age, not the service's.
    assert fields["start_seconds"] is None or fields["start_seconds"] >= fields["load_seconds"]


def test_the_process_age_is_measured_from_its_start() -> None:
    code = "from modelrail_runtime.loading import seconds_since_process_start as s; print(s())"
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    elapsed = time.monotonic() - started
    if out.strip() == "None":
        pytest.skip("no /proc on this platform")
    assert 0 < float(out) <= elapsed + 0.02


def test_a_model_that_fails_to_load_says_why(start: Start, tmp_path: Path) -> None:
    with (
        pytest.raises(ServiceNotReadyError, match=r"metadata\.json not found"),
        start(model_uri=tmp_path),
    ):
        pass


def test_an_unexpected_error_while_loading_names_its_type(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> LoadedModel:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(loading_module, "load_model", broken)
    with pytest.raises(ServiceNotReadyError, match="RuntimeError: disk on fire"), start():
        pass


def test_a_model_loaded_while_draining_does_not_become_ready(settings: Settings) -> None:
    slow = dataclasses.replace(settings, model_load_delay_seconds=0.2)
    with TestClient(create_app(slow)) as client:
        state = client.app.dataplane.state  # type: ignore[attr-defined]
        state.start_draining()
        deadline = time.monotonic() + 30
        while state.model is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state.model is not None
        assert state.status is Status.DRAINING
        assert client.get("/v2/health/ready").status_code == 503
