"""The inference operation in the OpenAPI document.

`POST .../infer` is a plain Starlette route (see `routes`), which FastAPI does not
document by itself; this describes it: the OIP v2 request and response bodies and the
``{"error": ...}`` answers, the 413 of each request limit included.
"""

from __future__ import annotations

from typing import Any, Final

from ..oip.datatypes import DATATYPES

_TENSOR: Final = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "datatype": {"type": "string", "enum": list(DATATYPES)},
        "data": {
            "type": "array",
            "description": (
                "Flat row-major, or nested like 'shape'. BYTES elements are JSON strings "
                "(UTF-8 text), each at most MAX_STRING_BYTES bytes long."
            ),
        },
    },
}
_ERROR: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "description": "What is wrong and how to fix it; never a value of the request.",
        }
    },
}
_TOO_LARGE_EXAMPLE: Final = {
    "error": "input 'text': an element is 20000 bytes long, more than MAX_STRING_BYTES=16384; "
    "send shorter texts (UTF-8 bytes count)"
}


def _json(
    schema: dict[str, Any], description: str, example: dict[str, Any] | None = None
) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {"application/json": media}}


def infer_operation(versioned: bool) -> dict[str, Any]:
    """The OpenAPI operation object of ``POST /v2/models/{model_name}[/versions/...]/infer``."""
    parameters = [
        {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    if versioned:
        parameters.append(
            {"name": "model_version", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    request = {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "inputs": {"type": "array", "minItems": 1, "items": _TENSOR},
            "outputs": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        },
    }
    response = {
        "type": "object",
        "required": ["model_name", "model_version", "outputs"],
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "outputs": {"type": "array", "items": _TENSOR},
        },
    }
    return {
        "summary": "Infer",
        "operationId": "infer_versioned" if versioned else "infer",
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": request}},
        },
        "responses": {
            "200": _json(response, "The model's outputs"),
            "400": _json(_ERROR, "The body breaks the protocol or the model's signature"),
            "404": _json(_ERROR, "Unknown model or version"),
            "413": _json(
                _ERROR,
                "Larger than a limit: the body than MAX_BODY_BYTES, a BYTES element than "
                "MAX_STRING_BYTES (UTF-8 bytes), or all inputs together than "
                "MAX_TENSOR_ELEMENTS elements; the error names the limit and its value",
                _TOO_LARGE_EXAMPLE,
            ),
            "503": _json(_ERROR, "Not ready (loading, draining) or too many requests in flight"),
        },
    }


def add_infer_operations(document: dict[str, Any], model_path: str, version_path: str) -> None:
    """Describe ``POST`` on both inference paths in ``document`` (an OpenAPI document)."""
    paths = document.setdefault("paths", {})
    for path, versioned in ((model_path, False), (version_path, True)):
        paths.setdefault(path + "/infer", {})["post"] = infer_operation(versioned)
