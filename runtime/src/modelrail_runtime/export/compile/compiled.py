"""`CompiledModel`, what `compile_onnx` gives, and `CompileError`, when it gives nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

ONNX_OPSET: Final = 15
"""The default-domain opset every compiled graph targets. It is the highest onnxmltools'
XGBoost and LightGBM converters accept (1.16 refuses 16 and above), and one opset for the
three frameworks keeps a compiled graph's operators independent of where it came from;
every onnxruntime the ``onnx`` extra accepts (1.20 and later) runs it. The converters emit
the lowest opset their operators need, up to this one."""
ML_OPSET: Final = 2
"""The ``ai.onnx.ml`` opset (linear models, trees, imputer, one-hot encoder) given to
skl2onnx: the one released with `ONNX_OPSET` (ONNX 1.10), which onnxmltools pairs with it
itself. It is a ceiling: every model measured compiles to ``ai.onnx.ml`` 1."""

FALLBACK_EXTRAS: Final = {"scikit-learn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm"}
"""A framework's adapter name -> the runtime extra a serving image needs to serve it natively."""
_REASON_LENGTH: Final = 240


class CompileError(ValueError):
    """The model cannot be compiled to a graph the service serves as the model answers.

    The message names the estimator's class, why (the converter's reason, or what does not
    fit the schema), and the fallback: serving the model natively.
    """


@dataclass(frozen=True)
class CompiledModel:
    """A model compiled to ONNX: ``save_model(dir, adapter_for("onnx"), compiled.onnx, ...)``."""

    onnx: bytes
    """The serialised graph: input ``features``, output ``probabilities`` or ``prediction``."""
    source: str
    """The framework it was compiled from: ``scikit-learn``, ``xgboost`` or ``lightgbm``."""
    source_versions: dict[str, str]
    """The framework's, the converter's and onnx's versions: the same model and versions
    give the same bytes."""

    def as_metadata(self) -> dict[str, Any]:
        """``{"source": ..., "source_versions": {...}}`` for metadata.json."""
        return {"source": self.source, "source_versions": dict(self.source_versions)}


def refuse(
    model: object, reason: str, source: str | None = None, *, fix: str | None = None
) -> CompileError:
    """The `CompileError` for ``model``: its class, ``reason``, and ``fix``; by default the
    fix is serving it natively, with its framework's adapter and extra."""
    name = type(model).__name__
    if fix is not None:
        fallback = fix
    elif source in FALLBACK_EXTRAS:
        fallback = (
            f"serve it natively instead: save_model(directory, adapter_for({source!r}), model, "
            f"...) and install modelrail-runtime[{FALLBACK_EXTRAS[source]}] in the serving image"
        )
    else:
        fallback = (
            "compile a scikit-learn estimator or Pipeline, an XGBoost or LightGBM scikit-learn "
            "model (XGBClassifier, LGBMRegressor...), or serve this one natively with its "
            "framework's adapter (adapter_for(...) or serve(adapter=...))"
        )
    return CompileError(f"{name} cannot be compiled to ONNX: {reason}. Fix: {fallback}")


def converter_reason(exc: BaseException) -> str:
    """The converter's message, first line, shortened: skl2onnx puts whole node attribute
    tables into some of its messages."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if len(text) > _REASON_LENGTH:
        text = text[: _REASON_LENGTH - 3].rstrip() + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
