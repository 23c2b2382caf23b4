"""A converter's graph cut down to what the service serves: one output, named for the task.

Converters give a classifier two outputs, the label and the probabilities; the service
computes the label from the probabilities itself, so the label output goes, with the
operators that only it needed. The score output is renamed ``probabilities`` or
``prediction`` (`onnx_tabular.SCORE_OUTPUTS`), so that the graph reads as an exported
PyTorch network does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from ...frameworks.onnx_tabular import SCORE_OUTPUTS
from ...task import TaskKind
from ..torch_onnx import strip_provenance
from .converters import GRAPH_NAME

BATCH_AXIS: Final = "batch"
"""The name of the input's and output's first axis, as `export_onnx` names it."""
# onnx.TensorProto's element types float and double.
_FLOAT: Final = 1
_DOUBLE: Final = 11


def served_graph(model: Any, kind: TaskKind) -> bytes:
    """``model`` (an onnx.ModelProto, changed in place) with one output, as bytes.

    Raises:
        ValueError: no output, or more than one, holds the scores (the message names them).
    """
    import onnx  # noqa: PLC0415 - a training dependency

    graph = model.graph
    served = SCORE_OUTPUTS[kind]
    scores = _score_output(graph.output, kind)
    _rename(graph, scores, served)
    kept = [output for output in graph.output if output.name == served]
    del graph.output[:]
    graph.output.extend(kept)
    _prune(graph)
    _name_batch_axis(graph)
    graph.name = GRAPH_NAME
    _merge_opsets(model)
    strip_provenance(model)
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString(deterministic=True)
    return data


def _score_output(outputs: Sequence[Any], kind: TaskKind) -> str:
    """The name of the output holding the scores: the one float output, or the float output
    named ``probabilities`` (as skl2onnx and onnxmltools name a classifier's)."""
    floats = [
        str(output.name)
        for output in outputs
        if output.type.tensor_type.elem_type in (_FLOAT, _DOUBLE)
    ]
    if len(floats) == 1:
        return floats[0]
    if SCORE_OUTPUTS[kind] in floats:
        return SCORE_OUTPUTS[kind]
    names = [output.name for output in outputs]
    raise ValueError(
        f"the converted graph gives the outputs {names}, of which {floats} are float: none is "
        f"the one {kind} output the service serves"
    )


def _rename(graph: Any, old: str, new: str) -> None:
    """Rename the value ``old`` to ``new`` wherever the graph produces or reads it."""
    if old == new:
        return
    taken = {name for node in graph.node for name in (*node.input, *node.output)}
    if new in taken or new in {value.name for value in graph.input}:
        raise ValueError(f"the converted graph already has a value named {new!r}")
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
        node.input[:] = [new if name == old else name for name in node.input]
    for value in (*graph.output, *graph.value_info):
        if value.name == old:
            value.name = new


def _prune(graph: Any) -> None:
    """Remove the nodes, initializers and value infos no output needs."""
    needed = {output.name for output in graph.output}
    kept = []
    # ONNX lists nodes in topological order: walking back from the outputs finds each
    # node's consumers before the node itself.
    for node in reversed(graph.node):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(_inputs(node))
    kept.reverse()
    produced = {name for node in kept for name in node.output}
    initializers = [tensor for tensor in graph.initializer if tensor.name in needed]
    value_info = [value for value in graph.value_info if value.name in produced]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.value_info[:]
    graph.value_info.extend(value_info)


def _name_batch_axis(graph: Any) -> None:
    """Name the input's and output's first axis ``batch``, as `export_onnx` names it (the
    converters leave it unnamed)."""
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = BATCH_AXIS


def _merge_opsets(model: Any) -> None:
    """One opset import per domain, the highest, sorted by domain: skl2onnx may import a
    domain twice, and lists the domains in an order that differs between processes (the
    same model then gave other bytes in another run of `make train`)."""
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        versions[opset.domain] = max(opset.version, versions.get(opset.domain, 0))
    del model.opset_import[:]
    for domain in sorted(versions):
        opset = model.opset_import.add()
        opset.domain = domain
        opset.version = versions[domain]


def _inputs(node: Any) -> Iterator[str]:
    """What ``node`` reads: its inputs, and what its subgraphs read from the outer graph."""
    yield from (name for name in node.input if name)
    for attribute in node.attribute:
        subgraphs = [attribute.g] if attribute.HasField("g") else []
        for subgraph in [*subgraphs, *attribute.graphs]:
            for inner in subgraph.node:
                yield from _inputs(inner)
