"""The LightGBM adapter: text boosters served as tabular models, exactly as LightGBM predicts."""

from __future__ import annotations

import builtins
import re
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pytest

from modelrail_runtime import ModelLoadError, ServiceClient, adapter_for, load_model, save_model
from modelrail_runtime.artifacts import VerifiedArtifact, sha256_hex
from modelrail_runtime.frameworks import BUILT_IN
from modelrail_runtime.frameworks.lightgbm import LightGBMAdapter, check_model_text
from modelrail_runtime.tabular import TabularSchema, Task

Data = Any  # conftest's Data: a task's rows, targets and schema
Infer = Callable[[Path, dict[str, Any]], dict[str, list[Any]]]


def estimator(data: Data, **params: Any) -> lightgbm.LGBMModel:
    """The estimator a team's training fits: 20 small trees, deterministic."""
    settings: dict[str, Any] = {
        "n_estimators": 20,
        "num_leaves": 8,
        "min_child_samples": 10,
        "n_jobs": 1,
        "deterministic": True,
        "random_state": 0,
        "verbose": -1,
        **params,
    }
    if data.schema.task.classes:
        return lightgbm.LGBMClassifier(**settings)
    return lightgbm.LGBMRegressor(**settings)


def fit(data: Data, **params: Any) -> lightgbm.LGBMModel:
    """Fit on the encoded table (a classifier on the labels themselves), strings categorical."""
    return estimator(data, **params).fit(
        data.matrix, data.y_train, categorical_feature=data.schema.categorical_columns
    )


def save(directory: Path, data: Data, model: object) -> None:
    save_model(directory, LightGBMAdapter(), model, training_inputs=data.train, schema=data.schema)


def artifact(data: bytes, schema: TabularSchema | None) -> VerifiedArtifact:
    metadata = schema.as_metadata() if schema is not None else {}
    return VerifiedArtifact(
        Path("model.txt"), data, sha256_hex(data), types.MappingProxyType(metadata)
    )


def test_adapter_for_finds_it() -> None:
    adapter = adapter_for("lightgbm")
    assert isinstance(adapter, LightGBMAdapter)
    assert (adapter.name, adapter.platform, adapter.artifact_file) == (
        "lightgbm",
        "lightgbm_text",
        "model.txt",
    )
    assert BUILT_IN["lightgbm"][2] == "lightgbm"
    assert set(adapter.library_versions()) == {"python", "lightgbm", "numpy"}


@pytest.mark.parametrize("task", ["churn", "plan"])
def test_served_probabilities_and_labels_are_lightgbms(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer, task: str
) -> None:
    data = churn_data(task)
    model = fit(data)
    save(tmp_path, data, model)
    outputs = infer(tmp_path, data.held_out)
    expected = model.predict_proba(data.held_out_matrix)
    assert outputs["label"] == model.predict(data.held_out_matrix).tolist()
    served = np.reshape(outputs["probabilities"], expected.shape)
    np.testing.assert_allclose(served, expected, atol=1e-6)
    # The contract went through categorical splits (category sets, not code order).
    assert "num_cat=0" not in model.booster_.model_to_string().split("Tree=0", 1)[1][:40]
    assert outputs["label"][1] == model.predict(data.held_out_matrix[1:2])[0]


def test_served_values_are_lightgbms(
    tmp_path: Path, churn_data: Callable[[str], Data], infer: Infer
) -> None:
    data = churn_data("spend")
    model = fit(data)
    save(tmp_path, data, model)
    outputs = infer(tmp_path, data.held_out)
    np.testing.assert_allclose(
        outputs["prediction"], model.predict(data.held_out_matrix), rtol=1e-9
    )


def test_one_row_and_a_batch_agree(tmp_path: Path, churn_data: Callable[[str], Data]) -> None:
    data = churn_data("plan")
    save(tmp_path, data, fit(data))
    predictor = load_model(tmp_path).predictor
    batch = predictor.predict(data.held_out)["probabilities"]
    for row in range(3):
        one = {name: column[row : row + 1] for name, column in data.held_out.items()}
        np.testing.assert_allclose(
            predictor.predict(one)["probabilities"], batch[row : row + 1], atol=1e-12
        )


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
    # (LightGBM 4.7's eval_y takes no string labels: the integer classes here.)
    data = churn_data("plan")
    matrix, labels = data.matrix, data.y_train
    model = estimator(data, n_estimators=200).fit(
        matrix[:300],
        labels[:300],
        eval_X=(matrix[300:],),
        eval_y=(labels[300:],),
        categorical_feature=data.schema.categorical_columns,
        callbacks=[lightgbm.early_stopping(2, verbose=False)],
    )
    assert model.best_iteration_ < 200
    save(tmp_path, data, model)
    outputs = infer(tmp_path, data.held_out)
    expected = model.predict_proba(data.held_out_matrix)
    served = np.reshape(outputs["probabilities"], expected.shape)
    np.testing.assert_allclose(served, expected, atol=1e-6)


def test_the_same_training_gives_the_same_bytes(churn_data: Callable[[str], Data]) -> None:
    data = churn_data("plan")
    adapter = LightGBMAdapter()
    first = adapter.dump(fit(data))
    assert adapter.dump(fit(data)) == first
    assert adapter.dump(fit(data).booster_) == first
    assert adapter.dump(fit(data, num_leaves=4)) != first
    # The thread count training used is recorded in LightGBM's text, written as 0 here.
    assert adapter.dump(fit(data, n_jobs=2)) == first
    assert b"\n[num_threads: 0]\n" in first


def test_dump_refuses_what_is_not_lightgbm() -> None:
    with pytest.raises(TypeError, match=r"LGBMClassifier or LGBMRegressor, or a lightgbm\.Booster"):
        LightGBMAdapter().dump(object())


def test_an_artifact_without_a_schema_is_refused_with_the_fix(
    churn_data: Callable[[str], Data],
) -> None:
    data = churn_data("churn")
    with pytest.raises(ModelLoadError, match=r"records no feature schema.*re-run `make train`"):
        LightGBMAdapter().load(artifact(LightGBMAdapter().dump(fit(data)), None))


@pytest.mark.parametrize(
    ("foreign", "message"),
    [
        (b"", "does not start with a 'tree' line"),
        (b"\x80\x04K\x01.", "not UTF-8 text"),  # a pickle, which must never be loaded
        (b"{U\x07learner{}}", "does not start with a 'tree' line"),  # UBJSON (XGBoost)
        (b"PK\x03\x04" + bytes(40), "NUL"),  # a zip (skops)
        (b"tree\nversion=v4\nnum_class=1\n", "holds no tree"),
    ],
)
def test_foreign_bytes_are_refused(
    churn_data: Callable[[str], Data], foreign: bytes, message: str
) -> None:
    schema = churn_data("churn").schema
    with pytest.raises(
        ModelLoadError, match=rf"is not a LightGBM text model \(.*{message}.*LightGBMAdapter"
    ):
        LightGBMAdapter().load(artifact(foreign, schema))


def test_a_missing_openmp_runtime_is_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, churn_data: Callable[[str], Data]
) -> None:
    # LightGBM's wheel needs the system's libgomp, which slim images lack.
    schema = churn_data("churn").schema
    real_import = builtins.__import__

    def without_libgomp(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "lightgbm":
            raise OSError("libgomp.so.1: cannot open shared object file: No such file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_libgomp)
    with pytest.raises(ModelLoadError, match=r"libgomp\.so\.1.*apt-get install libgomp1"):
        LightGBMAdapter().load(artifact(b"tree\n", schema))


def tamper(data: bytes, key: str, change: Callable[[str], str], tree: int = 0) -> bytes:
    """``data`` with one field of one tree changed, and tree_sizes made to fit again."""
    text = data.decode()
    start = text.index("\nTree=") + 1
    head, body = text[:start], text[start:]
    found = re.search(r"^tree_sizes=(.*)$", head, re.MULTILINE)
    assert found is not None
    blocks = []
    for size in map(int, found.group(1).split(" ")):
        blocks.append(body[:size])
        body = body[size:]
    blocks[tree] = re.sub(
        rf"^{key}=(.*)$",
        lambda match: f"{key}={change(match.group(1))}",
        blocks[tree],
        count=1,
        flags=re.MULTILINE,
    )
    sizes = " ".join(str(len(block.encode())) for block in blocks)
    head = head.replace(found.group(0), f"tree_sizes={sizes}")
    return (head + "".join(blocks) + body).encode()


def first_replaced(value: str) -> Callable[[str], str]:
    return lambda values: " ".join([value, *values.split(" ")[1:]])


def categorical_tree(data: bytes) -> int:
    """The number of the first tree with a categorical split."""
    blocks = data.decode().split("\nTree=")[1:]
    return next(number for number, block in enumerate(blocks) if "num_cat=0" not in block)


@pytest.mark.parametrize(
    ("key", "change", "message"),
    [
        ("left_child", first_replaced("0"), "children that do not form a tree"),
        ("right_child", first_replaced("40"), "children that do not form a tree"),
        ("left_child", first_replaced("-99"), "children that do not form a tree"),
        ("split_feature", first_replaced("9"), r"splits on a feature outside 0\.\.3"),
        ("num_leaves", lambda leaves: str(int(leaves) + 5), "leaf_value has 8 values, not 13"),
        ("num_leaves", lambda leaves: "-" + leaves, "has -8 leaves"),
        ("decision_type", first_replaced("99"), r"decision types outside 0\.\.15"),
        ("is_linear", lambda _: "1", "is a linear tree"),
        ("threshold", lambda values: values + " 1", "threshold has 8 values, not 7"),
        ("cat_threshold", lambda values: values + " 7", "cat_threshold has"),
        ("cat_boundaries", first_replaced("3"), "malformed cat_boundaries"),
    ],
)
def test_tampered_trees_are_refused_before_lightgbm_reads_them(
    churn_data: Callable[[str], Data], key: str, change: Callable[[str], str], message: str
) -> None:
    # LightGBM trusts its text: these abort the process as it loads, or crash or hang it
    # at predict.
    data = churn_data("churn")
    text = LightGBMAdapter().dump(fit(data))
    number = categorical_tree(text) if key.startswith("cat_") else 0
    with pytest.raises(ModelLoadError, match=rf"not a LightGBM text model \(.*{message}"):
        LightGBMAdapter().load(artifact(tamper(text, key, change, number), data.schema))


def test_a_categorical_split_must_name_one_of_its_sets(churn_data: Callable[[str], Data]) -> None:
    data = churn_data("churn")
    text = LightGBMAdapter().dump(fit(data))
    number = categorical_tree(text)
    block = text.decode().split("\nTree=")[1 + number]
    decisions = re.search(r"^decision_type=(.*)$", block, re.M)
    assert decisions is not None
    node = next(i for i, kind in enumerate(decisions.group(1).split(" ")) if int(kind) & 1)

    def far(values: str) -> str:
        thresholds = values.split(" ")
        thresholds[node] = "99"
        return " ".join(thresholds)

    with pytest.raises(ValueError, match="categorical splits outside its num_cat sets"):
        check_model_text(tamper(text, "threshold", far, number))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace(b"tree_sizes=", b"tree_sizes=9"), "does not point at tree"),
        (lambda text: text[: len(text) // 2], "does not point at tree"),
        (lambda text: text.replace(b"\n\n\nTree=1", b"\nTree=1"), "does not end inside"),
        (lambda text: text.replace(b"max_feature_idx=3", b"max_feature_idx=0"), "feature_infos"),
        (lambda text: text.replace(b"num_class=1", b"num_class=0"), "impossible num_class"),
    ],
)
def test_tampered_headers_are_refused(
    churn_data: Callable[[str], Data], edit: Callable[[bytes], bytes], message: str
) -> None:
    data = churn_data("churn")
    tampered = edit(LightGBMAdapter().dump(fit(data)))
    with pytest.raises(ModelLoadError, match=message):
        LightGBMAdapter().load(artifact(tampered, data.schema))


def test_a_changed_artifact_is_refused_before_it_is_read(
    tmp_path: Path, churn_data: Callable[[str], Data]
) -> None:
    data = churn_data("churn")
    save(tmp_path, data, fit(data))
    text = (tmp_path / "model.txt").read_bytes()
    (tmp_path / "model.txt").write_bytes(text.replace(b"left_child=", b"left_child=0 ", 1))
    with pytest.raises(ModelLoadError, match="the artifact was changed after training"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("features", "the booster takes 3 features, the schema has 4"),
        ("categorical", r"treats columns \[\] as categorical, the schema's string features are"),
        ("classes", "the booster predicts 2 classes, the schema has 3"),
        ("task", "the schema's task is regression, the booster's objective is 'binary'"),
        ("targets", "the schema records 2 targets, a LightGBM booster predicts one"),
    ],
)
def test_a_booster_that_does_not_fit_the_schema_is_refused(
    tmp_path: Path, churn_data: Callable[[str], Data], change: str, message: str
) -> None:
    data = churn_data("churn")
    schema = data.schema
    model: Any
    if change == "features":
        model = estimator(data, n_estimators=2).fit(data.matrix[:, :3], data.y_train)
    elif change == "categorical":
        model = estimator(data, n_estimators=2).fit(data.matrix, data.y_train)
    elif change == "targets":
        data = churn_data("spend")
        model = fit(data, n_estimators=2)
        schema = TabularSchema(schema.features, Task.regression(2))
    else:
        model = fit(data, n_estimators=2)
        task = Task.classification([0, 1, 2]) if change == "classes" else Task.regression()
        schema = TabularSchema(schema.features, task)
    with pytest.raises(ModelLoadError, match=message):
        save_model(tmp_path, LightGBMAdapter(), model, training_inputs=data.train, schema=schema)


def test_the_service_reports_the_platform(
    tmp_path: Path, churn_data: Callable[[str], Data]
) -> None:
    data = churn_data("spend")
    save(tmp_path, data, fit(data, n_estimators=2))
    with ServiceClient(tmp_path, model_name="churn") as client:
        metadata = client.model_metadata()
    assert metadata["platform"] == "lightgbm_text"
    assert [spec["name"] for spec in metadata["inputs"]] == list(data.train)
