"""Micro-batching: requests share predict calls, yet each gets its own rows and errors."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from modelrail_runtime import Tensor
from modelrail_runtime.execution.batching import MicroBatcher, predict_batch, row_count
from modelrail_runtime.execution.runners import PredictMode

POISON = -1.0


class Doubler:
    """Doubles every row and sums it; refuses any row holding POISON; records its calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[int] = []
        self.threads: set[int] = set()
        self.delay = delay

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        rows = inputs["x"]
        self.calls.append(len(rows))
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        if (rows == POISON).any():
            raise ValueError("poisoned row")
        return {"double": rows * 2, "total": rows.sum(axis=1)}


def request(first: float, rows: int = 1) -> dict[str, Tensor]:
    return {"x": np.arange(first, first + 2 * rows, dtype=np.float64).reshape(rows, 2)}


def batcher(model: Any, max_rows: int = 64, max_wait_seconds: float = 0.05) -> MicroBatcher:
    return MicroBatcher(model, max_rows=max_rows, max_wait_seconds=max_wait_seconds)


async def predict_all(
    batcher: MicroBatcher, requests: list[dict[str, Tensor]]
) -> list[dict[str, Tensor] | BaseException]:
    try:
        # A request the batcher never answers fails the test instead of hanging it.
        predictions = (batcher.predict(inputs) for inputs in requests)
        return await asyncio.wait_for(
            asyncio.gather(*predictions, return_exceptions=True), timeout=10
        )
    finally:
        await batcher.aclose()


def test_each_request_gets_its_own_rows_back() -> None:
    model = Doubler(delay=0.02)
    requests = [request(10.0 * i, rows=1 + i % 3) for i in range(12)]
    results = asyncio.run(predict_all(batcher(model), requests))
    for inputs, result in zip(requests, results, strict=True):
        assert not isinstance(result, BaseException)
        np.testing.assert_array_equal(result["double"], inputs["x"] * 2)
        np.testing.assert_array_equal(result["total"], inputs["x"].sum(axis=1))
    assert sum(model.calls) == sum(len(inputs["x"]) for inputs in requests)
    assert len(model.calls) < len(requests), "requests were not batched"
    assert threading.get_ident() not in model.threads, "predicted on the event loop"
    assert batcher(model).mode is PredictMode.BATCH


def test_an_error_reaches_only_the_request_that_caused_it() -> None:
    poisoned = {"x": np.array([[1.0, POISON]])}
    requests = [request(1.0), poisoned, request(5.0, rows=2)]
    results = asyncio.run(predict_all(batcher(Doubler()), requests))
    assert isinstance(results[1], ValueError)
    for index in (0, 2):
        result = results[index]
        assert not isinstance(result, BaseException)
        np.testing.assert_array_equal(result["double"], requests[index]["x"] * 2)


def test_a_full_batch_does_not_wait_for_the_timer() -> None:
    model = Doubler()
    started_at = time.monotonic()
    results = asyncio.run(
        predict_all(batcher(model, max_rows=2, max_wait_seconds=30), [request(0.0), request(2.0)])
    )
    assert time.monotonic() - started_at < 5
    assert model.calls == [2]
    assert not any(isinstance(result, BaseException) for result in results)


def test_a_lone_request_waits_at_most_the_bound() -> None:
    bound = 0.1
    started_at = time.monotonic()
    (result,) = asyncio.run(predict_all(batcher(Doubler(), max_wait_seconds=bound), [request(0.0)]))
    waited = time.monotonic() - started_at
    assert not isinstance(result, BaseException)
    assert bound * 0.9 <= waited < bound + 2, f"waited {waited:.3f}s for a {bound}s bound"


def test_requests_beyond_the_batch_size_start_the_next_batch() -> None:
    model = Doubler()
    requests = [request(0.0, rows=2), request(10.0, rows=2), request(20.0, rows=5)]
    results = asyncio.run(predict_all(batcher(model, max_rows=3), requests))
    assert model.calls == [2, 2, 5], "no batch above 3 rows, oversized requests alone"
    for inputs, result in zip(requests, results, strict=True):
        assert not isinstance(result, BaseException)
        np.testing.assert_array_equal(result["double"], inputs["x"] * 2)


def test_requests_that_cannot_be_stacked_are_predicted_alone() -> None:
    model = Doubler()
    ragged = {"x": np.zeros((2, 2)), "y": np.zeros((3,))}
    results = asyncio.run(predict_all(batcher(model), [request(0.0), ragged, request(2.0)]))
    assert not any(isinstance(result, BaseException) for result in results)
    assert 2 in model.calls, "the ragged request ran on its own"


def test_outputs_without_one_row_per_input_row_fall_back_to_single_predicts() -> None:
    class Summary(Doubler):
        def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
            self.calls.append(len(inputs["x"]))
            return {"total": np.array([inputs["x"].sum()])}

    model = Summary()
    outcomes = predict_batch(model, [request(0.0), request(2.0)])
    assert model.calls == [2, 1, 1]
    assert [outcome["total"].tolist() for outcome in outcomes if isinstance(outcome, dict)] == [
        [1.0],
        [5.0],
    ]


def test_requests_still_queued_at_shutdown_fail_instead_of_hanging() -> None:
    async def scenario() -> BaseException | None:
        slow = batcher(Doubler(delay=0.2), max_rows=1)
        first = asyncio.ensure_future(slow.predict(request(0.0)))
        queued = asyncio.ensure_future(slow.predict(request(2.0)))
        await asyncio.sleep(0.05)
        await slow.aclose()
        await asyncio.gather(first, queued, return_exceptions=True)
        return queued.exception()

    error = asyncio.run(scenario())
    assert isinstance(error, RuntimeError)
    assert "shutting down" in str(error)


@pytest.mark.parametrize(
    ("inputs", "rows"),
    [
        ({"x": np.zeros((3, 2))}, 3),
        ({"x": np.zeros((3, 2)), "y": np.zeros((3,))}, 3),
        ({"x": np.zeros((3, 2)), "y": np.zeros((2,))}, None),
        ({"x": np.float64(1.0)}, None),
    ],
)
def test_row_count(inputs: dict[str, Any], rows: int | None) -> None:
    assert row_count(inputs) == rows
