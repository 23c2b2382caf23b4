"""Prediction events: the input hash, and how a batch of events becomes one Arrow table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from modelrail_runtime import ModelSignature, TensorSpec
from modelrail_runtime.prediction_log import PredictionEvent
from modelrail_runtime.prediction_log.events import inputs_sha256, schema, to_table

SIGNATURE = ModelSignature(
    inputs=(TensorSpec("x", "FP64", (-1, 2)), TensorSpec("word", "BYTES", (-1,))),
    outputs=(TensorSpec("label", "INT64", (-1,)),),
)


def event(rows: int, request_id: str = "r", timestamp: float = 1_700_000_000.25) -> PredictionEvent:
    inputs = {
        "x": np.arange(rows * 2, dtype=np.float64).reshape(rows, 2),
        "word": np.array([f"w{row}" for row in range(rows)], dtype=object),
    }
    outputs = {"label": np.arange(rows, dtype=np.int64)}
    return PredictionEvent(timestamp, request_id, "m", "v1", SIGNATURE, 0.002, inputs, outputs)


def test_the_input_hash_depends_on_every_value_name_and_shape() -> None:
    first = event(2).inputs
    assert inputs_sha256(SIGNATURE, first) == inputs_sha256(SIGNATURE, event(2).inputs)
    changed = {**first, "x": first["x"].copy()}
    changed["x"][1, 1] += 1e-9
    assert inputs_sha256(SIGNATURE, first) != inputs_sha256(SIGNATURE, changed)
    reshaped = {**first, "x": first["x"].reshape(1, 4)}
    assert inputs_sha256(SIGNATURE, first) != inputs_sha256(SIGNATURE, reshaped)
    assert len(inputs_sha256(SIGNATURE, first)) == 64


def test_events_become_one_table_of_the_documented_schema() -> None:
    events = [event(1, "a"), event(3, "b")]
    table = to_table(events, "store")
    assert table.schema == schema(SIGNATURE)
    assert table.column_names == [
        "timestamp",
        "request_id",
        "model_name",
        "model_version",
        "latency_seconds",
        "rows",
        "inputs",
        "inputs_sha256",
        "outputs",
    ]
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    first, second = table.to_pylist()
    assert first["timestamp"].timestamp() == 1_700_000_000.25
    assert (first["request_id"], first["model_name"], first["model_version"]) == ("a", "m", "v1")
    assert (first["rows"], second["rows"]) == (1, 3)
    assert second["inputs"]["x"] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert second["inputs"]["word"] == [b"w0", b"w1", b"w2"]
    assert second["outputs"] == {"label": [0, 1, 2]}
    assert second["inputs_sha256"] is None


def test_the_input_policy_decides_what_is_kept_of_the_inputs() -> None:
    events = [event(2)]
    hashed = to_table(events, "hash").to_pylist()[0]
    assert hashed["inputs"] is None
    assert hashed["inputs_sha256"] == inputs_sha256(SIGNATURE, events[0].inputs)
    dropped = to_table(events, "drop").to_pylist()[0]
    assert (dropped["inputs"], dropped["inputs_sha256"]) == (None, None)
    assert dropped["outputs"] == {"label": [0, 1]}, "outputs are always kept"


def test_tensors_whose_rows_differ_in_length_between_events_are_written() -> None:
    variable = ModelSignature(
        inputs=(TensorSpec("x", "FP32", (-1, -1)),), outputs=(TensorSpec("y", "FP32", (-1,)),)
    )

    def ragged(columns: int) -> PredictionEvent:
        x = np.ones((2, columns), dtype=np.float32)
        return PredictionEvent(0.0, "r", "m", "v", variable, 0.0, {"x": x}, {"y": x.sum(axis=1)})

    rows = to_table([ragged(1), ragged(3)], "store").to_pylist()
    assert [row["inputs"]["x"] for row in rows] == [[[1.0], [1.0]], [[1.0] * 3, [1.0] * 3]]
    assert [row["outputs"]["y"] for row in rows] == [[1.0, 1.0], [3.0, 3.0]]
