"""The XGBoost adapter: UBJSON boosters served as tabular models, exactly as XGBoost predicts."""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost

from modelrail_runtime import ModelLoadError, ServiceClient, adapter_for, load_model, save_model
from modelrail_runtime.artifacts import VerifiedArtifact, sha256_hex
from modelrail_runtime.frameworks import BUILT_IN
from modelrail_runtime.frameworks.sklearn import SklearnAdapter
from modelrail_runtime.frameworks.xgboost import XGBoostAdapter, feature_types
from modelrail_runtime.tabular import TabularSchema, Task

Data = Any  # conftest's Data: a task's rows, targets and schema
Infer = Callable[[Path, dict[str, Any]], dict[str, list[Any]]]


def estimator(data: Data, **params: Any) -> xgboost.XGBModel:
    """The estimator a team's training fits: 20 small trees, string features categorical."""
    settings: dict[str, Any] = {
        "n_estimators": 20,
        "max_depth": 3,
        "tree_method": "hist",
        "enable_categorical": True,
        "feature_types": feature_types(data.schema),
        "n_jobs": 1,
        "random_state": 0,
        **params,
    }
    if data.schema.task.classes:
        return xgboost.XGBClassifier(**settings)
    return xgboost.XGBRegressor(**settings)


def fit(data: Data, **params: Any) -> xgboost.XGBModel:
    """Fit on the encoded table; a classifier on the class indices."""
    target = data.class_indices if data.schema.task.classes else data.y_train
    return estimator(data, **params).fit(data.matrix, target)


def save(directory: Path, data: Data, model: object) -> None:
    save_model(directory, XGBoostAdapter(), model, training_inputs=data.train, schema=data.schema)


def artifact(data: bytes, schema: TabularSchema | None) -> VerifiedArtifact:
    metadata = schema.as_metadata() if schema is not None else {}
    return VerifiedArtifact(
        Path("model.ubj"), data, sha256_hex(data), types.MappingProxyType(metadata)
    )


def test_adapter_for_finds_it() -> None:
    adapter = adapter_for("xgboost")
    assert isinstance(adapter, XGBoostAdapter)
    assert (adapter.name, adapter.platform, adapter.artifact_file) == (
        "xgboost",
        "xgboost_ubj",
        "model.ubj",
    )
    assert BUILT_IN["xgboost"][2] == "xgboost"
    assert set(adapter.library_versions()) == {"python", "xgboost", "numpy"}


@pytest.mark.parametrize("task", ["churn", "plan"])
def test_served_probabilities_and_labels_are_xgboosts(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer, task: str
) -> None:
    data = churn_data(task)
    model = fit(data)
    save(tmp_path, data, model)
    outputs = infer(tmp_path, data.held_out)
    expected = model.predict_proba(data.held_out_matrix)
    classes = np.asarray(data.schema.task.classes)
    assert outputs["label"] == classes[model.predict(data.held_out_matrix)].tolist()
    np.testing.assert_allclose(
        np.reshape(outputs["probabilities"], expected.shape), expected, atol=1e-6
    )
    # The categories went through the trees' categorical splits, as XGBoost's own DMatrix
    # path with the declared feature types takes them (row 1's unseen one as missing).
    booster = model.get_booster()
    assert any("split_type" in tree and 1 in tree["split_type"] for tree in _trees(booster))
    matrix = xgboost.DMatrix(
        data.held_out_matrix, feature_types=feature_types(data.schema), enable_categorical=True
    )
    native = booster.predict(matrix)
    served = np.reshape(outputs["probabilities"], expected.shape)
    np.testing.assert_allclose(served[:, -1] if native.ndim == 1 else served, native, atol=1e-6)


def test_served_values_are_xgboosts(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer
) -> None:
    data = churn_data("spend")
    model = fit(data)
    save(tmp_path, data, model)
    outputs = infer(tmp_path, data.held_out)
    np.testing.assert_allclose(
        outputs["prediction"], model.predict(data.held_out_matrix), rtol=1e-6
    )


def test_one_row_and_a_batch_agree(tmp_path: Path, churn_data: Callable[[str], Data]) -> None:
    data = churn_data("plan")
    save(tmp_path, data, fit(data))
    predictor = load_model(tmp_path).predictor
    batch = predictor.predict(data.held_out)["probabilities"]
    for row in range(3):
        one = {name: column[row : row + 1] for name, column in data.held_out.items()}
        np.testing.assert_array_equal(predictor.predict(one)["probabilities"], batch[row : row + 1])


def test_concurrent_predicts_agree(tmp_path: Path, churn_data: Callable[[str], Data]) -> None:
    # PREDICT_MODE=thread predicts on several threads at once.
    data = churn_data("churn")
    save(tmp_path, data, fit(data))
    predictor = load_model(tmp_path).predictor
    expected = predictor.predict(data.held_out)["probabilities"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: predictor.predict(data.held_out), range(32)))
    for result in results:
        np.testing.assert_array_equal(result["probabilities"], expected)


def test_early_stopping_serves_the_best_iteration(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer
) -> None:
    data = churn_data("churn")
    matrix, labels = data.matrix, data.class_indices
    model = estimator(data, n_estimators=200, early_stopping_rounds=2, eval_metric="logloss")
    model.fit(matrix[:300], labels[:300], eval_set=[(matrix[300:], labels[300:])], verbose=False)
    assert model.best_iteration + 1 < model.get_booster().num_boosted_rounds()
    save(tmp_path, data, model)
    outputs = infer(tmp_path, data.held_out)
    expected = model.predict_proba(data.held_out_matrix)
    np.testing.assert_allclose(
        np.reshape(outputs["probabilities"], expected.shape), expected, atol=1e-6
    )


def test_the_same_training_gives_the_same_bytes(churn_data: Callable[[str], Data]) -> None:
    data = churn_data("plan")
    adapter = XGBoostAdapter()
    first = adapter.dump(fit(data))
    assert adapter.dump(fit(data)) == first
    assert adapter.dump(fit(data).get_booster()) == first
    assert adapter.dump(fit(data, max_depth=2)) != first


def test_dump_refuses_what_is_not_xgboost() -> None:
    with pytest.raises(TypeError, match=r"XGBClassifier or XGBRegressor, or an xgboost\.Booster"):
        XGBoostAdapter().dump(object())


def test_an_artifact_without_a_schema_is_refused_with_the_fix(
    churn_data: Callable[[str], Data],
) -> None:
    data = churn_data("churn")
    with pytest.raises(ModelLoadError, match=r"records no feature schema.*re-run `make train`"):
        XGBoostAdapter().load(artifact(XGBoostAdapter().dump(fit(data)), None))


@pytest.mark.parametrize(
    "foreign",
    [
        b"",  # XGBoost itself aborts the process on an empty buffer
        b"\x80\x04K\x01.",  # a pickle, which must never be loaded
        b"tree\nversion=v4\n",  # a LightGBM text model
        b"PK\x03\x04" + bytes(40),  # a zip (skops)
        b'{"learner": 1}',
    ],
)
def test_foreign_bytes_are_refused(churn_data: Callable[[str], Data], foreign: bytes) -> None:
    schema = churn_data("churn").schema
    with pytest.raises(ModelLoadError, match=r"not (a loadable |an )XGBoost model.*XGBoostAdapter"):
        XGBoostAdapter().load(artifact(foreign, schema))


def _trees(booster: xgboost.Booster) -> list[dict[str, Any]]:
    model = json.loads(bytes(booster.save_raw("json")))
    return model["learner"]["gradient_booster"]["model"]["trees"]  # type: ignore[no-any-return]


def _tamper(tree: dict[str, Any], model: dict[str, Any], change: str) -> None:
    if change == "cycle":
        tree["left_children"][tree["left_children"].index(-1) - 1] = 0
    elif change == "child out of range":
        tree["right_children"][0] = 10_000
    elif change == "two parents":
        tree["left_children"][0] = tree["right_children"][0]
    elif change == "feature out of range":
        tree["split_indices"][0] = 40
    elif change == "output out of range":
        model["tree_info"][0] = 7


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("cycle", "two parents|children outside"),
        ("child out of range", "children outside its"),
        ("two parents", "a node with two parents"),
        ("feature out of range", "splits on a feature outside 0..3"),
        ("output out of range", "tree_info names outputs outside 0..0"),
    ],
)
def test_tampered_trees_are_refused_before_they_predict(
    churn_data: Callable[[str], Data], change: str, message: str
) -> None:
    # These load into XGBoost as they are, then crash, hang or corrupt memory at predict.
    data = churn_data("churn")
    model = json.loads(bytes(fit(data).get_booster().save_raw("json")))
    gbtree = model["learner"]["gradient_booster"]["model"]
    _tamper(gbtree["trees"][0], gbtree, change)
    with pytest.raises(ModelLoadError, match=rf"malformed XGBoost model.*({message})"):
        XGBoostAdapter().load(artifact(json.dumps(model).encode(), data.schema))


def test_a_changed_artifact_is_refused_before_it_is_read(
    tmp_path: Path, churn_data: Callable[[str], Data]
) -> None:
    data = churn_data("churn")
    save(tmp_path, data, fit(data))
    raw = bytearray((tmp_path / "model.ubj").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "model.ubj").write_bytes(bytes(raw))
    with pytest.raises(ModelLoadError, match="the artifact was changed after training"):
        load_model(tmp_path)


def test_another_frameworks_artifact_is_refused(
    tmp_path: Path, churn_data: Callable[[str], Data]
) -> None:
    from sklearn.linear_model import LogisticRegression

    data = churn_data("churn")
    skops = SklearnAdapter().dump(LogisticRegression().fit(data.matrix[:, :1], data.y_train))
    with pytest.raises(ModelLoadError, match="is not an XGBoost model"):
        XGBoostAdapter().load(artifact(skops, data.schema))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("features", "the booster takes 3 features, the schema has 4"),
        ("categorical", r"treats columns \[\] as categorical, the schema's string features are"),
        ("classes", "the booster predicts 2 classes, the schema has 3"),
        ("task", "the schema's task is regression, the booster's objective is 'binary:logistic'"),
    ],
)
def test_a_booster_that_does_not_fit_the_schema_is_refused(
    tmp_path: Path, churn_data: Callable[[str], Data], change: str, message: str
) -> None:
    data = churn_data("churn")
    schema = data.schema
    if change == "features":
        model: Any = xgboost.XGBClassifier(n_estimators=2).fit(
            data.matrix[:, :3], data.class_indices
        )
    elif change == "categorical":
        model = xgboost.XGBClassifier(n_estimators=2).fit(data.matrix, data.class_indices)
    else:
        model = fit(data, n_estimators=2)
        task = Task.classification([0, 1, 2]) if change == "classes" else Task.regression()
        schema = TabularSchema(schema.features, task)
    with pytest.raises(ModelLoadError, match=message):
        save_model(tmp_path, XGBoostAdapter(), model, training_inputs=data.train, schema=schema)


def test_the_service_reports_the_platform(
    tmp_path: Path, churn_data: Callable[[str], Data]
) -> None:
    data = churn_data("spend")
    save(tmp_path, data, fit(data, n_estimators=2))
    with ServiceClient(tmp_path, model_name="churn") as client:
        metadata = client.model_metadata()
    assert metadata["platform"] == "xgboost_ubj"
    assert [spec["name"] for spec in metadata["inputs"]] == list(data.train)
