"""`ServiceClient`: the service in the test's own process, as a model repository uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelrail_runtime import ServiceClient, SettingsError
from modelrail_runtime.execution import PredictMode
from modelrail_runtime.state import Status
from modelrail_runtime.testing import ServiceNotReadyError


def test_entering_waits_until_the_model_is_ready(
    artifacts: Path, golden_request: dict[str, Any]
) -> None:
    with ServiceClient(artifacts, model_name="churn-model") as client:
        assert client.app.dataplane.state.status is Status.READY
        assert client.infer_path == "/v2/models/churn-model/infer"
        response = client.infer(golden_request)
        assert response.status_code == 200
        assert response.json()["model_name"] == "churn-model"
        metadata = client.model_metadata()
        assert metadata["name"] == "churn-model"
        versioned = client.infer(golden_request, version=metadata["versions"][0])
        assert versioned.status_code == 200


def test_logging_is_off_and_draining_is_immediate_unless_asked_for(artifacts: Path) -> None:
    client = ServiceClient(artifacts)
    assert client.settings.model_uri == artifacts
    assert client.settings.prediction_log_sample_rate == 0.0
    assert client.settings.drain_seconds == 0.0
    assert client.app.dataplane.prediction_log is None


def test_settings_are_given_by_keyword_and_checked(artifacts: Path) -> None:
    client = ServiceClient(str(artifacts), predict_mode="inline", max_body_bytes=2048)
    assert client.settings.model_uri == artifacts
    assert client.settings.predict_mode is PredictMode.INLINE
    assert client.settings.max_body_bytes == 2048
    with pytest.raises(SettingsError, match=r"max_body_bytes=0 \(MAX_BODY_BYTES\)"):
        ServiceClient(artifacts, max_body_bytes=0)


def test_a_model_that_cannot_load_fails_the_test_with_the_reason(tmp_path: Path) -> None:
    missing = ServiceClient(tmp_path / "no-such-model")
    with (
        pytest.raises(ServiceNotReadyError, match=r"the service is not ready: .*not found"),
        missing,
    ):
        pass


def test_a_model_that_loads_too_slowly_times_out(artifacts: Path) -> None:
    slow = ServiceClient(artifacts, model_load_delay_seconds=60, ready_timeout=0.1)
    with pytest.raises(ServiceNotReadyError, match=r"still loading after 0\.1s"), slow:
        pass
    assert isinstance(ServiceNotReadyError("x"), AssertionError), "a failure, not an error"
