"""The served model: load a verified artifact into something that can predict.

The framework (and its heavy imports: scikit-learn, scipy, ...) is imported only when the
model is loaded, in the background, so that the server binds its port and answers
liveness within a second of starting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .artifact import read_verified
from .frameworks.base import MonitoringSpec, Predictor
from .reference_profile import ReferenceProfile, load_beside
from .signature import ModelSignature


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve, with the identity it reports over OIP and in metrics."""

    name: str
    version: str
    platform: str
    signature: ModelSignature
    predictor: Predictor
    monitoring: MonitoringSpec
    reference: ReferenceProfile | None
    """The training data's profile, for drift detection (None: trained without one)."""


def load_model(artifact: Path, name: str) -> LoadedModel:
    """Verify ``artifact`` against its metadata, then load it with the framework's safe loader.

    Raises:
        ModelLoadError: the artifact (or its reference profile) is missing, altered, or not
            loadable.
    """
    verified = read_verified(artifact)
    reference = load_beside(verified)
    from .frameworks.selected import framework  # noqa: PLC0415 - deferred on purpose, see above

    predictor = framework.deserialize(verified.data)
    return LoadedModel(
        name=name,
        version=verified.version,
        platform=framework.PLATFORM,
        signature=predictor.signature,
        predictor=predictor,
        monitoring=predictor.monitoring,
        reference=reference,
    )
