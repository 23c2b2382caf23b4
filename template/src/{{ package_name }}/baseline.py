"""The previous model's metrics, and whether a new model falls too far below them.

CI keeps each evaluation report (``python -m <package>.evaluate --output FILE``) as an
artifact; the next run downloads the last one from ``main`` and passes it back as
``--baseline``. The ``metadata.json`` written beside an artifact by ``make train`` is
accepted too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Accuracy differences below this are float noise, not a regression.
_EPSILON = 1e-9


class BaselineError(ValueError):
    """The baseline file is missing or does not hold an accuracy."""


@dataclass(frozen=True)
class Baseline:
    """The accuracy of the model the new one must not fall behind."""

    accuracy: float
    model_version: str
    source: Path


@dataclass(frozen=True)
class Comparison:
    """How the new accuracy compares with the baseline's."""

    baseline: Baseline
    accuracy: float
    max_regression: float

    @property
    def drop(self) -> float:
        """Baseline accuracy minus the new accuracy (negative when the new model is better)."""
        return self.baseline.accuracy - self.accuracy

    @property
    def regressed(self) -> bool:
        """True when the accuracy dropped by more than the allowed margin."""
        return self.drop > self.max_regression + _EPSILON

    def as_report(self) -> dict[str, Any]:
        """The comparison as it appears in the evaluation report."""
        return {
            "model_version": self.baseline.model_version,
            "accuracy": self.baseline.accuracy,
            "max_regression": self.max_regression,
            "drop": self.drop,
            "regressed": self.regressed,
        }


def load_baseline(path: Path) -> Baseline:
    """Read an evaluation report (``accuracy``) or a ``metadata.json`` (``metrics.accuracy``).

    Raises:
        BaselineError: the file is missing, not JSON, or has no accuracy between 0 and 1.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {path} is not readable JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BaselineError(f"baseline {path} must hold a JSON object")
    metrics = document.get("metrics")
    accuracy = metrics.get("accuracy") if isinstance(metrics, dict) else document.get("accuracy")
    if (
        isinstance(accuracy, bool)
        or not isinstance(accuracy, int | float)
        or not math.isfinite(accuracy)
        or not 0 <= accuracy <= 1
    ):
        raise BaselineError(
            f"baseline {path} has no accuracy between 0 and 1 (expected the report of "
            f"`evaluate --output` or an artifact's metadata.json)"
        )
    version = document.get("model_version") or str(document.get("artifact_sha256", ""))[:12]
    return Baseline(accuracy=float(accuracy), model_version=version or "unknown", source=path)


def compare(baseline: Baseline, accuracy: float, max_regression: float) -> Comparison:
    """Compare the new ``accuracy`` with ``baseline``, allowing ``max_regression`` of drop."""
    return Comparison(baseline=baseline, accuracy=accuracy, max_regression=max_regression)
