"""MD: server and model metadata (Open Inference Protocol v2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules import _oip as oip
from modelrail_conformance.rules._support import OIP_DATATYPES, exchange, model_path, rule
from modelrail_conformance.target import Target

OPENAPI_PATHS = ("/openapi.json", "/v2/openapi.json", "/docs/openapi.json")


@rule("MD-001", Level.MUST, "GET /v2 returns server metadata", spec=oip.SERVER_METADATA)
def server_metadata(target: Target) -> None:
    """GET /v2 MUST answer 200 with a JSON object holding the server's ``name`` and ``version`` (strings) and ``extensions`` (a list of strings).

    Why:
        Clients and the platform's inventory identify the server and its protocol
        extensions from this document (Open Inference Protocol v2, server metadata).

    Checked by:
        GET /v2, then checking the three fields and their types.

    Fix:
        Serve ``{"name": ..., "version": ..., "extensions": []}`` at GET /v2.
    """
    ex = exchange(target.base_url, "GET", "/v2", expected="200 with server metadata")
    data = ex.json()
    expected = '200 {"name": str, "version": str, "extensions": [str]}'
    if ex.status != 200 or not isinstance(data, dict):
        raise RuleViolation(ex.request, ex.describe(), expected, reproduce=ex.curl)
    problems = [
        f"{key} is {data.get(key)!r}"
        for key in ("name", "version")
        if not isinstance(data.get(key), str) or not data[key]
    ]
    extensions = data.get("extensions")
    if not isinstance(extensions, list) or not all(isinstance(e, str) for e in extensions):
        problems.append(f"extensions is {extensions!r}")
    if problems:
        raise RuleViolation(
            ex.request, "200 where " + ", ".join(problems), expected, reproduce=ex.curl
        )


def tensor_problems(kind: str, entries: Any) -> list[str]:
    """What is wrong with a metadata ``inputs``/``outputs`` list (empty when fine)."""
    if not isinstance(entries, list) or not entries:
        return [f"{kind} is {entries!r}, not a non-empty list"]
    problems: list[str] = []
    for index, entry in enumerate(entries):
        where = f"{kind}[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} is not an object")
            continue
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            problems.append(f"{where}.name is {entry.get('name')!r}")
        if entry.get("datatype") not in OIP_DATATYPES:
            problems.append(f"{where}.datatype is {entry.get('datatype')!r}, not an OIP datatype")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in shape
        ):
            problems.append(f"{where}.shape is {shape!r}, not a list of ints (-1 = variable)")
    return problems


@rule("MD-002", Level.MUST, "Model metadata describes inputs and outputs", spec=oip.MODEL_METADATA)
def model_metadata_rule(target: Target) -> None:
    """GET /v2/models/{name} (and /versions/{v} for each listed version) MUST answer 200 with the model's ``name``, ``platform`` and ``inputs``/``outputs`` entries of ``name``, OIP ``datatype`` and ``shape`` (-1 for variable dimensions).

    Why:
        Clients build requests from the metadata, and the suite derives its generated
        requests from it; wrong datatypes or shapes break every generic client.

    Checked by:
        Fetching the metadata (and each listed version's), checking the name matches
        ``model_name``, ``versions`` is a list of strings if present, ``platform`` is a
        string, and every tensor entry is well-formed.

    Fix:
        Describe each tensor with an OIP datatype (``FP64``, ``INT64``, ``BOOL``, ``BYTES``...)
        and an integer shape list, one entry per feature for a tabular model, such as
        ``{"name": "contract", "datatype": "BYTES", "shape": [-1]}``.
    """
    name = target.config.model_name
    base = target.base_url
    ex = exchange(base, "GET", model_path(name), expected="200 with model metadata")
    data = ex.json()
    if ex.status != 200 or not isinstance(data, dict):
        raise RuleViolation(ex.request, ex.describe(), "200 with model metadata", reproduce=ex.curl)
    problems: list[str] = []
    if data.get("name") != name:
        problems.append(f"name is {data.get('name')!r}, not {name!r}")
    if not isinstance(data.get("platform"), str):
        problems.append(f"platform is {data.get('platform')!r}, not a string")
    versions = data.get("versions", [])
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        problems.append(f"versions is {versions!r}, not a list of strings")
        versions = []
    problems += tensor_problems("inputs", data.get("inputs"))
    problems += tensor_problems("outputs", data.get("outputs"))
    if problems:
        raise RuleViolation(
            ex.request,
            "; ".join(problems[:4]),
            "OIP model metadata (name, platform, inputs/outputs with name, datatype, shape)",
            reproduce=ex.curl,
        )
    for version in versions:
        vex = exchange(base, "GET", model_path(name, version), expected="200")
        vdata = vex.json()
        if vex.status != 200 or not isinstance(vdata, dict) or vdata.get("name") != name:
            raise RuleViolation(
                vex.request, vex.describe(), f"200 with the metadata of {name}", reproduce=vex.curl
            )


@dataclass(frozen=True)
class OpenAPIFound:
    """Where the service serves its OpenAPI document, if it does.

    Attributes:
        path: The first of ``OPENAPI_PATHS`` that serves one (None if none does).
        document: The document (None if none is served).
        seen: What the paths tried before it answered, e.g. ``/openapi.json -> 404``.
    """

    path: str | None
    document: dict[str, Any] | None
    seen: tuple[str, ...]


def find_openapi(base_url: str) -> OpenAPIFound:
    """GET each of ``OPENAPI_PATHS`` in turn: the first JSON object with an ``openapi`` (or
    ``swagger``) key answered with 200 is the service's document."""
    seen: list[str] = []
    for path in OPENAPI_PATHS:
        ex = exchange(base_url, "GET", path, expected="200 with an OpenAPI document")
        data = ex.json()
        if ex.status == 200 and isinstance(data, dict) and ("openapi" in data or "swagger" in data):
            return OpenAPIFound(path, data, tuple(seen))
        seen.append(f"{path} -> {ex.status}")
    return OpenAPIFound(None, None, tuple(seen))


@rule("MD-003", Level.SHOULD, "An OpenAPI document is served")
def openapi_document(target: Target) -> None:
    """The service SHOULD serve an OpenAPI document at /openapi.json (or /v2/openapi.json or /docs/openapi.json).

    Why:
        Consumers generate clients and browse the API from it.

    Checked by:
        GET on each of the three paths; one must answer 200 with a JSON object that has an
        ``openapi`` (or ``swagger``) key.

    Fix:
        Keep the framework's OpenAPI route enabled (FastAPI serves /openapi.json).
    """
    found = find_openapi(target.base_url)
    if found.document is not None:
        return
    raise RuleViolation(
        "GET " + ", ".join(OPENAPI_PATHS),
        "; ".join(found.seen),
        "200 with an OpenAPI document at one of them",
        reproduce=f"curl -i {target.base_url}/openapi.json",
    )


RULES = (server_metadata, model_metadata_rule, openapi_document)
