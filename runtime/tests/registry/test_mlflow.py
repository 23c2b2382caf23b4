"""The registry path against a real MLflow server whose artifacts are on a real S3 store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from tests.servers.mlflow import MlflowServer
from tests.servers.seaweedfs import SeaweedS3

from modelrail_runtime.artifacts import read_verified
from modelrail_runtime.registry import (
    ArtifactMismatchError,
    GateRule,
    compare,
    fetch,
    log_training,
    promote,
    resolve,
)
from modelrail_runtime.registry.mlflow import client

Trained = Callable[..., Path]


@pytest.fixture(autouse=True)
def tracking_uri(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    return mlflow_server.uri


def test_log_training_records_params_metrics_data_hash_and_registers_version_1(
    trained: Trained, tracking_uri: str
) -> None:
    directory = trained(accuracy=0.93)
    metadata = json.loads((directory / "metadata.json").read_text())

    lineage = log_training(directory, tags={"modelrail.template_version": "0.5.0"})

    assert (lineage.name, lineage.version) == (metadata["model_name"], "1")
    assert lineage.uri == f"models:/{metadata['model_name']}/1"
    assert lineage.artifact_sha256 == metadata["artifact_sha256"]
    assert lineage.tracking_uri == tracking_uri
    run = client().get_run(lineage.run_id).data
    assert run.metrics == {"accuracy": 0.93}
    assert run.params["C"] == "1.0"
    assert run.params["seed"] == "42"
    assert run.params["data_sha256"] == "d" * 64
    assert run.tags["modelrail.data_sha256"] == "d" * 64
    assert run.tags["modelrail.git_revision"] == "0123456789abcdef"
    assert run.tags["modelrail.template_version"] == "0.5.0"
    assert run.tags["modelrail.artifact_sha256"] == metadata["artifact_sha256"]
    assert log_training(trained(accuracy=0.94)).version == "2"


def test_fetch_by_version_verifies_the_artifact_and_records_its_lineage(
    trained: Trained, tmp_path: Path
) -> None:
    directory = trained()
    lineage = log_training(directory)
    into = tmp_path / "build" / "model"

    fetched = fetch(f"models:/{lineage.name}/1", into)

    assert fetched.run_id == lineage.run_id
    artifact = read_verified(into)
    assert artifact.sha256 == lineage.artifact_sha256
    assert artifact.data == (directory / artifact.path.name).read_bytes()
    assert (into / "reference_profile.json").read_bytes() == (
        directory / "reference_profile.json"
    ).read_bytes()
    assert artifact.metadata["registry"] == fetched.as_metadata()
    assert artifact.metadata["registry"]["version"] == "1"


def test_fetch_by_alias_resolves_the_version_the_alias_points_at(
    trained: Trained, tmp_path: Path
) -> None:
    first = log_training(trained(accuracy=0.90))
    second = log_training(trained(accuracy=0.95))
    promote(first.name, "2", "champion")

    fetched = fetch(f"models:/{first.name}@champion", tmp_path / "model")

    assert (fetched.version, fetched.run_id) == ("2", second.run_id)
    assert fetched.aliases == ("champion",)


def test_promote_moves_the_alias_from_the_previous_version(trained: Trained) -> None:
    first = log_training(trained())
    log_training(trained())
    assert promote(first.name, "1", "champion").aliases == ("champion",)

    moved = promote(first.name, "2", "champion")

    assert (moved.version, moved.aliases) == ("2", ("champion",))
    assert resolve(f"models:/{first.name}/1").aliases == ()
    assert resolve(f"models:/{first.name}@champion").version == "2"


def _store_key(store: SeaweedS3, run_id: str, file_name: str) -> tuple[object, str]:
    env = store.client_env()
    s3 = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    keys = [
        item["Key"]
        for item in s3.list_objects_v2(Bucket="lake", Prefix="mlflow/")["Contents"]
        if run_id in item["Key"] and item["Key"].endswith(f"/model/{file_name}")
    ]
    assert len(keys) == 1, keys
    return s3, keys[0]


def test_fetch_refuses_an_artifact_changed_in_the_store_naming_both_hashes(
    trained: Trained, tmp_path: Path, s3_store: SeaweedS3
) -> None:
    lineage = log_training(trained())
    artifact_name = json.loads((trained() / "metadata.json").read_text())["artifact"]
    s3, key = _store_key(s3_store, lineage.run_id, artifact_name)
    s3.put_object(Bucket="lake", Key=key, Body=b"not the registered model")  # type: ignore[attr-defined]
    into = tmp_path / "model"

    with pytest.raises(ArtifactMismatchError) as refused:
        fetch(f"models:/{lineage.name}/1", into)

    message = str(refused.value)
    assert f"models:/{lineage.name}/1" in message
    assert lineage.artifact_sha256 in message
    assert hashlib.sha256(b"not the registered model").hexdigest() in message
    assert not into.exists()


def test_fetch_refuses_artifact_and_metadata_replaced_together(
    trained: Trained, tmp_path: Path, s3_store: SeaweedS3
) -> None:
    # Both files replaced consistently: metadata.json agrees with the bytes, but the
    # version's tag, set at registration, does not.
    lineage = log_training(trained())
    meta_s3, meta_key = _store_key(s3_store, lineage.run_id, "metadata.json")
    metadata = json.loads((trained() / "metadata.json").read_text())
    s3, key = _store_key(s3_store, lineage.run_id, metadata["artifact"])
    forged = b"a model nobody registered"
    metadata["artifact_sha256"] = hashlib.sha256(forged).hexdigest()
    s3.put_object(Bucket="lake", Key=key, Body=forged)  # type: ignore[attr-defined]
    meta_s3.put_object(Bucket="lake", Key=meta_key, Body=json.dumps(metadata).encode())  # type: ignore[attr-defined]

    with pytest.raises(ArtifactMismatchError, match="registered version records") as refused:
        fetch(f"models:/{lineage.name}/1", tmp_path / "model")

    assert metadata["artifact_sha256"] in str(refused.value)
    assert lineage.artifact_sha256 in str(refused.value)


def test_compare_passes_without_a_champion_and_says_so(trained: Trained) -> None:
    lineage = log_training(trained(accuracy=0.5))

    verdict = compare(lineage.name, "1", GateRule("accuracy"))

    assert verdict.passed
    assert verdict.champion is None
    assert "no models:/" in verdict.message
    assert "champion yet" in verdict.message or "@champion yet" in verdict.message


def test_compare_gates_the_candidate_on_the_champion_within_the_tolerance(
    trained: Trained,
) -> None:
    name = log_training(trained(accuracy=0.90, rmse=1.0)).name
    log_training(trained(accuracy=0.885, rmse=1.2))
    promote(name, "1", "champion")

    within = compare(name, "2", GateRule("accuracy", tolerance=0.02))
    beyond = compare(name, "2", GateRule("accuracy", tolerance=0.01))
    lower_is_better = compare(name, "2", GateRule("rmse", higher_is_better=False, tolerance=0.1))

    assert within.passed
    assert (within.candidate, within.champion) == (0.885, 0.90)
    assert not beyond.passed
    assert "fails" in beyond.message
    assert "(version 1)" in beyond.message
    assert not lower_is_better.passed
