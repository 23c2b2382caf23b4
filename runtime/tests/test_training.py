"""`save_model`: reproducible files, and metadata that ties them together with their hashes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from modelrail_runtime import ModelLoadError, SavedModel, adapter_for, load_model, save_model
from modelrail_runtime.artifacts import VerifiedArtifact, read_companion, sha256_hex
from modelrail_runtime.frameworks.sklearn import SklearnAdapter
from modelrail_runtime.model import PREDICTION_ID
from modelrail_runtime.tabular import TabularPredictor, TabularSchema

if TYPE_CHECKING:
    from conftest import Churn, TrainedTabular

FILES = ("model.skops", "metadata.json", "reference_profile.json")
Iris = tuple[NDArray[np.float64], NDArray[np.int64]]


def test_the_same_training_gives_the_same_bytes(
    tmp_path: Path, artifacts: Path, train_iris: Callable[[Path], SavedModel]
) -> None:
    first = train_iris(tmp_path / "a")
    second = train_iris(tmp_path / "b")
    assert first.metadata == second.metadata
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
        assert (tmp_path / "a" / name).read_bytes() == (artifacts / name).read_bytes(), name
    assert sorted(path.name for path in (tmp_path / "a").iterdir()) == sorted(FILES)


def test_metadata_records_the_files_and_their_hashes(artifacts: Path) -> None:
    metadata = json.loads((artifacts / "metadata.json").read_text())
    assert metadata["artifact"] == "model.skops"
    assert metadata["artifact_sha256"] == sha256_hex((artifacts / "model.skops").read_bytes())
    assert metadata["reference_profile"] == {
        "file": "reference_profile.json",
        "sha256": sha256_hex((artifacts / "reference_profile.json").read_bytes()),
    }


def test_metadata_records_what_the_service_and_the_model_card_need(artifacts: Path) -> None:
    metadata = json.loads((artifacts / "metadata.json").read_text())
    assert metadata["framework"] == "scikit-learn"
    assert set(metadata["libraries"]) == {"python", "scikit-learn", "skops", "numpy", "scipy"}
    assert metadata["feature_names"] == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
    ]
    assert metadata["signature"] == {
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3]},
        ],
    }
    # What the caller records is kept as it is.
    assert metadata["model_name"] == "iris"
    assert metadata["data"] == {"name": "iris", "rows": 150}


def test_the_saved_model_is_what_the_service_loads(
    tmp_path: Path, train_iris: Callable[[Path], SavedModel], iris: Iris
) -> None:
    saved = train_iris(tmp_path)
    loaded = load_model(tmp_path, name="iris")
    assert saved.version == loaded.version == saved.metadata["artifact_sha256"][:12]
    assert (loaded.name, loaded.platform) == ("iris", "sklearn_skops")
    assert loaded.predictor.signature == saved.predictor.signature
    assert loaded.signature == saved.predictor.signature.with_output(PREDICTION_ID)
    assert loaded.monitoring == saved.predictor.monitoring
    assert loaded.reference is not None
    features, _ = iris
    np.testing.assert_array_equal(
        loaded.predictor.predict({"input-0": features})["probabilities"],
        saved.predictor.predict({"input-0": features})["probabilities"],
    )


def test_load_model_takes_a_path_as_a_string_too(
    tmp_path: Path, train_iris: Callable[[Path], SavedModel]
) -> None:
    saved = train_iris(tmp_path)
    assert load_model(str(tmp_path), name="iris").version == saved.version


def test_without_feature_names_the_columns_are_numbered(tmp_path: Path, iris: Iris) -> None:
    features, labels = iris
    model = LogisticRegression(max_iter=1000).fit(features, labels)
    saved = save_model(
        tmp_path, adapter_for("scikit-learn"), model, training_inputs={"input-0": features}
    )
    assert "feature_names" not in saved.metadata
    profile = json.loads((tmp_path / "reference_profile.json").read_text())
    assert [feature["name"] for feature in profile["features"]] == [
        f"feature_{column}" for column in range(4)
    ]
    assert profile["rows"] == len(labels)


def test_a_tabular_model_records_its_features_and_task(churn_classifier: TrainedTabular) -> None:
    metadata = json.loads((churn_classifier.directory / "metadata.json").read_text())
    assert TabularSchema.from_metadata(metadata) == churn_classifier.schema
    assert metadata["task"] == {"kind": "classification", "classes": ["churned", "stayed"]}
    assert [feature["name"] for feature in metadata["features"]] == [
        "tenure_months",
        "monthly_charges",
        "contract",
        "has_support",
    ]
    assert metadata["signature"]["inputs"][2] == {
        "name": "contract",
        "datatype": "BYTES",
        "shape": [-1],
    }
    assert "feature_names" not in metadata
    loaded = load_model(churn_classifier.directory)
    assert isinstance(loaded.predictor, TabularPredictor)
    assert loaded.predictor.schema == churn_classifier.schema


def test_saving_the_same_tabular_model_gives_the_same_bytes(
    tmp_path: Path, churn: Churn, churn_classifier: TrainedTabular
) -> None:
    save_model(
        tmp_path,
        adapter_for("scikit-learn"),
        churn_classifier.model,
        training_inputs=churn.table,
        schema=churn_classifier.schema,
        metadata={"model_name": "churn"},
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (churn_classifier.directory / name).read_bytes(), (
            name
        )


# --- companion files ---------------------------------------------------------------------
class VocabularyAdapter(SklearnAdapter):
    """The scikit-learn adapter, loading a companion file too (as a text model its
    tokenizer), and noting what it read and whether it was on disk yet."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[tuple[bytes | None, bool]] = []

    def load(self, artifact: VerifiedArtifact) -> Any:
        vocabulary = read_companion(artifact, "vocabulary")
        on_disk = artifact.path.with_name("vocabulary.txt").exists()
        self.read.append((vocabulary, on_disk))
        if vocabulary is None:
            raise ModelLoadError("metadata.json records no vocabulary")
        return super().load(artifact)


VOCABULARY = {"vocabulary": ("vocabulary.txt", "sépale\npétale\n".encode())}


def fitted(iris: Iris) -> LogisticRegression:
    features, labels = iris
    return LogisticRegression(max_iter=1000).fit(features, labels)


def test_companions_are_written_hashed_and_read_by_the_adapter_before_and_after(
    tmp_path: Path, iris: Iris
) -> None:
    adapter = VocabularyAdapter()
    saved = save_model(
        tmp_path,
        adapter,
        fitted(iris),
        training_inputs={"input-0": iris[0]},
        companions=VOCABULARY,
    )
    content = VOCABULARY["vocabulary"][1]
    assert adapter.read == [(content, False)], "read from memory, before any file is written"
    assert (tmp_path / "vocabulary.txt").read_bytes() == content
    assert saved.metadata["vocabulary"] == {
        "file": "vocabulary.txt",
        "sha256": sha256_hex(content),
    }
    assert json.loads((tmp_path / "metadata.json").read_text()) == saved.metadata
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([*FILES, "vocabulary.txt"])
    load_model(tmp_path, adapter=adapter)
    assert adapter.read[-1] == (content, True), "the service reads it from disk"


def test_a_companion_changed_after_training_is_refused(tmp_path: Path, iris: Iris) -> None:
    save_model(
        tmp_path,
        VocabularyAdapter(),
        fitted(iris),
        training_inputs={"input-0": iris[0]},
        companions=VOCABULARY,
    )
    (tmp_path / "vocabulary.txt").write_text("other words\n")
    with pytest.raises(ModelLoadError, match=r"vocabulary\.txt does not match the sha256"):
        load_model(tmp_path, adapter=VocabularyAdapter())


def test_a_model_that_does_not_load_writes_nothing(tmp_path: Path, iris: Iris) -> None:
    with pytest.raises(ModelLoadError, match="records no vocabulary"):
        save_model(
            tmp_path / "artifacts",
            VocabularyAdapter(),
            fitted(iris),
            training_inputs={"input-0": iris[0]},
        )
    assert not (tmp_path / "artifacts").exists()


@pytest.mark.parametrize(
    ("companions", "message"),
    [
        ({"reference_profile": ("profile.json", b"")}, "companion key 'reference_profile'"),
        ({"signature": ("signature.json", b"")}, "companion key 'signature' is taken"),
        ({"model_name": ("name.txt", b"")}, "taken in metadata.json.*by the metadata passed"),
        ({"profile": ("reference_profile.json", b"")}, "a file name save_model"),
        ({"meta": ("metadata.json", b"")}, "a file name save_model"),
        ({"model": ("model.skops", b"")}, "a file name save_model"),
        ({"a": ("same.txt", b""), "b": ("same.txt", b"")}, "another companion takes"),
        ({"tokenizer": ("../tokenizer.json", b"")}, "give a plain file name"),
        ({"tokenizer": ("", b"")}, "give a plain file name"),
    ],
    ids=[
        "the profile's key",
        "the signature's key",
        "a key of the metadata passed",
        "the profile's file",
        "metadata.json",
        "the artifact",
        "one file twice",
        "a path",
        "no name",
    ],
)
def test_a_companion_that_would_clash_is_refused_before_anything_is_written(
    tmp_path: Path, iris: Iris, companions: dict[str, tuple[str, bytes]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        save_model(
            tmp_path / "artifacts",
            adapter_for("scikit-learn"),
            fitted(iris),
            training_inputs={"input-0": iris[0]},
            metadata={"model_name": "iris"},
            companions=companions,
        )
    assert not (tmp_path / "artifacts").exists()


def test_training_inputs_must_hold_every_input_the_model_takes(tmp_path: Path, iris: Iris) -> None:
    with pytest.raises(ValueError, match=r"no tensor for the model's input\(s\) \['input-0'\]"):
        save_model(
            tmp_path, adapter_for("scikit-learn"), fitted(iris), training_inputs={"x": iris[0]}
        )
