"""The OpenAPI document describes every route, inference included; no CDN-backed pages."""

from __future__ import annotations

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
        request = infer["requestBody"]["content"]["application/json"]["schema"]
        tensor = request["properties"]["inputs"]["items"]
        assert tensor["properties"]["datatype"]["enum"] == list(DATATYPES)
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
