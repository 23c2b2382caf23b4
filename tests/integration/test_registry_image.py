"""A generated repo trains into a real MLflow registry (artifacts on a real S3 store), then
builds its image from the registered version: lineage in the labels and in the metadata.json
the service loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.helpers import render, run
from tests.servers.mlflow import MlflowServer

pytestmark = [pytest.mark.slow, pytest.mark.docker]

IMAGE = "modelrail-generated-registry:test"
# Under `make test` (CI) a nested make prints "Entering/Leaving directory" on stdout, after
# the training summary this module reads from its last line.
MAKE = ("make", "--no-print-directory")


@pytest.fixture(scope="module")
def registered_project(
    tmp_path_factory: pytest.TempPathFactory, mlflow_server: MlflowServer
) -> tuple[Path, dict[str, object]]:
    """The default repo after `make train` with MLFLOW_TRACKING_URI: it and its train summary."""
    project = render(tmp_path_factory.mktemp("registry") / "churn-model")
    trained = run([*MAKE, "train"], project, env={"MLFLOW_TRACKING_URI": mlflow_server.uri})
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    return project, summary


def test_make_train_registers_version_1_with_params_metrics_and_data_hash(
    registered_project: tuple[Path, dict[str, object]], mlflow_server: MlflowServer
) -> None:
    project, summary = registered_project
    lineage = summary["registry"]
    assert isinstance(lineage, dict)
    assert lineage["version"] == "1"
    metadata = json.loads((project / "artifacts" / "metadata.json").read_text())
    assert metadata["registry"] == lineage
    registry = MlflowClient(mlflow_server.uri)
    version = registry.get_model_version(metadata["model_name"], "1")
    assert version.tags["modelrail.artifact_sha256"] == metadata["artifact_sha256"]
    run_data = registry.get_run(version.run_id).data
    assert run_data.params["data_sha256"] == metadata["data"]["sha256"]
    assert run_data.params["seed"] == str(metadata["seed"])
    assert run_data.metrics == pytest.approx(metadata["metrics"])
    assert run_data.tags["modelrail.template_version"] not in ("", "unknown")


def test_make_image_from_the_registered_version_carries_its_lineage(
    registered_project: tuple[Path, dict[str, object]],
    mlflow_server: MlflowServer,
    base_image: str,
) -> None:
    project, summary = registered_project
    lineage = summary["registry"]
    assert isinstance(lineage, dict)
    model_uri = f"models:/{lineage['name']}/1"
    # The local training is gone: the image must come from the registry alone.
    for path in (project / "artifacts").iterdir():
        path.unlink()

    run(
        ["make", "image", f"MODEL_URI={model_uri}", f"BASE_IMAGE={base_image}", f"IMAGE={IMAGE}"],
        project,
        env={"MLFLOW_TRACKING_URI": mlflow_server.uri},
    )

    inspected = run(["docker", "image", "inspect", IMAGE], project).stdout
    labels = json.loads(inspected)[0]["Config"]["Labels"]
    assert labels["io.modelrail.model.uri"] == model_uri
    assert labels["io.modelrail.model.version"] == "1"
    assert labels["io.modelrail.model.run-id"] == lineage["run_id"]
    assert labels["io.modelrail.model.registry"] == mlflow_server.uri
    baked = run(
        ["docker", "run", "--rm", IMAGE, "cat", "/app/artifacts/metadata.json"], project
    ).stdout
    metadata = json.loads(baked)
    assert metadata["registry"]["uri"] == model_uri
    assert metadata["registry"]["run_id"] == lineage["run_id"]
    assert metadata["artifact_sha256"] == lineage["artifact_sha256"]
    # The service loads it: the baked artifact verifies against its metadata.json.
    loaded = run(
        [
            "docker", "run", "--rm", IMAGE, "python3", "-c",
            "from pathlib import Path; from modelrail_runtime.artifacts import read_verified; "
            "print(read_verified(Path('/app/artifacts')).sha256)",
        ],
        project,
    ).stdout.strip()  # fmt: skip
    assert loaded == lineage["artifact_sha256"]
    # MLflow's client is a training tool: the serving image does not hold it.
    find = "import importlib.util as u; print(u.find_spec('mlflow'))"
    found = run(["docker", "run", "--rm", IMAGE, "python3", "-c", find], project).stdout
    assert found.strip() == "None"


def test_make_image_without_model_uri_builds_from_artifacts_as_before(
    registered_project: tuple[Path, dict[str, object]],
) -> None:
    project, _ = registered_project
    dry_run = run(["make", "-n", "image"], project).stdout
    assert "--build-arg MODEL_DIR=artifacts" in dry_run
    assert "modelrail_runtime.registry" not in dry_run


def test_make_train_without_a_tracking_uri_never_imports_mlflow(
    registered_project: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    project, _ = registered_project
    output = tmp_path / "artifacts"
    command = ["uv", "run", "--locked", "python", "-X", "importtime", "-m", "churn_model.train"]

    trained = run([*command, "--output-dir", str(output)], project, env={"MLFLOW_TRACKING_URI": ""})

    imported = [line.split("|")[-1].strip() for line in trained.stderr.splitlines()]
    assert "modelrail_runtime" in imported  # the import log is there
    assert not [name for name in imported if name.split(".")[0] == "mlflow"]
    assert "registry" not in json.loads(trained.stdout.strip().splitlines()[-1])
    assert "registry" not in json.loads((output / "metadata.json").read_text())


def test_promote_script_gates_on_the_champion_then_moves_it(
    registered_project: tuple[Path, dict[str, object]],
    mlflow_server: MlflowServer,
    tmp_path: Path,
) -> None:
    project, summary = registered_project
    lineage = summary["registry"]
    assert isinstance(lineage, dict)
    env = {"MLFLOW_TRACKING_URI": mlflow_server.uri}
    registry = MlflowClient(mlflow_server.uri)
    name = str(lineage["name"])
    # Version 2: version 1's files, its accuracy recorded 0.05 lower (max_regression: 0.02).
    registry_cli = ["uv", "run", "--locked", "python", "-m", "modelrail_runtime.registry"]
    worse = tmp_path / "worse"
    run([*registry_cli, "fetch", f"models:/{name}/1", "--into", str(worse)], project, env=env)
    metadata = json.loads((worse / "metadata.json").read_text())
    metadata.pop("registry")
    metadata["metrics"]["accuracy"] -= 0.05
    (worse / "metadata.json").write_text(json.dumps(metadata))
    run([*registry_cli, "log", str(worse)], project, env=env)

    first = run(["scripts/promote.sh", "gate", "1"], project, env=env)
    assert "no models:/" in first.stdout
    assert "passes" in first.stdout
    run(["scripts/promote.sh", "promote", "1"], project, env=env)
    assert registry.get_model_version_by_alias(name, "champion").version == "1"
    refused = run(["scripts/promote.sh", "gate", "2"], project, env=env, ok_codes=(1,))
    assert "tolerance 0.02): fails" in refused.stdout
    run(["scripts/promote.sh", "candidate", "2"], project, env=env)
    assert registry.get_model_version_by_alias(name, "candidate").version == "2"
    assert registry.get_model_version_by_alias(name, "champion").version == "1"
    bad = run(["scripts/promote.sh", "gate", "two"], project, env=env, ok_codes=(2,))
    assert "VERSION must be a registered version number" in bad.stderr
    unset = run(
        ["scripts/promote.sh", "gate", "1"], project, env={"MLFLOW_TRACKING_URI": ""}, ok_codes=(2,)
    )
    assert "MLFLOW_TRACKING_URI is not set" in unset.stderr
