"""Model artifacts on disk: the file, its `metadata.json`, and the hash that ties them.

The loader trusts nothing it has not hashed: `read_verified` compares the artifact's
sha256 with the one recorded in `metadata.json` at training time before any byte of it is
deserialised.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METADATA_FILE = "metadata.json"


class ModelLoadError(Exception):
    """The model artifact is missing, does not match its metadata, or cannot be loaded."""


@dataclass(frozen=True)
class VerifiedArtifact:
    """Artifact bytes whose sha256 matched `metadata.json`."""

    path: Path
    data: bytes
    sha256: str
    metadata: dict[str, Any]

    @property
    def version(self) -> str:
        """The model version: the first 12 hex digits of the artifact's sha256."""
        return self.sha256[:12]


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def metadata_path(artifact: Path) -> Path:
    """Where the metadata of ``artifact`` lives: `metadata.json` in the same directory."""
    return artifact.with_name(METADATA_FILE)


def read_verified(artifact: Path) -> VerifiedArtifact:
    """Read ``artifact`` and check its sha256 against `metadata.json`.

    Raises:
        ModelLoadError: a file is missing or unreadable, or the hashes differ.
    """
    meta_file = metadata_path(artifact)
    try:
        metadata = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(
            f"{meta_file} not found; run `make train` or set MODEL_URI to an artifact "
            f"with {METADATA_FILE} beside it"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta_file} is not readable JSON: {exc}") from None
    expected = metadata.get("artifact_sha256") if isinstance(metadata, dict) else None
    if not isinstance(expected, str):
        raise ModelLoadError(f"{meta_file} has no artifact_sha256; re-run `make train`")
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


def write(directory: Path, artifact_name: str, data: bytes, metadata: dict[str, Any]) -> Path:
    """Write the artifact and its metadata (with ``artifact_sha256`` added) to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    artifact = directory / artifact_name
    artifact.write_bytes(data)
    record = {**metadata, "artifact": artifact_name, "artifact_sha256": sha256_hex(data)}
    metadata_path(artifact).write_text(
        json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return artifact
