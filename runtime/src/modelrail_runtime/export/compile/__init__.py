"""scikit-learn, XGBoost and LightGBM models compiled to ONNX, at training time.

A fitted tabular model becomes a graph the `onnx` adapter serves as it serves an exported
PyTorch network (`modelrail_runtime.frameworks.onnx`): one float32 input ``features``
``[batch, features]`` (`TabularSchema.encode`'s matrix; NaN: a missing value or an unseen
category) and one output, ``probabilities`` ``[batch, classes]`` or ``prediction``. The
service then runs onnxruntime alone: neither the framework nor its per-call checks are in
the request path, and the image needs only ``modelrail-runtime[onnx]``.

`compile_onnx` converts (skl2onnx for scikit-learn, onnxmltools for XGBoost and LightGBM,
both in ``modelrail-runtime[compile]``, imported when called) and loads the result as the
service would; `check_compiled` compares the graph with the model on held-out rows. A
model that does not compile, or whose graph answers otherwise, is served natively instead,
by its framework's adapter: `CompileError` says how.
"""

from .compiled import CompiledModel, CompileError
from .compiler import compile_onnx
from .parity import CompiledParity, check_compiled

__all__ = [
    "CompileError",
    "CompiledModel",
    "CompiledParity",
    "check_compiled",
    "compile_onnx",
]
