"""The served model: a verified artifact, loaded by its adapter, with its reference profile.

The framework (and its heavy imports: scikit-learn, scipy, ...) is imported only when the
model is loaded, in the background, so that the server binds its port and answers
liveness within a second of starting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .adapter import ModelAdapter, MonitoringSpec, Predictor
from .artifacts import ModelLoadError, read_verified
from .frameworks import adapter_for
from .monitoring.reference_profile import ReferenceProfile, load_beside
from .oip.signature import ModelSignature, TensorSpec

PREDICTION_ID = TensorSpec("prediction_id", "BYTES", (-1,))
"""The output every model gains: one id per predicted row, for joining ground truth later.
The data plane fills it in; the prediction log records it."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve, with the identity it reports over OIP and in metrics."""

    name: str
    version: str
    platform: str
    predictor: Predictor
    reference: ReferenceProfile | None
    """The training data's profile, for drift detection (None: trained without one)."""

    @functools.cached_property
    def signature(self) -> ModelSignature:
        """The tensors the service takes and gives: the model's, and `PREDICTION_ID`."""
        return self.predictor.signature.with_output(PREDICTION_ID)

    @property
    def monitoring(self) -> MonitoringSpec:
        """What drift detection and the prediction metrics watch."""
        return self.predictor.monitoring


def load_model(
    uri: str | Path, name: str = "model", adapter: ModelAdapter | None = None
) -> LoadedModel:
    """Verify the artifact at ``uri`` against its metadata, then load it with its adapter.

    Args:
        uri: the artifacts directory (metadata.json in it), or the artifact file.
        name: the name the model is served under.
        adapter: how to load it; by default the adapter metadata.json names (``framework``).

    Raises:
        ModelLoadError: the artifact (or its reference profile) is missing, altered, or not
            loadable, or no adapter is known for it.
    """
    verified = read_verified(Path(uri))
    reference = load_beside(verified)
    if adapter is None:
        if verified.framework is None:
            raise ModelLoadError(
                f"metadata.json beside {verified.path} names no framework; re-run `make train`"
            )
        adapter = adapter_for(verified.framework)
    predictor = adapter.load(verified)
    return LoadedModel(
        name=name,
        version=verified.version,
        platform=adapter.platform,
        predictor=predictor,
        reference=reference,
    )
