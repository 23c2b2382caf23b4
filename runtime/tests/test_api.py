"""The public API is exactly `modelrail_runtime.__all__`, documented, and light to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import modelrail_runtime

README = Path(__file__).parents[1] / "README.md"

PUBLIC = [
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


def test_the_public_api_is_exactly_all() -> None:
    assert sorted(modelrail_runtime.__all__) == PUBLIC
    for name in modelrail_runtime.__all__:
        assert getattr(modelrail_runtime, name) is not None, name


def test_every_public_name_is_in_the_readme_table() -> None:
    readme = README.read_text(encoding="utf-8")
    for name in PUBLIC:
        if name != "__version__":
            assert f"`{name}" in readme, f"{name} is not documented in runtime/README.md"


def test_the_version_is_the_distributions() -> None:
    assert modelrail_runtime.__version__ != "0.0.0"


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = modelrail_runtime.NoSuchThing


def test_importing_and_choosing_an_adapter_loads_no_framework_and_no_test_client() -> None:
    # A serving image has no httpx; the framework is imported only when a model loads, so
    # that the server answers liveness within a second of starting.
    code = (
        "import sys, modelrail_runtime\n"
        "modelrail_runtime.adapter_for('scikit-learn')\n"
        "modelrail_runtime.adapter_for('onnx')\n"
        "heavy = {'sklearn', 'skops', 'scipy', 'httpx', 'pyarrow', 'onnxruntime', 'tokenizers',\n"
        "         'onnx', 'torch'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_importing_the_server_loads_no_framework_no_pyarrow_and_no_export_tools() -> None:
    # Everything imported before the port binds delays readiness: pyarrow waits for the
    # prediction log's first flush, a framework for the model's load, the export tools
    # for training.
    code = (
        "import sys, modelrail_runtime.server\n"
        "heavy = {'sklearn', 'scipy', 'pyarrow', 'onnxruntime', 'onnx', 'torch', 'tokenizers',\n"
        "         'httpx2', 'modelrail_runtime.export', 'modelrail_runtime.frameworks.onnx',\n"
        "         'modelrail_runtime.testing'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_the_export_tools_are_still_there_when_asked_for() -> None:
    from modelrail_runtime.export import check_parity, export_onnx

    assert modelrail_runtime.export_onnx is export_onnx
    assert modelrail_runtime.check_parity is check_parity
    assert modelrail_runtime.ParityReport.__name__ == "ParityReport"
