"""The runners: one object per `PredictMode`, each running the model's predict calls."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import Protocol

from ..adapter import Predictor, Tensor


class PredictMode(StrEnum):
    """Where predict runs (`PREDICT_MODE`); ``auto`` decides from the warm-up."""

    AUTO = "auto"
    INLINE = "inline"
    THREAD = "thread"
    BATCH = "batch"


class Runner(Protocol):
    """Runs the served model's predict calls for the request handlers."""

    @property
    def mode(self) -> PredictMode:
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

    mode = PredictMode.INLINE

    def __init__(self, predictor: Predictor) -> None:
        self._predictor = predictor

    async def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Predict now, on the calling (event loop) thread."""
        return self._predictor.predict(inputs)

    async def aclose(self) -> None:
        """Nothing to release."""


class ThreadRunner:
    """Predicts in a pool of worker threads, one per usable CPU."""

    mode = PredictMode.THREAD

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
