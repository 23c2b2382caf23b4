"""The OIP v2 routes: health, server and model metadata, inference."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from modelrail_runtime import ServiceClient, Settings
from modelrail_runtime.http.app import create_app
from modelrail_runtime.state import Status

Start = Callable[..., ServiceClient]


def outputs_by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {output["name"]: output for output in body["outputs"]}


# --- health ----------------------------------------------------------------------------
def test_live_and_ready_once_loaded(client: ServiceClient) -> None:
    name = client.settings.model_name
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get(f"/v2/models/{name}/ready").json() == {"name": name, "ready": True}


def test_not_ready_while_the_model_loads(settings: Settings) -> None:
    slow = dataclasses.replace(settings, model_load_delay_seconds=60)
    infer = f"/v2/models/{settings.model_name}/infer"
    with TestClient(create_app(slow), raise_server_exceptions=False) as client:
        assert client.get("/v2/health/live").status_code == 200
        ready = client.get("/v2/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {"error": "model is still loading"}
        assert client.get(f"/v2/models/{settings.model_name}/ready").status_code == 503
        assert client.get(f"/v2/models/{settings.model_name}").status_code == 503
        response = client.post(infer, json={"inputs": []})
        assert response.status_code == 503
        assert response.json() == {"error": "model is still loading"}
        assert response.headers["Retry-After"] == "1"
        assert "model_ready 0.0" in client.get("/metrics").text


def test_a_model_that_fails_to_load_is_reported_and_never_ready(
    settings: Settings, tmp_path: Path
) -> None:
    failures: list[BaseException] = []
    missing = dataclasses.replace(settings, model_uri=tmp_path / "missing")
    with TestClient(create_app(missing, on_load_failure=failures.append)) as client:
        deadline = time.monotonic() + 30
        while not failures and time.monotonic() < deadline:
            client.get("/v2/health/live")
        assert failures, "the load failure was not reported"
        assert "metadata.json not found" in str(failures[0])
        assert client.get("/v2/health/ready").json() == {"error": "model failed to load"}
        assert client.get("/v2/health/live").status_code == 200
        assert client.app.dataplane.state.status is Status.FAILED  # type: ignore[attr-defined]


def test_draining_turns_readiness_off_but_keeps_serving(
    start: Start, golden_request: dict[str, Any]
) -> None:
    with start() as client:
        client.app.dataplane.state.start_draining()
        assert client.get("/v2/health/ready").json() == {"error": "service is shutting down"}
        model_ready = client.get(f"/v2/models/{client.settings.model_name}/ready")
        assert model_ready.status_code == 503
        assert client.infer(golden_request).status_code == 200
        assert "model_ready 0.0" in client.get("/metrics").text


# --- metadata --------------------------------------------------------------------------
def test_server_metadata_names_the_service(start: Start) -> None:
    with start(service_name="iris-service", service_version="1.2.3") as client:
        assert client.get("/v2").json() == {
            "name": "iris-service",
            "version": "1.2.3",
            "extensions": [],
        }


def test_the_service_is_named_after_its_model_by_default(client: ServiceClient) -> None:
    assert client.get("/v2").json()["name"] == client.settings.model_name


def test_model_metadata_declares_the_signature(client: ServiceClient, artifacts: Path) -> None:
    name = client.settings.model_name
    body = client.model_metadata()
    version = hashlib.sha256((artifacts / "model.skops").read_bytes()).hexdigest()[:12]
    assert body == {
        "name": name,
        "versions": [version],
        "platform": "sklearn_skops",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3]},
            # Every served model gains it: one id per predicted row, filled by the service.
            {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
        ],
    }
    assert client.get(f"/v2/models/{name}/versions/{version}").json() == body
    assert client.get(f"/v2/models/{name}/versions/{version}/ready").status_code == 200


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v2/models/not-this-model", "unknown model; this server serves 'iris'"),
        ("/v2/models/not-this-model/ready", "unknown model; this server serves 'iris'"),
        ("/v2/models/iris/versions/000000000000", "unknown model version; the served version"),
        ("/v2/models/iris/versions/000000000000/ready", "unknown model version"),
    ],
)
def test_unknown_models_and_versions_are_404(
    client: ServiceClient, path: str, message: str
) -> None:
    assert client.settings.model_name == "iris"
    response = client.get(path)
    assert response.status_code == 404
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]


# --- inference -------------------------------------------------------------------------
def test_the_golden_request_gives_the_golden_labels(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    response = client.infer(golden_request)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["model_name"] == client.settings.model_name
    assert body["model_version"] == client.model_metadata()["versions"][0]
    assert body["id"] == "golden-iris-1"
    label = outputs_by_name(body)["label"]
    assert label == {"name": "label", "datatype": "INT64", "shape": [3], "data": [0, 1, 2]}


def test_probabilities_are_a_distribution_per_row(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    probabilities = outputs_by_name(client.infer(golden_request).json())["probabilities"]
    assert probabilities["shape"] == [3, 3]
    assert probabilities["datatype"] == "FP64"
    for row in range(3):
        assert math.isclose(sum(probabilities["data"][row * 3 : row * 3 + 3]), 1.0)


def test_nested_data_equals_flat_data(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    flat = client.infer(golden_request).json()
    data = golden_request["inputs"][0]["data"]
    golden_request["inputs"][0]["data"] = [data[i : i + 4] for i in range(0, len(data), 4)]
    nested = client.infer(golden_request).json()
    model_outputs = ("label", "probabilities")
    assert [outputs_by_name(nested)[name] for name in model_outputs] == [
        outputs_by_name(flat)[name] for name in model_outputs
    ]


def test_every_row_gets_a_fresh_prediction_id(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    first, second = (
        outputs_by_name(client.infer(golden_request).json())["prediction_id"] for _ in range(2)
    )
    assert (first["datatype"], first["shape"]) == ("BYTES", [3])
    base = first["data"][0].split("-")[0]
    assert first["data"] == [f"{base}-{row}" for row in range(3)]
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    assert set(first["data"]).isdisjoint(second["data"]), "ids are never reused"


@pytest.mark.parametrize(
    "names",
    [["label"], ["probabilities"], ["probabilities", "label"], ["prediction_id", "label"]],
)
def test_only_the_requested_outputs_are_returned(
    client: ServiceClient, golden_request: dict[str, Any], names: list[str]
) -> None:
    golden_request["outputs"] = [{"name": name} for name in names]
    body = client.infer(golden_request).json()
    assert [output["name"] for output in body["outputs"]] == names


def test_every_output_is_returned_by_default(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    body = client.infer(golden_request).json()
    assert [output["name"] for output in body["outputs"]] == [
        "label",
        "probabilities",
        "prediction_id",
    ]


def test_the_id_is_echoed_only_when_sent(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    del golden_request["id"]
    assert "id" not in client.infer(golden_request).json()


def test_the_versioned_route_infers_too(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    version = client.model_metadata()["versions"][0]
    response = client.infer(golden_request, version=version)
    assert response.status_code == 200
    assert response.json()["model_version"] == version
    assert client.infer(golden_request, version="000000000000").status_code == 404


def test_another_model_name_in_the_url_is_404(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    response = client.post("/v2/models/another-model/infer", json=golden_request)
    assert response.status_code == 404
    assert response.json() == {"error": "unknown model; this server serves 'iris'"}


def test_the_model_file_may_be_named_instead_of_its_directory(
    start: Start, artifacts: Path, golden_request: dict[str, Any]
) -> None:
    with start(model_uri=artifacts / "model.skops") as client:
        outputs = outputs_by_name(client.infer(golden_request).json())
        assert outputs["label"]["data"] == [0, 1, 2]
