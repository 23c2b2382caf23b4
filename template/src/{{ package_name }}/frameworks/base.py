"""The interface every framework module implements (one module per framework).

A framework module knows how to get its example data set, fit a model, turn the model
into reproducible artifact bytes, and turn verified bytes back into a `Predictor`,
without running code from the artifact. The rest of the service never imports a
framework library directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from ..signature import ModelSignature

Tensor = NDArray[Any]


@dataclass(frozen=True)
class Dataset:
    """A labelled data set that ships with the framework (no download)."""

    name: str
    features: NDArray[np.float64]
    labels: NDArray[np.int64]


@dataclass(frozen=True)
class FeatureSpec:
    """One input feature watched for drift: a column of an input tensor.

    ``kind`` decides the binning of the reference profile: quantile bins for numeric
    features, one bin per value for categorical ones (see `reference_profile`).
    """

    name: str
    input: str
    column: int
    kind: Literal["numeric", "categorical"] = "numeric"


@dataclass(frozen=True)
class MonitoringSpec:
    """What the service watches: the features, the predicted class and its score."""

    features: tuple[FeatureSpec, ...]
    class_output: str
    """Output tensor holding one predicted class per row."""
    classes: tuple[int, ...]
    """Every class the model can predict (a bounded label set for the metrics)."""
    score_output: str | None = None
    """Output tensor of per-class probabilities (rows x classes), if the model has one."""


class Predictor(Protocol):
    """A loaded model: input tensors by name in, output tensors by name out."""

    @property
    def signature(self) -> ModelSignature:
        """The inputs this model takes and the outputs it gives (read from the model)."""
        ...

    @property
    def monitoring(self) -> MonitoringSpec:
        """The features and outputs drift detection and the prediction metrics watch."""
        ...

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Predict for a batch; every output has one row per input row."""
        ...


class Framework(Protocol):
    """What a module under `frameworks/` provides (checked by mypy in `__init__`)."""

    @property
    def NAME(self) -> str:  # noqa: N802 - module constants, seen through a protocol
        """Framework name, as in the template's `model_framework` answer."""
        ...

    @property
    def PLATFORM(self) -> str:  # noqa: N802
        """OIP `platform` string in the model metadata."""
        ...

    @property
    def ARTIFACT_FILE(self) -> str:  # noqa: N802
        """File name of the artifact under `artifacts/`."""
        ...

    @property
    def SIGNATURE(self) -> ModelSignature:  # noqa: N802
        """Inputs and outputs of the model `fit` trains."""
        ...

    @property
    def MONITORING(self) -> MonitoringSpec:  # noqa: N802
        """Features, classes and scores watched in production (drift, prediction metrics)."""
        ...

    def load_dataset(self) -> Dataset:
        """The example data set."""
        ...

    def fit(
        self,
        features: NDArray[np.float64],
        labels: NDArray[np.int64],
        params: Mapping[str, Any],
        seed: int,
    ) -> object:
        """Train a model; the same inputs give the same model."""
        ...

    def serialize(self, model: object) -> bytes:
        """Artifact bytes for ``model``; the same model gives the same bytes."""
        ...

    def deserialize(self, data: bytes) -> Predictor:
        """Load verified artifact bytes without executing code they contain."""
        ...

    def library_versions(self) -> dict[str, str]:
        """Versions of the libraries that shape the artifact, for `metadata.json`."""
        ...
