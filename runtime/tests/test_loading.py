"""Loading in the background: the order of the steps, failures, and the frozen start-up heap."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from modelrail_runtime import LoadedModel, ServiceClient, Settings, load_model
from modelrail_runtime import loading as loading_module
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


def test_the_parquet_writer_is_imported_before_the_model_loads(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A predict racing pyarrow's import in the writer thread fails (scikit-learn looks for
    # pyarrow tables), so the import comes first.
    calls: list[str] = []
    monkeypatch.setattr(PredictionLogWriter, "prepare", lambda _self: calls.append("prepare"))

    def loading(*args: Any) -> LoadedModel:
        calls.append("load")
        return load_model(*args)

    monkeypatch.setattr(loading_module, "load_model", loading)
    with start(prediction_log_sample_rate=1.0, prediction_log_url=str(tmp_path)):
        pass
    assert calls == ["prepare", "load"]


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
