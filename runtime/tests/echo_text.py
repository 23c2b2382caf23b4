"""A text model for the tests of BYTES tensors: it echoes each text back and labels it.

Input ``text`` (BYTES ``[-1]``). Outputs: ``echo`` (BYTES, the text exactly as received,
so a test sees what the service made of a string on the way in and out), ``label``
(BYTES, ``"long"`` past `LONG_AFTER` characters, else ``"short"``: a string class label)
and ``length`` (INT64, the text's length in characters). The artifact holds no code and
no weights: only the adapter's name and a format version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from modelrail_runtime import (
    ModelLoadError,
    ModelSignature,
    MonitoringSpec,
    SavedModel,
    Tensor,
    TensorSpec,
    VerifiedArtifact,
    save_model,
)

MODEL_NAME = "echo"
LONG_AFTER = 20
CLASSES = ("short", "long")
TRAINING_TEXTS = ("hello", "a much longer sentence than twenty characters", "", "héllo wörld")


class EchoTextPredictor:
    """Echoes, labels and measures each text."""

    signature = ModelSignature(
        inputs=(TensorSpec("text", "BYTES", (-1,)),),
        outputs=(
            TensorSpec("echo", "BYTES", (-1,)),
            TensorSpec("label", "BYTES", (-1,)),
            TensorSpec("length", "INT64", (-1,)),
        ),
    )
    monitoring = MonitoringSpec(features=(), class_output="label", classes=CLASSES)

    def predict(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """One echo, label and length per text."""
        texts = inputs["text"]
        lengths = np.fromiter(map(len, texts.tolist()), dtype=np.int64, count=len(texts))
        labels = np.where(lengths > LONG_AFTER, *reversed(CLASSES)).astype(object)
        return {"echo": texts.copy(), "label": labels, "length": lengths}


class EchoTextAdapter:
    """The echo model's format: a JSON document naming it."""

    name = "echo-text"
    platform = "echo_text"
    artifact_file = "model.json"

    def dump(self, model: object) -> bytes:
        """The same bytes for every echo model."""
        assert isinstance(model, EchoTextPredictor)
        return b'{"format": "echo-text", "version": 1}'

    def load(self, artifact: VerifiedArtifact) -> EchoTextPredictor:
        """An echo predictor, if the artifact is an echo model."""
        if json.loads(artifact.data).get("format") != "echo-text":
            raise ModelLoadError(f"{artifact.path} is not an echo-text model")
        return EchoTextPredictor()

    def library_versions(self) -> dict[str, str]:
        """Only numpy shapes the outputs."""
        return {"numpy": np.__version__}


def save_echo_model(directory: Path) -> SavedModel:
    """Write the echo model into ``directory``, as training would."""
    return save_model(
        directory,
        EchoTextAdapter(),
        EchoTextPredictor(),
        training_inputs={"text": np.array(TRAINING_TEXTS, dtype=object)},
        metadata={"model_name": MODEL_NAME},
    )
