"""`check_parity`: the exported graph, run by onnxruntime as the service runs it, against the
module it came from.

Each output is compared row by row (a row is one input of the batch): the cosine
similarity of the two rows' values, and the largest absolute difference anywhere. An
output of one value per row (``[batch]``) is compared as one vector, the whole column:
the cosine of two single numbers says only whether their signs agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from ..frameworks.onnx import DEFAULT_THREADS, open_session
from .torch_onnx import check_eval, require_torch

if TYPE_CHECKING:
    from .compile import CompiledParity

DEFAULT_MIN_COSINE: Final = 0.9999


@dataclass(frozen=True)
class ParityReport:
    """How close the graph's outputs are to the module's, over one batch of inputs."""

    rows: int
    """The batch's rows compared."""
    min_cosine: float
    """The lowest cosine similarity of a row (1: same direction)."""
    max_abs_diff: float
    """The largest absolute difference of one value, over every output."""


class ParityError(AssertionError):
    """The graph's outputs are further from the module's (or the compiled model's) than the
    bound allows; ``report`` says by how much."""

    def __init__(self, message: str, report: ParityReport | CompiledParity | None = None) -> None:
        super().__init__(message)
        self.report = report


def check_parity(
    module: Any,
    onnx_bytes: bytes,
    inputs: Mapping[str, Any],
    *,
    min_cosine: float = DEFAULT_MIN_COSINE,
    threads: int = DEFAULT_THREADS,
) -> ParityReport:
    """Run ``module`` and the graph on ``inputs``; raise when a row differs beyond the bound.

    Args:
        module: the ``torch.nn.Module`` the graph was exported from, in eval mode.
        onnx_bytes: the exported graph (`export_onnx`).
        inputs: graph input name -> values (numpy arrays or tensors), in the order of
            ``module.forward``'s positional arguments. Use inputs the example batch did not
            cover: other batch sizes, other lengths.
        min_cosine: the lowest cosine similarity a row may have.
        threads: onnxruntime's threads per operator, as the service runs the graph.

    Returns:
        The report: rows, the lowest cosine similarity, the largest absolute difference.

    Raises:
        ParityError: the outputs differ in number or shape, or a row's cosine similarity
            is below ``min_cosine`` (or not a number).
        ValueError: ``inputs`` does not name the graph's inputs.
        ModelLoadError: onnxruntime cannot load ``onnx_bytes``.
    """
    torch = require_torch()
    check_eval(module)
    session = open_session(onnx_bytes, threads=threads, where="the exported graph")
    graph_names = [node.name for node in session.get_inputs()]
    if sorted(graph_names) != sorted(inputs):
        raise ValueError(
            f"the graph takes the inputs {graph_names}, the parity check was given "
            f"{list(inputs)}: give it exactly the graph's inputs"
        )
    arrays = {name: _numpy(value) for name, value in inputs.items()}
    rows = min((len(array) if array.ndim else 0) for array in arrays.values())
    if rows == 0:
        raise ValueError("the parity check needs inputs of at least one row each")
    with torch.inference_mode():
        result = module(*(torch.tensor(array) for array in arrays.values()))
    expected = [_numpy(tensor) for tensor in _outputs(result)]
    received = [np.asarray(output) for output in session.run(None, dict(arrays))]
    names = [node.name for node in session.get_outputs()]
    if len(expected) != len(received):
        raise ParityError(
            f"the module gives {len(expected)} outputs, the graph {len(received)} ({names})"
        )
    worst: list[tuple[float, str, int]] = []
    max_abs_diff = 0.0
    for name, want, got in zip(names, expected, received, strict=True):
        if want.shape != got.shape:
            raise ParityError(
                f"the graph's {name!r} is {list(got.shape)}, the module's {list(want.shape)}"
            )
        cosines = _cosines(want, got)
        row = int(np.argmin(np.nan_to_num(cosines, nan=-np.inf)))
        worst.append((float(cosines[row]), name, row))
        difference = np.abs(want.astype(np.float64) - got.astype(np.float64))
        max_abs_diff = max(max_abs_diff, float(np.max(difference, initial=0.0)))
    cosine, output, row = min(worst, key=lambda item: -np.inf if np.isnan(item[0]) else item[0])
    report = ParityReport(rows=rows, min_cosine=cosine, max_abs_diff=max_abs_diff)
    if not report.min_cosine >= min_cosine:
        raise ParityError(
            f"the graph's {output!r} differs from the module's: cosine similarity "
            f"{report.min_cosine:.6f} at row {row}, below {min_cosine} (largest absolute "
            f"difference {report.max_abs_diff:.3g}). Export the module in eval mode, from the "
            "same weights, and check that the example batch took the code paths these inputs "
            "take (torch.export records one path through Python branches)",
            report,
        )
    return report


def _numpy(value: Any) -> NDArray[Any]:
    if hasattr(value, "detach"):
        return np.ascontiguousarray(value.detach().cpu().numpy())
    return np.ascontiguousarray(np.asarray(value))


def _outputs(result: Any) -> list[Any]:
    if isinstance(result, tuple | list):
        return list(result)
    if isinstance(result, Mapping):
        return list(result.values())
    return [result]


def _cosines(want: NDArray[Any], got: NDArray[Any]) -> NDArray[np.float64]:
    """Per row (the whole column for one value per row): the two rows' cosine similarity."""
    a = want.astype(np.float64)
    b = got.astype(np.float64)
    if a.ndim <= 1:
        a, b = a.reshape(1, -1), b.reshape(1, -1)
    else:
        a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    dot = np.einsum("ij,ij->i", a, b)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    both_zero = (np.linalg.norm(a, axis=1) == 0) & (np.linalg.norm(b, axis=1) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosines = np.where(norms > 0, dot / norms, 0.0)
    # Two zero rows are the same; NaN anywhere stays NaN, and fails the bound.
    cosines = np.where(both_zero, 1.0, cosines)
    nan_rows = np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1)
    return np.where(nan_rows, np.nan, cosines)
