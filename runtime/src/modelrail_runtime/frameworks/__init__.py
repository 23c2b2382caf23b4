"""The framework adapters that ship with the runtime, one optional extra each.

`adapter_for` finds one by the name training recorded in metadata.json (``framework``).
Each adapter module imports its framework only when it loads or dumps a model, so that
choosing an adapter costs nothing at start-up.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Final

from ..artifacts import ModelLoadError, VerifiedArtifact
from ..tabular import SchemaError, TabularSchema
from ..text import TextSchema

if TYPE_CHECKING:
    from ..adapter import ModelAdapter

BUILT_IN: Final = {
    "scikit-learn": ("modelrail_runtime.frameworks.sklearn", "SklearnAdapter", "sklearn"),
    "xgboost": ("modelrail_runtime.frameworks.xgboost", "XGBoostAdapter", "xgboost"),
    "lightgbm": ("modelrail_runtime.frameworks.lightgbm", "LightGBMAdapter", "lightgbm"),
    "onnx": ("modelrail_runtime.frameworks.onnx", "OnnxAdapter", "onnx"),
}
"""Framework name -> (module, adapter class, the extra that installs its libraries)."""


def adapter_for(framework: str) -> ModelAdapter:
    """The built-in adapter for ``framework`` (as recorded in metadata.json).

    Raises:
        ModelLoadError: no built-in adapter has that name, or its extra is not installed.
    """
    entry = BUILT_IN.get(framework)
    if entry is None:
        known = ", ".join(sorted(BUILT_IN))
        raise ModelLoadError(
            f"no built-in adapter for framework {framework!r} (built in: {known}); "
            "pass your own adapter to serve(adapter=...)"
        )
    module_name, class_name, extra = entry
    adapter: ModelAdapter = getattr(importlib.import_module(module_name), class_name)()
    missing = adapter_missing_libraries(adapter)
    if missing:
        raise ModelLoadError(
            f"the {framework} adapter needs {', '.join(missing)}: install "
            f"modelrail-runtime[{extra}]"
        )
    return adapter


def recorded_schema(artifact: VerifiedArtifact) -> TabularSchema | None:
    """The tabular schema metadata.json records beside ``artifact`` (None: none recorded).

    Raises:
        ModelLoadError: the recorded schema is malformed.
    """
    try:
        return TabularSchema.from_metadata(artifact.metadata)
    except SchemaError as exc:
        raise ModelLoadError(str(exc)) from None


def recorded_text_schema(artifact: VerifiedArtifact) -> TextSchema | None:
    """The text schema metadata.json records beside ``artifact`` (None: none recorded).

    Raises:
        ModelLoadError: the recorded schema is malformed, or metadata.json records a tabular
            schema too (a model takes free text or named features, not both).
    """
    try:
        schema = TextSchema.from_metadata(artifact.metadata)
    except SchemaError as exc:
        raise ModelLoadError(str(exc)) from None
    if schema is not None and ("features" in artifact.metadata or "task" in artifact.metadata):
        raise ModelLoadError(
            f"metadata.json beside {artifact.path} records both a text schema and a feature "
            "schema; re-run `make train` (save_model takes one schema)"
        )
    return schema


def required_schema(artifact: VerifiedArtifact, framework: str) -> TabularSchema:
    """The tabular schema of an adapter that serves only tabular models.

    Raises:
        ModelLoadError: metadata.json records no schema, or a malformed one.
    """
    schema = recorded_schema(artifact)
    if schema is None:
        raise ModelLoadError(
            f"metadata.json beside {artifact.path} records no feature schema, which a "
            f"{framework} model is served with: re-run `make train` (save_model(..., "
            "schema=TabularSchema.infer(table, task)))"
        )
    return schema


def adapter_missing_libraries(adapter: object) -> list[str]:
    """The import names an adapter needs that cannot be found (``REQUIRES`` on its class)."""
    requires: tuple[str, ...] = getattr(adapter, "REQUIRES", ())
    return [name for name in requires if importlib.util.find_spec(name) is None]
