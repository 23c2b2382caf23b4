"""Verified reads: nothing is deserialised before its sha256 matched metadata.json.

Training writes the artifact and ``metadata.json`` (with ``artifact`` and
``artifact_sha256``) into one directory, plus companion files (the reference profile) whose
sha256 metadata.json records too. ``MODEL_URI`` names that directory, or the artifact file
in it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METADATA_FILE = "metadata.json"


class ModelLoadError(Exception):
    """The model artifact is missing, does not match its metadata, or cannot be loaded."""


@dataclass(frozen=True)
class VerifiedArtifact:
    """Artifact bytes whose sha256 matched metadata.json, with that metadata."""

    path: Path
    data: bytes
    sha256: str
    metadata: Mapping[str, Any]
    companions: Mapping[str, bytes] = field(default_factory=dict)
    """Companion files already in memory, by metadata key: `read_companion` returns them
    without reading the disk (`save_model` loads the model before it writes any file)."""

    @property
    def version(self) -> str:
        """The model version: the first 12 hex digits of the artifact's sha256."""
        return self.sha256[:12]

    @property
    def framework(self) -> str | None:
        """The adapter that wrote the artifact (``framework`` in metadata.json), if recorded."""
        value = self.metadata.get("framework")
        return value if isinstance(value, str) else None


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def read_verified(uri: Path) -> VerifiedArtifact:
    """Read the artifact at ``uri`` (its directory, or the file) and check its sha256.

    Raises:
        ModelLoadError: a file is missing or unreadable, or the hashes differ; the message
            says which and how to fix it.
    """
    directory = uri if uri.is_dir() else uri.parent
    meta_file = directory / METADATA_FILE
    metadata = _read_metadata(meta_file)
    expected = metadata.get("artifact_sha256")
    recorded_name = metadata.get("artifact")
    if not isinstance(expected, str) or not isinstance(recorded_name, str):
        raise ModelLoadError(
            f"{meta_file} has no artifact and artifact_sha256; re-run `make train`"
        )
    artifact = uri if not uri.is_dir() else directory / Path(recorded_name).name
    try:
        data = artifact.read_bytes()
    except FileNotFoundError:
        raise ModelLoadError(
            f"model artifact {artifact} not found; run `make train` or set MODEL_URI"
        ) from None
    except OSError as exc:
        raise ModelLoadError(f"model artifact {artifact} is not readable: {exc}") from None
    actual = sha256_hex(data)
    if actual != expected:
        raise ModelLoadError(
            f"model artifact {artifact} has sha256 {actual}, but {meta_file} records "
            f"{expected}; the artifact was changed after training, re-run `make train`"
        )
    return VerifiedArtifact(path=artifact, data=data, sha256=actual, metadata=metadata)


def read_companion(artifact: VerifiedArtifact, key: str) -> bytes | None:
    """The bytes of the file metadata.json records under ``key`` (``{"file", "sha256"}``).

    Returns None when metadata.json records no such file.

    Raises:
        ModelLoadError: the file is missing, unreadable or altered.
    """
    record = artifact.metadata.get(key)
    if record is None:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("file"), str):
        raise ModelLoadError(f"{METADATA_FILE} has a malformed {key}; re-run `make train`")
    held = artifact.companions.get(key)
    if held is not None:
        return held
    path = artifact.path.with_name(Path(record["file"]).name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(
            f"{path} is not readable ({exc}); keep it beside the artifact or re-run `make train`"
        ) from None
    if sha256_hex(data) != record.get("sha256"):
        raise ModelLoadError(
            f"{path} does not match the sha256 in {METADATA_FILE}; it was changed after "
            "training, re-run `make train`"
        )
    return data


def write_artifact(
    directory: Path,
    artifact_name: str,
    data: bytes,
    metadata: Mapping[str, Any],
    companions: Mapping[str, tuple[str, bytes]] | None = None,
) -> dict[str, Any]:
    """Write the artifact, its companion files and metadata.json into ``directory``.

    Args:
        directory: where the files go (created if needed).
        artifact_name: the artifact's file name.
        data: the artifact's bytes.
        metadata: what metadata.json records besides the files and their hashes.
        companions: metadata key -> (file name, bytes) of files to keep beside the artifact.

    Returns:
        The metadata written (with ``artifact``, ``artifact_sha256`` and the companions).
    """
    directory.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = dict(metadata)
    for key, (name, content) in (companions or {}).items():
        (directory / name).write_bytes(content)
        record[key] = {"file": name, "sha256": sha256_hex(content)}
    (directory / artifact_name).write_bytes(data)
    record.update(artifact=artifact_name, artifact_sha256=sha256_hex(data))
    (directory / METADATA_FILE).write_text(
        json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return record


def _read_metadata(meta_file: Path) -> dict[str, Any]:
    try:
        metadata = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(
            f"{meta_file} not found; run `make train`, or set MODEL_URI to a directory (or an "
            f"artifact) with {METADATA_FILE} in it"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta_file} is not readable JSON: {exc}") from None
    if not isinstance(metadata, dict):
        raise ModelLoadError(f"{meta_file} must hold a JSON object")
    return metadata
