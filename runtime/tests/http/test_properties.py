"""Property tests through HTTP: any well-formed batch is answered, no body produces a 5xx."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from modelrail_runtime import ServiceClient

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
rows = st.lists(st.lists(finite, min_size=4, max_size=4), min_size=1, max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
tensor_like = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["input-0", "x"]) | st.integers(),
        "shape": st.lists(st.integers(min_value=-2, max_value=5), max_size=3),
        "datatype": st.sampled_from(["FP64", "FP32", "INT64", "BYTES"]),
        "data": st.lists(finite | st.lists(finite, max_size=5), max_size=10) | json_values,
    },
)
requests = st.fixed_dictionaries(
    {}, optional={"inputs": st.lists(tensor_like, max_size=3) | json_values, "id": json_values}
)
relaxed = settings(max_examples=60, deadline=None)


@relaxed
@given(batch=rows, nested=st.booleans())
def test_any_finite_batch_is_answered(
    client: ServiceClient, batch: list[list[float]], nested: bool
) -> None:
    data: list[Any] = batch if nested else [value for row in batch for value in row]
    request = {
        "inputs": [{"name": "input-0", "shape": [len(batch), 4], "datatype": "FP64", "data": data}]
    }
    response = client.infer(request)
    assert response.status_code == 200
    outputs = {output["name"]: output for output in response.json()["outputs"]}
    assert outputs["label"]["shape"] == [len(batch)]
    assert set(outputs["label"]["data"]) <= {0, 1, 2}
    assert outputs["probabilities"]["shape"] == [len(batch), 3]


@relaxed
@given(payload=requests | json_values)
def test_no_body_produces_a_server_error(client: ServiceClient, payload: Any) -> None:
    # json.dumps writes inf as Infinity, which is not JSON: the service must refuse it.
    response = client.post(client.infer_path, content=json.dumps(payload))
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(response.json()) == {"error"}
