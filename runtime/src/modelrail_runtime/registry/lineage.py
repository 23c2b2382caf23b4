"""What a registered model version is, named without MLflow: its URI, lineage and errors.

Nothing here imports MLflow, so that the types can be read (in metadata.json, in image
labels) where only the serving runtime is installed.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
METADATA_KEY = "registry"
"""The metadata.json key of a fetched model's `Lineage`."""

_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[0-9]+)|@(?P<alias>[\w-]+))$")


class RegistryError(Exception):
    """A registry operation cannot proceed; the message names the model URI and the fix."""


class ArtifactMismatchError(RegistryError):
    """The downloaded artifact's sha256 is not the one its version recorded."""


@dataclass(frozen=True)
class ModelRef:
    """A registered model version, by number or by alias (``models:/name/3``, ``@champion``)."""

    name: str
    version: str | None = None
    alias: str | None = None

    @property
    def uri(self) -> str:
        """The ``models:/`` URI this reference was parsed from."""
        if self.alias is not None:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}/{self.version}"


def parse_model_uri(uri: str) -> ModelRef:
    """``models:/<name>/<version>`` or ``models:/<name>@<alias>`` as a `ModelRef`.

    Raises:
        RegistryError: any other form.
    """
    match = _MODEL_URI.match(uri.strip())
    if match is None:
        raise RegistryError(
            f"{uri!r} is not a registered model URI: write models:/<name>/<version> "
            "(e.g. models:/churn-model/3) or models:/<name>@<alias> (e.g. @champion)"
        )
    return ModelRef(match["name"], version=match["version"], alias=match["alias"])


def public_uri(uri: str) -> str:
    """``uri`` without a ``user:password@`` part, fit for metadata.json and image labels."""
    parts = urllib.parse.urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Lineage:
    """Where a served model comes from in the registry."""

    name: str
    version: str
    run_id: str
    source: str
    """Where the registry keeps the version's files (its artifact URI)."""
    tracking_uri: str
    """The registry's address, without credentials."""
    artifact_sha256: str
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """The version's immutable URI: ``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"

    def as_metadata(self) -> dict[str, Any]:
        """The lineage as metadata.json records it under ``registry``."""
        return {
            "uri": self.uri,
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "source": self.source,
            "tracking_uri": self.tracking_uri,
            "artifact_sha256": self.artifact_sha256,
            "aliases": list(self.aliases),
        }
