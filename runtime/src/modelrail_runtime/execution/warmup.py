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

WARMUP_CALLS: Final = 7
WARMUP_BUDGET_SECONDS: Final = 0.25
"""The warm-up stops early once its predicts have taken this long in all."""


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up measured: a one-row predict's time, or why it failed."""

    seconds: float | None
    error: str | None = None


@dataclass(frozen=True)
class BatchLimits:
    """How `PREDICT_MODE=batch` forms batches (`BATCH_MAX_SIZE`, `BATCH_MAX_WAIT_MS`)."""

    max_rows: int
    max_wait_seconds: float


def sample_inputs(signature: ModelSignature) -> dict[str, Tensor]:
    """One row of zeros (empty strings for BYTES) per input, variable dimensions set to 1."""
    inputs: dict[str, Tensor] = {}
    for spec in signature.inputs:
        shape = tuple(1 if dim == -1 else dim for dim in spec.shape)
        dtype = DATATYPES[spec.datatype].numpy
        inputs[spec.name] = (
            np.full(shape, "", dtype=dtype) if dtype.kind == "O" else np.zeros(shape, dtype=dtype)
        )
    return inputs


def warm_up(predictor: Predictor) -> WarmUp:
    """Time a few one-row predicts (on the calling thread)."""
    sample = sample_inputs(predictor.signature)
    durations: list[float] = []
    try:
        for _ in range(WARMUP_CALLS):
            started_at = perf_counter()
            predictor.predict(sample)
            durations.append(perf_counter() - started_at)
            if sum(durations) > WARMUP_BUDGET_SECONDS:
                break
    except Exception as exc:
        return WarmUp(None, f"{type(exc).__name__}: {exc}")
    # The first call pays one-off costs (lazy imports, caches). Of the others, the fastest
    # is the model's own cost: load from elsewhere on the machine only adds to it.
    return WarmUp(min(durations[1:] or durations))


def choose_mode(setting: PredictMode, warmup: WarmUp) -> PredictMode:
    """The mode for ``PREDICT_MODE=setting``; ``auto`` decides from the warm-up."""
    if setting is not PredictMode.AUTO:
        return setting
    if warmup.seconds is None or warmup.seconds > INLINE_BUDGET_SECONDS:
        return PredictMode.THREAD
    return PredictMode.INLINE


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
    warmup = await asyncio.to_thread(warm_up, predictor)
    if warmup.error is not None:
        logger.warning("warm-up predict on zeros failed: %s", warmup.error)
    mode = choose_mode(setting, warmup)
    return make_runner(mode, predictor, batch), warmup
