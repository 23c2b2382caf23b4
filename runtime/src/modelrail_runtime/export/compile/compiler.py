"""`compile_onnx`: a fitted tabular model as the ONNX graph the service serves.

Before converting, the model is checked against the schema it will be served with: a
classifier for a classification task (a regressor for regression), fitted on as many
columns as the schema has features, and, for a classifier, on the class indices 0..k-1
in the schema's class order. A graph gives probabilities by column; the service names
column i ``schema.task.classes[i]``, so a model fitted on anything else would answer with
the wrong labels, silently. After converting, the graph is loaded as the service loads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...artifacts import ModelLoadError
from ...frameworks.onnx import open_session
from ...frameworks.onnx_tabular import tabular_predictor
from ...tabular import TabularSchema, TaskKind
from .compiled import CompiledModel, CompileError, converter_reason, refuse
from .converters import CONVERTERS, source_of
from .graph import served_graph


def compile_onnx(model: object, schema: TabularSchema) -> CompiledModel:
    """Compile a fitted scikit-learn, XGBoost or LightGBM model to ONNX.

    Args:
        model: the fitted model: a scikit-learn estimator or Pipeline, or an XGBoost or
            LightGBM scikit-learn model (XGBClassifier, LGBMRegressor...), fitted on
            ``schema.encode(table)``; a classifier on the class indices (0..k-1, in the
            order of ``schema.task.classes``).
        schema: the features and task it is served with.

    Returns:
        The graph (input ``features`` float32 ``[batch, features]``; output
        ``probabilities`` ``[batch, classes]`` or ``prediction``), the framework, and the
        versions it was compiled with. The same model and versions give the same bytes.

    Raises:
        CompileError: the model is of no framework that compiles, does not fit the schema,
            or the converter cannot convert it; the message says how to serve it instead.
        ImportError: the converter is not installed (``modelrail-runtime[compile]``).
    """
    source = source_of(model)
    if source is None:
        raise refuse(
            model,
            f"it is an unknown model type (class {type(model).__module__}."
            f"{type(model).__qualname__}), neither scikit-learn, XGBoost nor LightGBM",
        )
    converter = CONVERTERS[source]
    converter.require()
    classifier = _check_task(model, schema, source)
    _check_features(model, schema, source)
    if classifier:
        _check_classes(model, schema, source)
    try:
        graph = converter.convert(model, len(schema.features), classifier)
        data = served_graph(graph, schema.task.kind)
    except CompileError:
        raise
    except Exception as exc:
        reason = f"{converter.converter_module} cannot convert it ({converter_reason(exc)})"
        raise refuse(model, reason, source) from exc
    try:
        tabular_predictor(open_session(data, where="the compiled graph"), schema)
    except ModelLoadError as exc:
        reason = f"the compiled graph does not load as the service loads it ({exc})"
        raise refuse(model, reason, source) from None
    return CompiledModel(onnx=data, source=source, source_versions=converter.versions())


def _check_task(model: Any, schema: TabularSchema, source: str) -> bool:
    """Whether ``model`` classifies; refused when that is not the schema's task."""
    from sklearn.base import is_classifier, is_regressor  # noqa: PLC0415 - skl2onnx needs it

    classifier = bool(is_classifier(model)) and hasattr(model, "predict_proba")
    if schema.task.kind is TaskKind.CLASSIFICATION and not classifier:
        what = "a regressor" if is_regressor(model) else "no classifier with predict_proba"
        classes = list(schema.task.classes)
        raise refuse(
            model,
            f"it is {what}, but the schema's task is classification of {classes}",
            source,
            fix="compile a classifier fitted on the class indices, or infer the schema with "
            "Task.regression()",
        )
    if schema.task.kind is TaskKind.REGRESSION and not is_regressor(model):
        what = "a classifier" if classifier else "no regressor"
        raise refuse(
            model,
            f"it is {what}, but the schema's task is regression",
            source,
            fix="compile a regressor, or infer the schema with Task.classification(classes)",
        )
    return classifier


def _check_features(model: Any, schema: TabularSchema, source: str) -> None:
    fitted = getattr(model, "n_features_in_", None)
    if isinstance(fitted, int) and fitted != len(schema.features):
        names = ", ".join(feature.name for feature in schema.features)
        raise refuse(
            model,
            f"it was fitted on {fitted} columns, the schema has {len(schema.features)} "
            f"features ({names})",
            source,
            fix="fit it on schema.encode(table), one column per feature",
        )


def _check_classes(model: Any, schema: TabularSchema, source: str) -> None:
    classes = np.asarray(getattr(model, "classes_", []))
    expected = np.arange(len(schema.task.classes))
    if classes.dtype.kind not in "iuf" or not np.array_equal(classes, expected):
        raise refuse(
            model,
            f"its classes_ are {classes.tolist()}, but the schema's classes "
            f"{list(schema.task.classes)} need classes_ {expected.tolist()}: the graph gives "
            "probabilities by column, and the service names column i schema.task.classes[i]",
            source,
            fix="fit it on the class indices, the index of each row's label in "
            "schema.task.classes (0..k-1)",
        )
