"""Prediction events: what one logged request holds, and how events become rows.

The request path hands over one event per inference request (sampled); the writer turns
events into a table with **one row per prediction** (a request of N rows gives N rows):

| Column | Type | Content |
| --- | --- | --- |
| `timestamp` | timestamp[us, UTC] | when the prediction was made |
| `prediction_id` | string | the row's id, returned to the caller as the `prediction_id` output |
| `request_id` | string | the request's `X-Request-ID` (given or generated) |
| `model_name`, `model_version` | string | the served model |
| `latency_seconds` | double | time the model took for the whole request |
| `row` | int64 | the row's position in its request |
| each input, by name | its type | the row's value; null unless the policy is `store` |
| `inputs_sha256` | string | sha256 of the row's input values; null unless the policy is `hash` |
| `output_<name>` | the output's type | the row's value of each output (a list for probabilities) |

Files are partitioned by day (``date=YYYY-MM-DD/``); readers add ``date`` from the path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..oip.datatypes import DATATYPES
from ..oip.signature import ModelSignature, TensorSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from ..adapter import Tensor

InputPolicy = Literal["store", "hash", "drop"]
PREDICTION_ID = "prediction_id"
OUTPUT_PREFIX = "output_"


class PredictionEvent(NamedTuple):
    """One request's predictions, as the request path hands them over (nothing converted)."""

    timestamp: float
    request_id: str
    model_name: str
    model_version: str
    signature: ModelSignature
    latency_seconds: float
    inputs: Mapping[str, Tensor]
    outputs: Mapping[str, Tensor]

    @property
    def rows(self) -> int:
        """Rows predicted (the first dimension of the outputs)."""
        for tensor in self.outputs.values():
            array = np.asarray(tensor)  # no copy: the data plane hands over arrays
            return array.shape[0] if array.ndim else 1
        return 0


def row_sha256(signature: ModelSignature, inputs: Mapping[str, Tensor], row: int) -> str:
    """sha256 over one row's values of every input, with names and dtypes, in order.

    Equal rows give equal hashes (to count repeats, or to join with other data without
    storing the values). Inputs with few possible values can be recovered by hashing
    candidates: choose ``drop`` for those.
    """
    digest = hashlib.sha256()
    for spec in signature.inputs:
        tensor = np.asarray(inputs[spec.name])
        # A row of a BYTES tensor is a plain str: kept as an array, so that it has a dtype.
        value = np.asarray(tensor[row], dtype=tensor.dtype)
        digest.update(f"{spec.name}|{value.dtype.str}|{np.shape(value)}|".encode())
        if value.dtype.kind != "O":
            digest.update(np.ascontiguousarray(value).tobytes())
            continue
        # BYTES: an object array's own bytes are pointers; hash each element, length first.
        for item in np.ravel(value).tolist():
            data = item.encode() if isinstance(item, str) else bytes(item)
            digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def to_table(events: Sequence[PredictionEvent], policy: InputPolicy) -> pa.Table:
    """The events as one Arrow table, one row per prediction (columns as above)."""
    import pyarrow as pa  # noqa: PLC0415 - imported by the writer thread, never at start-up

    signature = events[0].signature
    counts = [event.rows for event in events]
    total = sum(counts)
    micros = np.repeat([round(event.timestamp * 1_000_000) for event in events], counts).astype(
        np.int64
    )
    columns: dict[str, Any] = {
        "timestamp": pa.array(micros, type=pa.timestamp("us", tz="UTC")),
        PREDICTION_ID: pa.array(_prediction_ids(events), type=pa.string()),
        "request_id": pa.array(_repeat([e.request_id for e in events], counts), pa.string()),
        "model_name": pa.array(_repeat([e.model_name for e in events], counts), pa.string()),
        "model_version": pa.array(_repeat([e.model_version for e in events], counts), pa.string()),
        "latency_seconds": pa.array(
            np.repeat([e.latency_seconds for e in events], counts), pa.float64()
        ),
        "row": pa.array(_row_numbers(counts), pa.int64()),
    }
    for spec in signature.inputs:
        if policy == "store":
            columns[spec.name] = _row_column([e.inputs[spec.name] for e in events], spec)
        else:
            columns[spec.name] = pa.nulls(total, type=_row_type(spec))
    hashes = (
        [row_sha256(signature, e.inputs, row) for e in events for row in range(e.rows)]
        if policy == "hash"
        else [None] * total
    )
    columns["inputs_sha256"] = pa.array(hashes, type=pa.string())
    for spec in _outputs(signature):
        columns[OUTPUT_PREFIX + spec.name] = _row_column(
            [e.outputs[spec.name] for e in events], spec
        )
    return pa.Table.from_pydict(columns, schema=schema(signature))


def schema(signature: ModelSignature) -> pa.Schema:
    """The Arrow schema of the prediction rows of a model with ``signature``."""
    import pyarrow as pa  # noqa: PLC0415

    return pa.schema(
        [
            ("timestamp", pa.timestamp("us", tz="UTC")),
            (PREDICTION_ID, pa.string()),
            ("request_id", pa.string()),
            ("model_name", pa.string()),
            ("model_version", pa.string()),
            ("latency_seconds", pa.float64()),
            ("row", pa.int64()),
            *((spec.name, _row_type(spec)) for spec in signature.inputs),
            ("inputs_sha256", pa.string()),
            *((OUTPUT_PREFIX + spec.name, _row_type(spec)) for spec in _outputs(signature)),
        ]
    )


def _outputs(signature: ModelSignature) -> list[TensorSpec]:
    return [spec for spec in signature.outputs if spec.name != PREDICTION_ID]


def _prediction_ids(events: Sequence[PredictionEvent]) -> list[str]:
    given = [event.outputs.get(PREDICTION_ID) for event in events]
    present = [ids for ids in given if ids is not None]
    if len(present) == len(events):
        # The data plane's ids, strings already: one conversion for all the events.
        return [str(value) for value in np.concatenate(present).tolist()]
    ids: list[str] = []
    for event, event_ids in zip(events, given, strict=True):
        if event_ids is not None:
            ids.extend(str(value) for value in np.asarray(event_ids).tolist())
        else:
            ids.extend(f"{event.request_id}-{row}" for row in range(event.rows))
    return ids


def _row_numbers(counts: list[int]) -> NDArray[np.int64]:
    """0..n-1 for each event of n rows, one after another."""
    sizes = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    return np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(starts, sizes)


def _repeat(values: list[str], counts: list[int]) -> list[str]:
    return [value for value, count in zip(values, counts, strict=True) for _ in range(count)]


def _value_type(datatype: str) -> pa.DataType:
    """The Arrow type of one element: the datatype table's (BYTES: ``string``, UTF-8)."""
    import pyarrow as pa  # noqa: PLC0415

    factory: Any = getattr(pa, DATATYPES[datatype].arrow)
    return factory()


def _row_type(spec: TensorSpec) -> pa.DataType:
    """One row's value: a scalar for a ``[-1]`` tensor, nested lists for more dimensions."""
    import pyarrow as pa  # noqa: PLC0415

    nested = _value_type(spec.datatype)
    for _ in spec.shape[1:]:
        nested = pa.list_(nested)
    return nested


def _row_column(tensors: Sequence[Tensor], spec: TensorSpec) -> pa.Array:
    """One value per row of every tensor, built from one flat buffer (no Python lists)."""
    import pyarrow as pa  # noqa: PLC0415

    # One concatenation in C; it refuses tensors of other inner shapes or dimensions, and
    # those (never the served model's own) are converted row by row instead.
    try:
        stacked = np.concatenate(tensors)
    except ValueError:
        stacked = None
    if stacked is None or stacked.ndim != len(spec.shape):
        rows = [row for tensor in tensors for row in np.asarray(tensor).tolist()]
        return pa.array(rows, type=_row_type(spec))
    inner_shape = stacked.shape[1:]
    flat = stacked.reshape(-1)
    values = flat.tolist() if flat.dtype.kind == "O" else flat
    nested: pa.Array = pa.array(values, type=_value_type(spec.datatype))
    for size in reversed(inner_shape):
        offsets = np.arange(0, len(nested) + 1, max(size, 1), dtype=np.int32)
        nested = pa.ListArray.from_arrays(pa.array(offsets), nested)
    return nested
