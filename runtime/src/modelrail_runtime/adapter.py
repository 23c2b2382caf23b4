"""The model adapter: what the runtime needs from a model format, and what it gets back.

An adapter turns verified artifact bytes into a `Predictor` (and a trained model into
such bytes, for training). A predictor knows its signature (the OIP tensors it takes and
gives) and what monitoring watches (features, predicted class, scores). Framework
adapters ship in `modelrail_runtime.frameworks`, one optional extra each; a team with an
unusual model implements these two protocols in its own repository and passes its
adapter to `serve` (docs: "Bring your own model format").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from .oip.signature import ModelSignature

if TYPE_CHECKING:
    from .artifacts import VerifiedArtifact

Tensor = NDArray[Any]
"""A tensor: a numpy array whose first dimension is the batch (rows)."""


@dataclass(frozen=True)
class FeatureSpec:
    """One input feature watched for drift and data quality.

    It is a column of an input tensor (``column``), or a whole one-dimensional input
    (``column`` None). ``kind`` decides the binning of the reference profile: quantile
    bins for numeric features, one bin per value for categorical ones.
    """

    name: str
    input: str
    column: int | None
    kind: Literal["numeric", "categorical"] = "numeric"
    categories: tuple[str, ...] = ()
    """String categories: their index is the value drift bins (unseen ones: their own bin)."""
    minimum: float | None = None
    maximum: float | None = None
    """The training range: values outside it are counted as out of range."""


TokenCounter = Callable[[Sequence[str]], tuple[NDArray[np.int64], NDArray[np.int64]]]
"""Texts in; per text, the number of tokens and how many of them the model does not know."""


@dataclass(frozen=True)
class TextSpec:
    """A BYTES input of free text, watched for its length and its vocabulary.

    Monitoring derives numeric values from each text (its length in characters and, with a
    ``tokens`` counter, the share of its tokens the model does not know), profiles them at
    training time and compares traffic with that profile like any numeric feature.
    """

    input: str
    tokens: TokenCounter | None = None
    """The model's tokenizer or vocabulary, counting tokens and unknown tokens per text."""


@dataclass(frozen=True)
class MonitoringSpec:
    """What the service watches: the features, and the prediction.

    A classifier names its class output (and the classes: a bounded label set for the
    metrics) and, if it has one, its probabilities; a regressor names its value output.
    """

    features: tuple[FeatureSpec, ...]
    class_output: str | None = None
    """Classification: the output tensor holding one predicted class per row."""
    classes: tuple[int | str, ...] = ()
    """Classification: every class the model can predict."""
    score_output: str | None = None
    """Classification: per-class probabilities (rows x classes), if the model has them."""
    value_output: str | None = None
    """Regression: the predicted values (rows, or rows x targets: the first is watched)."""
    embedding_output: str | None = None
    """Embedding: the vectors (rows x dimensions), watched through fixed projections."""
    texts: tuple[TextSpec, ...] = ()
    """Free-text inputs, watched for length and unknown tokens."""

    @property
    def watched_output(self) -> str:
        """The output whose distribution prediction drift compares with training."""
        output = self.class_output or self.value_output or self.embedding_output
        if output is None:
            raise ValueError(
                "a MonitoringSpec names a class_output, a value_output or an embedding_output"
            )
        return output


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
