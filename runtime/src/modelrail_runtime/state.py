"""What the service knows about itself at run time: its model's status, and the model."""

from __future__ import annotations

from enum import Enum

from prometheus_client import CollectorRegistry, Gauge

from .execution import Runner
from .model import LoadedModel


class Status(Enum):
    """Where the service is in its life; only ``READY`` takes inference traffic."""

    LOADING = "model is still loading"
    READY = "ready"
    FAILED = "model failed to load"
    DRAINING = "service is shutting down"


class ServiceState:
    """The status, kept in step with the ``model_ready`` gauge, and the loaded model."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.status = Status.LOADING
        self.model: LoadedModel | None = None
        self.runner: Runner | None = None
        self.load_error: str | None = None
        self._ready = Gauge(
            "model_ready",
            "1 while the model is loaded and the service is ready for traffic, else 0.",
            registry=registry,
        )
        self._load_duration = Gauge(
            "model_load_duration_seconds",
            "Time it took to verify and load the model artifact.",
            registry=registry,
        )

    @property
    def ready(self) -> bool:
        """True once the model is loaded, until draining starts."""
        return self.status is Status.READY

    def mark_loaded(self, model: LoadedModel, seconds: float, runner: Runner) -> None:
        """Record that ``model`` is loaded and serving, its predicts run by ``runner``."""
        self.runner = runner
        self.model = model
        self._load_duration.set(seconds)
        if self.status is Status.LOADING:
            self.status = Status.READY
            self._ready.set(1)

    def mark_load_failed(self, reason: str) -> None:
        """Record that the model could not be loaded."""
        self.load_error = reason
        if self.status is Status.LOADING:
            self.status = Status.FAILED
        self._ready.set(0)

    def start_draining(self) -> None:
        """Stop reporting ready (the server keeps serving while load balancers notice)."""
        self.status = Status.DRAINING
        self._ready.set(0)
