"""The warm-up predicts at load time, and the choice of runner they inform."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from time import perf_counter
from typing import Final

import numpy as np

from ..adapter import Predictor, Tensor
from ..oip.datatypes import DATATYPES
from ..oip.signature import ModelSignature
from .batching import MicroBatcher
from .runners import InlineRunner, PredictMode, Runner, ThreadRunner

logger = logging.getLogger(__name__)

INLINE_BUDGET_SECONDS: Final = 0.001
"""``auto`` predicts on the event loop when a one-row predict takes at most this long."""
BATCH_GAIN: Final = 0.5
"""``auto`` micro-batches a slower model when a predict of a full batch costs less than
this share of as many one-row predicts: its cost is mostly per call (input checks, a
pipeline's steps, a forest's set-up), which a batch pays once. A model whose cost is per
row gains nothing from batches and predicts in threads."""

WARMUP_CALLS: Final = 7
WARMUP_BUDGET_SECONDS: Final = 0.25
"""The warm-up stops early once its predicts have taken this long in all."""


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up measured: a one-row predict's time (and a full batch's), or why it
    failed."""

    seconds: float | None
    error: str | None = None
    batch_seconds: float | None = None
    """A predict of `batch_rows` rows (None: not measured, or the inputs do not stack)."""
    batch_rows: int = 0

    @property
    def batching_pays(self) -> bool:
        """Whether a full batch costs less than `BATCH_GAIN` of as many one-row predicts."""
        if self.seconds is None or self.batch_seconds is None or self.batch_rows < 2:
            return False
        return self.batch_seconds < BATCH_GAIN * self.batch_rows * self.seconds


@dataclass(frozen=True)
class BatchLimits:
    """How `PREDICT_MODE=batch` forms batches (`BATCH_MAX_SIZE`, `BATCH_MAX_WAIT_MS`)."""

    max_rows: int
    max_wait_seconds: float


def sample_inputs(signature: ModelSignature, rows: int = 1) -> dict[str, Tensor]:
    """``rows`` rows of zeros (empty strings for BYTES) per input: the first dimension set
    to ``rows`` when variable, the other variable dimensions to 1."""
    inputs: dict[str, Tensor] = {}
    for spec in signature.inputs:
        shape = tuple(
            (rows if axis == 0 else 1) if dim == -1 else dim for axis, dim in enumerate(spec.shape)
        )
        dtype = DATATYPES[spec.datatype].numpy
        inputs[spec.name] = (
            np.full(shape, "", dtype=dtype) if dtype.kind == "O" else np.zeros(shape, dtype=dtype)
        )
    return inputs


def warm_up(predictor: Predictor, batch_rows: int = 0) -> WarmUp:
    """Time a few one-row predicts, then (given ``batch_rows``, and time left in the budget)
    a few of ``batch_rows`` rows, on the calling thread."""
    sample = sample_inputs(predictor.signature)
    durations: list[float] = []
    try:
        for _ in range(WARMUP_CALLS):
            durations.append(_timed(predictor, sample))
            if sum(durations) > WARMUP_BUDGET_SECONDS:
                break
    except Exception as exc:
        return WarmUp(None, f"{type(exc).__name__}: {exc}")
    # The first call pays one-off costs (lazy imports, caches). Of the others, the fastest
    # is the model's own cost: load from elsewhere on the machine only adds to it.
    one_row = min(durations[1:] or durations)
    stacks = all(spec.shape[:1] == (-1,) for spec in predictor.signature.inputs)
    if batch_rows < 2 or not stacks or sum(durations) > WARMUP_BUDGET_SECONDS:
        return WarmUp(one_row)
    batch = sample_inputs(predictor.signature, batch_rows)
    try:
        batch_seconds = min(_timed(predictor, batch) for _ in range(3))
    except Exception:  # a model that takes one row at a time is served in threads
        return WarmUp(one_row)
    return WarmUp(one_row, batch_seconds=batch_seconds, batch_rows=batch_rows)


def _timed(predictor: Predictor, inputs: dict[str, Tensor]) -> float:
    started_at = perf_counter()
    predictor.predict(inputs)
    return perf_counter() - started_at


def choose_mode(setting: PredictMode, warmup: WarmUp) -> PredictMode:
    """The mode for ``PREDICT_MODE=setting``; ``auto`` decides from the warm-up."""
    if setting is not PredictMode.AUTO:
        return setting
    if warmup.seconds is not None and warmup.seconds <= INLINE_BUDGET_SECONDS:
        return PredictMode.INLINE
    # Threads only help a predict that releases the GIL; one that mostly runs Python
    # (a scikit-learn pipeline's checks and steps) starves the event loop from a thread,
    # so a model that batches well is batched instead.
    return PredictMode.BATCH if warmup.batching_pays else PredictMode.THREAD


def make_runner(mode: PredictMode, predictor: Predictor, batch: BatchLimits) -> Runner:
    """The runner for ``mode`` (``inline``, ``thread`` or ``batch``)."""
    if mode is PredictMode.INLINE:
        return InlineRunner(predictor)
    if mode is PredictMode.THREAD:
        return ThreadRunner(predictor)
    return MicroBatcher(predictor, max_rows=batch.max_rows, max_wait_seconds=batch.max_wait_seconds)


async def prepare_runner(
    predictor: Predictor, setting: PredictMode, batch: BatchLimits
) -> tuple[Runner, WarmUp]:
    """Warm the model up (in a thread) and build the runner ``setting`` asks for."""
    warmup = await asyncio.to_thread(warm_up, predictor, batch.max_rows)
    if warmup.error is not None:
        logger.warning("warm-up predict on zeros failed: %s", warmup.error)
    mode = choose_mode(setting, warmup)
    return make_runner(mode, predictor, batch), warmup
