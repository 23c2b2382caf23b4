"""Prediction events: what one logged prediction holds, and how a batch becomes a table.

One event per inference request (sampled), with these columns:

| Column | Type | Content |
| --- | --- | --- |
| `timestamp` | timestamp[us, UTC] | when the prediction was made |
| `request_id` | string | the request's `X-Request-ID` (given or generated) |
| `model_name`, `model_version` | string | the served model |
| `latency_seconds` | double | time the model took for the request |
| `rows` | int64 | rows in the request's batch |
| `inputs` | struct of tensors | the request's tensors; null unless the policy is `store` |
| `inputs_sha256` | string | sha256 of the tensors; null unless the policy is `hash` |
| `outputs` | struct of tensors | every output tensor of the model |

A tensor of shape ``[rows, n]`` is a list of ``rows`` lists of ``n`` values. Files are
partitioned by day (``date=YYYY-MM-DD/``); readers add ``date`` from the path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from ..oip.datatypes import DATATYPES
from ..oip.signature import ModelSignature, TensorSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from ..adapter import Tensor

InputPolicy = Literal["store", "hash", "drop"]


class PredictionEvent(NamedTuple):
    """One prediction, as the request path hands it over (nothing converted yet)."""

    timestamp: float
    request_id: str
    model_name: str
    model_version: str
    signature: ModelSignature
    latency_seconds: float
    inputs: Mapping[str, Tensor]
    outputs: Mapping[str, Tensor]


def inputs_sha256(signature: ModelSignature, inputs: Mapping[str, Tensor]) -> str:
    """sha256 over every input's name, dtype, shape and bytes, in signature order.

    Equal inputs give equal hashes (to count repeats or join with other data without
    storing the values). Inputs with few possible values can be recovered by hashing
    candidates: choose ``drop`` for those.
    """
    digest = hashlib.sha256()
    for spec in signature.inputs:
        tensor = np.ascontiguousarray(inputs[spec.name])
        digest.update(f"{spec.name}|{tensor.dtype.str}|{tensor.shape}|".encode())
        if tensor.dtype.kind != "O":
            digest.update(tensor.tobytes())
            continue
        # BYTES: an object array's own bytes are pointers; hash each element, length first.
        for value in tensor.ravel():
            item = value.encode() if isinstance(value, str) else bytes(value)
            digest.update(len(item).to_bytes(8, "little") + item)
    return digest.hexdigest()


def to_table(events: Sequence[PredictionEvent], policy: InputPolicy) -> pa.Table:
    """The events as one Arrow table (columns as in the module docstring)."""
    import pyarrow as pa  # noqa: PLC0415 - imported by the writer thread, never at start-up

    signature = events[0].signature
    count = len(events)
    micros = np.array([round(event.timestamp * 1_000_000) for event in events], dtype=np.int64)
    inputs_type = _struct_type(signature.inputs)
    if policy == "store":
        inputs = _struct_column([event.inputs for event in events], signature.inputs)
    else:
        inputs = pa.nulls(count, type=inputs_type)
    hashes = (
        [inputs_sha256(signature, event.inputs) for event in events]
        if policy == "hash"
        else [None] * count
    )
    first_output = signature.outputs[0].name
    columns = {
        "timestamp": pa.array(micros, type=pa.timestamp("us", tz="UTC")),
        "request_id": pa.array([event.request_id for event in events], type=pa.string()),
        "model_name": pa.array([event.model_name for event in events], type=pa.string()),
        "model_version": pa.array([event.model_version for event in events], type=pa.string()),
        "latency_seconds": pa.array([event.latency_seconds for event in events], type=pa.float64()),
        "rows": pa.array([len(event.outputs[first_output]) for event in events], pa.int64()),
        "inputs": inputs,
        "inputs_sha256": pa.array(hashes, type=pa.string()),
        "outputs": _struct_column([event.outputs for event in events], signature.outputs),
    }
    return pa.Table.from_pydict(columns, schema=schema(signature))


def schema(signature: ModelSignature) -> pa.Schema:
    """The Arrow schema of the events of a model with ``signature``."""
    import pyarrow as pa  # noqa: PLC0415

    return pa.schema(
        [
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("request_id", pa.string()),
            ("model_name", pa.string()),
            ("model_version", pa.string()),
            ("latency_seconds", pa.float64()),
            ("rows", pa.int64()),
            ("inputs", _struct_type(signature.inputs)),
            ("inputs_sha256", pa.string()),
            ("outputs", _struct_type(signature.outputs)),
        ]
    )


def _value_type(datatype: str) -> pa.DataType:
    import pyarrow as pa  # noqa: PLC0415

    factory: Any = getattr(pa, DATATYPES[datatype].arrow)
    return factory()


def _tensor_type(spec: TensorSpec) -> pa.DataType:
    import pyarrow as pa  # noqa: PLC0415

    nested = _value_type(spec.datatype)
    for _ in spec.shape:
        nested = pa.list_(nested)
    return nested


def _struct_type(specs: Sequence[TensorSpec]) -> pa.DataType:
    import pyarrow as pa  # noqa: PLC0415

    return pa.struct([(spec.name, _tensor_type(spec)) for spec in specs])


def _struct_column(tensors: Sequence[Mapping[str, Tensor]], specs: Sequence[TensorSpec]) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    children = [_tensor_column([item[spec.name] for item in tensors], spec) for spec in specs]
    return pa.StructArray.from_arrays(children, fields=list(_struct_type(specs)))


def _tensor_column(tensors: Sequence[Tensor], spec: TensorSpec) -> pa.Array:
    """One nested-list value per tensor, built from one flat buffer (no Python lists)."""
    import pyarrow as pa  # noqa: PLC0415

    arrays = [np.asarray(tensor) for tensor in tensors]
    inner_shapes = {array.shape[1:] for array in arrays}
    ragged = len(inner_shapes) != 1 or any(array.ndim != len(spec.shape) for array in arrays)
    if ragged or 0 in next(iter(inner_shapes)):
        return pa.array([array.tolist() for array in arrays], type=_tensor_type(spec))
    (inner_shape,) = inner_shapes
    flat = np.concatenate([np.ascontiguousarray(array).reshape(-1) for array in arrays])
    nested: pa.Array = pa.array(flat, type=_value_type(spec.datatype))
    for size in reversed(inner_shape):
        offsets = np.arange(0, len(nested) + 1, size, dtype=np.int32)
        nested = pa.ListArray.from_arrays(pa.array(offsets), nested)
    lengths = np.fromiter((len(array) for array in arrays), dtype=np.int32, count=len(arrays))
    outer = np.concatenate([np.zeros(1, dtype=np.int32), np.cumsum(lengths, dtype=np.int32)])
    return pa.ListArray.from_arrays(pa.array(outer), nested)
