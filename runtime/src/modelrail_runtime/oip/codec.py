"""OIP v2 (REST) bodies: parse and check inference requests, build inference responses.

Every problem with a request is a `ProtocolError` whose message says what is wrong and
what is expected, and never repeats a value taken from the request (but for the name of
an unknown input: quoted, escaped and cut to 64 characters). A request within the
protocol but beyond the service's `RequestLimits` is a `RequestTooLargeError`.

BYTES tensors travel as JSON strings (UTF-8 text) and become numpy object arrays of
`str`; any string is data, NUL and other control characters included.

``parameters`` (of the request, of an input, of a requested output) must be JSON objects,
as the protocol defines them; their values are not used, but for the binary tensor data
extension's (``binary_data_size``, ``binary_data``, ``binary_data_output``), which this
service does not implement and refuses by name rather than answer in another form than
the client asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import NoneType
from typing import Any, Final, NamedTuple

import numpy as np
import orjson
from numpy.typing import NDArray

from .datatypes import DATATYPES, Datatype, Element
from .signature import ModelSignature, TensorSpec

Tensor = NDArray[Any]

# JSON booleans are Python ints too, so numeric elements refuse them explicitly.
_TYPES_OF_ELEMENT = {
    Element.BOOL: frozenset({bool}),
    Element.INTEGER: frozenset({int}),
    Element.NUMBER: frozenset({int, float}),
    Element.STRING: frozenset({str}),
}
# By datatype name, the key a request gives: a string's hash is cached, an enum's is not.
_ELEMENT_TYPES = {name: _TYPES_OF_ELEMENT[dt.element] for name, dt in DATATYPES.items()}
_NUMBERS = frozenset(name for name, dt in DATATYPES.items() if dt.element is not Element.STRING)


# How each element is written in JSON, for the message refusing another kind of value.
_JSON_FORM = {
    Element.BOOL: " (true or false)",
    Element.INTEGER: " (a whole number in its range)",
    Element.NUMBER: " (a number)",
    Element.STRING: " (a JSON string: UTF-8 text)",
}


class ProtocolError(ValueError):
    """The request body breaks the protocol or the model's signature (answered with 400)."""


class RequestTooLargeError(ValueError):
    """The request is larger than a `RequestLimits` limit allows (answered with 413)."""


@dataclass(frozen=True)
class RequestLimits:
    """How large the tensors of one request may be, besides the size of its body.

    Both are checked before any array is built: the element count from each input's
    ``shape``, the strings once their elements are known to be strings.
    """

    max_string_bytes: int = 16_384
    """The longest BYTES element, in UTF-8 bytes (setting ``MAX_STRING_BYTES``)."""
    max_tensor_elements: int = 65_536
    """The most elements of all inputs together (setting ``MAX_TENSOR_ELEMENTS``)."""


@dataclass(frozen=True)
class InferenceRequest:
    """A checked inference request: tensors ready for the model."""

    id: str | None
    inputs: dict[str, Tensor]
    outputs: tuple[str, ...]
    """The outputs to return, in the order asked for (all of them by default)."""


def parse_infer_request(
    body: bytes, signature: ModelSignature, limits: RequestLimits = RequestLimits()
) -> InferenceRequest:
    """Parse an OIP inference request and check it against ``signature`` and ``limits``.

    Raises:
        ProtocolError: the body is not UTF-8 JSON, or breaks the protocol or the signature.
        RequestTooLargeError: the tensors are larger than ``limits`` allow.
    """
    document = _load_json(body)
    if not isinstance(document, dict):
        raise ProtocolError("request body must be a JSON object with an 'inputs' list")
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("'id' must be a string")
    _check_parameters(document.get("parameters"), "the request", "binary_data_output")
    inputs = _parse_inputs(document.get("inputs"), signature, limits)
    outputs = _parse_outputs(document.get("outputs"), signature)
    return InferenceRequest(id=request_id, inputs=inputs, outputs=outputs)


def encode_infer_response(
    request: InferenceRequest,
    model_name: str,
    model_version: str,
    signature: ModelSignature,
    results: Mapping[str, Tensor],
) -> dict[str, Any]:
    """The OIP response body for ``results``, limited to the outputs the request asked for."""
    outputs = []
    for name in request.outputs:
        tensor = np.asarray(results[name])
        spec = signature.output(name)
        if spec is None:  # the request's outputs are the signature's (`_parse_outputs`)
            raise KeyError(name)
        outputs.append(
            {
                "name": name,
                "datatype": spec.datatype,
                "shape": list(tensor.shape),
                "data": tensor.ravel().tolist(),
            }
        )
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request.id is not None:
        response["id"] = request.id
    response["outputs"] = outputs
    return response


def _load_json(body: bytes) -> Any:
    # orjson is strict where the standard parser is lenient: it refuses NaN, Infinity,
    # numbers that overflow a double, invalid UTF-8 and lone surrogates, and nesting
    # deeper than 1024 levels.
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(_json_problem(body, exc.msg)) from None


def _json_problem(body: bytes, reason: str) -> str:
    """What is wrong with a body orjson refused, said precisely but without its bytes."""
    # Only on the error path: decoding again costs nothing on valid requests.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"request body is not valid UTF-8 JSON: byte {exc.start} is not part of a "
            "UTF-8 character; send the body encoded as UTF-8"
        )
    # orjson's reasons for a \u escape of half a UTF-16 pair all name the surrogate.
    if "surrogate" in reason:
        return (
            "request body is not valid UTF-8 JSON: a \\u escape is a lone surrogate (half "
            "of a UTF-16 pair), which is not a character; escape a character beyond U+FFFF "
            "as a whole pair, or send it as UTF-8"
        )
    if body.startswith(b"\xef\xbb\xbf"):
        return "request body is not valid JSON: it starts with a byte order mark; send none"
    return "request body is not valid JSON"


def _parse_inputs(
    raw: object, signature: ModelSignature, limits: RequestLimits
) -> dict[str, Tensor]:
    if not isinstance(raw, list) or not raw:
        raise ProtocolError(
            f"'inputs' must be a non-empty list; this model takes {_expected(signature)}"
        )
    packed = signature.packed
    single = raw[0] if len(raw) == 1 and isinstance(raw[0], dict) else {}
    if packed is not None and single.get("name") == packed.name:
        return _unpack(_parse_tensor(single, packed, limits, 0), signature)
    tensors: dict[str, Tensor] = {}
    together: list[_Flat] = []
    elements = 0
    try:
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ProtocolError(
                    "each entry of 'inputs' must be an object with a 'name'; "
                    f"this model takes {_expected(signature)}"
                )
            spec = signature.input(item["name"])
            if spec is None:
                # The name is the client's: shown quoted and cut short, never as it came.
                unknown = repr(item["name"][:64])
                expected = _expected(signature)
                raise ProtocolError(
                    f"'inputs' names an unknown input {unknown}; this model takes {expected}"
                )
            if spec.name in tensors:
                raise ProtocolError(f"input {spec.name!r} appears more than once")
            flat = _parse_header(item, spec, limits, elements)
            elements += math.prod(flat.shape)
            if flat.together:
                together.append(flat)
                tensors[spec.name] = _LATER  # keeps the request's order of inputs
            else:
                tensors[spec.name] = _convert(flat, limits)
    except (ProtocolError, RequestTooLargeError):
        # The inputs before the one refused are checked first, as each was at its turn.
        for flat in together:
            _convert(flat, limits)
        raise
    tensors.update(_convert_together(together, limits))
    missing = [spec.name for spec in signature.inputs if spec.name not in tensors]
    if missing:
        raise ProtocolError("missing input(s): " + ", ".join(repr(name) for name in missing))
    rows = {len(tensor) for tensor in tensors.values() if tensor.ndim}
    if len(signature.inputs) > 1 and len(rows) > 1:
        raise ProtocolError("every input must have the same number of rows (first dimension)")
    return tensors


def _expected(signature: ModelSignature) -> str:
    """The model's inputs, for messages (built only when a request is refused)."""
    return ", ".join(repr(spec.name) for spec in signature.inputs)


def _unpack(packed: Tensor, signature: ModelSignature) -> dict[str, Tensor]:
    """The columns of a packed ``[N, inputs]`` tensor, one per input, in input order."""
    return {
        spec.name: np.ascontiguousarray(packed[:, position])
        for position, spec in enumerate(signature.inputs)
    }


def _parse_outputs(raw: object, signature: ModelSignature) -> tuple[str, ...]:
    known = signature.output_names()
    if raw is None:
        return known
    listed = ", ".join(repr(name) for name in known)
    if not isinstance(raw, list) or not raw:
        raise ProtocolError(f"'outputs' must be a non-empty list of objects naming {listed}")
    names: list[str] = []
    for item in raw:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in known:
            raise ProtocolError(f"'outputs' requests an unknown output; this model has {listed}")
        if name in names:
            raise ProtocolError(f"output {name!r} is requested more than once")
        _check_parameters(item.get("parameters"), f"output {name!r}", "binary_data")
        names.append(name)
    return tuple(names)


BINARY_EXTENSION: Final = (
    "the binary tensor data extension is not supported by this service: send every "
    "tensor as JSON 'data' and accept JSON outputs"
)


def _check_parameters(raw: object, where: str, binary_key: str) -> None:
    """``raw`` is absent or a JSON object without the binary extension's ``binary_key``."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise ProtocolError(
            f"'parameters' of {where} must be a JSON object of name-value pairs, "
            f"not a {_json_type(raw)}"
        )
    value = raw.get(binary_key)
    # Absent, null or false: JSON data. Anything else asks for the extension (a size, true).
    if value is not None and value is not False:
        raise ProtocolError(f"{where} asks for {binary_key!r}: {BINARY_EXTENSION}")


def _json_type(value: object) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "value"
    )


class _Flat(NamedTuple):
    """An input whose header is checked, its elements not yet."""

    spec: TensorSpec
    shape: tuple[int, ...]
    data: list[Any]
    together: bool
    """Whether it may be converted with the request's other inputs of its datatype: flat
    numbers (as many as its shape says), whose checks can then be made once for all."""


# Stands for an input in `_parse_inputs` until it is converted with the others.
_LATER: Final[Tensor] = np.empty(0)


def _parse_tensor(
    item: Mapping[str, Any], spec: TensorSpec, limits: RequestLimits, elements_before: int
) -> Tensor:
    """One input's array; ``elements_before`` counts the elements of the inputs before it."""
    return _convert(_parse_header(item, spec, limits, elements_before), limits)


def _parse_header(
    item: Mapping[str, Any], spec: TensorSpec, limits: RequestLimits, elements_before: int
) -> _Flat:
    """One input's datatype, shape and size checked, and its data found to be a list."""
    _check_parameters(item.get("parameters"), _where(spec), "binary_data_size")
    if item.get("datatype") != spec.datatype:
        raise ProtocolError(f"{_where(spec)}: 'datatype' must be {spec.datatype!r}")
    shape = _check_shape(item.get("shape"), spec)
    # Counted from the shape, before 'data' is walked: an oversized request is refused
    # before it costs anything.
    count = math.prod(shape)
    _check_element_count(count, elements_before, limits, spec)
    data = item.get("data")
    if not isinstance(data, list):
        raise ProtocolError(f"{_where(spec)}: 'data' must be a list (flat row-major, or nested)")
    together = len(data) == count and spec.datatype in _NUMBERS
    return _Flat(spec, shape, data, together)


def _convert(flat: _Flat, limits: RequestLimits) -> Tensor:
    where = _where(flat.spec)
    return _to_array(_flatten(flat.data, flat.shape, where), flat.shape, flat.spec, where, limits)


def _convert_together(flats: list[_Flat], limits: RequestLimits) -> dict[str, Tensor]:
    """Inputs of flat numbers, each datatype's in one array (one type check, one copy)
    that each input's array is a slice of: per input, that is most of the work.

    Anything amiss (a null, a nested list, a value of another type or out of range) and
    every input is converted on its own instead, for the message naming the first one.
    """
    tensors: dict[str, Tensor] = {}
    for name in {flat.spec.datatype for flat in flats}:
        group = [flat for flat in flats if flat.spec.datatype == name]
        values = [value for flat in group for value in flat.data]
        array = _numbers(values, DATATYPES[name])
        if array is None:
            return {flat.spec.name: _convert(flat, limits) for flat in flats}
        offset = 0
        for flat in group:
            size = len(flat.data)
            part = array[offset : offset + size]
            tensors[flat.spec.name] = part if len(flat.shape) == 1 else part.reshape(flat.shape)
            offset += size
    return tensors


def _numbers(values: list[Any], datatype: Datatype) -> Tensor | None:
    """``values`` as one array of ``datatype``, or None if any is not a valid element."""
    if not set(map(type, values)) <= _ELEMENT_TYPES[datatype.name]:
        return None
    if datatype.bounds is not None and values:
        low, high = datatype.bounds
        if not low <= min(values) or not max(values) <= high:
            return None
    try:
        array = np.array(values, dtype=datatype.numpy)
    except (OverflowError, ValueError):
        return None
    if array.dtype.kind == "f" and array.dtype.itemsize < 8 and not np.isfinite(array).all():
        return None
    return array


def _where(spec: TensorSpec) -> str:
    """How messages name an input."""
    return f"input {spec.name!r}"


def _check_element_count(count: int, before: int, limits: RequestLimits, spec: TensorSpec) -> None:
    limit = limits.max_tensor_elements
    if before + count <= limit:
        return
    if before:
        holds = f"'shape' brings the request to {before + count} elements (all inputs together)"
    else:
        holds = f"'shape' holds {count} elements"
    raise RequestTooLargeError(
        f"{_where(spec)}: {holds}, more than MAX_TENSOR_ELEMENTS={limit}; "
        "send fewer rows per request"
    )


def _check_string_sizes(texts: list[str], limits: RequestLimits, where: str) -> None:
    limit = limits.max_string_bytes
    # A character is 1 to 4 bytes in UTF-8: strings of at most limit // 4 characters fit
    # whatever they hold, so only the longer ones are encoded (usually none).
    fits = limit // 4
    if max(map(len, texts), default=0) <= fits:
        return
    for text in texts:
        if len(text) > fits:
            size = len(text.encode("utf-8"))
            if size > limit:
                raise RequestTooLargeError(
                    f"{where}: an element is {size} bytes long, more than "
                    f"MAX_STRING_BYTES={limit}; send shorter texts (UTF-8 bytes count)"
                )


def _check_shape(raw: object, spec: TensorSpec) -> tuple[int, ...]:
    if type(raw) is not list or len(raw) != len(spec.shape):
        raise ProtocolError(_shape_hint(spec))
    if any(type(dim) is float for dim in raw):
        # JSON has one number type: 2.0 is the integer 2 (as JSON Schema has it).
        raw = [int(dim) if type(dim) is float and dim.is_integer() else dim for dim in raw]
    for dim, declared in zip(raw, spec.shape, strict=True):
        if type(dim) is not int or dim < 1 or declared not in (-1, dim):
            raise ProtocolError(_shape_hint(spec))
    return tuple(raw)


def _shape_hint(spec: TensorSpec) -> str:
    wanted = "[" + ", ".join("N" if dim == -1 else str(dim) for dim in spec.shape) + "]"
    return f"{_where(spec)}: 'shape' must be {wanted} with N >= 1"


class _Elements(NamedTuple):
    """A tensor's elements in row-major order, and the set of their exact types."""

    values: list[Any]
    types: set[type]


def _flatten(data: list[Any], shape: Sequence[int], where: str) -> _Elements:
    """The elements of ``data`` in row-major order, and their exact types."""
    # Exact element types, collected at C speed (`set(map(type, ...))`): they tell flat
    # data from nested, and `_to_array` checks them.
    types = set(map(type, data))
    count = math.prod(shape)
    if list not in types:
        if len(data) != count:
            raise ProtocolError(
                f"{where}: 'data' has {len(data)} elements but 'shape' needs {count}"
            )
        return _Elements(data, types)
    flat: list[Any] = []
    _collect(data, shape, flat, where)
    return _Elements(flat, set(map(type, flat)))


def _collect(node: Any, shape: Sequence[int], out: list[Any], where: str) -> None:
    if not shape:
        if isinstance(node, list):
            raise ProtocolError(f"{where}: nested 'data' is deeper than 'shape'")
        out.append(node)
        return
    if not isinstance(node, list) or len(node) != shape[0]:
        raise ProtocolError(f"{where}: nested 'data' does not match 'shape'")
    for child in node:
        _collect(child, shape[1:], out, where)


_EXACT_FLOAT_INTEGERS = 2**53
"""Beyond this a float is not a count of ones: the JSON number was rounded when read."""


def _whole_floats_as_integers(flat: list[Any], types: set[type]) -> tuple[list[Any], set[type]]:
    """``1.0`` as ``1`` for an integer datatype, as JSON Schema's ``integer`` has it (the
    OpenAPI document says so); ``1.5``, or a float too large to be exact, stays a float
    and is refused."""
    floats = [value for value in flat if type(value) is float]
    if not all(v.is_integer() and abs(v) <= _EXACT_FLOAT_INTEGERS for v in floats):
        return flat, types
    whole = [int(value) if type(value) is float else value for value in flat]
    return whole, (types - {float}) | {int}


def _to_array(
    elements: _Elements, shape: tuple[int, ...], spec: TensorSpec, where: str, limits: RequestLimits
) -> Tensor:
    flat, types = elements
    name, nullable = spec.datatype, spec.nullable
    datatype = DATATYPES[name]
    # Exact element types: numpy would quietly turn booleans and numeric strings into
    # numbers.
    missing = nullable and NoneType in types
    if missing:
        types.discard(NoneType)
        flat = [math.nan if value is None else value for value in flat]
    if float in types and datatype.element is Element.INTEGER:
        flat, types = _whole_floats_as_integers(flat, types)
    valid = types <= _ELEMENT_TYPES[name]
    if valid and datatype.bounds is not None and flat and not missing:
        low, high = datatype.bounds
        valid = low <= min(flat) and max(flat) <= high
    if not valid:
        form = (
            " (a number, or null for a missing value)" if nullable else _JSON_FORM[datatype.element]
        )
        raise ProtocolError(f"{where}: every element of 'data' must be a {name} value{form}")
    if datatype.element is Element.STRING:
        _check_string_sizes(flat, limits, where)
    try:
        # np.array copies a list as np.asarray would, in half the time for a short one.
        array = np.array(flat, dtype=datatype.numpy)
        if len(shape) != 1:
            array = array.reshape(shape)
    except (OverflowError, ValueError):
        raise ProtocolError(f"{where}: an element of 'data' is out of range for {name}") from None
    # orjson never gives NaN or an infinity (it refuses both, and numbers beyond a double),
    # so only a missing value, or a number beyond FP32's or FP16's range, is not finite.
    checked = array.dtype.kind == "f" and (missing or array.dtype.itemsize < 8)
    if checked and not np.isfinite(array).all() and (not missing or np.isinf(array).any()):
        allowed = " (null marks a missing value)" if nullable else " (no NaN or infinity)"
        raise ProtocolError(f"{where}: 'data' must hold finite numbers{allowed}")
    return array
