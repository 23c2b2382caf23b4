"""ONNX: graphs served with onnxruntime on the CPU (`modelrail-runtime[onnx]`).

The artifact is an ONNX model in protobuf bytes: operators and weights, nothing
executable (onnxruntime runs only its own registered kernels). A PyTorch module is
exported to it at training time (`modelrail_runtime.export.export_onnx`); the service
runs it without torch.

A tabular model (metadata.json records the feature schema) is a graph of one float input
``[batch, features]`` (`TabularSchema.encode`'s matrix as float32; NaN marks a missing
value or an unseen category, which the graph must handle, e.g. with ``torch.nan_to_num``)
and one output: class probabilities ``[batch, classes]`` in the schema's class order (a
binary model may give the positive class's alone, ``[batch]`` or ``[batch, 1]``), or
regression values ``[batch]``, ``[batch, 1]`` or ``[batch, targets]``. The batch axis must
be dynamic. The graph is checked against the schema at load (names, element types,
shapes), then run once on zeros to check what it gives (probabilities that sum to 1).

A sentence encoder (metadata.json records a text schema with an embedding task) is a graph
of token ids in and one L2-normalised vector per text out, with its ``tokenizer.json``
beside it (`modelrail_runtime.frameworks.onnx_text`). metadata.json also records
``max_tokens``, the longest input the encoder reads (special tokens included; 256 for
all-MiniLM-L6-v2): training passes it, ``save_model(..., metadata={"max_tokens": 256})``,
and the service truncates longer texts there, as the model was trained to.

Threads: each session runs an operator on one thread (``threads=1``) and never spins
waiting for work. A service container has one or two CPUs, which the runtime already
fills by predicting in threads or in micro-batches (``PREDICT_MODE``); onnxruntime's own
pool would compete with them for the same cores. Measured with all-MiniLM-L6-v2 on short
sentences, on two cores: a second intra-op thread cost 10-20% more CPU per embedding
(3.8-4.0 ms against 3.2-3.4 ms) and gave no more throughput than two concurrent one-thread
predicts. Raise it (``OnnxAdapter(threads=...)``, passed to ``serve(adapter=...)``) for a
large model on a machine with idle cores.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from platform import python_version
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from ..artifacts import ModelLoadError
from ..task import TaskKind
from ..text import TextPredictor, TextSchema
from . import recorded_schema, recorded_text_schema

if TYPE_CHECKING:
    from ..adapter import Predictor
    from ..artifacts import VerifiedArtifact

DEFAULT_THREADS: Final = 1
"""Threads per operator (onnxruntime's ``intra_op_num_threads``): see the module docstring."""

FLOAT_TYPES: Final[Mapping[str, np.dtype[Any]]] = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(double)": np.dtype(np.float64),
}
"""The graph element types a tabular model takes and gives, and their numpy types."""

Dim = int | str | None
"""One axis of a graph tensor: its fixed size, the name of a dynamic axis, or None (unknown)."""

_ORT_PREFIX: Final = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_FATAL_ONLY: Final = 4
"""onnxruntime's log severity: only fatal errors. Every other error reaches Python as an
exception, which the service reports in its own log format."""


@dataclass(frozen=True)
class GraphTensor:
    """An input or output as the graph declares it."""

    name: str
    element_type: str
    """onnxruntime's spelling: ``tensor(float)``, ``tensor(int64)``..."""
    shape: tuple[Dim, ...]

    def describe(self) -> str:
        """``'name' tensor(float) [batch, 4]`` for messages."""
        dims = ", ".join("?" if dim is None else str(dim) for dim in self.shape)
        return f"{self.name!r} {self.element_type} [{dims}]"

    def fixed_axis(self, axis: int) -> int | None:
        """The axis' size when the graph fixes it; None when it is dynamic (or unknown)."""
        dim = self.shape[axis]
        return dim if isinstance(dim, int) else None


class OnnxAdapter:
    """ONNX graphs, served with onnxruntime (CPU)."""

    name: Final = "onnx"
    platform: Final = "onnxruntime_onnx"
    artifact_file: Final = "model.onnx"
    REQUIRES: Final = ("onnxruntime",)

    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        """Args: threads: threads per operator (see the module docstring); at least 1."""
        self.threads = _check_threads(threads)

    def dump(self, model: object) -> bytes:
        """The model's ONNX bytes: serialised bytes as they are, or an ``onnx.ModelProto``.

        Serialising the same ModelProto gives the same bytes (no maps in ONNX, no clock);
        `export_onnx` also strips what would make an export depend on the machine.

        Raises:
            TypeError: ``model`` is neither bytes nor an onnx.ModelProto.
        """
        if isinstance(model, bytes | bytearray | memoryview):
            return bytes(model)
        if importlib.util.find_spec("onnx") is not None:
            import onnx  # noqa: PLC0415 - a training dependency, never a serving one

            if isinstance(model, onnx.ModelProto):
                data: bytes = model.SerializeToString(deterministic=True)
                return data
        raise TypeError(
            "OnnxAdapter.dump takes an ONNX model's bytes (export_onnx(...) gives them) or an "
            f"onnx.ModelProto, not {type(model).__name__}"
        )

    def load(self, artifact: VerifiedArtifact) -> Predictor:
        """A `TextPredictor` over a sentence encoder, when metadata.json records a text
        schema; a `TabularPredictor` over the graph, when it records a feature schema.

        Raises:
            ModelLoadError: the bytes are not a model onnxruntime can load; metadata.json
                records no schema (or, for an encoder, no tokenizer or ``max_tokens``); or
                the graph does not fit it (see the module docstring).
        """
        text_schema = recorded_text_schema(artifact)
        if text_schema is not None:
            return self._text_predictor(artifact, text_schema)
        from .onnx_tabular import tabular_predictor  # noqa: PLC0415 - onnxruntime loads here

        schema = recorded_schema(artifact)
        if schema is None:
            raise ModelLoadError(
                f"metadata.json beside {artifact.path} records no feature schema, which an "
                "onnx model is served with: re-run `make train` (save_model(..., "
                "schema=TabularSchema.infer(table, task)))"
            )
        session = open_session(artifact.data, threads=self.threads, where=str(artifact.path))
        return tabular_predictor(session, schema)

    def _text_predictor(self, artifact: VerifiedArtifact, schema: TextSchema) -> TextPredictor:
        """The sentence encoder with its tokenizer, counting tokens for monitoring."""
        from .onnx_text import MAX_TOKENS_KEY, load_text_encoder  # noqa: PLC0415

        if importlib.util.find_spec("tokenizers") is None:
            raise ModelLoadError(
                f"{artifact.path} is a text encoder, which needs its tokenizer: install "
                "modelrail-runtime[onnx-text] (the onnx extra serves graphs of numbers only)"
            )
        if schema.task.kind is not TaskKind.EMBEDDING:
            raise ModelLoadError(
                f"metadata.json records a text {schema.task.kind} task, but the onnx adapter "
                "serves text encoders only (an embedding task): serve a text classifier with "
                "the scikit-learn adapter, or record TextSchema(Task.embedding(<dimensions>))"
            )
        max_tokens = artifact.metadata.get(MAX_TOKENS_KEY)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 2:
            found = "none" if max_tokens is None else "a value that is not a whole number >= 2"
            raise ModelLoadError(
                f"metadata.json beside {artifact.path} records {found} under "
                f"{MAX_TOKENS_KEY!r}, the longest input the text encoder reads: pass it when "
                f"training (save_model(..., metadata={{{MAX_TOKENS_KEY!r}: 256}}) for "
                "all-MiniLM-L6-v2) and re-run `make train`"
            )
        encoder = load_text_encoder(artifact, max_tokens, threads=self.threads)
        return TextPredictor(schema, encoder, tokens=encoder.count_tokens)

    def library_versions(self) -> dict[str, str]:
        """Versions of Python and of the libraries that run the artifact."""
        versions = {"python": python_version()}
        for name in ("onnxruntime", "tokenizers", "numpy"):
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return versions


def open_session(data: bytes, *, threads: int = DEFAULT_THREADS, where: str = "model") -> Any:
    """An ``onnxruntime.InferenceSession`` on the CPU for ONNX ``data``.

    Args:
        data: the model's bytes. Weights must be inside them: onnxruntime refuses external
            data files for a model loaded from bytes.
        threads: threads per operator (``intra_op_num_threads``).
        where: what the bytes are, for messages (the artifact's path).

    Raises:
        ModelLoadError: onnxruntime cannot load the bytes (not ONNX, an operator or opset
            this onnxruntime lacks, external data, a malformed graph).
    """
    import onnxruntime  # noqa: PLC0415

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _check_threads(threads)
    # Operators run one after the other: the inter-op pool is unused; no idle spinning,
    # which would take a container's CPU from the other requests.
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = _FATAL_ONLY
    try:
        return onnxruntime.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:
        raise ModelLoadError(
            f"{where} is not an ONNX model onnxruntime {onnxruntime.__version__} can load "
            f"({ort_reason(exc)}); export it again (export_onnx) and re-run `make train`"
        ) from None


def graph_inputs(session: Any) -> tuple[GraphTensor, ...]:
    """The graph's inputs a caller feeds (initializers left out)."""
    return tuple(_tensor(node) for node in session.get_inputs())


def graph_outputs(session: Any) -> tuple[GraphTensor, ...]:
    """The graph's outputs, in order."""
    return tuple(_tensor(node) for node in session.get_outputs())


def describe(tensors: Sequence[GraphTensor]) -> str:
    """The tensors for a message: ``'x' tensor(float) [batch, 4], ...`` (or ``none``)."""
    return ", ".join(tensor.describe() for tensor in tensors) or "none"


def ort_reason(exc: Exception) -> str:
    """onnxruntime's message, first line, without its ``[ONNXRuntimeError] : 1 : FAIL :``."""
    text = str(exc).strip()
    lines = text.splitlines() or [type(exc).__name__]
    return _ORT_PREFIX.sub("", lines[0]) or type(exc).__name__


def _tensor(node: Any) -> GraphTensor:
    shape = node.shape
    dims: tuple[Dim, ...] = tuple(shape) if isinstance(shape, list | tuple) else ()
    return GraphTensor(str(node.name), str(node.type), dims)


def _check_threads(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number of at least 1, not {threads!r}")
    return threads
