"""The scikit-learn adapter: any fitted classifier, its signature read from the model."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelrail_runtime import ModelLoadError, ServiceClient, adapter_for, save_model
from modelrail_runtime.artifacts import VerifiedArtifact, sha256_hex
from modelrail_runtime.frameworks import BUILT_IN
from modelrail_runtime.frameworks.sklearn import (
    DEFAULT_TRUSTED_TYPES,
    SklearnAdapter,
    SklearnPredictor,
)


class ThresholdedClassifier(LogisticRegression):
    """A type of the team's own: not one skops trusts by default."""


def classification(features: int, classes: int) -> tuple[NDArray[Any], NDArray[Any]]:
    return make_classification(  # type: ignore[no-any-return]
        n_samples=120,
        n_features=features,
        n_informative=3,
        n_redundant=0,
        n_classes=classes,
        random_state=0,
    )


def load(data: bytes, adapter: SklearnAdapter | None = None, **metadata: Any) -> SklearnPredictor:
    artifact = VerifiedArtifact(
        Path("model.skops"), data, sha256_hex(data), MappingProxyType(metadata)
    )
    return (adapter or SklearnAdapter()).load(artifact)


def serve_and_infer(directory: Path, rows: NDArray[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    with ServiceClient(directory, model_name="other") as client:
        metadata = client.model_metadata()
        tensor = {"name": "input-0", "datatype": "FP64", "shape": list(rows.shape)}
        response = client.infer({"inputs": [{**tensor, "data": rows.tolist()}]})
    assert response.status_code == 200
    return metadata, {output["name"]: output for output in response.json()["outputs"]}


def test_adapter_for_finds_the_built_in_adapter() -> None:
    adapter = adapter_for("scikit-learn")
    assert isinstance(adapter, SklearnAdapter)
    assert (adapter.name, adapter.platform, adapter.artifact_file) == (
        "scikit-learn",
        "sklearn_skops",
        "model.skops",
    )
    assert adapter.trusted_types == DEFAULT_TRUSTED_TYPES
    assert set(adapter.library_versions()) == {"python", "scikit-learn", "skops", "numpy", "scipy"}
    assert list(BUILT_IN) == ["scikit-learn", "xgboost", "lightgbm", "onnx"]


def test_an_unknown_framework_is_refused_with_the_way_out() -> None:
    with pytest.raises(ModelLoadError) as error:
        adapter_for("catboost")
    assert (
        "no built-in adapter for framework 'catboost' (built in: lightgbm, onnx, scikit-learn, "
        "xgboost)" in str(error.value)
    )
    assert "serve(adapter=...)" in str(error.value)


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SklearnAdapter, "REQUIRES", ("sklearn", "no_such_library_xyz"))
    with pytest.raises(
        ModelLoadError, match=r"needs no_such_library_xyz: install modelrail-runtime\[sklearn\]"
    ):
        adapter_for("scikit-learn")


def test_another_classifier_is_served_with_its_own_signature(tmp_path: Path) -> None:
    x, y = classification(features=6, classes=2)
    model = LogisticRegression().fit(x, y)
    save_model(tmp_path, SklearnAdapter(), model, training_inputs={"input-0": x})
    metadata, outputs = serve_and_infer(tmp_path, x[:2])
    assert metadata["inputs"][0]["shape"] == [-1, 6]
    assert metadata["outputs"][1]["shape"] == [-1, 2]
    assert outputs["label"]["data"] == model.predict(x[:2]).tolist()
    assert np.allclose(outputs["probabilities"]["data"], model.predict_proba(x[:2]).ravel())


def test_a_random_forest_loads_by_default(tmp_path: Path) -> None:
    # skops leaves sklearn.tree._tree.Tree out of its defaults; the adapter trusts it.
    x, y = classification(features=4, classes=3)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)
    save_model(tmp_path, SklearnAdapter(), forest, training_inputs={"input-0": x})
    _, outputs = serve_and_infer(tmp_path, x[:3])
    assert outputs["label"]["data"] == forest.predict(x[:3]).tolist()
    assert np.allclose(outputs["probabilities"]["data"], forest.predict_proba(x[:3]).ravel())


def test_an_unknown_type_is_refused_naming_it_and_trusted_types() -> None:
    x, y = classification(features=4, classes=2)
    data = SklearnAdapter().dump(ThresholdedClassifier().fit(x, y))
    name = f"{ThresholdedClassifier.__module__}.ThresholdedClassifier"
    with pytest.raises(ModelLoadError) as error:
        load(data)
    assert f"outside the allow-list: {name}" in str(error.value)
    assert "trusted_types" in str(error.value)
    trusting = SklearnAdapter(trusted_types=[*DEFAULT_TRUSTED_TYPES, name])
    assert load(data, trusting).predict({"input-0": x[:1]})["label"].shape == (1,)


def test_without_the_tree_type_trusted_a_forest_is_refused() -> None:
    x, y = classification(features=4, classes=2)
    data = SklearnAdapter().dump(RandomForestClassifier(n_estimators=2, random_state=0).fit(x, y))
    with pytest.raises(ModelLoadError, match=r"sklearn\.tree\._tree\.Tree.*trusted_types"):
        load(data, SklearnAdapter(trusted_types=()))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (LinearRegression(), "classifier with predict_proba"),
        (LogisticRegression(), "classes other than 0..k-1"),
    ],
)
def test_models_it_cannot_serve_are_refused(model: Any, message: str) -> None:
    x, y = classification(features=4, classes=2)
    with pytest.raises(ModelLoadError, match=message):
        load(SklearnAdapter().dump(model.fit(x, y + 1)))


def test_bytes_that_are_not_a_skops_file_are_refused() -> None:
    with pytest.raises(ModelLoadError, match="not a loadable skops file"):
        load(b"\x80\x04K\x01.")  # a pickle, which must never be loaded


def test_the_same_model_gives_the_same_bytes() -> None:
    x, y = classification(features=4, classes=3)
    adapter = SklearnAdapter()
    first = adapter.dump(LogisticRegression(random_state=1).fit(x, y))
    second = adapter.dump(LogisticRegression(random_state=1).fit(x, y))
    assert first == second
    assert adapter.dump(LogisticRegression(C=0.5, random_state=1).fit(x, y)) != first


def test_feature_names_come_from_the_metadata_when_they_fit() -> None:
    x, y = classification(features=4, classes=2)
    data = SklearnAdapter().dump(LogisticRegression().fit(x, y))
    named = load(data, feature_names=["a", "b", "c", "d"])
    assert [feature.name for feature in named.monitoring.features] == ["a", "b", "c", "d"]
    unnamed = load(data, feature_names=["a", "b"])
    assert [feature.name for feature in unnamed.monitoring.features] == [
        f"feature_{column}" for column in range(4)
    ]
    assert named.monitoring.classes == (0, 1)
    assert (named.monitoring.class_output, named.monitoring.score_output) == (
        "label",
        "probabilities",
    )


def test_predict_gives_labels_and_probabilities_per_row(artifacts: Path) -> None:
    predictor = load((artifacts / "model.skops").read_bytes())
    outputs = predictor.predict({"input-0": np.array([[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]])})
    assert outputs["label"].dtype == np.int64
    assert outputs["label"].tolist() == [0, 2]
    assert outputs["probabilities"].shape == (2, 3)
    np.testing.assert_allclose(outputs["probabilities"].sum(axis=1), 1.0)
