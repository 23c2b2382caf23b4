"""PyTorch to ONNX, at training time: export a module, and check the graph against it.

torch is never a dependency of the runtime: it lives in a model repository's training
environment (with onnxscript, which torch's exporter needs: ``modelrail-runtime[export]``
installs it with onnx and onnxruntime). These functions import it when called. The
service then serves the exported bytes with onnxruntime alone (`OnnxAdapter`).

A scikit-learn, XGBoost or LightGBM model is compiled to the same kind of graph
(`compile_onnx`, `check_compiled`: ``modelrail-runtime[compile]``), so that the service
serves it without its framework.
"""

from .compile import CompiledModel, CompiledParity, CompileError, check_compiled, compile_onnx
from .parity import ParityError, ParityReport, check_parity
from .torch_onnx import DEFAULT_OPSET, ExportError, export_onnx

__all__ = [
    "DEFAULT_OPSET",
    "CompileError",
    "CompiledModel",
    "CompiledParity",
    "ExportError",
    "ParityError",
    "ParityReport",
    "check_compiled",
    "check_parity",
    "compile_onnx",
    "export_onnx",
]
