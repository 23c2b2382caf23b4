"""Where predict runs: on the event loop, in a worker thread, or micro-batched.

`PREDICT_MODE` decides (see `settings`):

- ``inline``: on the event loop. Cheapest for a fast model: handing a predict to a thread
  costs two thread wake-ups and a self-pipe write per request, more than a
  sub-millisecond predict itself. While a predict runs, the loop serves nobody else.
- ``thread``: in a pool of worker threads, one per CPU the process may run on. The loop
  keeps reading, parsing and answering (probes, metrics) while a slow predict runs. More
  threads than CPUs would not predict faster: they would take turns on the GIL with the
  event loop, which then gets it so rarely that responses stall (a RandomForest at 32
  concurrent requests in 40 threads answered 3 requests per second instead of 100).
- ``batch``: micro-batched on one dedicated thread (`batching`); off unless chosen,
  since it trades a little latency for throughput on models with a high cost per call.
- ``auto`` (the default): a few one-row warm-up predicts are timed when the model loads.
  If the fastest takes at most `INLINE_BUDGET_SECONDS` (1 ms) the model predicts inline,
  otherwise in worker threads; also in worker threads when the warm-up predict fails.

The warm-up runs in every mode, before the service reports ready, so the first request
does not pay the model's one-off costs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from time import perf_counter
from typing import Final, Protocol

import numpy as np

from .batching import MicroBatcher
from .frameworks.base import Predictor, Tensor
from .protocol import DTYPES
from .settings import Settings
from .signature import ModelSignature

logger = logging.getLogger(__name__)

INLINE_BUDGET_SECONDS: Final = 0.001
"""``auto`` predicts on the event loop when a one-row predict takes at most this long."""

WARMUP_CALLS: Final = 7
WARMUP_BUDGET_SECONDS: Final = 0.25
"""The warm-up stops early once its predicts have taken this long in all."""


class Runner(Protocol):
    """Runs the served model's predict calls for the request handlers."""

    @property
    def mode(self) -> str:
        """``inline``, ``thread`` or ``batch``."""
        ...

    async def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """The model's outputs for ``inputs``."""
        ...

    async def aclose(self) -> None:
        """Release what the runner holds (threads, queued requests)."""
        ...


class InlineRunner:
    """Predicts on the event loop."""

    mode: Final = "inline"

    def __init__(self, predictor: Predictor) -> None:
        self._predictor = predictor

    async def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Predict now, on the calling (event loop) thread."""
        return self._predictor.predict(inputs)

    async def aclose(self) -> None:
        """Nothing to release."""


class ThreadRunner:
    """Predicts in a pool of worker threads, one per usable CPU."""

    mode: Final = "thread"

    def __init__(self, predictor: Predictor, threads: int | None = None) -> None:
        self._predictor = predictor
        self.threads = threads or usable_cpus()
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="predict")

    async def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Predict in a worker thread; the event loop stays free meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._predictor.predict, inputs)

    async def aclose(self) -> None:
        """Stop the worker threads (the server has drained: no predict is waiting)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under taskset or cpusets)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up measured: a one-row predict's time, or why it failed."""

    seconds: float | None
    error: str | None = None


def sample_inputs(signature: ModelSignature) -> dict[str, Tensor]:
    """One row of zeros per input (every variable dimension set to 1)."""
    return {
        spec.name: np.zeros(
            tuple(1 if dim == -1 else dim for dim in spec.shape), dtype=DTYPES[spec.datatype]
        )
        for spec in signature.inputs
    }


def warm_up(predictor: Predictor, signature: ModelSignature) -> WarmUp:
    """Time a few one-row predicts (on the calling thread)."""
    sample = sample_inputs(signature)
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


def choose_mode(setting: str, warmup: WarmUp) -> str:
    """The mode for ``PREDICT_MODE=setting``; ``auto`` decides from the warm-up."""
    if setting != "auto":
        return setting
    if warmup.seconds is None or warmup.seconds > INLINE_BUDGET_SECONDS:
        return "thread"
    return "inline"


def make_runner(mode: str, predictor: Predictor, settings: Settings) -> Runner:
    """The runner for ``mode`` (``inline``, ``thread`` or ``batch``)."""
    if mode == "inline":
        return InlineRunner(predictor)
    if mode == "thread":
        return ThreadRunner(predictor)
    return MicroBatcher(
        predictor,
        max_rows=settings.batch_max_size,
        max_wait_seconds=settings.batch_max_wait_seconds,
    )


async def prepare_runner(
    predictor: Predictor, signature: ModelSignature, settings: Settings
) -> tuple[Runner, WarmUp]:
    """Warm the model up (in a thread) and build the runner `PREDICT_MODE` asks for."""
    warmup = await asyncio.to_thread(warm_up, predictor, signature)
    if warmup.error is not None:
        logger.warning("warm-up predict on zeros failed: %s", warmup.error)
    mode = choose_mode(settings.predict_mode, warmup)
    return make_runner(mode, predictor, settings), warmup
