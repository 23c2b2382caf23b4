"""Requests derived from model metadata, as Hypothesis strategies.

Valid requests follow the metadata (names, datatypes, shapes with -1 dims filled in) for
any number of inputs of any datatype: numbers, booleans (JSON true/false) and BYTES
(sentences, short tokens and any Unicode text: see ``_text``). Invalid ones break exactly one thing, and each carries a label saying
what. JSON null is never sent as an element: some services take it as a missing value of
a float feature, and the metadata does not say which.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from modelrail_conformance.failures import Blocked, RuleViolation
from modelrail_conformance.rules._support import OIP_DATATYPES, exchange, model_path
from modelrail_conformance.rules._text import bytes_values, load_bodies
from modelrail_conformance.rules.metadata import tensor_problems
from modelrail_conformance.target import Target

MAX_ELEMENTS = 64
EXAMPLES = 30
ERROR_KINDS = ("malformed", "datatype", "value_type", "shape", "missing")
"""What an ERR-002 request breaks, one at a time."""
JUNK_KINDS = ("extra", "nonfinite", "huge", "deep", "unicode", "json_type", "not_object", "empty")
"""What an ERR-005 request holds, one kind at a time."""
NUMERIC_JUNK = ("nonfinite", "huge")
"""Junk kinds that only a numeric input can carry (skipped when the model has none)."""

HYPOTHESIS_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    print_blob=False,
)

_INT_RANGES = {
    "INT8": (-128, 127),
    "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**31), 2**31 - 1),
    "UINT8": (0, 255),
    "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**31 - 1),
    "UINT64": (0, 2**31 - 1),
}


@dataclass(frozen=True)
class Case:
    """One request body and what it is meant to be."""

    label: str
    body: bytes


def model_metadata(target: Target) -> dict[str, Any]:
    """The model's metadata (memoised), with inputs and outputs to derive requests from.

    Raises:
        Blocked: by MD-002, which reports why, when there is none to derive them from.
    """
    if "metadata" not in target.memo:
        path = model_path(target.config.model_name)
        ex = exchange(target.base_url, "GET", path, expected="200 with model metadata")
        data = ex.json()
        if ex.status != 200 or not isinstance(data, dict):
            target.memo["metadata"] = Blocked("MD-002", f"GET {path} answered {ex.describe(80)}")
        elif problems := [
            *tensor_problems("inputs", data.get("inputs")),
            *tensor_problems("outputs", data.get("outputs")),
        ]:
            target.memo["metadata"] = Blocked("MD-002", f"the model metadata's {problems[0]}")
        else:
            target.memo["metadata"] = data
    metadata = target.memo["metadata"]
    if isinstance(metadata, Blocked):
        raise metadata
    return metadata


def load_request_bodies(target: Target) -> list[dict[str, Any]]:
    """The bodies a load run sends (see ``_text.load_bodies``), memoised.

    The golden request alone when the metadata cannot be had: the load rules measure
    latency, and MD-002 reports the metadata.
    """
    if "load_bodies" not in target.memo:
        golden = target.config.golden_request_body()
        try:
            target.memo["load_bodies"] = load_bodies(model_metadata(target), golden)
        except Blocked:
            target.memo["load_bodies"] = [golden]
    return target.memo["load_bodies"]


def kind_of(datatype: str) -> str:
    """The JSON kind of a datatype's values: ``float``, ``integer``, ``bool`` or ``bytes``."""
    if datatype.startswith("FP"):
        return "float"
    if datatype in _INT_RANGES:
        return "integer"
    return "bool" if datatype == "BOOL" else "bytes"


def is_numeric(datatype: str) -> bool:
    """True for the FP, INT and UINT datatypes (JSON numbers)."""
    return kind_of(datatype) in ("float", "integer")


_WRONG_KINDS = {
    # Integers fit a float input, so only booleans and strings are wrong for one; a float
    # has fractions an integer input cannot hold.
    "float": {"bool", "bytes"},
    "integer": {"float", "bool", "bytes"},
    "bool": {"float", "integer", "bytes"},
    "bytes": {"float", "integer", "bool"},
}


def wrong_datatypes(datatype: str) -> list[str]:
    """The datatypes that are really wrong for an input of ``datatype`` (sorted).

    Another width of the same kind (FP32 for FP64, INT32 for INT64) is not: a service may
    widen it. A datatype of another JSON kind (strings for numbers, numbers for booleans,
    floats for integers) is.
    """
    wrong = _WRONG_KINDS[kind_of(datatype)]
    return sorted(d for d in OIP_DATATYPES if kind_of(d) in wrong)


def values_for(datatype: str) -> st.SearchStrategy[Any]:
    """JSON values valid for an OIP datatype (never null)."""
    if datatype.startswith("FP"):
        return st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False).map(
            lambda x: round(x, 6)
        )
    if datatype in _INT_RANGES:
        low, high = _INT_RANGES[datatype]
        return st.integers(low, high)
    if datatype == "BOOL":
        return st.booleans()
    return bytes_values()


def _shape(spec: list[Any]) -> st.SearchStrategy[list[int]]:
    dims = [st.integers(1, 4) if int(d) < 0 else st.just(int(d)) for d in spec]
    return st.tuples(*dims).map(list).filter(lambda s: math.prod(s) <= MAX_ELEMENTS)


@st.composite
def tensor(draw: st.DrawFn, spec: dict[str, Any], batch: int | None = None) -> dict[str, Any]:
    """One valid input tensor for a metadata entry (flat data, row-major)."""
    shape = draw(_shape(list(spec.get("shape") or [1])))
    if batch is not None and shape and int((spec.get("shape") or [1])[0]) < 0:
        shape[0] = batch
    count = math.prod(shape)
    data = draw(st.lists(values_for(spec["datatype"]), min_size=count, max_size=count))
    return {"name": spec["name"], "shape": shape, "datatype": spec["datatype"], "data": data}


@st.composite
def valid_request(draw: st.DrawFn, metadata: dict[str, Any]) -> dict[str, Any]:
    """A request that follows the metadata (all inputs share one batch size)."""
    batch = draw(st.integers(1, 4))
    inputs = [draw(tensor(spec, batch)) for spec in metadata["inputs"]]
    return {"id": f"modelrail-{draw(st.integers(0, 10**6))}", "inputs": inputs}


def _dump(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True).encode()


@st.composite
def contract_error_case(draw: st.DrawFn, metadata: dict[str, Any], kind: str) -> Case:
    """A request with one of the errors the contract names for 400 (ERR-002), of ``kind``."""
    request = draw(valid_request(metadata))
    index = draw(st.integers(0, len(request["inputs"]) - 1))
    tensor_ = request["inputs"][index]
    if kind == "malformed":
        text = _dump(request).decode()
        cut = draw(st.integers(1, len(text) - 1))
        junk = draw(st.sampled_from(["", "}", ",", "'", "]]"]))
        candidate = text[:cut] + junk
        try:
            json.loads(candidate)
            candidate = text[:-1]
        except ValueError:
            pass
        return Case("malformed JSON", candidate.encode())
    if kind == "datatype":
        tensor_["datatype"] = draw(st.sampled_from(wrong_datatypes(tensor_["datatype"])))
        return Case(
            f"datatype of {tensor_['name']!r} changed to {tensor_['datatype']}", _dump(request)
        )
    if kind == "value_type":
        wrong: Any = "not-a-number" if tensor_["datatype"] != "BYTES" else 12.5
        position = draw(st.integers(0, len(tensor_["data"]) - 1))
        tensor_["data"][position] = wrong
        return Case(f"a {type(wrong).__name__} in the data of {tensor_['name']!r}", _dump(request))
    if kind == "shape":
        shape = list(tensor_["shape"])
        axis = draw(st.integers(0, len(shape) - 1))
        shape[axis] += draw(st.integers(1, 3))
        tensor_["shape"] = shape
        return Case(f"shape of {tensor_['name']!r} does not match its data", _dump(request))
    del request["inputs"][index]
    return Case(f"input {tensor_['name']!r} missing", _dump(request))


def _out_of_range(datatype: str, kind: str) -> list[str]:
    """JSON number literals no value of ``datatype`` can hold (``nonfinite`` or ``huge``).

    10**40 is out of range for every integer datatype, but an ordinary FP32 or FP64
    value; 1e999 overflows every float.
    """
    if kind == "nonfinite":
        return ["NaN", "Infinity", "-Infinity"]
    if datatype in _INT_RANGES:
        return ["1e999", str(10**40), str(-(10**40))]
    return ["1e999", "-1e999"]


def junk_kinds(metadata: dict[str, Any]) -> Sequence[str]:
    """The junk kinds that apply to a model: numeric ones only if it has a numeric input."""
    if any(is_numeric(str(spec.get("datatype"))) for spec in metadata["inputs"]):
        return JUNK_KINDS
    return tuple(kind for kind in JUNK_KINDS if kind not in NUMERIC_JUNK)


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@st.composite
def junk_case(draw: st.DrawFn, metadata: dict[str, Any], kind: str) -> Case:
    """Hostile or nonsensical input of ``kind``: extra inputs, non-finite or huge numbers, junk.

    ``nonfinite`` and ``huge`` go into a numeric input (see :func:`junk_kinds`); every
    other kind into any input.
    """
    request = draw(valid_request(metadata))
    inputs = request["inputs"]
    if kind in NUMERIC_JUNK:
        candidates = [i for i, t in enumerate(inputs) if is_numeric(t["datatype"])]
    else:
        candidates = list(range(len(inputs)))
    tensor_ = inputs[draw(st.sampled_from(candidates))]
    if kind == "extra":
        extra = dict(tensor_, name=f"unexpected_{draw(st.integers(0, 999))}")
        request["inputs"].append(extra)
        return Case("an extra input the model does not declare", _dump(request))
    if kind in ("nonfinite", "huge"):
        literal = draw(st.sampled_from(_out_of_range(tensor_["datatype"], kind)))
        tensor_["data"][0] = "__LITERAL__"
        text = _dump(request).decode().replace('"__LITERAL__"', literal, 1)
        return Case(f"{literal} in the data of {tensor_['name']!r}", text.encode())
    if kind == "deep":
        depth = draw(st.sampled_from([2_000, 50_000]))
        inner = {"name": tensor_["name"], "shape": [1], "datatype": tensor_["datatype"], "data": 0}
        text = json.dumps({"inputs": [inner]}).replace('"data": 0', f'"data": {_nested(depth)}')
        return Case(f"data nested {depth} levels deep", text.encode())
    if kind == "unicode":
        junk = draw(
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
            )
        )
        field = draw(st.sampled_from(["name", "datatype"]))
        tensor_[field] = junk + "\u202e\u0000\ufffd"
        return Case(f"unicode junk as the {field} of an input", _dump(request))
    if kind == "json_type":
        field = draw(st.sampled_from(["inputs", "data", "shape"]))
        value = draw(st.sampled_from([None, "x", 7, {"a": 1}, True]))
        if field == "inputs":
            request["inputs"] = value
        else:
            tensor_[field] = value
        return Case(f"{field} is {json.dumps(value)}", _dump(request))
    if kind == "not_object":
        body = draw(st.sampled_from(["[]", "42", '"inputs"', "null", "true"]))
        return Case(f"a JSON {body} instead of an object", body.encode())
    return Case("an empty body", b"")


def send(target: Target, case: Case, expected: str) -> tuple[int, Any, str, str]:
    """POST a case to the model's infer endpoint; (status, json, curl, received text)."""
    ex = exchange(
        target.base_url,
        "POST",
        model_path(target.config.model_name) + "/infer",
        body=case.body,
        headers={"Content-Type": "application/json"},
        expected=expected,
    )
    return ex.status, ex.json(), ex.curl, ex.describe()


def judge(target: Target, case: Case, allowed: set[int], expected: str) -> None:
    """POST a case; a violation unless its status is one of ``allowed``."""
    status, _, command, received = send(target, case, expected)
    if status not in allowed:
        path = model_path(target.config.model_name) + "/infer"
        raise RuleViolation(f"POST {path} with {case.label}", received, expected, reproduce=command)


def check_cases(
    target: Target,
    strategies: Sequence[st.SearchStrategy[Case]],
    allowed: set[int],
    expected: str,
    explicit: Sequence[Case] = (),
) -> None:
    """Send the ``explicit`` cases, then the cases of each strategy (one kind each) in turn.

    Every kind gets its share of the examples: drawn from a mix, a kind the search did not
    happen to reach (derandomised, but not across Hypothesis versions and loads) would let
    a service pass that fails it. Explicit cases are the ones a search might never find.
    """
    for case in explicit:
        judge(target, case, allowed, expected)
    if not strategies:
        return
    share = settings(HYPOTHESIS_SETTINGS, max_examples=max(1, -(-EXAMPLES // len(strategies))))
    for strategy in strategies:

        @share
        @given(case=strategy)
        def check(case: Case) -> None:
            judge(target, case, allowed, expected)

        check()
