"""The served OpenAPI document: every route, every status it answers, every body exact.

FastAPI documents its own routes from their signatures, and gets them wrong for this
service: a 422 the error handlers never send (they answer 400, see `errors`), no 404 nor
503, ``/metrics`` as JSON, any string as a model name. `describe_service` rewrites each
operation from what the service does instead, and adds the inference and labels routes
(plain Starlette routes, which FastAPI does not document). Path parameters are the served
model's name and version, so a client generated from the document reaches inference.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from ..lake.labels import LabelTarget
from ..monitoring.registry import CONTENT_TYPE
from ..oip.signature import ModelSignature
from . import schemas
from .schemas import ERROR, Schema

_TOO_LARGE_EXAMPLE: Final = {
    "error": "input 'text': an element is 20000 bytes long, more than MAX_STRING_BYTES=16384; "
    "send shorter texts (UTF-8 bytes count)"
}
_REQUEST_ID: Final = {
    "X-Request-ID": {
        "description": "The caller's request id (sanitised), or a fresh one",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    }
}
# The refusals of the request limits, on every route but probes and scrapes.
_SHED: Final = "Not ready (loading, draining), or too many requests in flight (Retry-After)"
_BODY_TOO_LARGE: Final = "The body is larger than MAX_BODY_BYTES"


@dataclass(frozen=True)
class ServedModel:
    """What the document says of the served model: its name, and once loaded, the rest."""

    name: str
    version: str | None = None
    signature: ModelSignature | None = None
    outcome: LabelTarget | None = None
    """What a true outcome is; None for a model without one (embeddings), or not loaded."""
    has_outcome: bool = True
    """False for a model whose labels are all refused (404): it predicts embeddings."""
    labels_max_items: int = 1000


def _json(schema: Schema, description: str, example: dict[str, Any] | None = None) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {
        "description": description,
        "headers": _REQUEST_ID,
        "content": {"application/json": media},
    }


def _errors(**descriptions: str) -> dict[str, Schema]:
    """``{"error": ...}`` answers by status: ``_errors(s404="...")``."""
    return {key.removeprefix("s"): _json(ERROR, text) for key, text in descriptions.items()}


def _parameters(served: ServedModel, versioned: bool) -> list[Schema]:
    """``model_name`` (and ``model_version``): the served model's, the only ones answered."""
    name: Schema = {"type": "string", "enum": [served.name]}
    parameters = [{"name": "model_name", "in": "path", "required": True, "schema": name}]
    if versioned:
        # Unknown until the model is loaded; the document is rebuilt then (`ServiceApp`).
        version: Schema = {"type": "string"}
        if served.version is not None:
            version["enum"] = [served.version]
        parameters.append(
            {"name": "model_version", "in": "path", "required": True, "schema": version}
        )
    return parameters


def _get(summary: str, operation_id: str, responses: dict[str, Schema]) -> Schema:
    return {"summary": summary, "operationId": operation_id, "responses": responses}


def _model_operations(served: ServedModel, versioned: bool) -> dict[str, Schema]:
    """``GET`` on the model's metadata and readiness paths, keyed by their suffix."""
    suffix = "_versioned" if versioned else ""
    unknown = "Unknown model or version" if versioned else "Unknown model"
    metadata = _get(
        "Model metadata",
        "model_metadata" + suffix,
        {
            "200": _json(schemas.model_metadata(served.name), "The model's OIP metadata"),
            **_errors(s404=unknown, s413=_BODY_TOO_LARGE, s503=_SHED),
        },
    )
    ready = _get(
        "Model readiness",
        "model_ready" + suffix,
        {
            "200": _json(schemas.model_ready(served.name), "The model takes inference"),
            **_errors(s404=unknown, s413=_BODY_TOO_LARGE, s503=_SHED),
        },
    )
    for operation in (metadata, ready):
        operation["parameters"] = _parameters(served, versioned)
    return {"": metadata, "/ready": ready}


def infer_operation(served: ServedModel, versioned: bool) -> Schema:
    """The OpenAPI operation object of ``POST /v2/models/{model_name}[/versions/...]/infer``."""
    return {
        "summary": "Infer",
        "operationId": "infer_versioned" if versioned else "infer",
        "parameters": _parameters(served, versioned),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas.infer_request(served.signature)}},
        },
        "responses": {
            "200": _json(schemas.infer_response(served.name), "The model's outputs"),
            "400": _json(ERROR, "The body breaks the protocol or the model's signature"),
            "404": _json(ERROR, "Unknown model or version"),
            "413": _json(
                ERROR,
                "Larger than a limit: the body than MAX_BODY_BYTES, a BYTES element than "
                "MAX_STRING_BYTES (UTF-8 bytes), or all inputs together than "
                "MAX_TENSOR_ELEMENTS elements; the error names the limit and its value",
                _TOO_LARGE_EXAMPLE,
            ),
            "503": _json(ERROR, _SHED),
        },
    }


class LabelsAccess(Enum):
    """Who may report labels, as the settings say (`labels`)."""

    TOKEN = "token"  # noqa: S105 - a mode, not a secret
    """Callers send ``Authorization: Bearer <LABELS_TOKEN>``."""
    MESH = "mesh"
    """The service mesh decides; the service checks nothing."""
    OFF = "off"
    """``LABELS_TOKEN`` is not set: every request is refused (403)."""


def labels_operation(served: ServedModel, access: LabelsAccess) -> Schema:
    """The OpenAPI operation object of ``POST /v2/models/{model_name}/labels``."""
    operation: Schema = {
        "summary": "Report true outcomes",
        "description": (
            "Stores the true outcome of predictions, by prediction id, in the labels table "
            "(LABELS_URL) before answering. Authenticated by Authorization: Bearer "
            "<LABELS_TOKEN>, or by the service mesh when LABELS_AUTH=mesh."
        ),
        "operationId": "report_labels",
        "parameters": _parameters(served, versioned=False),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": schemas.labels_request(served.outcome, served.labels_max_items)
                }
            },
        },
    }
    if access is LabelsAccess.OFF:
        # Refused before anything else is looked at, the model's name included.
        operation["responses"] = _errors(s403="The endpoint is off: LABELS_TOKEN is not set")
        return operation
    if not served.has_outcome:
        responses = _errors(s404="This model predicts embeddings: no true outcome to report")
    else:
        responses = {
            "200": _json(schemas.STORED, "Every label is stored"),
            **_errors(
                s400="Malformed body or item (named), or an unknown class",
                s404="Unknown model",
                s413="More labels than LABELS_MAX_ITEMS, or a body too large",
                s503="Not ready, too many requests in flight, or the labels store is "
                "unreachable (Retry-After); nothing kept",
            ),
        }
    if access is LabelsAccess.TOKEN:
        operation["security"] = [{"labelsToken": []}]
        responses.update(_errors(s401="Missing or wrong Authorization: Bearer token"))
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _service_operations() -> dict[str, Schema]:
    """``GET`` on the paths that do not name a model."""
    metrics = {
        "description": "The Prometheus text exposition format, version 0.0.4",
        "headers": _REQUEST_ID,
        "content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}},
    }
    return {
        "/v2/health/live": _get(
            "Liveness", "live", {"200": _json(schemas.LIVE, "The process is up")}
        ),
        "/v2/health/ready": _get(
            "Readiness",
            "ready",
            {
                "200": _json(schemas.READY, "The service takes inference"),
                **_errors(s503="Not ready: loading, failed or draining"),
            },
        ),
        "/v2": _get(
            "Server metadata",
            "server_metadata",
            {
                "200": _json(schemas.SERVER_METADATA, "The server's name, version, extensions"),
                **_errors(s413=_BODY_TOO_LARGE, s503=_SHED),
            },
        ),
        "/metrics": _get("Metrics", "metrics", {"200": metrics}),
    }


def describe_service(
    document: dict[str, Any],
    served: ServedModel,
    labels: LabelsAccess,
    *,
    model_path: str,
    labels_path: str,
) -> None:
    """Replace the operations of ``document`` (FastAPI's) with what the service does."""
    paths: dict[str, Any] = document.setdefault("paths", {})
    for path, operation in _service_operations().items():
        paths[path] = {"get": operation}
    version_path = model_path + "/versions/{model_version}"
    for base, versioned in ((model_path, False), (version_path, True)):
        for suffix, operation in _model_operations(served, versioned).items():
            paths[base + suffix] = {"get": operation}
        paths[base + "/infer"] = {"post": infer_operation(served, versioned)}
    paths[labels_path] = {"post": labels_operation(served, labels)}
    components = document.setdefault("components", {})
    # FastAPI's 422 bodies, which the service never sends.
    components.pop("schemas", None)
    if labels is LabelsAccess.TOKEN:
        scheme = {"type": "http", "scheme": "bearer"}
        components.setdefault("securitySchemes", {})["labelsToken"] = scheme
    if not components:
        del document["components"]
