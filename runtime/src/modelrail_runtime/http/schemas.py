"""JSON Schemas of the bodies the service takes and sends, for its OpenAPI document.

Each says what the code accepts or answers, no more and no less where JSON Schema can say
it: a client generated from the document, or a contract fuzzer driven by it, then sends
only what the service takes. Once the model is loaded, the inference request is the
model's own signature (its input names, datatypes and fixed dimensions).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from ..lake.labels import (
    MAX_PREDICTION_ID_LENGTH,
    MAX_SOURCE_LENGTH,
    SOURCE_CHARACTERS,
    LabelTarget,
)
from ..oip.datatypes import DATATYPES, Element
from ..oip.signature import ModelSignature, TensorSpec

Schema = dict[str, Any]

ERROR: Final[Schema] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "description": "What is wrong and how to fix it; never a value of the request.",
        }
    },
}

LIVE: Final[Schema] = {
    "type": "object",
    "required": ["live"],
    "properties": {"live": {"const": True}},
}
READY: Final[Schema] = {
    "type": "object",
    "required": ["ready"],
    "properties": {"ready": {"const": True}},
}
SERVER_METADATA: Final[Schema] = {
    "type": "object",
    "required": ["name", "version", "extensions"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "extensions": {"type": "array", "items": {"type": "string"}},
    },
}


def _parameters(binary_key: str) -> Schema:
    """OIP's 'parameters' (of the request, a tensor, an output): an object whose values this
    server does not read, but for the binary tensor data extension's key, which it refuses
    (oip/codec.py)."""
    return {
        "type": ["object", "null"],
        "properties": {
            binary_key: {
                "enum": [False, None],
                "description": "The binary tensor data extension is not supported",
            }
        },
        "description": "Name-value pairs, not read by this server",
    }


_DATATYPE: Final[Schema] = {"type": "string", "enum": list(DATATYPES)}
_TENSOR_METADATA: Final[Schema] = {
    "type": "object",
    "required": ["name", "datatype", "shape"],
    "properties": {
        "name": {"type": "string"},
        "datatype": _DATATYPE,
        "shape": {
            "type": "array",
            "items": {"type": "integer", "minimum": -1},
            "description": "-1 marks a variable dimension",
        },
    },
}
_DATA_DESCRIPTION: Final = (
    "As many elements as 'shape' says: flat row-major, or nested like 'shape' (as many "
    "rows as its first dimension). BYTES "
    "elements are JSON strings (UTF-8 text), each at most MAX_STRING_BYTES bytes long."
)


def model_metadata(name: str) -> Schema:
    """``GET /v2/models/{name}``: the OIP model metadata."""
    return {
        "type": "object",
        "required": ["name", "versions", "platform", "inputs", "outputs"],
        "properties": {
            "name": {"const": name},
            "versions": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": _TENSOR_METADATA},
            "outputs": {"type": "array", "items": _TENSOR_METADATA},
        },
    }


def model_ready(name: str) -> Schema:
    """``GET /v2/models/{name}/ready``."""
    return {
        "type": "object",
        "required": ["name", "ready"],
        "properties": {"name": {"const": name}, "ready": {"const": True}},
    }


# The largest finite value of each float: beyond it, a number is refused (a JSON number
# beyond a double, by the JSON parser).
_FLOAT_MAX: Final = {
    "FP64": float(np.finfo(np.float64).max),
    "FP16": float(np.finfo(np.float16).max),
    "FP32": float(np.finfo(np.float32).max),
}


def _element(spec: TensorSpec) -> Schema:
    """One element of ``data``: a value of the tensor's datatype."""
    datatype = DATATYPES[spec.datatype]
    if datatype.element is Element.BOOL:
        return {"type": "boolean"}
    if datatype.element is Element.STRING:
        return {"type": "string"}
    if datatype.element is Element.INTEGER and datatype.bounds is not None:
        low, high = datatype.bounds
        return {"type": "integer", "minimum": low, "maximum": high}
    # JSON has no NaN nor infinity: every JSON number is finite.
    number: Schema = {"type": ["number", "null"] if spec.nullable else "number"}
    largest = _FLOAT_MAX[spec.datatype]
    number["minimum"], number["maximum"] = -largest, largest
    return number


def _dimension(length: int, items: Schema) -> Schema:
    """A list of ``length`` items (``-1``: one or more)."""
    if length == -1:
        return {"type": "array", "minItems": 1, "items": items}
    return {"type": "array", "minItems": length, "maxItems": length, "items": items}


def _data(spec: TensorSpec) -> Schema:
    """``data``: flat, or nested like the shape (each list as long as its dimension)."""
    element = _element(spec)
    # At least what the fixed dimensions hold together (every variable one at 1), and
    # exactly that when none is variable.
    fewest = math.prod(d for d in spec.shape if d != -1)
    flat: Schema = {"type": "array", "minItems": fewest, "items": element}
    if -1 not in spec.shape:
        flat["maxItems"] = fewest
    if len(spec.shape) < 2:
        return {**flat, "description": _DATA_DESCRIPTION}
    nested = element
    for length in reversed(spec.shape[1:]):
        nested = _dimension(length, nested)
    rows = {"type": "array", "minItems": 1, "items": nested}
    return {"anyOf": [flat, rows], "description": _DATA_DESCRIPTION}


def tensor(spec: TensorSpec | None = None) -> Schema:
    """An input tensor: the one ``spec`` describes, or any (before the model is loaded).

    One rule is left out, which JSON Schema cannot state: 'data' holds as many elements
    as the product of 'shape', or as many rows as its first dimension when nested.
    """
    if spec is None:
        shape: Schema = {"type": "array", "items": {"type": "integer", "minimum": 1}}
        name: Schema = {"type": "string"}
        datatype: Schema = _DATATYPE
        data: Schema = {"type": "array", "minItems": 1, "description": _DATA_DESCRIPTION}
    else:
        dims = [{"type": "integer", "minimum": 1} if d == -1 else {"const": d} for d in spec.shape]
        shape = {
            "type": "array",
            "minItems": len(dims),
            "maxItems": len(dims),
            "prefixItems": dims,
            "description": "[" + ", ".join("N" if d == -1 else str(d) for d in spec.shape) + "]",
        }
        name = {"const": spec.name}
        datatype = {"const": spec.datatype}
        data = _data(spec)
    return {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": name,
            "shape": shape,
            "datatype": datatype,
            "data": data,
            "parameters": _parameters("binary_data_size"),
        },
    }


def _named(name: str) -> Schema:
    return {"type": "object", "required": ["name"], "properties": {"name": {"const": name}}}


def _inputs(signature: ModelSignature | None) -> Schema:
    """``inputs``: each of the model's inputs once, or its one packed tensor."""
    if signature is None:
        return {"type": "array", "minItems": 1, "items": tensor()}
    specs = signature.inputs
    each_once: Schema = {
        "minItems": len(specs),
        "maxItems": len(specs),
        "allOf": [{"contains": _named(spec.name)} for spec in specs],
    }
    if signature.packed is None:
        return {"type": "array", "items": {"oneOf": [tensor(s) for s in specs]}, **each_once}
    packed = {"minItems": 1, "maxItems": 1, "items": tensor(signature.packed)}
    return {
        "type": "array",
        "items": {"oneOf": [tensor(s) for s in (*specs, signature.packed)]},
        "oneOf": [{"items": {"oneOf": [tensor(s) for s in specs]}, **each_once}, packed],
    }


def infer_request(signature: ModelSignature | None) -> Schema:
    """The OIP inference request: the model's signature once it is loaded."""
    names = None if signature is None else signature.output_names()
    outputs: Schema = {
        "type": ["array", "null"],
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"} if names is None else {"enum": list(names)},
                "parameters": _parameters("binary_data"),
            },
        },
        "description": "Each output at most once; by default (absent, null), all of them",
    }
    if names is not None:
        outputs["maxItems"] = len(names)
        outputs["allOf"] = [
            {"contains": _named(name), "minContains": 0, "maxContains": 1} for name in names
        ]
    return {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": ["string", "null"], "description": "Echoed in the response"},
            "inputs": _inputs(signature),
            "outputs": outputs,
            "parameters": _parameters("binary_data_output"),
        },
    }


def infer_response(name: str) -> Schema:
    """The OIP inference response."""
    output = {
        "type": "object",
        "required": ["name", "datatype", "shape", "data"],
        "properties": {
            "name": {"type": "string"},
            "datatype": _DATATYPE,
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "data": {"type": "array"},
        },
    }
    return {
        "type": "object",
        "required": ["model_name", "model_version", "outputs"],
        "properties": {
            "model_name": {"const": name},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "outputs": {"type": "array", "items": output},
        },
    }


def _outcome(target: LabelTarget | None) -> dict[str, Schema]:
    """The outcome field of a label: the model's class, or its value (either, if unknown)."""
    largest = _FLOAT_MAX["FP64"]
    value: Schema = {
        "type": "number",
        "minimum": -largest,
        "maximum": largest,
        "description": "Regressors: the true value",
    }
    if target is None:
        label: Schema = {"type": ["string", "integer"], "description": "Classifiers: a class"}
        return {"label": label, "value": value}
    if not target.classes:
        return {"value": value}
    # An integer class may also come as its decimal text.
    texts = [str(known) for known in target.classes if isinstance(known, int)]
    classes = {"enum": [*target.classes, *texts], "description": "One of the model's classes"}
    return {"label": classes}


def labels_request(target: LabelTarget | None, max_items: int) -> Schema:
    """``POST .../labels``: true outcomes by prediction id, in the model's terms if known.

    Args:
        target: what the served model's outcome is; None before it is loaded.
        max_items: ``LABELS_MAX_ITEMS``.
    """
    outcome = _outcome(target)
    item: Schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "prediction_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_PREDICTION_ID_LENGTH,
                "description": "The id an inference response returned for the row",
            },
            **outcome,
        },
    }
    if len(outcome) == 1:
        item["required"] = ["prediction_id", *outcome]
    else:
        item["oneOf"] = [{"required": ["prediction_id", field]} for field in outcome]
    source = f"^{SOURCE_CHARACTERS}{{1,{MAX_SOURCE_LENGTH}}}$"
    return {
        "type": "object",
        "required": ["labels"],
        "additionalProperties": False,
        "properties": {
            "labels": {"type": "array", "minItems": 1, "maxItems": max_items, "items": item},
            "source": {
                "type": "string",
                "pattern": source,
                "description": "Who reports them, in printable ASCII (default: api)",
            },
        },
    }


STORED: Final[Schema] = {
    "type": "object",
    "required": ["stored"],
    "properties": {"stored": {"type": "integer", "minimum": 1}},
}
