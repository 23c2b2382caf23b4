"""The generated Kubernetes manifests: rendered by kustomize, valid, and as the docs say.

Every overlay of every matrix answer set is rendered with kustomize (`kubectl kustomize`)
and each object validated against the Kubernetes JSON schemas of two versions (strict:
unknown fields are errors); the ServiceMonitor, a CRD the schemas lack, against the subset
of its CRD schema the base uses. Then the properties the deploy depends on: probes and
grace period from [tool.modelrail], the image's user, GPU scheduling, selectors, the
prediction logs in object storage and the compaction job.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from tests.template.answers import MATRIX
from tests.template.cicd.tools import kubectl, run_tool

KUBERNETES_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
ENVIRONMENTS = ("staging", "production")
KINDS = {
    "ServiceAccount",
    "Deployment",
    "Service",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ServiceMonitor",
    "NetworkPolicy",
    "ConfigMap",
    "CronJob/compact",
}
# The daily performance report: every task with ground truth (not embeddings).
PERFORMANCE_REPORT_KINDS = {"CronJob/performance-report"}
DIGEST = "sha256:" + "ab" * 32

# monitoring.coreos.com/v1 ServiceMonitor, the part of its CRD schema the base uses.
DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
LABEL_SELECTOR = {
    "type": "object",
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array"},
    },
    "additionalProperties": False,
}
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": LABEL_SELECTOR,
                "namespaceSelector": {"type": "object"},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                        },
                    },
                },
            },
        },
    },
}

answer_ids = pytest.mark.parametrize("answer_id", sorted(MATRIX))


def kustomize(directory: Path) -> list[dict[str, Any]]:
    proc = run_tool([kubectl(), "kustomize", str(directory)])
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def render_release(project: Path, environment: str, image: str) -> list[dict[str, Any]]:
    """What scripts/deploy.sh would apply (its `render` command, with the real kubectl)."""
    proc = run_tool(
        ["scripts/deploy.sh", "render", environment, image],
        cwd=project,
        env={
            "PATH": "/usr/bin:/bin",
            "KUBECTL": kubectl(),
            "VERSION": "1.2.3",
            "REVISION": "0" * 40,
            "MODEL_VERSION": "0123456789ab",
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert not list((project / "deploy" / "k8s").glob(".release.*")), "temporary dir left"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def validate(objects: list[dict[str, Any]]) -> list[str]:
    """Schema errors of every object, for every Kubernetes version tested."""
    errors = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if obj.get("kind") == "ServiceMonitor":
            validator = jsonschema.Draft202012Validator(SERVICE_MONITOR_SCHEMA)
            errors += [f"{name}: {error.message}" for error in validator.iter_errors(obj)]
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
                errors.append(f"{name} (Kubernetes {version}): {exc}")
    return errors


def kind_of(obj: dict[str, Any]) -> str:
    """The object's kind; for a CronJob (one per job) ``CronJob/<its container's name>``."""
    if obj["kind"] != "CronJob":
        return str(obj["kind"])
    (container,) = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return f"CronJob/{container['name']}"


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {kind_of(obj): obj for obj in objects}
    assert len(kinds) == len(objects), "one object per kind (and per job)"
    return kinds


def contract(project: Path) -> dict[str, Any]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    return pyproject["tool"]["modelrail"]


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def expected_kinds(answers: dict[str, Any]) -> set[str]:
    embedding = answers.get("model_task") == "embedding"
    return KINDS if embedding else KINDS | PERFORMANCE_REPORT_KINDS


@pytest.fixture(scope="module")
def overlays(rendered: dict[str, Path]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {
        (answer_id, environment): kustomize(project / "deploy" / "k8s" / "overlays" / environment)
        for answer_id, project in rendered.items()
        for environment in ENVIRONMENTS
    }


@answer_ids
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_overlays_render_into_valid_objects(
    overlays: dict[tuple[str, str], list[dict[str, Any]]], answer_id: str, environment: str
) -> None:
    objects = overlays[answer_id, environment]
    assert {kind_of(obj) for obj in objects} == expected_kinds(MATRIX[answer_id])
    assert validate(objects) == []


@answer_ids
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_release_renders_pinned_and_labelled(
    rendered: dict[str, Path], answer_id: str, environment: str
) -> None:
    project = rendered[answer_id]
    answers = answers_of(project)
    image = f"{answers['container_registry']}/{answers['model_name']}@{DIGEST}"
    objects = render_release(project, environment, image)
    assert validate(objects) == []
    deployment = by_kind(objects)["Deployment"]
    template = deployment["spec"]["template"]
    assert [c["image"] for c in template["spec"]["containers"]] == [image]
    for name, job in by_kind(objects).items():
        if name.startswith("CronJob/"):
            job_pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            assert [c["image"] for c in job_pod["containers"]] == [image], f"{name} runs the release"
    for obj in (*objects, template):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/version"] == "1.2.3"
        assert labels["modelrail.dev/model-version"] == "0123456789ab"
        assert labels["environment"] == environment
        assert obj["metadata"]["annotations"]["modelrail.dev/revision"] == "0" * 40
    # Release labels never enter a selector (selectors are immutable).
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": answers["model_name"]
    }
    cause = deployment["metadata"]["annotations"]["kubernetes.io/change-cause"]
    assert cause == f"release 1.2.3, image {image}"
    namespaces = {obj["metadata"]["namespace"] for obj in objects}
    expected = answers["k8s_namespace"] if environment == "production" else None
    assert len(namespaces) == 1
    if expected:
        assert namespaces == {expected}
    else:
        assert namespaces.pop().endswith("-staging")


@answer_ids
def test_probes_and_shutdown_follow_the_contract(
    overlays: dict[tuple[str, str], list[dict[str, Any]]],
    rendered: dict[str, Path],
    answer_id: str,
) -> None:
    params = contract(rendered[answer_id])
    pod = by_kind(overlays[answer_id, "production"])["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port == {"http": params["port"]}
    startup, ready, live = (
        container["startupProbe"], container["readinessProbe"], container["livenessProbe"]
    )
    assert startup["httpGet"] == ready["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert live["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    startup_window = startup["periodSeconds"] * startup["failureThreshold"]
    assert startup_window == 2 * params["startup_budget_seconds"]
    # Health answers within 1 s (contract rule HLT-003); probes never wait longer than that.
    assert ready["timeoutSeconds"] == startup["timeoutSeconds"] == 1
    env = {item["name"]: item["value"] for item in container["env"]}
    assert int(env["PORT"]) == params["port"]
    prestop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    drain, graceful = float(env["DRAIN_SECONDS"]), float(env["GRACEFUL_TIMEOUT_SECONDS"])
    # The app exits within the contract's grace after SIGTERM...
    assert drain + graceful <= params["shutdown_grace_seconds"]
    # ...and the kubelet waits for the preStop pause plus that grace before SIGKILL.
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > prestop + params["shutdown_grace_seconds"]
    assert grace > prestop + drain + graceful


@answer_ids
def test_pods_run_restricted_as_the_images_user(
    overlays: dict[tuple[str, str], list[dict[str, Any]]],
    rendered: dict[str, Path],
    answer_id: str,
) -> None:
    dockerfile = (rendered[answer_id] / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert user is not None, "the Dockerfile's USER is numeric"
    uid, gid = map(int, user.groups())
    pod = by_kind(overlays[answer_id, "production"])["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "fsGroup": gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]]["emptyDir"]["medium"] == "Memory"
    # Prediction logs go to object storage, not to a volume that dies with the pod.
    assert set(mounts) == {"/tmp"}
    assert "hostPath" not in str(volumes)
    for resources in (container["resources"]["requests"], container["resources"]["limits"]):
        assert {"cpu", "memory"} <= set(resources)


@answer_ids
def test_the_accelerator_answer_schedules_on_gpus(
    overlays: dict[tuple[str, str], list[dict[str, Any]]],
    rendered: dict[str, Path],
    answer_id: str,
) -> None:
    gpu = answers_of(rendered[answer_id])["accelerator"] == "nvidia-gpu"
    pod = by_kind(overlays[answer_id, "production"])["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    resources = container["resources"]
    if gpu:
        assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == 1
        assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
            "tolerations"
        ]
    else:
        assert "nvidia.com/gpu" not in str(resources)
        assert "nodeSelector" not in pod
        assert "tolerations" not in pod


@answer_ids
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_objects_select_each_other(
    overlays: dict[tuple[str, str], list[dict[str, Any]]], answer_id: str, environment: str
) -> None:
    kinds = by_kind(overlays[answer_id, environment])
    deployment, service = kinds["Deployment"], kinds["Service"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selected = deployment["spec"]["selector"]["matchLabels"]
    assert selected.items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selected
    assert kinds["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"] == selected
    monitor = kinds["ServiceMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    assert {endpoint["port"] for endpoint in monitor["endpoints"]} <= service_ports
    assert monitor["endpoints"][0]["path"] == "/metrics"
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    # The autoscaler owns the replica count: an applied `replicas` would reset it.
    assert "replicas" not in deployment["spec"]
    service_account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert service_account == kinds["ServiceAccount"]["metadata"]["name"]


@answer_ids
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_prediction_logs_go_to_object_storage_with_credentials_from_a_secret(
    overlays: dict[tuple[str, str], list[dict[str, Any]]],
    rendered: dict[str, Path],
    answer_id: str,
    environment: str,
) -> None:
    model = answers_of(rendered[answer_id])["model_name"]
    kinds = by_kind(overlays[answer_id, environment])
    lake = kinds["ConfigMap"]
    assert lake["metadata"]["name"] == f"{model}-lake"
    for variable, table in (
        ("PREDICTION_LOG_URL", "predictions"),
        ("LABELS_URL", "labels"),
        ("PERFORMANCE_URL", "performance"),
    ):
        assert lake["data"][variable] == f"s3://model-lake/{model}/{environment}/{table}"
    assert not any("SECRET" in key or "ACCESS_KEY" in key for key in lake["data"])
    assert "Secret" not in {obj["kind"] for obj in overlays[answer_id, environment]}
    job = kinds["CronJob/compact"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (service,) = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    (compact,) = job["containers"]
    for container in (service, compact):
        sources = container["envFrom"]
        # The URL and region from the ConfigMap; credentials from a Secret that must exist.
        assert {"configMapRef": {"name": f"{model}-lake"}} in sources
        assert {"secretRef": {"name": f"{model}-lake"}} in sources
        assert "AWS_SECRET_ACCESS_KEY" not in str(container.get("env", []))


@answer_ids
def test_the_compaction_job_runs_daily_hardened_like_the_service(
    overlays: dict[tuple[str, str], list[dict[str, Any]]],
    answer_id: str,
) -> None:
    kinds = by_kind(overlays[answer_id, "production"])
    cron = kinds["CronJob/compact"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["timeZone"] == "Etc/UTC"
    minute, hour, *every = cron["schedule"].split()
    assert every == ["*", "*", "*"] and minute.isdigit() and hour.isdigit(), "once a day"
    pod_template = cron["jobTemplate"]["spec"]["template"]
    job, service = pod_template["spec"], kinds["Deployment"]["spec"]["template"]["spec"]
    assert job["securityContext"] == service["securityContext"]
    assert job["automountServiceAccountToken"] is False
    assert job["restartPolicy"] == "Never"
    (compact,) = job["containers"]
    assert compact["securityContext"] == service["containers"][0]["securityContext"]
    for resources in (compact["resources"]["requests"], compact["resources"]["limits"]):
        assert {"cpu", "memory"} <= set(resources)
    # Every table written in small files: the prediction logs, and the labels if any.
    tables = ["PREDICTION_LOG_URL"] + ([] if "CronJob/performance-report" not in kinds else ["LABELS_URL"])
    assert compact["command"] == [
        "python3", "-m", "modelrail_runtime.lake", "compact", *(f"$({t})" for t in tables)
    ]
    # $(VAR) expands only variables the container defines: the URLs are, by name.
    env = {item["name"]: item for item in compact["env"]}
    for table in tables:
        reference = env[table]["valueFrom"]["configMapKeyRef"]
        assert reference == {"name": kinds["ConfigMap"]["metadata"]["name"], "key": table}
    # The job's pods are no service pods: nothing that selects those selects them.
    labels = pod_template["metadata"]["labels"]
    for selector in (
        kinds["Deployment"]["spec"]["selector"]["matchLabels"],
        kinds["Service"]["spec"]["selector"],
        kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
    ):
        assert not selector.items() <= labels.items()


@answer_ids
def test_the_performance_report_runs_daily_restricted_with_the_lakes_settings(
    overlays: dict[tuple[str, str], list[dict[str, Any]]],
    rendered: dict[str, Path],
    answer_id: str,
) -> None:
    kinds = by_kind(overlays[answer_id, "production"])
    if answers_of(rendered[answer_id])["model_task"] == "embedding":
        assert "CronJob/performance-report" not in kinds
        return
    cronjob, config = kinds["CronJob/performance-report"], kinds["ConfigMap"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert len(cronjob["spec"]["schedule"].split()) == 5
    deployment_pod = kinds["Deployment"]["spec"]["template"]["spec"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    # As hardened as the service's pods, and never selected by the service's objects.
    assert pod["securityContext"] == deployment_pod["securityContext"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    (server,) = deployment_pod["containers"]
    assert container["securityContext"] == server["securityContext"]
    for resources in (container["resources"]["requests"], container["resources"]["limits"]):
        assert {"cpu", "memory"} <= set(resources)
    assert container["image"] == server["image"]
    # Its options default to the ConfigMap's variables.
    assert container["command"] == ["python3", "-m", "modelrail_runtime.lake", "performance"]
    pod_labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not kinds["Service"]["spec"]["selector"].items() <= pod_labels.items()
    sources = container["envFrom"]
    config_maps = [ref["configMapRef"]["name"] for ref in sources if "configMapRef" in ref]
    secrets = [ref["secretRef"]["name"] for ref in sources if "secretRef" in ref]
    assert config_maps == [config["metadata"]["name"]]
    # The lake's credentials, the Secret the service reads them from too.
    assert secrets == [config["metadata"]["name"]]
    assert {"secretRef": {"name": secrets[0]}} in server["envFrom"]
    lake = {"PREDICTION_LOG_URL", "LABELS_URL", "PERFORMANCE_URL", "PUSHGATEWAY_URL"}
    assert lake <= set(config["data"])


# --- the validators fail broken inputs --------------------------------------------------


def test_schema_validation_fails_broken_objects(
    overlays: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    objects = overlays["defaults", "production"]
    deployment = by_kind(objects)["Deployment"]
    broken_type = yaml.safe_load(yaml.safe_dump(deployment))
    broken_type["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "twenty"
    unknown_field = yaml.safe_load(yaml.safe_dump(deployment))
    unknown_field["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    monitor = yaml.safe_load(yaml.safe_dump(by_kind(objects)["ServiceMonitor"]))
    monitor["spec"]["endpoints"][0]["interval"] = "thirty seconds"
    errors = validate([broken_type, unknown_field, monitor])
    assert any("twenty" in error for error in errors)
    assert any("livenessProbes" in error for error in errors)
    assert any("thirty seconds" in error for error in errors)


def test_kustomize_fails_a_broken_overlay(rendered: dict[str, Path], tmp_path: Path) -> None:
    k8s = tmp_path / "k8s"
    shutil.copytree(rendered["defaults"] / "deploy" / "k8s", k8s)
    staging = k8s / "overlays" / "staging" / "kustomization.yaml"
    staging.write_text(staging.read_text().replace("  - ../../base\n", "  - ../../base\n  - missing.yaml\n"))
    proc = run_tool([kubectl(), "kustomize", str(staging.parent)])
    assert proc.returncode != 0
    assert "missing.yaml" in proc.stderr
