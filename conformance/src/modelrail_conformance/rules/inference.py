"""INF: inference results, request ids, and requests derived from the metadata."""

from __future__ import annotations

import math
import uuid
from typing import Any

from hypothesis import given

from modelrail_conformance.failures import Blocked, NotApplicable, RuleViolation
from modelrail_conformance.registry import Level
from modelrail_conformance.rules import _oip as oip
from modelrail_conformance.rules._support import exchange, flatten, model_path, rule
from modelrail_conformance.rules._tensors import (
    HYPOTHESIS_SETTINGS,
    kind_of,
    model_metadata,
    valid_request,
)
from modelrail_conformance.target import Target

PER_REQUEST = frozenset({"prediction_id"})
"""Outputs whose values are new on every request: compared by datatype and shape only."""
SINGLE_PRECISION_TOLERANCE = 1e-4
"""The least absolute tolerance for FP32 outputs in the golden comparison (INF-001)."""


def golden_tolerance(datatype: str, tolerance: float) -> float:
    """The absolute tolerance for the golden values of an output of ``datatype``.

    Single-precision kernels differ between CPUs (SIMD width, thread count, fused
    multiply-add) by a few units in the last place, and a 384-wide dot product sums them:
    an FP32 embedding computed on two machines differs by about 1e-6 to 1e-5 per element.
    """
    return max(tolerance, SINGLE_PRECISION_TOLERANCE) if datatype == "FP32" else tolerance


def _same(expected: Any, received: Any, tolerance: float) -> bool:
    if isinstance(expected, bool) or isinstance(received, bool):
        return expected == received
    if isinstance(expected, int | float) and isinstance(received, int | float):
        return math.isclose(expected, received, rel_tol=0.0, abs_tol=tolerance)
    return expected == received


def _infer(target: Target, body: Any) -> Any:
    path = model_path(target.config.model_name) + "/infer"
    return exchange(target.base_url, "POST", path, json_body=body, expected="200 with outputs")


def _require_golden(target: Target, body: Any) -> None:
    """Send ``body``; its answer must hold the golden response's outputs."""
    config = target.config
    _require_outputs(target, body, config.golden_response_body().get("outputs", []))


def _require_plain_answer(target: Target, body: Any, *, only: str | None = None) -> None:
    """Send ``body``, a variant of the golden request; its answer must hold the outputs the
    service gives the golden request itself (only ``only``, if given).

    Compared with the service's own answer, not the golden response: a wrong answer is
    INF-001's failure, reported there once.

    Raises:
        Blocked: by INF-001 when the golden request itself gets no 200.
    """
    if "plain_answer" not in target.memo:
        ex = _infer(target, target.config.golden_request_body())
        data = ex.json()
        answered = ex.status == 200 and isinstance(data, dict)
        target.memo["plain_answer"] = (
            data.get("outputs") or []
            if answered
            else Blocked("INF-001", f"the golden request got {ex.describe(80)}")
        )
    plain = target.memo["plain_answer"]
    if isinstance(plain, Blocked):
        raise plain
    wanted = [o for o in plain if isinstance(o, dict) and (only is None or o.get("name") == only)]
    _require_outputs(target, body, wanted)


def _require_outputs(target: Target, body: Any, wanted: list[dict[str, Any]]) -> None:
    """Send ``body``; its answer must be a 200 holding each of the ``wanted`` outputs: same
    name, datatype and shape, numbers within the tolerance, everything else exactly."""
    config = target.config
    ex = _infer(target, body)
    data = ex.json()
    if ex.status != 200 or not isinstance(data, dict):
        raise RuleViolation(ex.request, ex.describe(), "200 with the outputs", reproduce=ex.curl)
    outputs = {o.get("name"): o for o in data.get("outputs") or [] if isinstance(o, dict)}
    for want in wanted:
        name = want.get("name")
        got = outputs.get(name)
        if got is None:
            raise RuleViolation(
                ex.request, f"no output {name!r} (outputs: {sorted(map(str, outputs))})",
                f"output {name!r}", reproduce=ex.curl,
            )  # fmt: skip
        for key in ("datatype", "shape"):
            if key in want and got.get(key) != want[key]:
                raise RuleViolation(
                    ex.request,
                    f"{name}.{key} = {got.get(key)!r}",
                    f"{want[key]!r}",
                    reproduce=ex.curl,
                )
        if name in PER_REQUEST:
            continue
        expected_data, received_data = flatten(want.get("data")), flatten(got.get("data"))
        if len(expected_data) != len(received_data):
            raise RuleViolation(
                ex.request, f"{len(received_data)} values in {name}",
                f"{len(expected_data)} values", reproduce=ex.curl,
            )  # fmt: skip
        tolerance = golden_tolerance(
            str(want.get("datatype", got.get("datatype"))), config.tolerance
        )
        for index, (e, r) in enumerate(zip(expected_data, received_data, strict=True)):
            if not _same(e, r, tolerance):
                numeric = isinstance(e, int | float) and not isinstance(e, bool)
                how = f"tolerance {tolerance:g}" if numeric else "exactly"
                raise RuleViolation(
                    ex.request, f"{name}[{index}] = {r!r}", f"{e!r} ({how})", reproduce=ex.curl
                )


@rule(
    "INF-001",
    Level.MUST,
    "The golden request gives the golden response",
    spec=oip.INFERENCE_RESPONSE,
)
def golden_response(target: Target) -> None:
    """POST /v2/models/{name}/infer with the golden request MUST answer 200 with every output listed in the golden response: same name, datatype and shape, numbers within ``tolerance`` (FP32 outputs within at least 1e-4), strings and booleans exactly.

    Why:
        The golden pair pins the model's behaviour end to end: serialisation, feature
        names and types, and the artefact that was actually packaged.

    Checked by:
        Sending ``golden_request`` and comparing each output of ``golden_response`` (which
        may list only a subset) element by element: numbers within ``tolerance``
        (absolute), everything else (BYTES labels and texts, booleans) exactly.
        FP32 outputs (embeddings) are compared within max(``tolerance``, 1e-4) per
        element: single-precision kernels differ between CPUs by about 1e-6 to 1e-5 per
        element of a normalised embedding, while a wrong model, tokenizer or pooling
        moves elements by 1e-2 and more. A per-element bound, not a cosine similarity:
        a cosine of 0.9999 still lets single elements of a 384-wide vector move by
        0.01, and it says nothing about outputs that are not vectors.
        ``prediction_id`` (new on every request) is compared by datatype and shape only.

    Fix:
        Package the model artefact the golden files were made from, or regenerate the
        golden files after a deliberate model change.
    """
    _require_golden(target, target.config.golden_request_body())


@rule("INF-002", Level.MUST, "The request id is echoed", spec=oip.INFERENCE_REQUEST_ID)
def request_id_echoed(target: Target) -> None:
    """An inference response MUST carry the request's ``id`` unchanged in its ``id`` field.

    Why:
        Clients that batch or pipeline requests match responses by id (Open Inference
        Protocol v2).

    Checked by:
        Sending the golden request with a unique ``id`` and comparing the response's ``id``.

    Fix:
        Copy ``request.id`` into the response when it is present.
    """
    body = dict(target.config.golden_request_body(), id=f"modelrail-{uuid.uuid4().hex[:12]}")
    ex = _infer(target, body)
    data = ex.json()
    received = data.get("id") if isinstance(data, dict) else None
    if ex.status != 200 or received != body["id"]:
        raise RuleViolation(
            ex.request,
            f"{ex.status} with id {received!r}",
            f"200 with id {body['id']!r}",
            reproduce=ex.curl,
        )


@rule("INF-003", Level.MUST, "Requests that follow the metadata succeed", spec=oip.MODEL_INPUTS)
def metadata_requests_succeed(target: Target) -> None:
    """Every request that follows the model metadata (declared names, datatypes and shapes, any size for -1 dimensions) MUST get 200 with the outputs the metadata declares, each of the declared rank and fixed sizes, one row per request row, and as many values as its shape says.

    Why:
        The metadata is a promise; clients that build requests from it must not hit
        crashes for batch sizes or values the model never saw in the golden files, nor
        outputs whose shape changes with the batch (a squeezed batch of one).

    Checked by:
        Hypothesis derives 30 requests from the metadata (derandomised, so runs repeat):
        one tensor per declared input, all with the same batch size (1-4), finite numbers,
        JSON booleans for BOOL, and for BYTES sentences from a fixed word list, short
        tokens and any Unicode text without lone surrogates (mostly values the model
        never saw: an unseen category must still get an answer), never null. Each
        declared output must have the declared rank, every fixed dimension (the 384 of an
        ``[-1, 384]`` embedding), the request's batch size as its first dimension when
        that is -1, and as many values as its shape says. A failure is shrunk to a
        minimal curl command.

    Fix:
        Make the handler generic over the batch dimension, validate against the metadata,
        not against the golden request's sizes, encode categories so that an unseen one
        is handled (one-hot encoding with ``handle_unknown="ignore"`` does), and never
        squeeze the batch axis of an output.
    """
    metadata = model_metadata(target)
    specs = [o for o in metadata.get("outputs") or [] if isinstance(o, dict)]
    path = model_path(target.config.model_name) + "/infer"

    @HYPOTHESIS_SETTINGS
    @given(request=valid_request(metadata))
    def check(request: dict[str, Any]) -> None:
        ex = exchange(target.base_url, "POST", path, json_body=request, expected="200")
        data = ex.json()
        if ex.status != 200 or not isinstance(data, dict):
            raise RuleViolation(ex.request, ex.describe(), "200 with outputs", reproduce=ex.curl)
        outputs = {o.get("name"): o for o in data.get("outputs") or [] if isinstance(o, dict)}
        rows = request["inputs"][0]["shape"][0]
        for spec in specs:
            out = outputs.get(spec.get("name"))
            if out is None:
                raise RuleViolation(
                    ex.request,
                    f"outputs {sorted(map(str, outputs))}",
                    f"output {spec.get('name')!r}",
                    reproduce=ex.curl,
                )
            problem = shape_problem(spec, out, rows)
            if problem:
                raise RuleViolation(ex.request, problem, SHAPE_EXPECTED, reproduce=ex.curl)

    check()


SHAPE_EXPECTED = (
    "the declared rank and fixed sizes, one row per request row, "
    "and as many values as the shape says"
)


def shape_problem(spec: dict[str, Any], out: dict[str, Any], rows: int | None) -> str | None:
    """How an output's shape differs from its metadata entry and its data (None if it does not).

    Args:
        spec: The output's metadata entry.
        out: The output of a response.
        rows: The request's batch size: the first dimension when the metadata's is -1.
    """
    name, declared, shape = spec.get("name"), spec.get("shape"), out.get("shape")
    count = len(flatten(out.get("data")))
    if (
        not isinstance(shape, list)
        or not all(type(d) is int for d in shape)
        or math.prod(shape) != count
    ):
        return f"{name} with shape {shape!r} and {count} values"
    if not isinstance(declared, list):
        return None
    if len(shape) != len(declared) or any(
        d != -1 and d != s for d, s in zip(declared, shape, strict=True)
    ):
        return f"{name}.shape = {shape!r} where the metadata says {declared!r}"
    if rows is not None and declared and declared[0] == -1 and shape[0] != rows:
        return f"{name}.shape = {shape!r} for a request of {rows} row(s)"
    return None


_JSON_KIND = {
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "bytes": lambda v: isinstance(v, str),
}


def output_problem(
    spec: dict[str, Any], out: dict[str, Any] | None, rows: int | None = None
) -> str | None:
    """How an output differs from its metadata entry (None when it follows it).

    Its datatype, its shape (see :func:`shape_problem`) and the JSON type of every value.
    """
    name, datatype = spec.get("name"), str(spec.get("datatype"))
    if out is None:
        return f"no output {name!r}"
    if out.get("datatype") != datatype:
        return f"{name}.datatype = {out.get('datatype')!r} where the metadata says {datatype!r}"
    problem = shape_problem(spec, out, rows)
    if problem:
        return problem
    kind = kind_of(datatype)
    bad = [v for v in flatten(out.get("data")) if not _JSON_KIND[kind](v)]
    if bad:
        return f"{name}.data holds {bad[0]!r}, not a JSON {kind} value for {datatype}"
    return None


@rule(
    "INF-004",
    Level.MUST,
    "Outputs have the datatypes and shapes the metadata declares",
    spec=oip.RESPONSE_OUTPUT,
)
def outputs_follow_metadata(target: Target) -> None:
    """Every output the metadata declares MUST come back with the declared ``datatype``, a shape of the declared rank and fixed sizes, and data of that datatype's JSON kind (strings for BYTES, booleans for BOOL, numbers otherwise).

    Why:
        Clients decode outputs by the metadata: a label declared INT64 that arrives as
        class names (or the reverse) breaks every typed client and dashboard, although the
        golden comparison and the value counts may still look right.

    Checked by:
        Sending the golden request and comparing each output the metadata declares with
        its entry: datatype, rank, every fixed dimension (the 384 of an ``[-1, 384]``
        FP32 embedding), as many values as the shape says, and the JSON type of every
        value (strings for a BYTES label, numbers for an embedding).

    Fix:
        Build the output metadata from what predict returns (BYTES ``label`` when the
        classes are strings, INT64 when they are integers), not from a hand-written list.
    """
    metadata = model_metadata(target)
    ex = _infer(target, target.config.golden_request_body())
    data = ex.json()
    if ex.status != 200 or not isinstance(data, dict):
        raise RuleViolation(ex.request, ex.describe(), "200 with outputs", reproduce=ex.curl)
    outputs = {o.get("name"): o for o in data.get("outputs") or [] if isinstance(o, dict)}
    for spec in [o for o in metadata.get("outputs") or [] if isinstance(o, dict)]:
        problem = output_problem(spec, outputs.get(spec.get("name")))
        if problem:
            raise RuleViolation(
                ex.request, problem, f"outputs as GET {model_path(target.config.model_name)} "
                "declares them", reproduce=ex.curl,
            )  # fmt: skip


@rule("INF-005", Level.MUST, "A requested output is returned", spec=oip.REQUESTED_OUTPUTS)
def requested_output(target: Target) -> None:
    """An inference request whose ``outputs`` names one output MUST get 200 with that output.

    Why:
        Clients ask for the outputs they use (the protocol's own example requests one);
        a server that refuses the field, or answers without the output asked for, breaks
        them.

    Checked by:
        Sending the golden request with ``"outputs": [{"name": <the golden response's first
        output>}]`` and comparing that output with the service's answer to the golden
        request itself (a wrong answer is INF-001's; blocked by INF-001 when the golden
        request gets no 200). Not applicable when the golden response lists no output.

    Fix:
        Accept the request's ``outputs`` list and return each output it names.
    """
    config = target.config
    names = [o.get("name") for o in config.golden_response_body().get("outputs", [])]
    if not names:
        raise NotApplicable("the golden response lists no output to ask for")
    body = dict(config.golden_request_body(), outputs=[{"name": names[0]}])
    _require_plain_answer(target, body, only=names[0])


@rule("INF-006", Level.MUST, "Empty parameters objects are accepted", spec=oip.PARAMETERS)
def empty_parameters(target: Target) -> None:
    """An inference request with an empty ``parameters`` object on the request and on each input MUST get the same answer as without them.

    Why:
        Protocol clients send ``parameters`` (often empty) on the request and its tensors;
        a server that refuses the field refuses those clients.

    Checked by:
        Sending the golden request with ``"parameters": {}`` added to the request and to
        every input, and comparing its outputs with the service's answer to the golden
        request itself (blocked by INF-001 when that gets no 200).

    Fix:
        Accept ``parameters`` as a JSON object wherever the protocol allows it, and ignore
        the ones the server does not know.
    """
    golden = target.config.golden_request_body()
    inputs = [dict(item, parameters={}) for item in golden.get("inputs", [])]
    _require_plain_answer(target, dict(golden, parameters={}, inputs=inputs))


@rule("INF-007", Level.MUST, "Nested tensor data is accepted", spec=oip.TENSOR_DATA)
def nested_tensor_data(target: Target) -> None:
    """Tensor ``data`` given nested by the tensor's shape (``[[1, 2], [4, 5]]`` for ``[2, 2]``) MUST get the same answer as the same data flattened.

    Why:
        The protocol lets clients send either form; clients built on array libraries send
        the nested one (``tensor.tolist()``).

    Checked by:
        Sending the golden request with the data of every input of rank 2 or more nested
        by its shape, and comparing its outputs with the service's answer to the golden
        request itself (blocked by INF-001 when that gets no 200).
        Not applicable when every input of the golden request has rank 1 (both forms are
        the same).

    Fix:
        Flatten nested ``data`` in row-major order, after checking that it matches the
        shape.
    """
    golden = target.config.golden_request_body()
    inputs = golden.get("inputs", [])
    if not any(len(item.get("shape", [])) >= 2 for item in inputs):
        raise NotApplicable("every input of the golden request has rank 1: nested is flat")
    nested = [dict(item, data=nest(flatten(item["data"]), item["shape"])) for item in inputs]
    _require_plain_answer(target, dict(golden, inputs=nested))


def nest(values: list[Any], shape: list[int]) -> list[Any]:
    """``values`` (row-major) as nested lists of ``shape``."""
    if len(shape) <= 1:
        return list(values)
    step = len(values) // shape[0] if shape[0] else 0
    return [nest(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


RULES = (
    golden_response,
    request_id_echoed,
    metadata_requests_succeed,
    outputs_follow_metadata,
    requested_output,
    empty_parameters,
    nested_tensor_data,
)
