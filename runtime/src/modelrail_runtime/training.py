"""What ``make train`` calls: write a trained model as a verified artifact with its profile.

`save_model` writes, into one directory, the artifact (the adapter's bytes),
``reference_profile.json`` (the training data's distributions, which drift detection
compares traffic with), the caller's companion files (a tokenizer...) and ``metadata.json``
(sha256 of them all, the framework, the signature, library versions and what the caller
records). The profile is built from the artifact as the service will load it, so that what
is watched is what is served.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adapter import ModelAdapter, Predictor, Tensor
from .artifacts import METADATA_FILE, VerifiedArtifact, sha256_hex, write_artifact
from .monitoring import reference_profile
from .tabular import TabularSchema
from .text import TextSchema
from .text.schema import METADATA_KEY as TEXT_SCHEMA_KEY

Companions = Mapping[str, tuple[str, bytes]]
"""metadata.json key -> (file name, bytes) of files kept beside the artifact."""

_OWN_KEYS = frozenset(
    {
        "artifact",
        "artifact_sha256",
        "framework",
        "libraries",
        "signature",
        "metrics",
        "feature_names",
        "features",
        "task",
        TEXT_SCHEMA_KEY,
        reference_profile.METADATA_KEY,
    }
)
"""metadata.json keys save_model writes itself: a companion cannot take them."""


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
    schema: TabularSchema | TextSchema | None = None,
    feature_names: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    score: Callable[[Predictor], Mapping[str, float]] | None = None,
    companions: Companions | None = None,
) -> SavedModel:
    """Write ``model`` into ``directory`` as the service loads it.

    Args:
        directory: the artifacts directory (created if needed).
        adapter: the model's format.
        model: the trained model.
        training_inputs: the training rows, as input tensors by name (for a tabular model,
            the training table, one column per feature; for a text model, its texts, e.g.
            ``{"text": np.asarray(texts, dtype=object)}``): the reference profile is built
            from them and from the model's answers to them.
        schema: a tabular model's features and task (`TabularSchema.infer`), or a text
            model's input and task (`TextSchema`); recorded in metadata.json, where its
            adapter reads them back.
        feature_names: the columns of a single-tensor model's input, named for drift.
        metadata: more to record in metadata.json (data fingerprint, parameters...).
        score: computes the held-out metrics from the artifact as the service loads it;
            metadata.json records them as ``metrics``.
        companions: files the adapter loads beside the artifact (e.g. ``{"tokenizer":
            ("tokenizer.json", data)}``): written into ``directory``, their sha256 recorded
            in metadata.json under their key; the adapter reads them with
            `artifacts.read_companion`, here as in the service.

    Returns:
        The metadata written and the artifact loaded back.

    Raises:
        ValueError: a companion's key or file name is taken by what save_model writes
            itself, or its name is not a plain file name; ``training_inputs`` lack an
            input the model takes.
    """
    extra = dict(companions or {})
    _check_companions(extra, adapter.artifact_file, taken=_OWN_KEYS | set(metadata or {}))
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
    for key, (name, content) in extra.items():
        record[key] = {"file": name, "sha256": sha256_hex(content)}
    # The adapter reads the companions from memory, as recorded: nothing is written into
    # `directory` before the model has loaded.
    loaded = VerifiedArtifact(
        path=directory / adapter.artifact_file,
        data=data,
        sha256=sha256_hex(data),
        metadata=types.MappingProxyType(record),
        companions=types.MappingProxyType({key: content for key, (_, content) in extra.items()}),
    )
    predictor = adapter.load(loaded)
    missing = [spec.name for spec in predictor.signature.inputs if spec.name not in training_inputs]
    if missing:
        raise ValueError(
            f"training_inputs has no tensor for the model's input(s) {missing}: pass the "
            "training rows by input name (a tabular model: the training table; a text "
            "model: its texts)"
        )
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
            **extra,
            reference_profile.METADATA_KEY: (
                reference_profile.PROFILE_FILE,
                profile.to_json().encode("utf-8"),
            ),
        },
    )
    return SavedModel(metadata=written, predictor=predictor)


def _check_companions(companions: Companions, artifact_file: str, taken: frozenset[str]) -> None:
    own_files = {artifact_file, METADATA_FILE, reference_profile.PROFILE_FILE}
    names = [name for name, _ in companions.values()]
    for key, (name, _) in companions.items():
        if key in taken:
            raise ValueError(
                f"companion key {key!r} is taken in metadata.json (by save_model: "
                f"{', '.join(sorted(_OWN_KEYS))}; or by the metadata passed): choose another key"
            )
        if name in own_files or names.count(name) > 1:
            raise ValueError(
                f"companion {key!r} would be written as {name!r}, a file name save_model or "
                "another companion takes: choose another file name"
            )
        # read_companion looks beside the artifact only.
        if not name or Path(name).name != name or name in {".", ".."}:
            raise ValueError(
                f"companion {key!r} has file name {name!r}: give a plain file name, which is "
                "written beside the artifact"
            )
