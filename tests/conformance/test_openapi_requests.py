"""How MD-004 mends generated inference requests before sending them, without a service."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from modelrail_conformance.rules.openapi import consistent_inputs

TABULAR = {"tenure_months": [-1], "contract": [-1], "has_support": [-1]}
SINGLE = {"features": [-1, 4]}


def _tensor(name: str, shape: list[Any], data: list[Any]) -> dict[str, Any]:
    return {"name": name, "datatype": "FP64", "shape": shape, "data": data}


def test_inputs_get_their_data_length_and_one_batch_size() -> None:
    body = {
        "inputs": [
            _tensor("tenure_months", [7], [1, 2]),
            _tensor("contract", [1], ["a", "b", "c"]),
            _tensor("has_support", [3], [True]),
        ]
    }
    mended = consistent_inputs(TABULAR, copy.deepcopy(body))
    assert [item["shape"] for item in mended["inputs"]] == [[3], [3], [3]]
    assert [item["data"] for item in mended["inputs"]] == [
        [1, 2, 1],
        ["a", "b", "c"],
        [True, True, True],
    ]


def test_fixed_dimensions_stay_and_data_fills_whole_rows() -> None:
    flat = consistent_inputs(SINGLE, {"inputs": [_tensor("features", [9, 4], [1, 2, 3, 4, 5])]})
    assert flat["inputs"][0]["shape"] == [2, 4]
    assert flat["inputs"][0]["data"] == [1, 2, 3, 4, 5, 1, 2, 3]
    rows = [[1, 2, 3, 4], [5, 6, 7, 8]]
    nested = consistent_inputs(SINGLE, {"inputs": [_tensor("features", [1.0, 4], rows)]})
    assert nested["inputs"][0]["shape"] == [2, 4]
    assert nested["inputs"][0]["data"] == rows


@pytest.mark.parametrize(
    "tensor",
    [
        _tensor("features", [2, 3], [1, 2, 3, 4, 5, 6]),  # a fixed dimension broken
        _tensor("features", [0, 4], [1, 2, 3, 4]),  # no rows
        _tensor("features", [2], [1, 2, 3, 4]),  # the wrong rank
        _tensor("features", ["2", 4], [1, 2, 3, 4]),  # not a number
        _tensor("features", [2, 4], []),  # no data
        _tensor("undeclared", [2], [1]),  # the metadata does not name it
        {"name": "features", "shape": [2, 4]},  # no data at all
    ],
    ids=["fixed", "zero", "rank", "string", "empty", "undeclared", "missing"],
)
def test_invalid_inputs_keep_what_makes_them_invalid(tensor: dict[str, Any]) -> None:
    body = {"inputs": [tensor]}
    assert consistent_inputs(SINGLE, copy.deepcopy(body)) == body


@pytest.mark.parametrize("body", [None, [], "inputs", {"inputs": "x"}, {"inputs": [1, None]}])
def test_bodies_that_are_not_requests_are_sent_as_they_are(body: Any) -> None:
    assert consistent_inputs(SINGLE, copy.deepcopy(body)) == body
