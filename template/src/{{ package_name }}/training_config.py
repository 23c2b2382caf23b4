"""Training and evaluation settings, read from ``[tool.model-training]`` in pyproject.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLE = "tool.model-training"


class TrainingConfigError(ValueError):
    """``[tool.model-training]`` is missing or holds a value of the wrong kind."""


@dataclass(frozen=True)
class TrainingConfig:
    """What `make train` and `make evaluate` need; the defaults match the template's."""

    seed: int = 42
    test_size: float = 0.25
    params: dict[str, Any] = field(default_factory=dict)
    min_accuracy: float = 0.9
    max_regression: float = 0.02


def load_training_config(pyproject: Path) -> TrainingConfig:
    """Read ``[tool.model-training]`` (and its ``evaluation`` sub-table) from ``pyproject``.

    Raises:
        TrainingConfigError: the file or table is missing, or a value has the wrong type.
    """
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TrainingConfigError(f"cannot read {pyproject}: {exc}") from None
    table = document.get("tool", {}).get("model-training")
    if not isinstance(table, dict):
        raise TrainingConfigError(f"{pyproject} has no [{TABLE}] table")
    evaluation = table.get("evaluation", {})
    defaults = TrainingConfig()
    seed = table.get("seed", defaults.seed)
    test_size = table.get("test_size", defaults.test_size)
    params = table.get("params", {})
    min_accuracy = evaluation.get("min_accuracy", defaults.min_accuracy)
    max_regression = evaluation.get("max_regression", defaults.max_regression)
    if type(seed) is not int or seed < 0:
        raise TrainingConfigError(f"[{TABLE}] seed must be a whole number >= 0")
    if not isinstance(test_size, float) or not 0 < test_size < 1:
        raise TrainingConfigError(f"[{TABLE}] test_size must be a fraction between 0 and 1")
    if not isinstance(params, dict):
        raise TrainingConfigError(f"[{TABLE}] params must be a table of estimator parameters")
    if not isinstance(min_accuracy, int | float) or not 0 <= min_accuracy <= 1:
        raise TrainingConfigError(f"[{TABLE}.evaluation] min_accuracy must be between 0 and 1")
    if not _is_fraction(max_regression):
        raise TrainingConfigError(f"[{TABLE}.evaluation] max_regression must be between 0 and 1")
    return TrainingConfig(
        seed=seed,
        test_size=test_size,
        params=params,
        min_accuracy=float(min_accuracy),
        max_regression=float(max_regression),
    )


def _is_fraction(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value <= 1
