"""Model artifacts on disk: the model file, its metadata.json, and the hashes that tie them."""

from .verified import (
    METADATA_FILE,
    ModelLoadError,
    VerifiedArtifact,
    read_companion,
    read_verified,
    sha256_hex,
    write_artifact,
)

__all__ = [
    "METADATA_FILE",
    "ModelLoadError",
    "VerifiedArtifact",
    "read_companion",
    "read_verified",
    "sha256_hex",
    "write_artifact",
]
