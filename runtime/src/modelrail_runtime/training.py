"""What ``make train`` calls: write a trained model as a verified artifact with its profile.

`save_model` writes, into one directory, the artifact (the adapter's bytes),
``reference_profile.json`` (the training data's distributions, which drift detection
compares traffic with) and ``metadata.json`` (sha256 of both, the framework, the signature,
library versions and what the caller records). The profile is built from the artifact as
the service will load it, so that what is watched is what is served.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adapter import ModelAdapter, Predictor, Tensor
from .artifacts import VerifiedArtifact, sha256_hex, write_artifact
from .monitoring import reference_profile
from .tabular import TabularSchema


@dataclass(frozen=True)
class SavedModel:
    """What `save_model` wrote, and the artifact loaded back as the service loads it."""

    metadata: Mapping[str, Any]
    predictor: Predictor

    @property
    def version(self) -> str:
        """The model version the service reports: 12 hex digits of the artifact's sha256."""
        return str(self.metadata["artifact_sha256"])[:12]


def save_model(
    directory: Path,
    adapter: ModelAdapter,
    model: object,
    *,
    training_inputs: Mapping[str, Tensor],
    schema: TabularSchema | None = None,
    feature_names: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    score: Callable[[Predictor], Mapping[str, float]] | None = None,
) -> SavedModel:
    """Write ``model`` into ``directory`` as the service loads it.

    Args:
        directory: the artifacts directory (created if needed).
        adapter: the model's format.
        model: the trained model.
        training_inputs: the training rows, as input tensors by name (for a tabular model,
            the training table, one column per feature): the reference profile is built from
            them and from the model's answers to them.
        schema: a tabular model's features and task (`TabularSchema.infer`); recorded in
            metadata.json, where its adapter reads them back.
        feature_names: the columns of a single-tensor model's input, named for drift.
        metadata: more to record in metadata.json (data fingerprint, parameters...).
        score: computes the held-out metrics from the artifact as the service loads it;
            metadata.json records them as ``metrics``.

    Returns:
        The metadata written and the artifact loaded back.
    """
    data = adapter.dump(model)
    record: dict[str, Any] = {
        **(metadata or {}),
        "framework": adapter.name,
        "libraries": adapter.library_versions(),
    }
    if schema is not None:
        record.update(schema.as_metadata())
    if feature_names:
        record["feature_names"] = list(feature_names)
    loaded = VerifiedArtifact(
        path=directory / adapter.artifact_file,
        data=data,
        sha256=sha256_hex(data),
        metadata=types.MappingProxyType(record),
    )
    predictor = adapter.load(loaded)
    record["signature"] = predictor.signature.as_metadata()
    if score is not None:
        record["metrics"] = dict(score(predictor))
    profile = reference_profile.build(
        predictor.monitoring, training_inputs, predictor.predict(training_inputs)
    )
    written = write_artifact(
        directory,
        adapter.artifact_file,
        data,
        record,
        companions={
            reference_profile.METADATA_KEY: (
                reference_profile.PROFILE_FILE,
                profile.to_json().encode("utf-8"),
            )
        },
    )
    return SavedModel(metadata=written, predictor=predictor)
