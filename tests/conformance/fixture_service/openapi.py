"""The fixture's OpenAPI document: its real routes, statuses and bodies (MD-004 checks it).

Every operation lists each status the fixture answers it with, and the request body of
inference is the model's own inputs, as far as JSON Schema can say it: the one rule left
out is that 'data' holds prod('shape') elements and all inputs share the batch size.
"""

from __future__ import annotations

import math
from typing import Any

from fixture_service.spec import Spec

Schema = dict[str, Any]

INT64_RANGE = (-(2**63), 2**63 - 1)
FLOAT_MAX = 1.7976931348623157e308
ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "minLength": 1}},
}
_TENSOR: Schema = {
    "type": "object",
    "required": ["name", "datatype", "shape"],
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": -1}},
    },
}
_OUTPUT: Schema = {
    "type": "object",
    "required": ["name", "datatype", "shape", "data"],
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "data": {"type": "array"},
    },
}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(**descriptions: str) -> dict[str, Schema]:
    """``{"error": ...}`` answers by status: ``_errors(s404="...")``."""
    return {key.removeprefix("s"): _json(ERROR, text) for key, text in descriptions.items()}


def _object(**properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


def _element(spec: Spec) -> Schema:
    if spec.datatype == "BOOL":
        return {"type": "boolean"}
    if spec.datatype == "BYTES":
        return {"type": "string"}
    if spec.datatype == "INT64":
        return {"type": "integer", "minimum": INT64_RANGE[0], "maximum": INT64_RANGE[1]}
    number = {"type": ["number", "null"] if spec.nullable else "number"}
    return {**number, "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX}


def _data(spec: Spec) -> Schema:
    """'data': flat, or nested like the shape (each list as long as its dimension)."""
    element = _element(spec)
    fewest = math.prod(d for d in spec.shape if d != -1)
    flat: Schema = {"type": "array", "minItems": fewest, "items": element}
    if -1 not in spec.shape:
        flat["maxItems"] = fewest
    if len(spec.shape) < 2:
        return flat
    nested = element
    for length in reversed(spec.shape[1:]):
        fixed = {} if length == -1 else {"maxItems": length}
        nested = {"type": "array", "minItems": max(length, 1), **fixed, "items": nested}
    return {"anyOf": [flat, {"type": "array", "minItems": 1, "items": nested}]}


def _tensor(spec: Spec) -> Schema:
    dims = [{"type": "integer", "minimum": 1} if d == -1 else {"const": d} for d in spec.shape]
    shape = {"type": "array", "minItems": len(dims), "maxItems": len(dims), "prefixItems": dims}
    return _object(
        name={"const": spec.name},
        shape=shape,
        datatype={"const": spec.datatype},
        data=_data(spec),
    )


def _infer_request(inputs: tuple[Spec, ...]) -> Schema:
    named = [
        {
            "contains": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"const": s.name}},
            }
        }
        for s in inputs
    ]
    return {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"description": "Echoed in the response, whatever it is"},
            "inputs": {
                "type": "array",
                "minItems": len(inputs),
                "maxItems": len(inputs),
                "items": {"oneOf": [_tensor(spec) for spec in inputs]},
                "allOf": named,
            },
        },
    }


def _model_parameters(name: str, version: str, versioned: bool) -> list[Schema]:
    parameters = [
        {
            "name": "model_name",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": [name]},
        }
    ]
    if versioned:
        schema = {"type": "string", "enum": [version]}
        parameters.append(
            {"name": "model_version", "in": "path", "required": True, "schema": schema}
        )
    return parameters


def _get(responses: dict[str, Schema], parameters: list[Schema] | None = None) -> Schema:
    operation: Schema = {"responses": responses}
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def document(
    *, model: str, version: str, service_version: str, inputs: tuple[Spec, ...], flaw: str
) -> Schema:
    """The OpenAPI 3.1 document of the fixture serving ``model`` with ``inputs``."""
    unknown = "Unknown model or version"
    metadata = _object(
        name={"const": model},
        versions={"type": "array", "items": {"type": "string"}},
        platform={"type": "string"},
        inputs={"type": "array", "items": _TENSOR},
        outputs={"type": "array", "items": _TENSOR},
    )
    ready = _object(name={"const": model}, ready={"const": True})
    response = _object(
        model_name={"const": model},
        model_version={"type": "string"},
        outputs={"type": "array", "items": _OUTPUT},
    )
    response["properties"]["id"] = {"description": "The request's id"}
    # The openapi_untruthful flaw documents FastAPI's 422 where the fixture answers 400.
    refused = "422" if flaw == "openapi_untruthful" else "400"
    paths: Schema = {
        "/v2/health/live": _get({"200": _json(_object(live={"const": True}), "Up")}),
        "/v2/health/ready": _get(
            {
                "200": _json(_object(ready={"const": True}), "Ready"),
                **_errors(s503="Not ready: loading or draining"),
            }
        ),
        "/v2": _get(
            {
                "200": _json(
                    _object(
                        name={"type": "string"},
                        version={"type": "string"},
                        extensions={"type": "array", "items": {"type": "string"}},
                    ),
                    "Server metadata",
                )
            }
        ),
        "/metrics": _get(
            {
                "200": {
                    "description": "Prometheus text",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            }
        ),
    }
    for versioned in (False, True):
        base = "/v2/models/{model_name}" + ("/versions/{model_version}" if versioned else "")
        parameters = _model_parameters(model, version, versioned)
        paths[base] = _get(
            {"200": _json(metadata, "Model metadata"), **_errors(s404=unknown)}, parameters
        )
        paths[base + "/ready"] = _get(
            {
                "200": _json(ready, "The model is ready"),
                **_errors(s404=unknown, s503="Not loaded"),
            },
            parameters,
        )
        infer = {
            "parameters": parameters,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _infer_request(inputs)}},
            },
            "responses": {
                "200": _json(response, "The model's outputs"),
                **_errors(
                    s404=unknown,
                    s413="Too large: the body, a string, or the elements of all inputs",
                    s503="Not loaded, or too many requests in flight",
                ),
                refused: _json(ERROR, "The body breaks the protocol or the model's inputs"),
            },
        }
        paths[base + "/infer"] = {"post": infer}
    return {
        "openapi": "3.1.0",
        "info": {"title": "fixture", "version": service_version},
        "paths": paths,
    }
