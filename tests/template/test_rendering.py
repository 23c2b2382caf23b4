"""What the template renders, for every answer set of the matrix."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.helpers import CONFORMANCE_DIR
from tests.template.answers import FEATURES, MATRIX
from tests.template.rendering import rendered_files

EXPECTED_FILES = """
.copier-answers.yml
.dockerignore
.github/CODEOWNERS
.github/pull_request_template.md
.github/rulesets/main.json
.github/workflows/ci.yml
.github/workflows/model-release.yml
.github/workflows/release.yml
.gitignore
.pre-commit-config.yaml
CONTRIBUTING.md
Dockerfile
LICENSE
Makefile
README.md
artifacts/.gitkeep
deploy/k8s/base/compaction-cronjob.yaml
deploy/k8s/base/deployment.yaml
deploy/k8s/base/hpa.yaml
deploy/k8s/base/kustomization.yaml
deploy/k8s/base/lake-configmap.yaml
deploy/k8s/base/networkpolicy.yaml
deploy/k8s/base/pdb.yaml
deploy/k8s/base/service.yaml
deploy/k8s/base/serviceaccount.yaml
deploy/k8s/base/servicemonitor.yaml
deploy/k8s/overlays/production/kustomization.yaml
deploy/k8s/overlays/staging/kustomization.yaml
docs/deploy.md
docs/evaluate.md
docs/index.md
docs/model-card.md
docs/monitor.md
docs/release.md
docs/rollback.md
docs/serve.md
docs/train.md
docs/updating.md
mkdocs.yml
monitoring/grafana/dashboards/service.json
monitoring/grafana/provisioning/dashboards/dashboards.yml
monitoring/grafana/provisioning/datasources/prometheus.yml
monitoring/lake_report.py
monitoring/prometheus/rules.yml
monitoring/tests/model_test.yml
monitoring/tests/slo_test.yml
pyproject.toml
scripts/deploy.sh
scripts/fetch-baseline.sh
scripts/promote.sh
src/{pkg}/__init__.py
src/{pkg}/__main__.py
src/{pkg}/dataset.py
src/{pkg}/estimator.py
src/{pkg}/evaluate.py
src/{pkg}/py.typed
src/{pkg}/train.py
src/{pkg}/training_config.py
tests/__init__.py
tests/conftest.py
tests/golden/infer_request.json
tests/golden/infer_response.json
tests/test_model_card.py
tests/test_monitoring_assets.py
tests/test_service.py
tests/test_training.py
uv.lock
"""

JINJA_MARKERS = re.compile(r"\{\{|\{%|\{#|#\}|%\}")
# GitHub Actions expressions look like Jinja but belong in the workflow.
GITHUB_EXPRESSION = re.compile(r"\$\{\{ [a-z][\w.-]* \}\}")
# A Go template of `docker image inspect --format`, in .gitlab-ci.yml.
DOCKER_FORMAT = "'{{ index .RepoDigests 0 }}'"
# Grafana legend templates (`{{label}}`, no spaces) name a series' labels in a dashboard.
GRAFANA_LEGEND = re.compile(r"\{\{[a-z_]+\}\}")
# Prometheus alert templates (`{{ $labels.instance }}`, `{{ $value }}`) in the rules.
PROMETHEUS_TEMPLATE = re.compile(r"\{\{ \$(labels|value)\b[^}]*\}\}")

answer_ids = pytest.mark.parametrize("answer_id", sorted(MATRIX))
TEXT_TASKS = ("text-classification", "embedding")


def answers_of(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def pyproject_of(project: Path) -> dict[str, object]:
    return tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))


@answer_ids
def test_expected_file_set(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    package = answers_of(project)["package_name"]
    expected = {line.format(pkg=package) for line in EXPECTED_FILES.split()}
    if answers_of(project)["ci_provider"] == "github+gitlab":
        expected.add(".gitlab-ci.yml")
    if answers_of(project)["model_task"] in TEXT_TASKS:
        expected.add("data/tickets.csv")  # the labelled texts; a table is generated
        expected.add("monitoring/tests/text_test.yml")
    if answers_of(project)["model_task"] != "embedding":
        # Ground truth: the performance report's CronJob and its alerts' tests.
        expected.add("deploy/k8s/base/performance-report.yaml")
        expected.add("monitoring/tests/performance_test.yml")
    actual = {path.as_posix() for path in rendered_files(project)}
    assert actual == expected


@answer_ids
def test_no_jinja_markers_remain(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    for path in rendered_files(project):
        if path.name == "uv.lock":
            continue
        text = (project / path).read_text(encoding="utf-8")
        if path.parts[:2] == (".github", "workflows"):
            text = GITHUB_EXPRESSION.sub("", text)
        if path.name == ".gitlab-ci.yml":
            text = text.replace(DOCKER_FORMAT, "")
        if path.parts[:2] == ("monitoring", "grafana") and path.suffix == ".json":
            text = GRAFANA_LEGEND.sub("", text)
        if path.parts[:2] == ("monitoring", "prometheus"):
            text = PROMETHEUS_TEMPLATE.sub("", text)
        marker = JINJA_MARKERS.search(text)
        assert marker is None, f"{path}: {text[max(0, marker.start() - 40) : marker.end() + 40]!r}"
        assert "{{" not in path.as_posix()


@answer_ids
def test_answers_are_recorded(rendered: dict[str, Path], answer_id: str) -> None:
    recorded = answers_of(rendered[answer_id])
    for question, answer in MATRIX[answer_id].items():
        assert recorded[question] == answer
    computed = {
        "runtime_version",
        "compiled",
        "native_extra",
        "runtime_extra",
        "artifact_file",
        "runtime_index_is_local",
        "text_task",
        "classifier",
        "torch_index_url",
    }
    assert not computed & set(recorded), "computed values are never asked or recorded"
    # torch_index is asked (and recorded) only when the framework is pytorch.
    assert ("torch_index" in recorded) == (recorded["model_framework"] == "pytorch")


@answer_ids
def test_conformance_parameters(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    answers = answers_of(project)
    modelrail = pyproject_of(project)["tool"]["modelrail"]  # type: ignore[index]
    assert modelrail == {
        "model_name": answers["model_name"],
        "port": 8080,
        "golden_request": "tests/golden/infer_request.json",
        "golden_response": "tests/golden/infer_response.json",
        # Labels match exactly; predicted values (the spend) to the cent; embeddings to
        # float32 noise.
        "tolerance": {"regression": 0.01, "embedding": 1e-4}.get(answers["model_task"], 1e-6),
        "startup_budget_seconds": 10,
        "shutdown_grace_seconds": 10,
        "load_delay_env": "MODEL_LOAD_DELAY_SECONDS",
        "model_uri_env": "MODEL_URI",
        "max_body_bytes": 1048576,
        "image_size_budget_mb": 800,
        "latency": {
            "p99_ms": answers["latency_slo_p99_ms"],
            "concurrency": 8,
            "warmup_requests": 200,
            "requests": 2000,
            "max_seconds": 30,
        },
    }
    golden = json.loads((project / modelrail["golden_response"]).read_text())
    assert golden["model_name"] == answers["model_name"]
    (output,) = golden["outputs"]
    request = json.loads((project / modelrail["golden_request"]).read_text())
    if answers["model_task"] == "embedding":
        assert (output["name"], output["datatype"], output["shape"]) == ("embedding", "FP32", [3, 384])
        vectors = [output["data"][row * 384 : (row + 1) * 384] for row in range(3)]
        assert [round(sum(x * x for x in vector), 3) for vector in vectors] == [1.0] * 3
        (text,) = request["inputs"]
        assert (text["name"], text["datatype"], text["shape"]) == ("text", "BYTES", [3])
        return
    if answers["model_task"] == "text-classification":
        assert output == {
            "name": "label",
            "datatype": "BYTES",
            "shape": [3],
            "data": ["billing", "technical", "shipping"],
        }
        (text,) = request["inputs"]
        assert (text["name"], text["datatype"], text["shape"]) == ("text", "BYTES", [3])
        return
    if answers["model_task"] == "classification":
        assert output == {
            "name": "label",
            "datatype": "BYTES",
            "shape": [3],
            "data": ["churned", "stayed", "stayed"],
        }
    else:
        assert (output["name"], output["datatype"], output["shape"]) == ("prediction", "FP64", [3])
        assert all(50 < value < 500 for value in output["data"]), "a spend, to the cent"
    features = [tensor["name"] for tensor in request["inputs"]]
    assert features == list(FEATURES)
    assert {tuple(tensor["shape"]) for tensor in request["inputs"]} == {(3,)}


@answer_ids
def test_python_version_selects_image_linters_and_ci(
    rendered: dict[str, Path], answer_id: str
) -> None:
    project = rendered[answer_id]
    version = str(answers_of(project)["python_version"])
    pyproject = pyproject_of(project)
    assert pyproject["project"]["requires-python"] == ">=3.11"  # type: ignore[index]
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")  # type: ignore[index]
    assert pyproject["tool"]["mypy"]["python_version"] == version  # type: ignore[index]
    assert f"ARG BASE_IMAGE=python:{version}-slim" in (project / "Dockerfile").read_text()
    assert f"BASE_IMAGE ?= python:{version}-slim" in (project / "Makefile").read_text()
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    assert ci["env"]["UV_PYTHON"] == version


@answer_ids
def test_license(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    license_answer = answers_of(project)["license"]
    text = (project / "LICENSE").read_text()
    label = re.search(
        r'org.opencontainers.image.licenses="([^"]+)"', (project / "Dockerfile").read_text()
    )
    assert label is not None
    project_table = pyproject_of(project)["project"]
    if license_answer == "Proprietary":
        assert "All rights reserved" in text
        assert "license" not in project_table  # type: ignore[operator]
        assert label.group(1) == "LicenseRef-Proprietary"
    else:
        assert {"Apache-2.0": "Apache License", "MIT": "MIT License"}[str(license_answer)] in text
        assert project_table["license"] == license_answer  # type: ignore[index]
        assert label.group(1) == license_answer


@answer_ids
def test_branch_ruleset_requires_the_ci_jobs(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    ruleset = json.loads((project / ".github/rulesets/main.json").read_text())
    rules = {rule["type"]: rule for rule in ruleset["rules"]}
    assert {"pull_request", "required_linear_history", "required_status_checks"} <= set(rules)
    required = {
        check["context"]
        for check in rules["required_status_checks"]["parameters"]["required_status_checks"]
    }
    job_names = {job["name"] for job in ci["jobs"].values()}
    assert required == job_names == {"lint", "test", "train", "build", "conformance", "sbom", "audit"}
    assert ci["permissions"] == {}
    for job in ci["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


@answer_ids
def test_codeowners_and_makefile(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    answers = answers_of(project)
    assert f"* {answers['team']}" in (project / ".github/CODEOWNERS").read_text()
    makefile = (project / "Makefile").read_text()
    for target in ("setup", "train", "evaluate", "test", "check", "serve", "image", "conformance"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert f"IMAGE ?= {answers['model_name']}:dev" in makefile
    # Rendered from this checkout (a local path): the suite comes from its conformance/.
    assert f"MODELRAIL_CONFORMANCE ?= {CONFORMANCE_DIR}" in makefile


def test_pre_commit_hooks_are_local_only(rendered: dict[str, Path]) -> None:
    config = yaml.safe_load((rendered["defaults"] / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hook_ids = {hook["id"] for hook in config["repos"][0]["hooks"]}
    assert hook_ids == {
        "ruff",
        "ruff-format",
        "mypy",
        "shellcheck",
        "check-merge-conflict",
        "refuse-rej-files",
    }
