"""ERR: error statuses and error bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from modelrail_conformance.failures import RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules import _oip as oip
from modelrail_conformance.rules._features import (
    expect_400,
    golden_features,
    mistyped,
    replaced,
    with_extra_row,
)
from modelrail_conformance.rules._support import (
    Exchange,
    error_body_problem,
    exchange,
    model_path,
    rule,
)
from modelrail_conformance.rules._tensors import (
    ERROR_KINDS,
    Case,
    check_cases,
    contract_error_case,
    junk_case,
    junk_kinds,
    model_metadata,
)
from modelrail_conformance.target import Target


def _unknown() -> str:
    return f"no-such-{uuid.uuid4().hex[:8]}"


@rule("ERR-001", Level.MUST, 'Every error body is {"error": "..."}')
def error_body(target: Target) -> None:
    """Every 4xx and 5xx response MUST have a JSON object body with a non-empty string ``error``: ``{"error": "<message>"}``, those of the HTTP layer included (a wrong method, an unknown path).

    Why:
        One error shape lets every client and dashboard report failures the same way;
        framework defaults like ``{"detail": ...}`` differ per framework. The protocol
        asks it of failed metadata and inference requests (ERR-011); the platform asks it
        of every error.

    Checked by:
        A wrong method on the infer endpoint and on liveness, and a GET of an unknown
        path; each error response's body. (The protocol's failed requests are ERR-011's:
        a service that fails those fails there, once.)

    Fix:
        Install exception handlers (HTTP errors, request validation, unhandled errors)
        that all return ``{"error": str(exc)}``.
    """
    infer = model_path(target.config.model_name) + "/infer"
    unknown = f"/{_unknown()}/x"
    http_layer = [("GET", infer, None), ("DELETE", "/v2/health/live", None), ("GET", unknown, None)]
    for ex in _send(target, http_layer):
        if ex.status >= 400:
            _require_error_body(ex)


@rule(
    "ERR-011",
    Level.MUST,
    'A failed request gets an error status and {"error": "..."}',
    spec=oip.ERROR_OBJECT,
)
def failed_requests(target: Target) -> None:
    """A metadata or inference request that fails (an unknown model, malformed JSON, no inputs) MUST get an HTTP error status with a JSON object body holding a non-empty string ``error``.

    Why:
        Protocol clients tell success from failure by the status and read the message
        from ``error``; a 200, or a framework's own body such as ``{"detail": [...]}``,
        leaves them without either.

    Checked by:
        GET the metadata of an unknown model, POST malformed JSON and a request with no
        inputs to the model's infer endpoint, and POST inference to an unknown model:
        each answer must have a status of 400 or more and an ``{"error": "<message>"}``
        body. (ERR-001 to ERR-003 ask more of a platform service: 400 for a bad request,
        404 for an unknown model, never a 5xx.)

    Fix:
        Install exception handlers (HTTP errors, request validation, unhandled errors)
        that all return ``{"error": str(exc)}`` with a 4xx status for the client's mistakes.
    """
    for ex in _send(target, _failed_requests(target)):
        if ex.status < 400:
            raise RuleViolation(
                ex.request, ex.describe(), 'an HTTP error status with {"error": "<message>"}',
                reproduce=ex.curl,
            )  # fmt: skip
        _require_error_body(ex)


def _failed_requests(target: Target) -> list[tuple[str, str, bytes | None]]:
    """(method, path, body) of requests that must fail by the protocol."""
    infer = model_path(target.config.model_name) + "/infer"
    return [
        ("GET", model_path(_unknown()), None),
        ("POST", infer, b'{"inputs": ['),
        ("POST", infer, b'{"inputs": []}'),
        ("POST", model_path(_unknown()) + "/infer", b'{"inputs": []}'),
    ]


def _send(target: Target, requests: list[tuple[str, str, bytes | None]]) -> Iterator[Exchange]:
    for method, path, body in requests:
        headers = {"Content-Type": "application/json"} if body is not None else None
        yield exchange(
            target.base_url, method, path, body=body, headers=headers, expected="an error response"
        )


def _require_error_body(ex: Exchange) -> None:
    problem = error_body_problem(ex)
    if problem:
        raise RuleViolation(
            ex.request, f"{ex.status} with {problem}: {ex.response.text[:120]!r}",
            '{"error": "<message>"}', reproduce=ex.curl,
        )  # fmt: skip


@rule("ERR-002", Level.MUST, "Bad requests get 400, never 5xx")
def bad_requests_400(target: Target) -> None:
    """Malformed JSON, a wrong datatype, a value of the wrong type, a shape that does not match the data, and a missing input MUST each get 400, never a 5xx.

    Why:
        A 5xx blames the service for the client's mistake: it pages the owner, triggers
        retries and hides real outages in the error rate.

    Checked by:
        Hypothesis derives invalid requests from the model metadata (6 of each kind,
        derandomised), each breaking one thing in one input of an otherwise valid request;
        every one must be a 400. A wrong datatype is one of another kind than the declared
        one (strings or booleans for a number, floats for an integer, anything else for a
        boolean or a string), never another width of the same kind (FP32 for FP64).
        A failure is shrunk and shown as a curl command.

    Fix:
        Validate the request against the metadata before calling the model and raise a
        400 for each kind of mismatch; parse JSON inside a handler that maps errors to 400.
    """
    metadata = model_metadata(target)
    strategies = [contract_error_case(metadata, kind) for kind in ERROR_KINDS]
    check_cases(target, strategies, {400}, '400 with {"error"}')


@rule("ERR-003", Level.MUST, "Unknown model or version is 404")
def unknown_model_404(target: Target) -> None:
    """Metadata and inference requests for an unknown model name or an unknown version of the served model MUST get 404.

    Why:
        Serving whatever model is loaded for any name or version hides routing mistakes
        and makes versioned rollouts lie.

    Checked by:
        GET metadata and POST the golden request for a random model name and for a random
        version of ``model_name``; each must be a 404.

    Fix:
        Resolve the name and version against the loaded model and answer 404 for anything
        else.
    """
    base = target.base_url
    name = target.config.model_name
    golden = target.config.golden_request_body()
    for path in (model_path(_unknown()), model_path(name, _unknown())):
        for method, body in (("GET", None), ("POST", golden)):
            full = path if method == "GET" else path + "/infer"
            ex = exchange(base, method, full, json_body=body, expected="404")
            if ex.status != 404:
                raise RuleViolation(ex.request, ex.describe(), "404", reproduce=ex.curl)


@rule("ERR-004", Level.SHOULD, "405 with Allow, 413 for oversized bodies")
def method_and_size(target: Target) -> None:
    """A wrong method SHOULD get 405 with an ``Allow`` header, and a body larger than ``max_body_bytes`` SHOULD get 413.

    Why:
        405 + Allow tells the client what to do instead; a size limit protects memory
        from a single oversized request.

    Checked by:
        GET on the infer endpoint and DELETE on liveness (405, ``Allow`` present), then a
        POST of ``max_body_bytes`` + 1 KiB to the infer endpoint (413).

    Fix:
        Route by method so the framework answers 405 with Allow, and reject bodies over the
        limit (Content-Length check plus a streaming cap) with 413.
    """
    base = target.base_url
    infer = model_path(target.config.model_name) + "/infer"
    for method, path in (("GET", infer), ("DELETE", "/v2/health/live")):
        ex = exchange(base, method, path, expected="405 with Allow")
        if ex.status != 405 or not ex.response.headers.get("allow"):
            allow = ex.response.headers.get("allow")
            raise RuleViolation(
                ex.request, f"{ex.status} with Allow {allow!r}", "405 with an Allow header",
                reproduce=ex.curl,
            )  # fmt: skip
    size = target.config.max_body_bytes + 1024
    body = b'{"id": "' + b"x" * (size - 10) + b'"}'
    ex = exchange(
        base, "POST", infer, body=body, headers={"Content-Type": "application/json"},
        expected="413", timeout=30,
    )  # fmt: skip
    if ex.status != 413:
        raise RuleViolation(
            f"POST {infer} with a {size}-byte body", ex.describe(100),
            f"413 (max_body_bytes = {target.config.max_body_bytes})", reproduce=ex.curl,
        )  # fmt: skip


@rule("ERR-005", Level.MUST, "Hostile input gets 4xx, never 5xx or 200")
def hostile_input_4xx(target: Target) -> None:
    """Extra inputs, non-finite or out-of-range numbers, deeply nested JSON, unicode junk, wrong JSON types and empty bodies MUST get a 4xx, never a 5xx or a 200.

    Why:
        Such requests come from buggy clients and attackers; a 5xx or a crash makes them an
        outage, and a 200 with NaN outputs poisons downstream systems.

    Checked by:
        Hypothesis derives hostile requests from the model metadata (4 of each kind,
        derandomised), non-finite and out-of-range numbers in numeric inputs only (none
        when the model has no numeric input); each must get a status from 400 to 499. A
        failure is shrunk and shown as a curl command.

    Fix:
        Reject unknown inputs and non-finite numbers during validation, and map JSON
        recursion and decoding errors to 400.
    """
    metadata = model_metadata(target)
    strategies = [junk_case(metadata, kind) for kind in junk_kinds(metadata)]
    check_cases(target, strategies, set(range(400, 500)), 'a 4xx with {"error"}')


@rule("ERR-006", Level.MUST, "A missing feature is a 400 that names it")
def missing_feature_named(target: Target) -> None:
    """A request without one of the model's inputs MUST get 400 with an error message that names the missing input.

    Why:
        A tabular model takes one input per feature; when a client drops one (a renamed
        column, a join that lost it), the message has to say which, or the client's owner
        compares dozens of names by hand.

    Checked by:
        For each input of the golden request (at most 16, spread over the list), sending
        the golden request without it; each answer must be a 400 whose ``error`` contains
        that input's name. Not applicable when the metadata declares a single input.

    Fix:
        Compare the request's input names with the metadata's and answer
        ``{"error": "missing input(s): 'tenure_months'"}``, naming every one missing.
    """
    golden, inputs = golden_features(target)
    for tensor_ in inputs:
        name = tensor_["name"]
        rest = [t for t in golden["inputs"] if t is not tensor_]
        expect_400(target, dict(golden, inputs=rest), f"input {name!r} left out", name)


@rule("ERR-007", Level.MUST, "A feature of the wrong datatype is a 400 that names it")
def mistyped_feature_named(target: Target) -> None:
    """A request with one input sent as another datatype than the metadata declares MUST get 400 with an error message that names that input.

    Why:
        Columns change type on the way (numbers read as text, categories label-encoded);
        coercing them silently gives wrong predictions, and an error without the name
        leaves the client guessing which column it was.

    Checked by:
        For each input of the golden request (at most 16, spread over the list), sending
        the golden request with that input mistyped: numbers and booleans as BYTES strings
        of their JSON text (``"12.5"``, ``"true"``), BYTES as INT64 codes, datatype and data
        agreeing with each other; each answer must be a 400 whose ``error`` contains that
        input's name. Not applicable when the metadata declares a single input.

    Fix:
        Check each input's ``datatype`` against the metadata before reading its data, and
        answer ``{"error": "input 'monthly_charges': datatype must be FP64, not BYTES"}``.
    """
    golden, inputs = golden_features(target)
    for tensor_ in inputs:
        name, wrong = tensor_["name"], mistyped(tensor_)
        body = replaced(golden, tensor_, wrong)
        sent = f"input {name!r} as {wrong['datatype']} instead of {tensor_.get('datatype')}"
        expect_400(target, body, sent, name)


@rule("ERR-008", Level.MUST, "An undeclared input is a 400 that names it")
def extra_feature_named(target: Target) -> None:
    """A request with an input the metadata does not declare MUST get 400 with an error message that names the undeclared input.

    Why:
        An extra column is usually a misspelt feature or one the model was not trained
        on; ignoring it hides the mistake, and naming it shows the client which one.

    Checked by:
        Sending the golden request plus a copy of its first input renamed
        ``modelrail_extra_<random>``; the answer must be a 400 whose ``error`` contains that
        name. Not applicable when the metadata declares a single input.

    Fix:
        Reject input names the metadata does not list, naming them:
        ``{"error": "unknown input(s): 'tenure'; this model takes ..."}``.
    """
    golden, inputs = golden_features(target)
    name = f"modelrail_extra_{uuid.uuid4().hex[:8]}"
    body = dict(golden, inputs=[*golden["inputs"], dict(inputs[0], name=name)])
    expect_400(target, body, f"an extra input {name!r}", name)


@rule("ERR-009", Level.MUST, "Inputs with different row counts are a 400")
def ragged_rows_400(target: Target) -> None:
    """A request whose inputs have different numbers of rows (first dimensions) MUST get 400.

    Why:
        With one tensor per feature, columns of different lengths are a client bug (a
        filter applied to one column); pairing rows up anyway silently predicts on
        misaligned or truncated rows, and indexing past the shortest one is a 5xx.

    Checked by:
        Sending the golden request with its first row repeated in one input (shape and
        data agreeing), once in the first input and once in the last; each answer must
        be a 400. Not applicable when the metadata declares a single input.

    Fix:
        After checking each input against the metadata, check that every input has the
        same first dimension, and answer 400 naming the row counts.
    """
    golden, inputs = golden_features(target)
    for chosen in inputs[:1] + inputs[1:][-1:]:  # the first and the last
        grown = with_extra_row(chosen)
        rows = grown["shape"][0]
        sent = f"input {chosen['name']!r} with {rows} rows and the others with {rows - 1}"
        expect_400(target, replaced(golden, chosen, grown), sent)


def _empty_batch(golden: dict[str, Any]) -> dict[str, Any]:
    inputs = [
        dict(t, shape=[0, *list(t.get("shape") or [1])[1:]], data=[])
        for t in golden.get("inputs") or []
        if isinstance(t, dict)
    ]
    return dict(golden, inputs=inputs)


@rule("ERR-010", Level.MUST, "An empty batch is a 400")
def empty_batch_400(target: Target) -> None:
    """A request whose inputs have no rows (first dimension 0, data empty) MUST get 400, never a 5xx and never a 200 with empty outputs.

    Why:
        An empty batch is a client bug (a filter that removed every row). Models fail on
        it in their own ways (scikit-learn raises on zero samples, a numpy mean over an
        empty axis is NaN), so a service that passes it on answers a 5xx or NaN; a 200
        with empty outputs hides the bug from the client.

    Checked by:
        Sending the golden request with the first dimension of every input set to 0 and
        its data empty (``"shape": [0]``, ``"data": []``); the answer must be a 400.

    Fix:
        Validate every shape before calling the model: the first dimension must be at
        least 1 (say so in the error: ``'shape' must be [N] with N >= 1``).
    """
    body = json.dumps(_empty_batch(target.config.golden_request_body())).encode()
    check_cases(target, [], {400}, '400 with {"error"}', [Case("an empty batch (shape [0])", body)])


RULES = (
    error_body,
    bad_requests_400,
    unknown_model_404,
    method_and_size,
    hostile_input_4xx,
    missing_feature_named,
    mistyped_feature_named,
    extra_feature_named,
    ragged_rows_400,
    empty_batch_400,
    failed_requests,
)
