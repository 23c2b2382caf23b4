"""What the service knows about itself at run time: model loaded? draining?"""

from __future__ import annotations

from dataclasses import dataclass

from .inference import Runner
from .metrics import ServiceMetrics
from .model import LoadedModel
from .monitor import ModelMonitor
from .prediction_log import PredictionLogWriter


@dataclass
class ServiceState:
    """Readiness state, kept in step with the ``model_ready`` gauge."""

    metrics: ServiceMetrics
    monitor: ModelMonitor
    prediction_log: PredictionLogWriter | None = None
    model: LoadedModel | None = None
    runner: Runner | None = None
    draining: bool = False
    load_error: str | None = None

    @property
    def ready(self) -> bool:
        """True once the model is loaded, until draining starts."""
        return self.model is not None and not self.draining

    def not_ready_reason(self) -> str:
        """Why the service is not ready, in words for an error body."""
        if self.draining:
            return "service is shutting down"
        if self.load_error is not None:
            return "model failed to load"
        return "model is still loading"

    def mark_loaded(self, model: LoadedModel, seconds: float, runner: Runner) -> None:
        """Record that ``model`` is loaded and serving, its predicts run by ``runner``."""
        self.monitor.attach(model)
        self.runner = runner
        self.model = model
        self.metrics.model_load_duration.set(seconds)
        self.metrics.model_ready.set(1 if self.ready else 0)

    def mark_load_failed(self, reason: str) -> None:
        """Record that the model could not be loaded."""
        self.load_error = reason
        self.metrics.model_ready.set(0)

    def start_draining(self) -> None:
        """Stop reporting ready (the server keeps serving while load balancers notice)."""
        self.draining = True
        self.metrics.model_ready.set(0)
