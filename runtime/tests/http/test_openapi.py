"""The OpenAPI document describes every route, inference included; no CDN-backed pages.

It says what the service does: each status it answers (never FastAPI's 422), the one
error body, ``/metrics`` as Prometheus text, and the served model's name, version and
inputs. `test_contract_fuzz` checks the whole of it against the service; these pin each
fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modelrail_runtime import ServiceClient
from modelrail_runtime.oip.datatypes import DATATYPES

MODEL = "/v2/models/{model_name}"
VERSION = MODEL + "/versions/{model_version}"


def test_the_document_lists_every_oip_route(client: ServiceClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == client.settings.served_as
    assert set(document["paths"]) == {
        "/v2/health/live",
        "/v2/health/ready",
        "/v2",
        MODEL,
        VERSION,
        MODEL + "/ready",
        VERSION + "/ready",
        MODEL + "/infer",
        VERSION + "/infer",
        MODEL + "/labels",
        "/metrics",
    }


def test_both_inference_routes_are_described(client: ServiceClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, versioned in ((MODEL, False), (VERSION, True)):
        infer = paths[path + "/infer"]["post"]
        assert infer["operationId"] == ("infer_versioned" if versioned else "infer")
        assert infer["requestBody"]["required"] is True
        assert set(infer["responses"]) == {"200", "400", "404", "413", "503"}
        names = [parameter["name"] for parameter in infer["parameters"]]
        assert names == (["model_name", "model_version"] if versioned else ["model_name"])
        response = infer["responses"]["200"]["content"]["application/json"]["schema"]
        output = response["properties"]["outputs"]["items"]
        assert output["properties"]["datatype"]["enum"] == list(DATATYPES)
        error = infer["responses"]["400"]["content"]["application/json"]["schema"]
        assert error["required"] == ["error"]


def test_the_document_is_built_once(client: ServiceClient) -> None:
    assert client.app.openapi() is client.app.openapi()


def test_no_swagger_or_redoc_pages(client: ServiceClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_the_413_of_each_request_limit_is_described(client: ServiceClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (MODEL, VERSION):
        too_large = paths[path + "/infer"]["post"]["responses"]["413"]
        for setting in ("MAX_BODY_BYTES", "MAX_STRING_BYTES", "MAX_TENSOR_ELEMENTS"):
            assert setting in too_large["description"]
        media = too_large["content"]["application/json"]
        assert media["schema"]["required"] == ["error"]
        assert media["schema"]["properties"]["error"]["type"] == "string"
        assert set(media["example"]) == {"error"}
        assert "MAX_STRING_BYTES=16384" in media["example"]["error"]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_metrics_are_documented_as_prometheus_text(client: ServiceClient) -> None:
    document = client.get("/openapi.json").json()
    content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    served = client.get("/metrics").headers["content-type"]
    assert list(content) == ["text/plain"]
    assert served.startswith("text/plain; version=0.0.4")


def test_no_operation_documents_422(client: ServiceClient) -> None:
    # The error handlers answer 400 where FastAPI would say 422.
    document = client.get("/openapi.json").json()
    for path, method, operation in operations(document):
        assert "422" not in operation["responses"], f"{method.upper()} {path}"
    assert "HTTPValidationError" not in str(document)
    assert client.get("/v2/models/iris/versions/").status_code != 422


def test_every_model_route_documents_404_and_503(client: ServiceClient) -> None:
    document = client.get("/openapi.json").json()
    # The labels route, off here (no LABELS_TOKEN), answers 403 to everything.
    model_routes = [
        operation
        for path, _, operation in operations(document)
        if "{model_name}" in path and not path.endswith("/labels")
    ]
    assert len(model_routes) == 6
    for operation in model_routes:
        assert {"404", "503"} <= set(operation["responses"]), operation["operationId"]
    assert client.get("/v2/models/other").status_code == 404


def test_every_error_is_documented_with_the_one_error_body(client: ServiceClient) -> None:
    document = client.get("/openapi.json").json()
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema["required"] == ["error"], f"{method.upper()} {path} {status}"
        assert "500" not in operation["responses"]


def test_path_parameters_are_the_served_model(
    client: ServiceClient, golden_request: dict[str, Any]
) -> None:
    document = client.get("/openapi.json").json()
    version = client.model_metadata()["versions"][0]
    infer = document["paths"][VERSION + "/infer"]["post"]
    enums = {p["name"]: p["schema"]["enum"] for p in infer["parameters"]}
    assert enums == {"model_name": ["iris"], "model_version": [version]}
    # A client that fills the path from the document reaches inference.
    path = VERSION.format(model_name=enums["model_name"][0], model_version=version)
    assert client.post(path + "/infer", json=golden_request).status_code == 200


def test_the_inference_request_is_the_models_signature(client: ServiceClient) -> None:
    document = client.get("/openapi.json").json()
    request = document["paths"][MODEL + "/infer"]["post"]["requestBody"]["content"]
    inputs = request["application/json"]["schema"]["properties"]["inputs"]
    (tensor,) = inputs["items"]["oneOf"]
    assert tensor["properties"]["name"] == {"const": "input-0"}
    assert tensor["properties"]["datatype"] == {"const": "FP64"}
    assert tensor["properties"]["shape"]["prefixItems"][1] == {"const": 4}
    assert (inputs["minItems"], inputs["maxItems"]) == (1, 1)


@pytest.mark.parametrize(
    ("changes", "statuses", "secured"),
    [
        ({}, {"403"}, False),
        ({"labels_token": "t0ken"}, {"200", "400", "401", "404", "413", "503"}, True),
        ({"labels_auth": "mesh"}, {"200", "400", "404", "413", "503"}, False),
    ],
    ids=["off", "token", "mesh"],
)
def test_the_labels_route_is_documented_as_configured(
    start: Callable[..., ServiceClient],
    changes: dict[str, str],
    statuses: set[str],
    secured: bool,
) -> None:
    with start(**changes) as client:
        document = client.get("/openapi.json").json()
    operation = document["paths"][MODEL + "/labels"]["post"]
    assert set(operation["responses"]) == statuses
    assert ("security" in operation) is secured
    item = operation["requestBody"]["content"]["application/json"]["schema"]
    label = item["properties"]["labels"]["items"]["properties"]["label"]
    assert label["enum"] == [0, 1, 2, "0", "1", "2"]


def test_the_document_before_the_model_is_loaded_is_not_kept(
    start: Callable[..., ServiceClient],
) -> None:
    client = start()
    # Not entered: no lifespan, so the model is not loaded.
    document = client.app.openapi()
    versioned = document["paths"][VERSION]["get"]["parameters"][1]["schema"]
    assert versioned == {"type": "string"}
    assert client.app.openapi_schema is None
