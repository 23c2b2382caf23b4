"""Verified reads: nothing is deserialised before its sha256 matched metadata.json."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from modelrail_runtime import ModelLoadError, load_model
from modelrail_runtime.artifacts import (
    VerifiedArtifact,
    read_companion,
    read_verified,
    sha256_hex,
    write_artifact,
)


@pytest.fixture
def copy(tmp_path: Path, artifacts: Path) -> Path:
    """A copy of the iris artifacts that a test may damage."""
    return shutil.copytree(artifacts, tmp_path / "artifacts")


def metadata_of(directory: Path) -> dict[str, object]:
    return json.loads((directory / "metadata.json").read_text())


def test_the_directory_or_the_file_may_be_named(artifacts: Path) -> None:
    by_directory = read_verified(artifacts)
    by_file = read_verified(artifacts / "model.skops")
    assert by_directory == by_file
    assert by_directory.path == artifacts / "model.skops"
    assert by_directory.sha256 == hashlib.sha256(by_directory.data).hexdigest()
    assert by_directory.version == by_directory.sha256[:12]
    assert by_directory.framework == "scikit-learn"
    assert by_directory.metadata == metadata_of(artifacts)


def test_a_changed_artifact_is_refused(copy: Path) -> None:
    artifact = copy / "model.skops"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    recorded = metadata_of(copy)["artifact_sha256"]
    with pytest.raises(ModelLoadError) as error:
        load_model(copy)
    message = str(error.value)
    assert f"has sha256 {sha256_hex(artifact.read_bytes())}" in message
    assert f"records {recorded}" in message
    assert "re-run `make train`" in message


def test_a_missing_artifact_is_refused(copy: Path) -> None:
    (copy / "model.skops").unlink()
    with pytest.raises(ModelLoadError, match=r"model\.skops not found; run `make train`"):
        read_verified(copy)


def test_missing_metadata_is_refused_with_the_fix(copy: Path) -> None:
    (copy / "metadata.json").unlink()
    with pytest.raises(ModelLoadError, match=r"metadata\.json not found; run `make train`"):
        read_verified(copy)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not readable JSON"),
        ("[]", "must hold a JSON object"),
        ('{"framework": "scikit-learn"}', "has no artifact and artifact_sha256"),
    ],
)
def test_unusable_metadata_is_refused(copy: Path, content: str, message: str) -> None:
    (copy / "metadata.json").write_text(content)
    with pytest.raises(ModelLoadError, match=message):
        read_verified(copy)


def test_metadata_without_a_framework_needs_an_adapter(copy: Path) -> None:
    metadata = metadata_of(copy)
    del metadata["framework"]
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="names no framework"):
        load_model(copy)


def test_metadata_naming_an_unknown_framework_is_refused(copy: Path) -> None:
    metadata = {**metadata_of(copy), "framework": "catboost"}
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="no built-in adapter for framework 'catboost'"):
        load_model(copy)


def test_write_artifact_records_every_file_and_its_hash(tmp_path: Path) -> None:
    record = write_artifact(
        tmp_path / "out",
        "model.bin",
        b"model bytes",
        {"framework": "test", "artifact": "overwritten"},
        companions={"notes": ("notes.txt", b"some notes")},
    )
    assert record == metadata_of(tmp_path / "out")
    assert record["artifact"] == "model.bin"
    assert record["artifact_sha256"] == sha256_hex(b"model bytes")
    assert record["notes"] == {"file": "notes.txt", "sha256": sha256_hex(b"some notes")}
    verified = read_verified(tmp_path / "out")
    assert verified.data == b"model bytes"
    assert read_companion(verified, "notes") == b"some notes"
    assert read_companion(verified, "absent") is None


def test_a_changed_or_malformed_companion_is_refused(tmp_path: Path) -> None:
    write_artifact(tmp_path, "m.bin", b"m", {}, companions={"notes": ("notes.txt", b"a")})
    verified = read_verified(tmp_path)
    (tmp_path / "notes.txt").write_bytes(b"b")
    with pytest.raises(ModelLoadError, match=r"notes\.txt does not match the sha256"):
        read_companion(verified, "notes")
    malformed = VerifiedArtifact(verified.path, b"m", verified.sha256, {"notes": "notes.txt"})
    with pytest.raises(ModelLoadError, match="malformed notes"):
        read_companion(malformed, "notes")


def test_companions_held_in_memory_are_read_without_the_disk(tmp_path: Path) -> None:
    # What save_model hands its adapter: nothing is written yet.
    metadata = {"notes": {"file": "notes.txt", "sha256": sha256_hex(b"a")}}
    artifact = VerifiedArtifact(
        tmp_path / "m.bin", b"m", sha256_hex(b"m"), metadata, companions={"notes": b"a"}
    )
    assert not (tmp_path / "notes.txt").exists()
    assert read_companion(artifact, "notes") == b"a"
    unrecorded = VerifiedArtifact(artifact.path, b"m", artifact.sha256, {}, {"notes": b"a"})
    assert read_companion(unrecorded, "notes") is None, "metadata.json decides what exists"
    bare = VerifiedArtifact(artifact.path, b"m", artifact.sha256, metadata)
    with pytest.raises(ModelLoadError, match=r"notes\.txt is not readable"):
        read_companion(bare, "notes")
