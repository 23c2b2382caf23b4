"""Prediction events: one row per prediction, the per-row input hash, and the Arrow schema."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from modelrail_runtime import ModelSignature, TensorSpec
from modelrail_runtime.prediction_log import InputPolicy, PredictionEvent
from modelrail_runtime.prediction_log.events import row_sha256, schema, to_table

SIGNATURE = ModelSignature(
    inputs=(TensorSpec("x", "FP64", (-1, 2)), TensorSpec("word", "BYTES", (-1,))),
    outputs=(
        TensorSpec("label", "INT64", (-1,)),
        TensorSpec("prediction_id", "BYTES", (-1,)),
    ),
)
COLUMNS = [
    "timestamp",
    "prediction_id",
    "request_id",
    "model_name",
    "model_version",
    "latency_seconds",
    "row",
    "x",
    "word",
    "inputs_sha256",
    "output_label",
]


def event(rows: int, request_id: str = "r", timestamp: float = 1_700_000_000.25) -> PredictionEvent:
    inputs = {
        "x": np.arange(rows * 2, dtype=np.float64).reshape(rows, 2),
        "word": np.array([f"w{row}" for row in range(rows)], dtype=object),
    }
    outputs = {
        "label": np.arange(rows, dtype=np.int64),
        "prediction_id": np.array([f"{request_id}id-{row}" for row in range(rows)], dtype=object),
    }
    return PredictionEvent(timestamp, request_id, "m", "v1", SIGNATURE, 0.002, inputs, outputs)


def test_the_row_hash_depends_on_every_value_of_the_row_only() -> None:
    inputs = event(2).inputs
    first, second = (row_sha256(SIGNATURE, inputs, row) for row in (0, 1))
    assert len(first) == 64
    assert first != second
    assert first == row_sha256(SIGNATURE, event(3).inputs, 0), "the same row, the same hash"
    changed = {**inputs, "x": inputs["x"].copy()}
    changed["x"][1, 1] += 1e-9
    assert row_sha256(SIGNATURE, changed, 0) == first, "another row's value does not count"
    assert row_sha256(SIGNATURE, changed, 1) != second
    renamed = {**inputs, "word": np.array(["w0", "other"], dtype=object)}
    assert row_sha256(SIGNATURE, renamed, 0) == first
    assert row_sha256(SIGNATURE, renamed, 1) != second


def test_the_row_hash_of_strings_is_length_prefixed() -> None:
    # A row of ["ab", "c"] and one of ["a", "bc"] must not hash alike: each string is
    # hashed after its length.
    pairs = ModelSignature(inputs=(TensorSpec("words", "BYTES", (-1, 2)),), outputs=())
    words = np.array([["ab", "c"], ["a", "bc"]], dtype=object)
    assert row_sha256(pairs, {"words": words}, 0) != row_sha256(pairs, {"words": words}, 1)


def test_events_become_one_row_per_prediction_of_the_documented_schema() -> None:
    table = to_table([event(1, "a"), event(3, "b", timestamp=1_700_000_001.5)], "store")
    assert table.schema == schema(SIGNATURE)
    assert table.column_names == COLUMNS
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("x").type == pa.list_(pa.float64()), "a row of a [-1, 2] input"
    assert table.schema.field("word").type == pa.string(), "BYTES are text in the lake"
    rows = table.to_pylist()
    assert len(rows) == 4
    assert [row["timestamp"].timestamp() for row in rows] == [1_700_000_000.25] + [
        1_700_000_001.5
    ] * 3
    assert [(row["request_id"], row["row"]) for row in rows] == [
        ("a", 0),
        ("b", 0),
        ("b", 1),
        ("b", 2),
    ]
    assert [row["prediction_id"] for row in rows] == ["aid-0", "bid-0", "bid-1", "bid-2"]
    assert {(row["model_name"], row["model_version"], row["latency_seconds"]) for row in rows} == {
        ("m", "v1", 0.002)
    }
    last = rows[-1]
    assert (last["x"], last["word"], last["output_label"]) == ([4.0, 5.0], "w2", 2)
    assert last["inputs_sha256"] is None
    assert "output_prediction_id" not in table.column_names, "the id has its own column"


def test_the_input_policy_decides_what_is_kept_of_the_inputs() -> None:
    logged = event(2)
    hashed = to_table([logged], "hash").to_pylist()
    assert [(row["x"], row["word"]) for row in hashed] == [(None, None)] * 2
    assert [row["inputs_sha256"] for row in hashed] == [
        row_sha256(SIGNATURE, logged.inputs, row) for row in range(2)
    ]
    dropped = to_table([logged], "drop")
    assert dropped.schema == schema(SIGNATURE), "the columns exist whatever the policy"
    for row in dropped.to_pylist():
        assert (row["x"], row["word"], row["inputs_sha256"]) == (None, None, None)
    assert [row["output_label"] for row in dropped.to_pylist()] == [0, 1], "outputs are kept"


def test_without_a_prediction_id_output_rows_are_named_after_the_request() -> None:
    plain = event(2, "req")
    outputs = {"label": plain.outputs["label"]}
    rows = to_table([plain._replace(outputs=outputs)], "drop").to_pylist()
    assert [row["prediction_id"] for row in rows] == ["req-0", "req-1"]


def test_a_missing_number_is_logged_as_nan() -> None:
    nullable = ModelSignature(
        inputs=(TensorSpec("charge", "FP64", (-1,), nullable=True),),
        outputs=(TensorSpec("label", "BYTES", (-1,)),),
    )
    logged = PredictionEvent(
        0.0,
        "r",
        "m",
        "v",
        nullable,
        0.0,
        {"charge": np.array([1.5, math.nan])},
        {"label": np.array(["stayed", "churned"], dtype=object)},
    )
    rows = to_table([logged], "store").to_pylist()
    assert rows[0]["charge"] == 1.5
    assert math.isnan(rows[1]["charge"])
    assert [row["output_label"] for row in rows] == ["stayed", "churned"]
    hashes = to_table([logged], "hash").column("inputs_sha256").to_pylist()
    assert None not in hashes
    assert len(set(hashes)) == 2


def test_rows_whose_length_differs_between_events_are_written() -> None:
    variable = ModelSignature(
        inputs=(TensorSpec("x", "FP32", (-1, -1)),), outputs=(TensorSpec("y", "FP32", (-1,)),)
    )

    def ragged(columns: int) -> PredictionEvent:
        x = np.ones((2, columns), dtype=np.float32)
        return PredictionEvent(0.0, "r", "m", "v", variable, 0.0, {"x": x}, {"y": x.sum(axis=1)})

    rows = to_table([ragged(1), ragged(3)], "store").to_pylist()
    assert [row["x"] for row in rows] == [[1.0], [1.0], [1.0] * 3, [1.0] * 3]
    assert [row["output_y"] for row in rows] == [1.0, 1.0, 3.0, 3.0]


@pytest.mark.parametrize("policy", ["store", "hash", "drop"])
def test_a_request_of_one_scalar_row_is_one_row(policy: InputPolicy) -> None:
    scalar = ModelSignature(
        inputs=(TensorSpec("x", "INT64", (-1,)),), outputs=(TensorSpec("y", "INT64", (-1,)),)
    )
    logged = PredictionEvent(
        0.0, "r", "m", "v", scalar, 0.0, {"x": np.array([7])}, {"y": np.array([8])}
    )
    (row,) = to_table([logged], policy).to_pylist()
    assert (row["row"], row["output_y"]) == (0, 8)
    assert row["x"] == (7 if policy == "store" else None)


def test_events_with_and_without_ids_and_of_other_shapes_still_make_their_rows() -> None:
    with_ids = event(2, "a")
    without = event(1, "b")._replace(outputs={"label": np.array([7])})
    # A tensor of another inner shape than the others cannot be stacked with them.
    wide = event(1, "c")._replace(inputs={**event(1).inputs, "x": np.array([[1.0, 2.0, 3.0]])})
    rows = to_table([with_ids, without, wide], "store").to_pylist()
    assert [row["prediction_id"] for row in rows] == ["aid-0", "aid-1", "b-0", "cid-0"]
    assert [row["row"] for row in rows] == [0, 1, 0, 0]
    assert rows[-1]["x"] == [1.0, 2.0, 3.0]
