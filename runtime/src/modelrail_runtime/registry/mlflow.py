"""The MLflow model registry: log a training, register it, fetch a version verified, move aliases.

MLflow's client (``mlflow-skinny``, the runtime's ``registry`` extra) is a training and
release tool: the serving image never installs it. Every function takes the tracking URI
or reads ``MLFLOW_TRACKING_URI``, and checks first that the server answers, so that a wrong
address fails in seconds with its fix rather than after MLflow's retries.

A training is one MLflow run in the experiment named after the model: its parameters, its
held-out metrics, the data's sha256 and the artifact directory (under ``model/``, with
metadata.json). Its registered version carries the artifact's sha256 as a tag, which
`fetch` checks the downloaded bytes against, besides metadata.json.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities import Metric, Param
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ..artifacts import METADATA_FILE, ModelLoadError, VerifiedArtifact, read_verified
from .gate import Comparison, GateRule, compare_metrics
from .lineage import (
    METADATA_KEY,
    TRACKING_URI_ENV,
    ArtifactMismatchError,
    Lineage,
    ModelRef,
    RegistryError,
    parse_model_uri,
    public_uri,
)

ARTIFACT_PATH = "model"
"""Where a run keeps the artifact directory."""
SHA256_TAG = "modelrail.artifact_sha256"
DATA_SHA256_TAG = "modelrail.data_sha256"
GIT_REVISION_TAG = "modelrail.git_revision"
TEMPLATE_VERSION_TAG = "modelrail.template_version"
_PROBE_TIMEOUT_SECONDS = 5.0


def tracking_uri(explicit: str | None = None) -> str:
    """``explicit``, else ``MLFLOW_TRACKING_URI``.

    Raises:
        RegistryError: neither is set.
    """
    uri = explicit or os.environ.get(TRACKING_URI_ENV, "")
    if not uri:
        raise RegistryError(
            f"{TRACKING_URI_ENV} is not set: export it with the MLflow server's address, "
            f"e.g. {TRACKING_URI_ENV}=http://127.0.0.1:5000"
        )
    return uri


def client(uri: str | None = None) -> MlflowClient:
    """A client of the registry at ``uri`` (default ``MLFLOW_TRACKING_URI``), checked to answer.

    Raises:
        RegistryError: no URI, or an HTTP server that does not answer ``/health``.
    """
    address = tracking_uri(uri)
    if address.startswith(("http://", "https://")):
        _probe(address)
    return MlflowClient(tracking_uri=address, registry_uri=address)


def log_training(
    directory: Path,
    *,
    uri: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Lineage:
    """Log the training written in ``directory`` as a run, and register it as a new version.

    The run records metadata.json's ``params`` (with ``seed`` and ``test_size``),
    ``metrics``, the data's sha256 and ``git_revision``, ``tags``, and the directory
    itself; the version is of the registered model named ``model_name``.

    Raises:
        RegistryError: the directory's artifact does not verify, or the registry refuses.
    """
    artifact = _verified(directory, what=str(directory))
    metadata = artifact.metadata
    name = str(metadata.get("model_name") or "")
    if not name:
        raise RegistryError(f"{directory / METADATA_FILE} has no model_name; re-run `make train`")
    registry = client(uri)
    data = metadata.get("data")
    data_sha256 = str(data.get("sha256", "")) if isinstance(data, Mapping) else ""
    run_tags = {
        SHA256_TAG: artifact.sha256,
        DATA_SHA256_TAG: data_sha256,
        GIT_REVISION_TAG: str(metadata.get("git_revision", "unknown")),
        **dict(tags or {}),
    }
    with _registry_errors(f"models:/{name}"):
        run = registry.create_run(_experiment_id(registry, name), tags=run_tags)
        run_id = run.info.run_id
        registry.log_batch(
            run_id,
            metrics=[Metric(key, float(value), 0, 0) for key, value in _metrics(metadata).items()],
            params=[Param(key, value) for key, value in _params(metadata).items()],
        )
        registry.log_artifacts(run_id, str(directory), ARTIFACT_PATH)
        registry.set_terminated(run_id)
        if not registry.search_registered_models(filter_string=f"name = '{name}'"):
            registry.create_registered_model(name)
        source = f"{run.info.artifact_uri}/{ARTIFACT_PATH}"
        version = registry.create_model_version(name, source, run_id=run_id, tags=run_tags)
    return _lineage(registry, version, artifact.sha256)


def fetch(model_uri: str, into: Path, *, uri: str | None = None) -> Lineage:
    """Download the version ``model_uri`` names into ``into``, verified, with its lineage.

    The artifact's sha256 must match both metadata.json and the version's tag; only then
    is ``into`` replaced, and metadata.json there records the lineage under ``registry``.

    Raises:
        RegistryError: unknown model, version or alias; unreachable server.
        ArtifactMismatchError: the downloaded bytes are not those registered.
    """
    ref = parse_model_uri(model_uri)
    registry = client(uri)
    version = _version(registry, ref)
    recorded = version.tags.get(SHA256_TAG)
    into.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=into.parent, prefix=".fetch-") as staging:
        with _registry_errors(ref.uri):
            local = Path(
                download_artifacts(
                    artifact_uri=version.source,
                    dst_path=staging,
                    tracking_uri=registry.tracking_uri,
                )
            )
        artifact = _verified(local, what=ref.uri)
        if recorded is not None and recorded != artifact.sha256:
            raise ArtifactMismatchError(
                f"{ref.uri}: the downloaded artifact has sha256 {artifact.sha256}, but the "
                f"registered version records {recorded}; the files in the registry's store "
                "were changed after registration: register a new version with `make train`"
            )
        lineage = _lineage(registry, version, artifact.sha256)
        record_lineage(local, lineage)
        if into.exists():
            shutil.rmtree(into)
        shutil.move(str(local), into)
    return lineage


def record_lineage(directory: Path, lineage: Lineage) -> None:
    """Write ``lineage`` into ``directory``'s metadata.json under ``registry``.

    metadata.json is not hashed itself: the artifact's sha256 in it still holds.
    """
    meta_file = directory / METADATA_FILE
    metadata = json.loads(meta_file.read_text(encoding="utf-8"))
    metadata[METADATA_KEY] = lineage.as_metadata()
    meta_file.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def resolve(model_uri: str, *, uri: str | None = None) -> Lineage:
    """The lineage of the version ``model_uri`` names, without downloading it.

    Raises:
        RegistryError: unknown model, version or alias; unreachable server.
    """
    registry = client(uri)
    version = _version(registry, parse_model_uri(model_uri))
    return _lineage(registry, version, version.tags.get(SHA256_TAG, ""))


def promote(name: str, version: str, alias: str, *, uri: str | None = None) -> Lineage:
    """Point ``alias`` of ``name`` at ``version`` (moving it from where it was).

    Raises:
        RegistryError: unknown model or version; unreachable server.
    """
    registry = client(uri)
    target = _version(registry, ModelRef(name, version=version))
    with _registry_errors(f"models:/{name}@{alias}"):
        registry.set_registered_model_alias(name, alias, target.version)
    return resolve(f"models:/{name}/{version}", uri=registry.tracking_uri)


def compare(
    name: str,
    version: str,
    rule: GateRule,
    *,
    against: str = "champion",
    uri: str | None = None,
) -> Comparison:
    """Gate version ``version``'s metrics on those of the version aliased ``against``.

    No version holds the alias yet: the candidate passes, and the message says so.

    Raises:
        RegistryError: unknown model or version, a run without the metric; unreachable server.
    """
    registry = client(uri)
    candidate = _version(registry, ModelRef(name, version=version))
    champion = _aliased(registry, name, against)
    candidate_name = f"models:/{name}/{candidate.version}"
    champion_name = (
        f"models:/{name}@{against}"
        if champion is None
        else f"models:/{name}@{against} (version {champion.version})"
    )
    try:
        return compare_metrics(
            rule,
            _run_metrics(registry, candidate),
            None if champion is None else _run_metrics(registry, champion),
            candidate_name=candidate_name,
            champion_name=champion_name,
        )
    except KeyError as exc:
        raise RegistryError(
            f"{exc.args[0]}: choose a metric both runs logged (metadata.json's metrics)"
        ) from None


# --- helpers ----------------------------------------------------------------------------


def _probe(address: str) -> None:
    health = address.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=_PROBE_TIMEOUT_SECONDS):  # noqa: S310 - http(s) only
            return
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RegistryError(
            f"the MLflow server at {public_uri(address)} does not answer ({reason}): start it, "
            f"or set {TRACKING_URI_ENV} to the address of a running one"
        ) from None


@contextmanager
def _registry_errors(model_uri: str) -> Iterator[None]:
    """MLflow's exceptions as `RegistryError`s naming ``model_uri``."""
    try:
        yield
    except MlflowException as exc:
        raise RegistryError(f"{model_uri}: the registry refused ({exc.message})") from None


def _verified(directory: Path, *, what: str) -> VerifiedArtifact:
    try:
        return read_verified(directory)
    except ModelLoadError as exc:
        raise ArtifactMismatchError(f"{what}: {exc}") from None


def _experiment_id(registry: MlflowClient, name: str) -> str:
    experiment = registry.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    return str(registry.create_experiment(name))


def _version(registry: MlflowClient, ref: ModelRef) -> ModelVersion:
    if ref.alias is not None:
        found = _aliased(registry, ref.name, ref.alias)
        if found is None:
            raise RegistryError(
                f"{ref.uri}: registered model {ref.name!r} has no alias {ref.alias!r}: set it "
                f"with `python -m modelrail_runtime.registry promote {ref.name} <version> "
                f"--alias {ref.alias}`, or name a version (models:/{ref.name}/<version>)"
            )
        return found
    _require_model(registry, ref)
    try:
        return registry.get_model_version(ref.name, str(ref.version))
    except MlflowException:
        latest = _latest(registry, ref.name)
        raise RegistryError(
            f"{ref.uri}: registered model {ref.name!r} has no version {ref.version} "
            f"(latest: {latest or 'none'}): name an existing version, or register one with "
            "`make train`"
        ) from None


def _aliased(registry: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    _require_model(registry, ModelRef(name, alias=alias))
    try:
        return registry.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _require_model(registry: MlflowClient, ref: ModelRef) -> None:
    with _registry_errors(ref.uri):
        found = registry.search_registered_models(filter_string=f"name = '{ref.name}'")
    if not found:
        raise RegistryError(
            f"{ref.uri}: the registry at {public_uri(registry.tracking_uri)} has no registered "
            f"model {ref.name!r}: register one with `make train` ({TRACKING_URI_ENV} set), or "
            "check the name"
        )


def _latest(registry: MlflowClient, name: str) -> str | None:
    versions = registry.search_model_versions(filter_string=f"name = '{name}'")
    numbers = [int(version.version) for version in versions]
    return str(max(numbers)) if numbers else None


def _lineage(registry: MlflowClient, version: ModelVersion, sha256: str) -> Lineage:
    current = registry.get_model_version(version.name, version.version)
    return Lineage(
        name=current.name,
        version=str(current.version),
        run_id=str(current.run_id or ""),
        source=str(current.source),
        tracking_uri=public_uri(registry.tracking_uri),
        artifact_sha256=sha256,
        aliases=tuple(sorted(current.aliases or ())),
    )


def _run_metrics(registry: MlflowClient, version: ModelVersion) -> dict[str, float]:
    if not version.run_id:
        return {}
    with _registry_errors(f"models:/{version.name}/{version.version}"):
        return dict(registry.get_run(version.run_id).data.metrics)


def _metrics(metadata: Mapping[str, Any]) -> dict[str, float]:
    metrics = metadata.get("metrics")
    if not isinstance(metrics, Mapping):
        return {}
    return {
        str(key): float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _params(metadata: Mapping[str, Any]) -> dict[str, str]:
    params = metadata.get("params")
    record = {str(key): _param_value(value) for key, value in dict(params or {}).items()}
    for key in ("seed", "test_size"):
        if key in metadata:
            record[key] = _param_value(metadata[key])
    data = metadata.get("data")
    if isinstance(data, Mapping):
        for key in ("name", "sha256", "rows"):
            if key in data:
                record[f"data_{key}"] = _param_value(data[key])
    return record


def _param_value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
