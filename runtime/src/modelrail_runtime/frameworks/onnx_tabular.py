"""A tabular ONNX graph: checked against the schema at load, served by `TabularPredictor`.

What the graph must look like is in `modelrail_runtime.frameworks.onnx`'s docstring. The
graph's declared shapes are checked first (a fixed size that differs from the schema is
refused with both named); dynamic sizes are then checked on what one run on rows of zeros
gives, along with whether a classifier's scores are probabilities.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..artifacts import ModelLoadError
from ..tabular import MatrixModel, TabularPredictor, TabularSchema, Task, TaskKind
from .onnx import FLOAT_TYPES, GraphTensor, describe, graph_inputs, graph_outputs, ort_reason

SCORE_OUTPUTS: Final = {TaskKind.CLASSIFICATION: "probabilities", TaskKind.REGRESSION: "prediction"}
"""The output served when a graph gives several: named after the task's scores."""
PROBE_ROWS: Final = 2
SUM_TOLERANCE: Final = 1e-3
"""How far from 1 a row of float32 probabilities may sum."""

_RETRAIN: Final = "export the module again on schema.encode(table) and re-run `make train`"


def tabular_predictor(session: Any, schema: TabularSchema) -> TabularPredictor:
    """``session``'s graph served with ``schema``'s named features and task.

    Raises:
        ModelLoadError: the graph does not fit the schema; the message names what differs.
    """
    return TabularPredictor(schema, tabular_model(session, schema))


def tabular_model(session: Any, schema: TabularSchema) -> MatrixModel:
    """``session``'s graph as the function `TabularPredictor` calls: the encoded matrix in,
    the served output's scores out (the parity check of a compiled model runs this too).

    Raises:
        ModelLoadError: the graph does not fit the schema; the message names what differs.
    """
    features = _check_input(graph_inputs(session), schema)
    output = _check_output(graph_outputs(session), schema.task)
    model = _matrix_model(session, features, output)
    _probe(model, schema, output)
    return model


def expected_output(task: Task) -> str:
    """The shapes a graph's output may have for ``task``, for messages."""
    if task.kind is TaskKind.REGRESSION:
        if task.targets == 1:
            return "[batch] or [batch, 1] (one value per row)"
        return f"[batch, {task.targets}] (one value per target)"
    classes = len(task.classes)
    text = f"[batch, {classes}] (the probabilities of {list(task.classes)}, in that order)"
    if classes == 2:
        text += f", or [batch] or [batch, 1] (the probability of {task.classes[1]!r})"
    return text


def _check_input(inputs: tuple[GraphTensor, ...], schema: TabularSchema) -> GraphTensor:
    count = len(schema.features)
    wanted = f"one float32 input [batch, {count}], the matrix of schema.encode(table)"
    if len(inputs) != 1:
        raise ModelLoadError(
            f"the graph takes {len(inputs)} inputs ({describe(inputs)}); a tabular model "
            f"takes {wanted}: export a module whose forward takes that matrix"
        )
    tensor = inputs[0]
    if tensor.element_type not in FLOAT_TYPES:
        raise ModelLoadError(
            f"the graph's input is {tensor.describe()}; a tabular model takes {wanted}: export "
            "with the matrix as float32 (torch.from_numpy(matrix.astype('float32')))"
        )
    if len(tensor.shape) != 2:
        raise ModelLoadError(f"the graph's input is {tensor.describe()}; it must be {wanted}")
    _check_batch_axis(tensor)
    columns = tensor.fixed_axis(1)
    if columns is not None and columns != count:
        names = ", ".join(feature.name for feature in schema.features)
        raise ModelLoadError(
            f"the graph's input {tensor.describe()} takes {columns} features, the schema has "
            f"{count} ({names}): {_RETRAIN}"
        )
    return tensor


def _check_output(outputs: tuple[GraphTensor, ...], task: Task) -> GraphTensor:
    name = SCORE_OUTPUTS[task.kind]
    if len(outputs) == 1:
        tensor = outputs[0]
    else:
        named = [tensor for tensor in outputs if tensor.name == name]
        if not named:
            raise ModelLoadError(
                f"the graph gives {len(outputs)} outputs ({describe(outputs)}): a tabular "
                f"model gives one, or names the one to serve {name!r} "
                f"(export_onnx(..., output_names=[{name!r}, ...]))"
            )
        tensor = named[0]
    wanted = expected_output(task)
    if tensor.element_type not in FLOAT_TYPES or len(tensor.shape) not in (1, 2):
        raise ModelLoadError(
            f"the graph's output is {tensor.describe()}; for a {task.kind} task it must be "
            f"float {wanted}"
        )
    _check_batch_axis(tensor)
    width = 1 if len(tensor.shape) == 1 else tensor.fixed_axis(1)
    if width is not None and width not in _widths(task):
        raise ModelLoadError(
            f"the graph's output is {tensor.describe()}; for the schema's {task.kind} task "
            f"it must be {wanted}: {_RETRAIN}"
        )
    return tensor


def _widths(task: Task) -> tuple[int, ...]:
    """The numbers of columns an output may have for ``task`` (1: also one dimension)."""
    if task.kind is TaskKind.REGRESSION:
        return (task.targets,)
    classes = len(task.classes)
    return (classes, 1) if classes == 2 else (classes,)


def _check_batch_axis(tensor: GraphTensor) -> None:
    size = tensor.fixed_axis(0)
    if size is not None:
        raise ModelLoadError(
            f"the graph's {tensor.describe()} has a fixed batch size of {size}; the service "
            "predicts batches of any size: export with a dynamic batch axis (export_onnx(..., "
            f"dynamic_axes={{{tensor.name!r}: {{0: 'batch'}}, ...}}))"
        )


def _matrix_model(session: Any, features: GraphTensor, output: GraphTensor) -> MatrixModel:
    dtype = FLOAT_TYPES[features.element_type]
    names = [output.name]
    feed = features.name
    run = session.run

    def scores(matrix: NDArray[np.float64]) -> NDArray[Any]:
        # InferenceSession.run is thread-safe and releases the GIL: threads and the
        # batching thread predict concurrently on one session.
        return np.asarray(run(names, {feed: matrix.astype(dtype)})[0])

    return scores


def _probe(model: MatrixModel, schema: TabularSchema, output: GraphTensor) -> None:
    """Run the graph on rows of zeros: what it gives must fit the task."""
    task = schema.task
    matrix = np.zeros((PROBE_ROWS, len(schema.features)), dtype=np.float64)
    where = f"on {PROBE_ROWS} rows of zeros [{PROBE_ROWS}, {len(schema.features)}]"
    try:
        scores = model(matrix)
    except Exception as exc:
        raise ModelLoadError(f"the graph fails {where} ({ort_reason(exc)}): {_RETRAIN}") from None
    width = 1 if scores.ndim == 1 else scores.shape[1] if scores.ndim == 2 else -1
    if scores.shape[:1] != (PROBE_ROWS,) or width not in _widths(task):
        raise ModelLoadError(
            f"the graph's output {output.name!r} is {list(scores.shape)} {where}; for the "
            f"schema's {task.kind} task it must be {expected_output(task)}: {_RETRAIN}"
        )
    values = scores.astype(np.float64)
    if not np.isfinite(values).all():
        raise ModelLoadError(
            f"the graph's output {output.name!r} holds NaN or infinity {where}: {_RETRAIN}"
        )
    if task.kind is TaskKind.REGRESSION:
        return
    outside = (values < 0).any() or (values > 1).any()
    unsummed = width > 1 and bool((np.abs(values.sum(axis=1) - 1) > SUM_TOLERANCE).any())
    if outside or unsummed:
        raise ModelLoadError(
            f"the graph's output {output.name!r} gives no probabilities {where} (values "
            f"outside 0..1, or rows that do not sum to 1): end the module with softmax over "
            "the classes (sigmoid for the positive class alone), then " + _RETRAIN
        )
