"""modelrail-runtime: the serving runtime of a modelrail model service.

The public API, what a model repository may import, is exactly ``__all__``; every other
module is private and may change in any release.

- Serving: `serve` (a repository's ``__main__`` calls it with its own defaults),
  `Settings`, `SettingsError`.
- Model adapters: `ModelAdapter` and `Predictor` (the two protocols a repository with an
  unusual model implements), `ModelSignature`, `TensorSpec`, `MonitoringSpec`,
  `FeatureSpec`, `TextSpec` (a free-text input) and its `TokenCounter`, `Tensor`,
  `VerifiedArtifact`, `ModelLoadError`, and `adapter_for`, the adapters that ship with the
  runtime by name (``scikit-learn``, ``xgboost``, ``lightgbm``: each behind the extra of
  the same name, ``sklearn`` for scikit-learn).
- Tabular models: `TabularSchema` (named features and the `Task`, inferred from the training
  table, with the matrix encoding training and serving share), `Feature`, `SchemaError`,
  and `TabularPredictor`, which an adapter wraps around its framework's model.
- Text models: `TextSchema` (one BYTES input of texts and the `Task`: classification or
  embedding) and `TextPredictor`, which an adapter wraps around a model of texts.
- Training and evaluation: `save_model` writes a trained model as the service loads it,
  `load_model` loads it back (hash-checked), as `SavedModel` and `LoadedModel`.
  `export_onnx` exports a PyTorch module to ONNX (torch in the training environment, the
  ``export`` extra), `check_parity` compares the graph with the module (`ParityReport`).
- Tests: `ServiceClient`, the service in the test's own process (the ``testing`` extra).
"""

import gc as _gc
from importlib import metadata as _metadata
from typing import TYPE_CHECKING

# What follows imports numpy, FastAPI (pydantic) and uvicorn: hundreds of thousands of
# objects that live as long as the process. The collector would walk them again and again
# while they are created (a tenth of the import time); it resumes once they are all there.
_collecting = _gc.isenabled()
_gc.disable()
try:
    from .adapter import (
        FeatureSpec,
        ModelAdapter,
        MonitoringSpec,
        Predictor,
        Tensor,
        TextSpec,
        TokenCounter,
    )
    from .artifacts import ModelLoadError, VerifiedArtifact
    from .frameworks import adapter_for
    from .model import LoadedModel, load_model
    from .oip.signature import ModelSignature, TensorSpec
    from .server import serve
    from .settings import Settings, SettingsError
    from .tabular import Feature, TabularPredictor, TabularSchema
    from .task import SchemaError, Task
    from .text import TextPredictor, TextSchema
    from .training import SavedModel, save_model
finally:
    if _collecting:
        _gc.enable()

if TYPE_CHECKING:
    from .export import ParityReport, check_parity, export_onnx
    from .testing import ServiceClient

try:
    __version__ = _metadata.version("modelrail-runtime")
except _metadata.PackageNotFoundError:  # a source tree on sys.path
    __version__ = "0.0.0"

__all__ = [
    "Feature",
    "FeatureSpec",
    "LoadedModel",
    "ModelAdapter",
    "ModelLoadError",
    "ModelSignature",
    "MonitoringSpec",
    "ParityReport",
    "Predictor",
    "SavedModel",
    "SchemaError",
    "ServiceClient",
    "Settings",
    "SettingsError",
    "TabularPredictor",
    "TabularSchema",
    "Task",
    "Tensor",
    "TensorSpec",
    "TextPredictor",
    "TextSchema",
    "TextSpec",
    "TokenCounter",
    "VerifiedArtifact",
    "__version__",
    "adapter_for",
    "check_parity",
    "export_onnx",
    "load_model",
    "save_model",
    "serve",
]


_EXPORT = frozenset({"ParityReport", "check_parity", "export_onnx"})


def __getattr__(name: str) -> object:
    # The test client needs httpx (the `testing` extra), which a serving image lacks.
    if name == "ServiceClient":
        from .testing import ServiceClient  # noqa: PLC0415 - httpx only when asked for

        return ServiceClient
    # Training-time tools: their modules (and the ONNX adapter's) stay out of a service's
    # start-up.
    if name in _EXPORT:
        from . import export  # noqa: PLC0415

        return getattr(export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
