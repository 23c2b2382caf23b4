"""The model adapter: what the runtime needs from a model format, and what it gets back.

An adapter turns verified artifact bytes into a `Predictor` (and a trained model into
such bytes, for training). A predictor knows its signature (the OIP tensors it takes and
gives) and what monitoring watches (features, predicted class, scores). Framework
adapters ship in `modelrail_runtime.frameworks`, one optional extra each; a team with an
unusual model implements these two protocols in its own repository and passes its
adapter to `serve` (docs: "Bring your own model format").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from numpy.typing import NDArray

from .oip.signature import ModelSignature

if TYPE_CHECKING:
    from .artifacts import VerifiedArtifact

Tensor = NDArray[Any]
"""A tensor: a numpy array whose first dimension is the batch (rows)."""


@dataclass(frozen=True)
class FeatureSpec:
    """One input feature watched for drift: a column of an input tensor.

    ``kind`` decides the binning of the reference profile: quantile bins for numeric
    features, one bin per value for categorical ones.
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
        """Predict for a batch; every output has one row per input row.

        ``inputs`` have been checked against `signature` (names, datatypes, shapes, finite
        numbers). Called from one thread at a time per call, possibly from several threads
        at once (`PREDICT_MODE=thread`).
        """
        ...


class ModelAdapter(Protocol):
    """A model format: artifact bytes to a predictor, and a trained model to bytes."""

    @property
    def name(self) -> str:
        """The format's name, recorded as ``framework`` in the artifact's metadata.json."""
        ...

    @property
    def platform(self) -> str:
        """The OIP ``platform`` string of the model metadata."""
        ...

    @property
    def artifact_file(self) -> str:
        """The artifact's file name under ``artifacts/`` (e.g. ``model.skops``)."""
        ...

    def dump(self, model: object) -> bytes:
        """Artifact bytes for a trained ``model``; the same model gives the same bytes."""
        ...

    def load(self, artifact: VerifiedArtifact) -> Predictor:
        """A predictor from bytes whose sha256 matched the metadata; runs no code they hold.

        Raises:
            ModelLoadError: the bytes do not hold a model this adapter can serve.
        """
        ...

    def library_versions(self) -> dict[str, str]:
        """Versions of the libraries that shape the artifact, for metadata.json."""
        ...
