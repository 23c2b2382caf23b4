"""The served model: load a verified artifact into something that can predict.

The framework (and its heavy imports: scikit-learn, scipy, ...) is imported only when the
model is loaded, in the background, so that the server binds its port and answers
liveness within a second of starting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .artifact import read_verified
from .frameworks.base import Predictor
from .signature import ModelSignature


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve, with the identity it reports over OIP and in metrics."""

    name: str
    version: str
    platform: str
    signature: ModelSignature
    predictor: Predictor


def load_model(artifact: Path, name: str) -> LoadedModel:
    """Verify ``artifact`` against its metadata, then load it with the framework's safe loader.

    Raises:
        ModelLoadError: the artifact is missing, altered, or not loadable.
    """
    verified = read_verified(artifact)
    from .frameworks.selected import framework  # noqa: PLC0415 - deferred on purpose, see above

    predictor = framework.deserialize(verified.data)
    return LoadedModel(
        name=name,
        version=verified.version,
        platform=framework.PLATFORM,
        signature=predictor.signature,
        predictor=predictor,
    )
