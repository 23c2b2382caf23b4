"""Where predict runs: inline for fast models; batched for slow ones whose cost is per call,
in threads for the others; or as PREDICT_MODE says."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from modelrail_runtime import ModelSignature, ServiceClient, Tensor, TensorSpec
from modelrail_runtime.execution import BatchLimits, PredictMode, prepare_runner
from modelrail_runtime.execution.runners import ThreadRunner, usable_cpus
from modelrail_runtime.execution.warmup import (
    INLINE_BUDGET_SECONDS,
    WarmUp,
    choose_mode,
    make_runner,
    sample_inputs,
    warm_up,
)

SIGNATURE = ModelSignature(
    inputs=(TensorSpec("x", "FP32", (-1, 3)),),
    outputs=(TensorSpec("y", "FP32", (-1,)),),
)
LIMITS = BatchLimits(max_rows=32, max_wait_seconds=0.002)


class Sleeper:
    """A model whose predict takes ``seconds``; remembers the threads it ran on."""

    signature = SIGNATURE

    def __init__(self, seconds: float, fails: bool = False) -> None:
        self.seconds = seconds
        self.fails = fails
        self.threads: set[int] = set()
        self.calls = 0

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        self.calls += 1
        self.threads.add(threading.get_ident())
        if self.fails:
            raise ValueError("zeros are not valid input for this model")
        time.sleep(self.seconds)
        return {"y": inputs["x"].sum(axis=1)}


def test_the_warm_up_feeds_one_row_of_the_signature() -> None:
    (sample,) = sample_inputs(SIGNATURE).values()
    assert sample.shape == (1, 3)
    assert sample.dtype == np.float32
    assert not sample.any()
    texts = ModelSignature(inputs=(TensorSpec("t", "BYTES", (-1,)),), outputs=())
    assert sample_inputs(texts)["t"].tolist() == [""]


@pytest.mark.parametrize(
    ("seconds", "mode"),
    [(0.0, PredictMode.INLINE), (INLINE_BUDGET_SECONDS * 20, PredictMode.THREAD)],
)
def test_auto_predicts_inline_only_when_the_warm_up_is_fast(
    seconds: float, mode: PredictMode
) -> None:
    warmup = warm_up(Sleeper(seconds))
    assert warmup.seconds is not None
    assert warmup.seconds >= seconds
    assert choose_mode(PredictMode.AUTO, warmup) is mode


class PerRow(Sleeper):
    """A model whose predict takes ``seconds`` per row: batches save nothing."""

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        time.sleep(self.seconds * (len(inputs["x"]) - 1))
        return super().predict(inputs)


class OneRowOnly(Sleeper):
    """A model that refuses more than one row at a time."""

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        if len(inputs["x"]) > 1:
            raise ValueError("one row at a time")
        return super().predict(inputs)


SLOW = INLINE_BUDGET_SECONDS * 3


def test_the_warm_up_also_feeds_a_full_batch_of_the_signature() -> None:
    (sample,) = sample_inputs(SIGNATURE, 32).values()
    assert sample.shape == (32, 3)
    grid = ModelSignature(inputs=(TensorSpec("g", "FP64", (-1, -1)),), outputs=())
    assert sample_inputs(grid, 4)["g"].shape == (4, 1)


def test_auto_batches_a_slow_model_whose_cost_is_per_call() -> None:
    warmup = warm_up(Sleeper(SLOW), batch_rows=32)
    assert warmup.batch_rows == 32
    assert warmup.batch_seconds is not None
    assert warmup.batch_seconds < 0.5 * 32 * SLOW
    assert warmup.batching_pays
    assert choose_mode(PredictMode.AUTO, warmup) is PredictMode.BATCH


@pytest.mark.parametrize(
    "model",
    [PerRow(SLOW), OneRowOnly(SLOW)],
    ids=["cost per row", "one row at a time"],
)
def test_auto_predicts_a_slow_model_in_threads_when_batches_do_not_pay(model: Sleeper) -> None:
    warmup = warm_up(model, batch_rows=8)
    assert not warmup.batching_pays
    assert choose_mode(PredictMode.AUTO, warmup) is PredictMode.THREAD


def test_a_model_whose_rows_cannot_stack_is_not_batched() -> None:
    fixed = Sleeper(SLOW)
    fixed.signature = ModelSignature(  # type: ignore[misc]
        inputs=(TensorSpec("x", "FP32", (2, 3)),), outputs=SIGNATURE.outputs
    )
    warmup = warm_up(fixed, batch_rows=32)
    assert (warmup.batch_seconds, warmup.batching_pays) == (None, False)
    assert choose_mode(PredictMode.AUTO, warmup) is PredictMode.THREAD


def test_prepare_runner_batches_with_the_configured_batch_size() -> None:
    async def prepare() -> tuple[PredictMode, WarmUp]:
        runner, warmup = await prepare_runner(Sleeper(SLOW), PredictMode.AUTO, LIMITS)
        try:
            return runner.mode, warmup
        finally:
            await runner.aclose()

    mode, warmup = asyncio.run(prepare())
    assert (mode, warmup.batch_rows) == (PredictMode.BATCH, LIMITS.max_rows)


def test_the_warm_up_stops_within_its_budget() -> None:
    slow = Sleeper(0.1)
    warm_up(slow)
    assert 2 <= slow.calls < 7, "a slow model gets a few calls, not all seven"


def test_a_failing_warm_up_means_threads() -> None:
    warmup = warm_up(Sleeper(0, fails=True))
    assert warmup.seconds is None
    assert warmup.error is not None
    assert "ValueError" in warmup.error
    assert choose_mode(PredictMode.AUTO, warmup) is PredictMode.THREAD


@pytest.mark.parametrize("setting", [PredictMode.INLINE, PredictMode.THREAD, PredictMode.BATCH])
def test_an_explicit_mode_overrides_the_warm_up(setting: PredictMode) -> None:
    assert choose_mode(setting, WarmUp(10.0)) is setting
    assert choose_mode(setting, WarmUp(0.0)) is setting


@pytest.mark.parametrize(
    ("mode", "on_loop"), [(PredictMode.INLINE, True), (PredictMode.THREAD, False)]
)
def test_inline_runs_on_the_event_loop_and_thread_off_it(mode: PredictMode, on_loop: bool) -> None:
    model = Sleeper(0)
    runner = make_runner(mode, model, LIMITS)
    inputs = {"x": np.ones((2, 3), dtype=np.float32)}

    async def predict() -> tuple[dict[str, Tensor], int]:
        try:
            return await runner.predict(inputs), threading.get_ident()
        finally:
            await runner.aclose()

    outputs, loop_thread = asyncio.run(predict())
    assert outputs["y"].tolist() == [3.0, 3.0]
    assert (model.threads == {loop_thread}) is on_loop
    assert runner.mode is mode


def test_threads_are_one_per_usable_cpu() -> None:
    runner = ThreadRunner(Sleeper(0))
    assert runner.threads == usable_cpus() >= 1
    asyncio.run(runner.aclose())


def test_prepare_runner_warms_up_then_builds_the_runner() -> None:
    model = Sleeper(0)
    runner, warmup = asyncio.run(prepare_runner(model, PredictMode.BATCH, LIMITS))
    assert runner.mode is PredictMode.BATCH
    assert warmup.seconds is not None
    assert model.calls >= 2
    asyncio.run(runner.aclose())


@pytest.mark.parametrize("mode", [PredictMode.INLINE, PredictMode.THREAD, PredictMode.BATCH])
def test_every_mode_answers_like_the_default(
    client: ServiceClient,
    start: Callable[..., ServiceClient],
    golden_request: dict[str, Any],
    mode: PredictMode,
) -> None:
    reference = outputs_of(client.infer(golden_request).json())
    # As a repository writes it: `serve(predict_mode="thread")`.
    with start(predict_mode=mode.value, batch_max_wait_seconds=0.01) as other:
        runner = other.app.dataplane.state.runner
        assert runner is not None
        assert runner.mode is mode
        # Concurrent requests, so that batch mode batches them.
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda _: other.infer(golden_request), range(8)))
    for response in responses:
        assert response.status_code == 200
        outputs = outputs_of(response.json())
        assert outputs["label"] == reference["label"]
        assert outputs["probabilities"]["shape"] == reference["probabilities"]["shape"]
        assert np.allclose(outputs["probabilities"]["data"], reference["probabilities"]["data"])


def outputs_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {output["name"]: output for output in body["outputs"]}
