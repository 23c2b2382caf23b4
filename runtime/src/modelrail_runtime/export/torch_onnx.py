"""`export_onnx`: a PyTorch module as ONNX bytes, with dynamic axes, the same bytes every time.

The exporter is torch's own ``torch.onnx.export(..., dynamo=True)``: it traces the module
with ``torch.export`` and translates the graph with onnxscript (which must be installed).
It is torch's default since 2.9 and the one torch maintains; the TorchScript-based
exporter (``dynamo=False``) still exists in torch 2.13 but warns on every call that it is
deprecated and will be removed, so a training pipeline built on it would break on a torch
upgrade. Dynamic axes are given to ``torch.export`` as ``Dim.DYNAMIC``, which lets it
infer a range (BERT's sequence axis is bounded by its position embeddings) instead of
failing on a named dimension without one; the axes are then named as ``dynamic_axes``
says. torch's own ``dynamic_axes`` argument does the same but is deprecated for this
exporter.

Determinism: the exporter is deterministic for a given module and torch version, but it
records in the graph where each node came from (module paths, source lines, the traced
program's signature). Those records are removed, so that the bytes depend on the module's
weights and structure, the torch version and the opset, and not on the checkout's path.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any, Final

DEFAULT_OPSET: Final = 18
"""The ONNX opset exported by default: the one torch's exporter targets by default, run by
every onnxruntime the `onnx` extra accepts (1.20 and later)."""

PROTOBUF_LIMIT: Final = 2**31
"""The largest ONNX model protobuf can hold in one message: beyond it weights go into
external files, which the service does not load (its artifact is one verified file)."""


class ExportError(ValueError):
    """The module cannot be exported as a model the service can serve; says how to fix it."""


def export_onnx(
    module: Any,
    example_inputs: Sequence[Any],
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
    opset: int = DEFAULT_OPSET,
) -> bytes:
    """Export ``module`` (in eval mode) to ONNX bytes, ready for `OnnxAdapter.dump`.

    Args:
        module: a ``torch.nn.Module`` in eval mode (``module.eval()``: dropout off, batch
            norm on its running statistics).
        example_inputs: the positional arguments of ``module.forward`` for one example
            batch (tensors or numpy arrays); their element types are the graph's.
        input_names: the graph's name for each of them, in order.
        output_names: the graph's name for each output, in order.
        dynamic_axes: input or output name -> {axis: name} of the axes whose size varies.
            Every input and output needs its batch axis (0) there; a text model also its
            sequence axis (1). Axes with the same name have the same size.
        opset: the ONNX opset to target.

    Returns:
        The serialised model, weights included.

    Raises:
        ImportError: torch or onnxscript is not installed.
        ExportError: the module is in training mode, the names or axes do not fit the
            inputs and outputs, torch.export fixed an axis declared dynamic, or the model
            is too large for one file.
    """
    torch = require_torch()
    check_eval(module)
    names = _check_names(example_inputs, input_names, output_names, dynamic_axes)
    tensors = tuple(torch.as_tensor(value) for value in example_inputs)
    dynamic_shapes = tuple(
        {axis: torch.export.Dim.DYNAMIC for axis in dynamic_axes.get(name, {})} or None
        for name in input_names
    )
    program = torch.onnx.export(
        module,
        tensors,
        dynamo=True,
        input_names=list(input_names),
        output_names=list(output_names),
        dynamic_shapes=dynamic_shapes,
        opset_version=opset,
        external_data=False,
        optimize=True,
        verbose=False,
    )
    model = program.model_proto
    _name_axes(model, dynamic_axes, names)
    strip_provenance(model)
    if model.ByteSize() >= PROTOBUF_LIMIT:
        raise ExportError(
            f"the exported model takes {model.ByteSize() / 2**30:.1f} GiB, more than the 2 GiB "
            "one ONNX file holds: the service serves models whose weights fit in the artifact"
        )
    data: bytes = model.SerializeToString(deterministic=True)
    return data


def strip_provenance(model: Any) -> None:
    """Remove, in place, what an exporter records of where the graph came from.

    Doc strings and ``metadata_props`` of the model, its graphs (subgraphs included), its
    functions, nodes, values and initializers: source locations, module paths, the traced
    program's signature. The producer (``pytorch`` and its version) is kept.
    """
    _clear(model)
    _strip_graph(model.graph)
    for function in model.functions:
        _clear(function)
        for node in function.node:
            _strip_node(node)


def require_torch() -> Any:
    """The torch module, once torch and onnxscript are known to be installed."""
    missing = [name for name in ("torch", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"export_onnx needs {' and '.join(missing)} in the training environment: install "
            "torch (CPU wheels: https://download.pytorch.org/whl/cpu) and "
            "modelrail-runtime[export] (onnxscript, onnx, onnxruntime)"
        )
    import torch  # noqa: PLC0415 - a training dependency, never a serving one

    return torch


def check_eval(module: Any) -> None:
    """Raise `ExportError` when ``module`` is in training mode."""
    if getattr(module, "training", False):
        raise ExportError(
            f"the {type(module).__name__} is in training mode (dropout on, batch norm updating "
            "its statistics): call module.eval() before exporting or comparing it"
        )


def _check_names(
    example_inputs: Sequence[Any],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
) -> set[str]:
    if len(example_inputs) != len(input_names):
        raise ExportError(
            f"{len(example_inputs)} example inputs and {len(input_names)} input names: name "
            "each positional argument of forward, in order"
        )
    names = [*input_names, *output_names]
    if len(set(names)) != len(names):
        raise ExportError(f"the input and output names {names} repeat a name: name each once")
    unknown = sorted(set(dynamic_axes) - set(names))
    if unknown:
        raise ExportError(
            f"dynamic_axes names {unknown}, which are neither inputs {list(input_names)} nor "
            f"outputs {list(output_names)}"
        )
    without_batch = [name for name in names if 0 not in dynamic_axes.get(name, {})]
    if without_batch:
        raise ExportError(
            f"{without_batch} have no dynamic batch axis; the service predicts batches of any "
            "size: give every input and output one (dynamic_axes={"
            + ", ".join(f"{name!r}: {{0: 'batch'}}" for name in names)
            + "})"
        )
    return set(names)


def _name_axes(model: Any, dynamic_axes: Mapping[str, Mapping[int, str]], names: set[str]) -> None:
    """Name the graph's dynamic axes as ``dynamic_axes`` says; refuse any left fixed."""
    values = {value.name: value for value in (*model.graph.input, *model.graph.output)}
    renames: dict[str, str] = {}
    for name in sorted(names):
        dims = values[name].type.tensor_type.shape.dim
        for axis, axis_name in dynamic_axes.get(name, {}).items():
            if axis >= len(dims):
                raise ExportError(
                    f"dynamic_axes gives {name!r} an axis {axis}, but it has {len(dims)} axes"
                )
            dim = dims[axis]
            if not dim.HasField("dim_param"):
                raise ExportError(
                    f"torch.export fixed axis {axis} of {name!r} ({axis_name}) at "
                    f"{dim.dim_value}: the module's code depends on that size (a reshape to a "
                    "constant, a loop over it...); make it follow the input's shape, or export "
                    "with another example size to see where"
                )
            renames.setdefault(dim.dim_param, axis_name)
    graph = model.graph
    for value in (*graph.input, *graph.output, *graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") and dim.dim_param in renames:
                dim.dim_param = renames[dim.dim_param]


def _clear(item: Any) -> None:
    if hasattr(item, "doc_string"):
        item.doc_string = ""
    if hasattr(item, "metadata_props"):
        del item.metadata_props[:]


def _strip_graph(graph: Any) -> None:
    _clear(graph)
    for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
        _clear(value)
    for node in graph.node:
        _strip_node(node)


def _strip_node(node: Any) -> None:
    _clear(node)
    for attribute in node.attribute:
        if attribute.HasField("g"):
            _strip_graph(attribute.g)
        for subgraph in attribute.graphs:
            _strip_graph(subgraph)
