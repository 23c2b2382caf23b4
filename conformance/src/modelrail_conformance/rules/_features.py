"""Requests for the named-feature rules: the golden request with one feature changed.

They start from the golden request, not from generated values, so that the one thing
changed is the only thing wrong (INF-001 shows the golden request itself succeeds).
"""

from __future__ import annotations

import json
import math
from typing import Any

from modelrail_conformance.failures import NotApplicable, RuleViolation
from modelrail_conformance.rules._support import Exchange, exchange, flatten, model_path
from modelrail_conformance.rules._tensors import model_metadata
from modelrail_conformance.target import Target

MAX_FEATURES = 16
"""At most this many features are checked one by one (spread over the list)."""


def golden_features(target: Target) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The golden request and its inputs the metadata declares (at most ``MAX_FEATURES``).

    Raises:
        NotApplicable: the metadata declares a single input.
        RuleViolation: the golden request has none of the declared inputs.
    """
    declared = [str(spec.get("name")) for spec in model_metadata(target)["inputs"]]
    if len(declared) < 2:
        raise NotApplicable(
            f"the model has one input ({declared[0]!r}); the named-feature rules need more"
        )
    golden = target.config.golden_request_body()
    sent = [t for t in golden.get("inputs") or [] if isinstance(t, dict)]
    inputs = [t for t in sent if t.get("name") in declared]
    if not inputs:
        raise RuleViolation(
            "golden_request",
            f"inputs {[t.get('name') for t in sent]}",
            f"the inputs the metadata declares: {declared} (see INF-001)",
        )
    if len(inputs) > MAX_FEATURES:
        step = (len(inputs) - 1) / (MAX_FEATURES - 1)
        inputs = [inputs[round(i * step)] for i in range(MAX_FEATURES)]
    return golden, inputs


def replaced(golden: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The golden request with the input ``old`` replaced by ``new``."""
    return dict(golden, inputs=[new if t is old else t for t in golden["inputs"]])


def mistyped(tensor_: dict[str, Any]) -> dict[str, Any]:
    """A copy of an input tensor sent as another kind, the way clients get it wrong.

    Numbers and booleans become BYTES (their JSON text: ``"12.5"``, ``"true"``), as when a
    column arrives as text; strings become INT64 codes, as when categories were
    label-encoded. Datatype and data agree, so only the metadata can tell it is wrong.
    """
    data = flatten(tensor_.get("data"))
    if tensor_.get("datatype") == "BYTES":
        codes = {value: index for index, value in enumerate(dict.fromkeys(map(str, data)))}
        return dict(tensor_, datatype="INT64", data=[codes[str(v)] for v in data])
    return dict(tensor_, datatype="BYTES", data=[json.dumps(v) for v in data])


def with_extra_row(tensor_: dict[str, Any]) -> dict[str, Any]:
    """A copy of an input tensor with its first row repeated at the end (flat data)."""
    shape = [int(d) for d in tensor_["shape"]]
    data = flatten(tensor_.get("data"))
    row = math.prod(shape[1:])
    return dict(tensor_, shape=[shape[0] + 1, *shape[1:]], data=data + data[:row])


def error_text(ex: Exchange) -> str:
    """The error message: the body's ``error``, else the whole body (ERR-001 judges its shape)."""
    data = ex.json()
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return ex.response.text


def expect_400(target: Target, body: dict[str, Any], sent: str, name: str | None = None) -> None:
    """POST ``body``; a violation unless the answer is a 400 (whose error names ``name``)."""
    path = model_path(target.config.model_name) + "/infer"
    expected = f"400 with an error that names {name!r}" if name else "400"
    ex = exchange(target.base_url, "POST", path, json_body=body, expected=expected)
    if ex.status != 400 or (name is not None and name not in error_text(ex)):
        raise RuleViolation(f"POST {path} with {sent}", ex.describe(), expected, reproduce=ex.curl)
