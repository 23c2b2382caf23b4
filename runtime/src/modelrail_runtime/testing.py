"""`ServiceClient`: the service in the test's own process, for a model repository's tests.

The application runs in-process through Starlette's TestClient (lifespan included, no
port bound), from the same code the container runs. It needs the ``testing`` extra
(``modelrail-runtime[testing]``: httpx2, the HTTP client Starlette's TestClient uses).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import httpx2
from starlette.testclient import TestClient

from .adapter import ModelAdapter
from .http.app import ServiceApp, create_app
from .settings import Settings
from .state import Status


class ServiceNotReadyError(AssertionError):
    """The in-process service did not become ready (its model failed to load, or timed out)."""


class ServiceClient(TestClient):
    """A client of the service running in this process; entering it waits for readiness.

    Example::

        with ServiceClient("artifacts", model_name="churn-model") as client:
            response = client.infer({"inputs": [...]})
    """

    app: ServiceApp

    def __init__(
        self,
        model_uri: str | Path,
        *,
        adapter: ModelAdapter | None = None,
        ready_timeout: float = 60.0,
        **settings: Any,
    ) -> None:
        """Args:
        model_uri: the trained model's directory (or artifact file).
        adapter: how to load it; by default the adapter its metadata.json names.
        ready_timeout: seconds to wait for readiness when the client is entered.
        **settings: other `Settings` fields. Prediction logging is off unless
            ``prediction_log_sample_rate`` is given, and draining takes no time.
        """
        settings.setdefault("prediction_log_sample_rate", 0.0)
        settings.setdefault("drain_seconds", 0.0)
        self.settings = dataclasses.replace(
            Settings(), model_uri=Path(model_uri), **settings
        ).check()
        self.ready_timeout = ready_timeout
        super().__init__(create_app(self.settings, adapter), raise_server_exceptions=False)

    def __enter__(self) -> ServiceClient:
        super().__enter__()
        state = self.app.dataplane.state
        deadline = time.monotonic() + self.ready_timeout
        while state.status is Status.LOADING and time.monotonic() < deadline:
            time.sleep(0.02)
        if state.status is not Status.READY:
            reason = state.load_error or f"still loading after {self.ready_timeout:g}s"
            super().__exit__(None, None, None)
            raise ServiceNotReadyError(f"the service is not ready: {reason}")
        return self

    @property
    def infer_path(self) -> str:
        """``/v2/models/<model name>/infer``."""
        return f"/v2/models/{self.settings.model_name}/infer"

    def infer(self, body: dict[str, Any], *, version: str | None = None) -> httpx2.Response:
        """POST ``body`` to the model's inference route (the versioned one if given)."""
        path = self.infer_path
        if version is not None:
            path = f"/v2/models/{self.settings.model_name}/versions/{version}/infer"
        response: httpx2.Response = self.post(path, json=body)
        return response

    def model_metadata(self) -> dict[str, Any]:
        """``GET /v2/models/<model name>`` as JSON."""
        response = self.get(f"/v2/models/{self.settings.model_name}")
        response.raise_for_status()
        return dict(response.json())
