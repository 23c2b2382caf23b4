"""compile_onnx and check_compiled: each framework's model, compiled, answers as it does.

Every (framework, task) pair is compiled, checked on held-out rows with missing numbers
and an unseen category, saved with the onnx adapter and served back; the refusals name
the estimator and say what to do instead.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from compile_models import FRAMEWORKS, TASKS, Data, data_for
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import NearestCentroid

from modelrail_runtime import adapter_for, load_model, save_model
from modelrail_runtime.export import (
    CompiledModel,
    CompiledParity,
    CompileError,
    ParityError,
    check_compiled,
    compile_onnx,
)
from modelrail_runtime.export.compile.graph import _merge_opsets
from modelrail_runtime.tabular import TabularSchema, Task, TaskKind

Fitted = Callable[[str, str], tuple[Any, Data]]
PAIRS = [(framework, task) for framework in FRAMEWORKS for task in TASKS]
PROBABILITY_TOLERANCE = 1e-6
CONVERTER = {"scikit-learn": "skl2onnx", "xgboost": "onnxmltools", "lightgbm": "onnxmltools"}


@pytest.fixture(scope="module")
def compiled() -> dict[tuple[str, str], CompiledModel]:
    """Compiled models by (framework, task), filled by the first test that compiles one."""
    return {}


def compile_pair(
    fitted: Fitted, compiled: dict[tuple[str, str], CompiledModel], framework: str, task: str
) -> tuple[Any, Data, CompiledModel]:
    model, data = fitted(framework, task)
    if (framework, task) not in compiled:
        compiled[framework, task] = compile_onnx(model, data.schema)
    return model, data, compiled[framework, task]


def native(model: Any, data: Data) -> np.ndarray[Any, Any]:
    if data.schema.task.kind is TaskKind.REGRESSION:
        return np.asarray(model.predict(data.held_out_matrix), dtype=np.float64)
    return np.asarray(model.predict_proba(data.held_out_matrix), dtype=np.float64)


@pytest.mark.parametrize(("framework", "task"), PAIRS)
def test_the_graph_answers_as_the_model_does_on_held_out_rows(
    fitted: Fitted, compiled: dict[tuple[str, str], CompiledModel], framework: str, task: str
) -> None:
    model, data, result = compile_pair(fitted, compiled, framework, task)
    matrix = data.held_out_matrix
    # The held-out rows hold what training never saw: missing numbers, an unseen category.
    assert np.isnan(matrix[:, 0]).any()
    assert np.isnan(matrix[:, data.schema.categorical_columns]).any()

    report = check_compiled(model, result, data.schema, matrix)

    assert isinstance(report, CompiledParity)
    assert report.rows == len(matrix)
    if task == "regression":
        assert report.max_rel_diff is not None
        assert report.max_rel_diff <= 1e-5
        assert report.label_mismatches is None
    else:
        assert report.max_abs_diff <= PROBABILITY_TOLERANCE
        assert report.label_mismatches == 0
    assert check_compiled(model, result.onnx, data.schema, matrix) == report


@pytest.mark.parametrize(("framework", "task"), PAIRS)
def test_the_graph_takes_the_features_and_gives_one_output(
    fitted: Fitted, compiled: dict[tuple[str, str], CompiledModel], framework: str, task: str
) -> None:
    *_, result = compile_pair(fitted, compiled, framework, task)

    graph = onnx.load_from_string(result.onnx).graph

    assert [value.name for value in graph.input] == ["features"]
    features = graph.input[0].type.tensor_type
    assert features.elem_type == onnx.TensorProto.FLOAT
    assert [dim.dim_param or dim.dim_value for dim in features.shape.dim] == ["batch", 4]
    served = "prediction" if task == "regression" else "probabilities"
    assert [value.name for value in graph.output] == [served]


@pytest.mark.parametrize(("framework", "task"), PAIRS)
def test_the_saved_graph_serves_what_the_model_predicts(
    fitted: Fitted,
    compiled: dict[tuple[str, str], CompiledModel],
    tmp_path: Path,
    framework: str,
    task: str,
) -> None:
    model, data, result = compile_pair(fitted, compiled, framework, task)
    save_model(
        tmp_path,
        adapter_for("onnx"),
        result.onnx,
        schema=data.schema,
        training_inputs=data.train,
        metadata={"compiled": result.as_metadata()},
    )

    served = load_model(tmp_path).predictor.predict(data.held_out)

    expected = native(model, data)
    if task == "regression":
        np.testing.assert_allclose(served["prediction"], expected, rtol=1e-5)
    else:
        classes = np.asarray(data.schema.task.classes, dtype=object)
        assert served["label"].tolist() == classes[np.argmax(expected, axis=1)].tolist()
        np.testing.assert_allclose(
            served["probabilities"], expected, rtol=0, atol=PROBABILITY_TOLERANCE
        )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_same_model_compiles_to_the_same_bytes(fitted: Fitted, framework: str) -> None:
    model, data = fitted(framework, "multiclass")

    first = compile_onnx(model, data.schema)
    second = compile_onnx(model, data.schema)

    assert first.onnx == second.onnx
    assert first == second


def test_opset_imports_are_merged_and_sorted_whatever_order_the_converter_gives() -> None:
    # skl2onnx lists the domains in an order that differs between processes.
    orders = ([("ai.onnx.ml", 1), ("", 13), ("", 11)], [("", 13), ("ai.onnx.ml", 1)])
    merged = []
    for order in orders:
        model = onnx.helper.make_model(
            onnx.helper.make_graph([], "g", [], []),
            opset_imports=[onnx.helper.make_opsetid(domain, version) for domain, version in order],
        )
        _merge_opsets(model)
        merged.append(model.SerializeToString(deterministic=True))
        assert [(o.domain, o.version) for o in model.opset_import] == [("", 13), ("ai.onnx.ml", 1)]
    assert merged[0] == merged[1]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_source_and_its_versions_are_recorded(fitted: Fitted, framework: str) -> None:
    model, data = fitted(framework, "binary")

    result = compile_onnx(model, data.schema)

    assert result.source == framework
    assert sorted(result.source_versions) == sorted([framework, CONVERTER[framework], "onnx"])
    assert result.source_versions["onnx"] == onnx.__version__
    assert result.as_metadata() == {
        "source": framework,
        "source_versions": result.source_versions,
    }


def test_the_parity_report_records_what_applies_to_the_task() -> None:
    classification = CompiledParity(rows=3, max_abs_diff=1e-7, label_mismatches=0)
    regression = CompiledParity(rows=3, max_abs_diff=1e-4, max_rel_diff=1e-7)

    assert classification.as_metadata() == {"rows": 3, "max_abs_diff": 1e-7, "label_mismatches": 0}
    assert regression.as_metadata() == {"rows": 3, "max_abs_diff": 1e-4, "max_rel_diff": 1e-7}


# --- refusals -----------------------------------------------------------------------------
class MajorityVote(ClassifierMixin, BaseEstimator):
    """A team's own estimator: a scikit-learn class no converter knows."""

    def fit(self, matrix: Any, target: Any) -> MajorityVote:
        self.classes_ = np.unique(target)
        self.n_features_in_ = matrix.shape[1]
        return self

    def predict_proba(self, matrix: Any) -> Any:
        return np.full((len(matrix), len(self.classes_)), 1 / len(self.classes_))


@pytest.mark.parametrize("estimator", [MajorityVote(), NearestCentroid()])
def test_an_estimator_skl2onnx_cannot_convert_is_refused_with_the_fallback(
    estimator: Any,
) -> None:
    data = data_for("binary")
    model = estimator.fit(np.nan_to_num(data.matrix), data.target)

    with pytest.raises(CompileError) as error:
        compile_onnx(model, data.schema)

    message = str(error.value)
    assert message.startswith(f"{type(estimator).__name__} cannot be compiled to ONNX: skl2onnx")
    assert "adapter_for('scikit-learn')" in message
    assert "modelrail-runtime[sklearn]" in message


def test_an_unknown_model_type_is_refused() -> None:
    data = data_for("binary")

    with pytest.raises(CompileError, match=r"^dict cannot be compiled .* unknown model type"):
        compile_onnx({"weights": [1.0]}, data.schema)


def test_classes_other_than_the_class_indices_are_refused_naming_both() -> None:
    data = data_for("binary")
    labels = np.asarray(data.schema.task.classes, dtype=object)[data.target]
    model = LogisticRegression().fit(np.nan_to_num(data.matrix), labels)

    with pytest.raises(CompileError) as error:
        compile_onnx(model, data.schema)

    message = str(error.value)
    assert "classes_ are ['leaves', 'stays']" in message
    assert "the schema's classes ['stays', 'leaves'] need classes_ [0, 1]" in message


def test_a_classifier_of_fewer_classes_than_the_schema_is_refused(fitted: Fitted) -> None:
    model, _ = fitted("lightgbm", "binary")
    schema = data_for("multiclass").schema

    with pytest.raises(CompileError, match=r"classes_ are \[0, 1\].* need classes_ \[0, 1, 2\]"):
        compile_onnx(model, schema)


def test_a_regressor_for_a_classification_schema_is_refused() -> None:
    data = data_for("binary")
    model = Ridge().fit(np.nan_to_num(data.matrix), data.target)

    with pytest.raises(
        CompileError, match=r"^Ridge .* it is a regressor, but the schema's task is classification"
    ):
        compile_onnx(model, data.schema)


def test_a_classifier_for_a_regression_schema_is_refused(fitted: Fitted) -> None:
    model, _ = fitted("xgboost", "binary")
    schema = data_for("regression").schema

    with pytest.raises(
        CompileError, match=r"^XGBClassifier .* it is a classifier, but the schema's task is"
    ):
        compile_onnx(model, schema)


def test_a_model_fitted_on_other_columns_is_refused(fitted: Fitted) -> None:
    model, data = fitted("lightgbm", "regression")
    wider = TabularSchema.infer({**data.train, "extra": data.train["age"]}, Task.regression())

    with pytest.raises(CompileError, match=r"fitted on 4 columns, the schema has 5 features"):
        compile_onnx(model, wider)


# --- the parity check can fail ------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS)
def test_the_graph_of_another_model_fails_the_parity_check(fitted: Fitted, task: str) -> None:
    model, data = fitted("lightgbm", task)
    other, _ = fitted("scikit-learn", task)
    graph = compile_onnx(other, data.schema)

    with pytest.raises(ParityError, match=r"differs? from the LGBM\w+'s at row \d+") as error:
        check_compiled(model, graph, data.schema, data.held_out_matrix)

    report = error.value.report
    assert isinstance(report, CompiledParity)
    assert report.rows == len(data.held_out_matrix)
    bound = "relative_tolerance" if task == "regression" else "probability_tolerance"
    assert bound in str(error.value)


def test_a_tight_bound_fails_on_float32_rounding(fitted: Fitted) -> None:
    model, data = fitted("scikit-learn", "regression")
    graph = compile_onnx(model, data.schema)

    with pytest.raises(ParityError, match=r"natively, .* from the graph \(difference"):
        check_compiled(model, graph, data.schema, data.held_out_matrix, relative_tolerance=1e-12)


def test_rows_of_other_features_are_refused(fitted: Fitted) -> None:
    model, data = fitted("scikit-learn", "binary")
    graph = compile_onnx(model, data.schema)

    with pytest.raises(ValueError, match=r"held-out rows \[rows, 4\] .* not an array of shape"):
        check_compiled(model, graph, data.schema, data.held_out_matrix[:, :3])


def test_the_export_package_imports_without_the_converters() -> None:
    code = (
        "import sys, modelrail_runtime.export\n"
        "print(sorted({'skl2onnx', 'onnxmltools', 'onnx', 'sklearn'} & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
