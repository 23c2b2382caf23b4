"""No secret values in what the template generates: manifests, pipelines, the image.

Secrets may only be referenced (a Secret's name, `${{ secrets.X }}`, a CI variable); a
value that looks like a credential anywhere in the rendered manifests, the workflows or
the built image (its environment, labels, build history and the files the Dockerfile
adds) fails the test. The detector is shown finding planted secrets, including in an
image built on top of the generated one.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.template.answers import MATRIX
from tests.template.cicd.secret_scan import SECRET_NAME, findings, scan
from tests.template.cicd.test_manifests import DIGEST, kustomize, render_release

# Files that hold credentials, wherever they are in an image.
CREDENTIAL_FILES = {
    ".env",
    ".netrc",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    ".dockercfg",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "credentials",
}
PLANTED = {
    "AWS_ACCESS_KEY_ID": "AKIAABCDEFGHIJKLMNOP",
    "API_TOKEN": "ghp_" + "a1B2" * 9,
}


# --- manifests and pipelines ------------------------------------------------------------


def env_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Objects that carry secret data, and secret-named variables given a literal value."""
    problems = []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Secret":
            problems.append(f"{name}: data belongs in a Secret created outside the repo")
        # A ConfigMap holds configuration (the lake's URLs), never a secret-named setting.
        for key in obj.get("data", {}) if obj["kind"] == "ConfigMap" else ():
            if SECRET_NAME.search(key):
                problems.append(f"{name}: {key} belongs in a Secret created outside the repo")
        spec = pod_spec(obj)
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]) and "value" in variable:
                    problems.append(f"{name}: env {variable['name']} has a literal value")
            for source in container.get("envFrom", []):
                if "secretRef" in source and set(source["secretRef"]) - {"name", "optional"}:
                    problems.append(f"{name}: envFrom secretRef is not a plain reference")
    return problems


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment's or a CronJob's pods (empty for other kinds)."""
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return dict(spec.get("template", {}).get("spec", {}))


def generated_texts(project: Path) -> Iterator[tuple[str, str]]:
    for environment in ("staging", "production"):
        overlay = project / "deploy" / "k8s" / "overlays" / environment
        yield f"overlay {environment}", yaml.safe_dump_all(kustomize(overlay))
        release = render_release(project, environment, f"registry.example.com/m@{DIGEST}")
        yield f"release {environment}", yaml.safe_dump_all(release)
    for path in sorted((project / ".github" / "workflows").glob("*.yml")):
        yield str(path.relative_to(project)), path.read_text()
    if (gitlab := project / ".gitlab-ci.yml").exists():
        yield ".gitlab-ci.yml", gitlab.read_text()


@pytest.mark.parametrize("answer_id", sorted(MATRIX))
def test_manifests_and_pipelines_hold_no_secret_values(
    rendered: dict[str, Path], answer_id: str
) -> None:
    project = rendered[answer_id]
    texts = list(generated_texts(project))
    assert scan(texts) == []
    for environment in ("staging", "production"):
        objects = kustomize(project / "deploy" / "k8s" / "overlays" / environment)
        assert env_problems(objects) == []


def test_planted_secrets_in_manifests_are_found(rendered: dict[str, Path]) -> None:
    objects = kustomize(rendered["defaults"] / "deploy" / "k8s" / "overlays" / "production")
    deployment = next(obj for obj in objects if obj["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] += [{"name": name, "value": value} for name, value in PLANTED.items()]
    container["env"].append({"name": "DB_PASSWORD", "value": "correct-horse-battery"})
    leaky_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"url": "postgres://app:s3cr3t-pw@db.internal:5432/app"},
    }
    objects.append(leaky_secret)
    lake = next(obj for obj in objects if obj["kind"] == "ConfigMap")
    lake["data"]["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    job = next(obj for obj in objects if obj["kind"] == "CronJob")
    (job_container,) = pod_spec(job)["containers"]
    job_container["env"].append({"name": "LAKE_TOKEN", "value": "t0ps3cr3t"})
    problems = env_problems(objects)
    assert any("AWS_SECRET_ACCESS_KEY belongs in a Secret" in p for p in problems)
    assert any(p.startswith("CronJob/") and "LAKE_TOKEN has a literal value" in p for p in problems)
    assert any("DB_PASSWORD has a literal value" in p for p in problems)
    assert any("API_TOKEN has a literal value" in p for p in problems)
    assert any(p.startswith("Secret/db") for p in problems)
    found = "\n".join(findings(yaml.safe_dump_all(objects), "planted"))
    # (DB_PASSWORD's value is on its own line: the structural check above finds it.)
    for kind in ("AWS access key id", "GitHub token", "password in a URL"):
        assert kind in found, kind


def test_the_detector_finds_each_kind_of_secret() -> None:
    samples = {
        "private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=",
        "AWS access key id": "aws_key=AKIAABCDEFGHIJKLMNOP",
        "GitHub token": "ghp_" + "Z" * 36,
        "GitLab token": "glpat-" + "x" * 20,
        "Slack token": "xoxb-1234567890-abc",
        "Google API key": "AIza" + "0" * 35,
        "JSON web token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX2hlcmU",
        "password in a URL": "https://deploy:hunter22@registry.example.com/v2",
        "secret-named setting": 'client_secret: "Zm9vYmFyYmF6cXV4"',
    }
    for kind, sample in samples.items():
        assert any(f": {kind}: " in f for f in findings(sample, kind)), kind
    # References are not values.
    for reference in (
        "password: ${{ secrets.REGISTRY_PASSWORD }}",
        'printf "%s" "$REGISTRY_PASSWORD"',
        "automountServiceAccountToken: false",
        "secretRef:\n  name: churn-model-env",
    ):
        assert findings(reference, "reference") == [], reference


# --- the image --------------------------------------------------------------------------


def docker(*args: str) -> str:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def image_problems(image: str, tmp_path: Path) -> list[str]:
    """Secret values in the image's config and history, credential files in its layers,
    and secret values in the files under /app (what the Dockerfile adds)."""
    config = json.loads(docker("image", "inspect", image))[0]["Config"]
    texts = [(f"ENV {item.split('=')[0]}", item) for item in config.get("Env") or []]
    texts += [
        (f"LABEL {key}", f"{key}={value}") for key, value in (config.get("Labels") or {}).items()
    ]
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    texts += [(f"history {index}", line) for index, line in enumerate(history.splitlines())]
    problems = scan(texts)
    for item in config.get("Env") or []:
        name, _, value = item.partition("=")
        if SECRET_NAME.search(name) and value:
            problems.append(f"ENV {name} has a value")
    archive = tmp_path / "image.tar"
    docker("save", "--output", str(archive), image)
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer), mode="r|*") as inner:
                for member in inner:
                    path = PurePosixPath(member.name)
                    if path.name in CREDENTIAL_FILES or ".git" in path.parts:
                        problems.append(f"file {member.name}")
                    if member.isfile() and path.parts[:1] == ("app",) and member.size < 2**20:
                        data = inner.extractfile(member)
                        text = data.read().decode("utf-8", "replace") if data else ""
                        problems += findings(text, f"file {member.name}")
    return problems


@pytest.mark.docker
def test_the_image_holds_no_secret_values(generated_image: str, tmp_path: Path) -> None:
    assert image_problems(generated_image, tmp_path) == []


@pytest.mark.docker
def test_planted_secrets_in_an_image_are_found(generated_image: str, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / ".env").write_text(f"AWS_ACCESS_KEY_ID={PLANTED['AWS_ACCESS_KEY_ID']}\n")
    (context / "Dockerfile").write_text(
        f"FROM {generated_image}\n"
        f"ENV API_TOKEN={PLANTED['API_TOKEN']}\n"
        'LABEL org.example.db="postgres://app:s3cr3t-pw@db.internal/app"\n'
        "COPY .env /app/.env\n"
    )
    leaky = f"modelrail-leaky:{uuid.uuid4().hex[:12]}"
    docker("build", "--quiet", "--tag", leaky, str(context))
    try:
        problems = "\n".join(image_problems(leaky, tmp_path))
    finally:
        docker("image", "rm", "--force", leaky)
    assert "ENV API_TOKEN" in problems
    assert "LABEL org.example.db: password in a URL" in problems
    assert "file app/.env" in problems
    assert "AWS access key id" in problems
