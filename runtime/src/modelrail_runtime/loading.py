"""Loading the model in the background while the server already answers liveness."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

from .adapter import ModelAdapter
from .artifacts import ModelLoadError
from .execution import prepare_runner
from .model import load_model
from .monitoring.monitor import ModelMonitor
from .prediction_log import PredictionLogWriter
from .settings import Settings
from .state import ServiceState

logger = logging.getLogger(__name__)

LoadFailureHandler = Callable[[BaseException], None]


async def load_in_background(
    settings: Settings,
    *,
    adapter: ModelAdapter | None,
    state: ServiceState,
    monitor: ModelMonitor,
    prediction_log: PredictionLogWriter | None,
    on_failure: LoadFailureHandler | None,
) -> None:
    """Load, warm up and attach the model; mark the service ready, or failed."""
    try:
        if settings.model_load_delay_seconds > 0:
            await asyncio.sleep(settings.model_load_delay_seconds)
        started_at = perf_counter()
        model = await asyncio.to_thread(
            load_model, settings.model_uri, settings.model_name, adapter
        )
        seconds = perf_counter() - started_at
        if prediction_log is not None:
            await asyncio.to_thread(prediction_log.prepare_before_predicts)
        warmup_started_at = perf_counter()
        runner, warmup = await prepare_runner(
            model.predictor, settings.predict_mode, settings.batch_limits
        )
        warmup_seconds = perf_counter() - warmup_started_at
    except ModelLoadError as exc:
        _failed(state, on_failure, exc, str(exc))
        return
    except Exception as exc:
        _failed(state, on_failure, exc, f"{type(exc).__name__}: {exc}")
        return
    freeze_startup_heap()
    monitor.attach(model)
    state.mark_loaded(model, seconds, runner)
    logger.info(
        "model loaded",
        extra={
            "fields": {
                "model.name": model.name,
                "model.version": model.version,
                "model.uri": str(settings.model_uri),
                "duration_ms": round(seconds * 1000, 3),
                "predict.mode": str(runner.mode),
                "predict.warmup_ms": None
                if warmup.seconds is None
                else round(warmup.seconds * 1000, 3),
                "predict.warmup_batch_ms": None
                if warmup.batch_seconds is None
                else round(warmup.batch_seconds * 1000, 3),
                "predict.warmup_batch_rows": warmup.batch_rows or None,
                "load_seconds": round(seconds, 3),
                "warmup_seconds": round(warmup_seconds, 3),
                "start_seconds": seconds_since_process_start(),
            }
        },
    )


def seconds_since_process_start() -> float | None:
    """How long ago this process started, to 10 ms (Linux's /proc), or None elsewhere.

    Logged when the service becomes ready: the start-up time as an orchestrator sees it,
    interpreter and imports included.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError):
        return None
    # Fields after the command name (which may hold spaces) start at the third, the state;
    # the 22nd is the start time, in clock ticks since boot.
    started_ticks = int(stat.rpartition(")")[2].split()[19])
    return round(max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK")), 2)


def freeze_startup_heap() -> None:
    """Keep what start-up allocated (modules, the model) out of garbage collections.

    `serve` calls it first, for the modules (a collection walking them right after the
    imports cost a twentieth of the time to ready), and the loading once more, for the
    model.

    A full collection walks every object the collector tracks. With scikit-learn imported
    and a 100-tree forest loaded, one took 190 ms, during which nothing was served: under
    load that happens every few seconds, and p99 at 32 concurrent requests was 140 ms
    instead of 60. These objects live as long as the process, so `gc.freeze` moves them to
    a generation no collection visits; what requests allocate is collected as before.
    """
    gc.freeze()


def _failed(
    state: ServiceState, on_failure: LoadFailureHandler | None, exc: BaseException, reason: str
) -> None:
    state.mark_load_failed(reason)
    logger.error("model failed to load: %s", reason)
    if on_failure is not None:
        on_failure(exc)
