"""The converters behind `compile_onnx`: skl2onnx for scikit-learn, onnxmltools for XGBoost
and LightGBM, each called with the served input and the pinned opsets.

The input is float32: the service feeds the encoded matrix as float32, and onnxruntime's
``Imputer`` (which a scikit-learn ``SimpleImputer`` becomes) has no double kernel. Each
library's own ``FloatTensorType`` is used: onnxmltools checks for its class, not
skl2onnx's. The graph is named here because both converters otherwise name it with a
random UUID, and the same model must give the same bytes.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .compiled import ML_OPSET, ONNX_OPSET, refuse

INPUT: Final = "features"
"""The graph's input, as `onnx_tabular` serves it: the encoded matrix ``[batch, features]``."""
GRAPH_NAME: Final = "modelrail_compiled"


@dataclass(frozen=True)
class Converter:
    """How one framework's models become ONNX."""

    source: str
    """The framework, as its adapter is named (``adapter_for``)."""
    framework_module: str
    converter_module: str
    convert: Callable[[Any, int, bool], Any]
    """(fitted model, number of features, whether it classifies) -> an onnx.ModelProto."""

    def require(self) -> None:
        """Raise ImportError, naming the extra, when the converter is not installed."""
        missing = [
            name
            for name in (self.converter_module, "onnx", "onnxruntime")
            if importlib.util.find_spec(name) is None
        ]
        if missing:
            raise ImportError(
                f"compile_onnx needs {', '.join(missing)} to compile a {self.source} model: "
                "install modelrail-runtime[compile] in the training environment"
            )

    def versions(self) -> dict[str, str]:
        """The framework's, the converter's and onnx's versions (what the bytes depend on)."""
        return {
            self.source: _version(self.framework_module),
            self.converter_module: _version(self.converter_module),
            "onnx": _version("onnx"),
        }


def _sklearn(model: Any, features: int, classifier: bool) -> Any:
    from skl2onnx import convert_sklearn  # noqa: PLC0415 - a training dependency
    from skl2onnx.common.data_types import FloatTensorType  # noqa: PLC0415

    return convert_sklearn(
        model,
        name=GRAPH_NAME,
        initial_types=[(INPUT, FloatTensorType([None, features]))],
        target_opset={"": ONNX_OPSET, "ai.onnx.ml": ML_OPSET},
        # Probabilities as a tensor, not a list of {class: probability} maps.
        options={"zipmap": False} if classifier else None,
    )


def _xgboost(model: Any, features: int, classifier: bool) -> Any:
    import xgboost  # noqa: PLC0415
    from onnxmltools import convert_xgboost  # noqa: PLC0415
    from onnxmltools.convert.common.data_types import FloatTensorType  # noqa: PLC0415

    if not isinstance(model, xgboost.XGBModel):
        raise refuse(
            model,
            "onnxmltools compiles XGBoost's scikit-learn models (XGBClassifier, XGBRegressor), "
            "not a Booster",
            "xgboost",
        )
    return convert_xgboost(
        model,
        name=GRAPH_NAME,
        initial_types=[(INPUT, FloatTensorType([None, features]))],
        target_opset=ONNX_OPSET,
    )


def _lightgbm(model: Any, features: int, classifier: bool) -> Any:
    import lightgbm  # noqa: PLC0415
    from onnxmltools import convert_lightgbm  # noqa: PLC0415
    from onnxmltools.convert.common.data_types import FloatTensorType  # noqa: PLC0415

    if not isinstance(model, lightgbm.LGBMModel):
        raise refuse(
            model,
            "onnxmltools compiles LightGBM's scikit-learn models (LGBMClassifier, "
            "LGBMRegressor), not a Booster",
            "lightgbm",
        )
    return convert_lightgbm(
        model,
        name=GRAPH_NAME,
        initial_types=[(INPUT, FloatTensorType([None, features]))],
        target_opset=ONNX_OPSET,
        zipmap=False,
    )


CONVERTERS: Final = {
    "scikit-learn": Converter("scikit-learn", "sklearn", "skl2onnx", _sklearn),
    "xgboost": Converter("xgboost", "xgboost", "onnxmltools", _xgboost),
    "lightgbm": Converter("lightgbm", "lightgbm", "onnxmltools", _lightgbm),
}
"""Framework -> its converter."""


def source_of(model: object) -> str | None:
    """The framework ``model`` comes from (a key of `CONVERTERS`), or None.

    XGBoost's and LightGBM's scikit-learn models are scikit-learn estimators too: their own
    package decides first. Any other subclass of a scikit-learn class (a Pipeline, a custom
    estimator) goes to skl2onnx, which says whether it has a converter for it.
    """
    root = type(model).__module__.partition(".")[0]
    if root in ("xgboost", "lightgbm"):
        return root
    if any(cls.__module__.partition(".")[0] == "sklearn" for cls in type(model).__mro__):
        return "scikit-learn"
    return None


def _version(module: str) -> str:
    # The module's own version: XGBoost's is installed by `xgboost` or `xgboost-cpu`.
    return str(getattr(importlib.import_module(module), "__version__", "unknown"))
