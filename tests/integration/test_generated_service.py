"""The service generated with default answers, built once and run for real.

These tests start the image the template produces (built once per run by the
``generated_image`` fixture) and talk to it over loopback only.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from modelrail_conformance.target import HttpStatusWait, ServiceContainer

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def contract(generated_project: Path) -> dict:
    """The generated repo's ``[tool.modelrail]`` table."""
    with (generated_project / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["modelrail"]


@pytest.fixture(scope="module")
def service(generated_image: str, contract: dict) -> Iterator[httpx.Client]:
    container = ServiceContainer(generated_image, contract["port"], hardened=True).start()
    try:
        HttpStatusWait("/v2/health/ready", timeout=60).wait(container)
        with httpx.Client(base_url=container.base_url, timeout=10) as client:
            yield client
    finally:
        container.stop()


def test_health_and_server_metadata(service: httpx.Client) -> None:
    assert service.get("/v2/health/live").status_code == 200
    assert service.get("/v2/health/ready").status_code == 200
    server = service.get("/v2").json()
    assert server["name"]
    assert server["version"]


def test_model_metadata_describes_the_tensors(service: httpx.Client, contract: dict) -> None:
    response = service.get(f"/v2/models/{contract['model_name']}")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["name"] == contract["model_name"]
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["inputs"]] == [
        ("tenure_months", "INT64", [-1]),
        ("monthly_charges", "FP64", [-1]),
        ("contract", "BYTES", [-1]),
        ("payment_method", "BYTES", [-1]),
        ("has_support", "BOOL", [-1]),
        ("support_calls", "INT64", [-1]),
    ]
    assert [t["name"] for t in metadata["outputs"]] == ["label", "probabilities", "prediction_id"]


def test_golden_request_gives_golden_labels(
    service: httpx.Client, contract: dict, generated_project: Path
) -> None:
    request = json.loads((generated_project / contract["golden_request"]).read_text())
    expected = json.loads((generated_project / contract["golden_response"]).read_text())
    response = service.post(f"/v2/models/{contract['model_name']}/infer", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == request["id"]
    outputs = {o["name"]: o for o in body["outputs"]}
    for want in expected["outputs"]:
        assert outputs[want["name"]]["data"] == want["data"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "malformed JSON"),
        (
            b'{"inputs": [{"name": "tenure_months", "datatype": "BYTES", "shape": [1], '
            b'"data": ["a"]}]}',
            "wrong datatype",
        ),
        (
            b'{"inputs": [{"name": "tenure_months", "datatype": "INT64", "shape": [3], '
            b'"data": [1, 2]}]}',
            "shape mismatch",
        ),
        (b'{"inputs": []}', "missing input"),
    ],
)
def test_bad_requests_get_400_with_a_json_error(
    service: httpx.Client, contract: dict, content: bytes, why: str
) -> None:
    response = service.post(
        f"/v2/models/{contract['model_name']}/infer",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, f"{why}: {response.status_code} {response.text}"
    body = response.json()
    assert set(body) == {"error"}, body
    assert "Traceback" not in body["error"]


def test_unknown_model_is_404(service: httpx.Client) -> None:
    response = service.post("/v2/models/no-such-model/infer", json={"inputs": []})
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_a_request_without_a_feature_is_a_400_naming_it(
    service: httpx.Client, contract: dict, generated_project: Path
) -> None:
    request = json.loads((generated_project / contract["golden_request"]).read_text())
    request["inputs"] = [t for t in request["inputs"] if t["name"] != "payment_method"]
    response = service.post(f"/v2/models/{contract['model_name']}/infer", json=request)
    assert response.status_code == 400, response.text
    assert "'payment_method'" in response.json()["error"]
