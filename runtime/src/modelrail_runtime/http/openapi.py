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


def labels_operation() -> dict[str, Any]:
    """The OpenAPI operation object of ``POST /v2/models/{model_name}/labels``."""
    item = {
        "type": "object",
        "required": ["prediction_id"],
        "additionalProperties": False,
        "properties": {
            "prediction_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 256,
                "description": "The id an inference response returned for the row",
            },
            "label": {
                "oneOf": [{"type": "string"}, {"type": "integer"}],
                "description": "Classifiers: the true class, one of the model's classes",
            },
            "value": {"type": "number", "description": "Regressors: the true value (finite)"},
        },
    }
    request = {
        "type": "object",
        "required": ["labels"],
        "additionalProperties": False,
        "properties": {
            "labels": {
                "type": "array",
                "minItems": 1,
                "description": "At most LABELS_MAX_ITEMS items",
                "items": item,
            },
            "source": {"type": "string", "description": "Who reports them (default: api)"},
        },
    }
    stored = {
        "type": "object",
        "required": ["stored"],
        "properties": {"stored": {"type": "integer", "minimum": 1}},
    }
    return {
        "summary": "Report true outcomes",
        "description": (
            "Stores the true outcome of predictions, by prediction id, in the labels table "
            "(LABELS_URL) before answering. Authenticated by Authorization: Bearer "
            "<LABELS_TOKEN>, or by the service mesh when LABELS_AUTH=mesh."
        ),
        "operationId": "report_labels",
        "parameters": [
            {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "security": [{"labelsToken": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
        "responses": {
            "200": _json(stored, "Every label is stored"),
            "400": _json(_ERROR, "Malformed body or item (named), or an unknown class"),
            "401": _json(_ERROR, "Missing or wrong Authorization: Bearer token"),
            "403": _json(_ERROR, "The endpoint is off: LABELS_TOKEN is not set"),
            "404": _json(_ERROR, "Unknown model, or a model without ground truth (embeddings)"),
            "413": _json(_ERROR, "More labels than LABELS_MAX_ITEMS, or a body too large"),
            "503": _json(_ERROR, "The labels store is unreachable (Retry-After); nothing kept"),
        },
    }


def add_labels_operation(document: dict[str, Any], path: str) -> None:
    """Describe ``POST`` on the labels path in ``document``, with its bearer scheme."""
    document.setdefault("paths", {}).setdefault(path, {})["post"] = labels_operation()
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["labelsToken"] = {"type": "http", "scheme": "bearer"}
