"""``make evaluate``: score the trained artifact and gate it before it ships.

Exits 1 when the held-out accuracy is below ``[tool.model-training.evaluation]
min_accuracy``, or, given ``--baseline`` (the previous model's report, or its
metadata.json), when it is more than ``max_regression`` below the baseline's accuracy.
Exits 2 on a usage error. ``--output`` writes the report, the next run's baseline: CI
keeps it as an artifact and passes the last one from ``main`` back.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrail_runtime import ModelLoadError, load_model

from . import MODEL_NAME, dataset
from .train import INPUT
from .training_config import TrainingConfigError, load_training_config

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


def score(artifacts: Path, test_size: float, seed: int) -> tuple[float, str]:
    """Held-out accuracy of the artifact, loaded (hash-checked) as the service loads it."""
    model = load_model(artifacts)
    rows = dataset.split(dataset.load(), test_size, seed)
    predicted = model.predictor.predict({INPUT: rows.test_features})["label"]
    return dataset.accuracy(predicted, rows.test_labels), model.version


def load_baseline(path: Path) -> Baseline:
    """Read an evaluation report (``accuracy``) or a metadata.json (``metrics.accuracy``).

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
    value = metrics.get("accuracy") if isinstance(metrics, dict) else document.get("accuracy")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        value = -1.0
    if not 0 <= value <= 1:
        raise BaselineError(
            f"baseline {path} has no accuracy between 0 and 1 (expected the report of "
            "`evaluate --output` or an artifact's metadata.json)"
        )
    version = document.get("model_version") or str(document.get("artifact_sha256", ""))[:12]
    return Baseline(float(value), version or "unknown", path)


def _fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a fraction between 0 and 1")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m <package>.evaluate [--baseline FILE] [--output FILE] ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--baseline", type=Path, help="the previous model's report or metadata")
    parser.add_argument(
        "--max-regression",
        type=_fraction,
        help="largest accuracy drop allowed below the baseline "
        "(default: [tool.model-training.evaluation] max_regression)",
    )
    parser.add_argument("--output", type=Path, help="write the report (JSON) to this file")
    args = parser.parse_args(argv)
    try:
        config = load_training_config(args.pyproject)
        baseline = load_baseline(args.baseline) if args.baseline else None
        accuracy, version = score(args.artifacts, config.test_size, config.seed)
    except (TrainingConfigError, ModelLoadError, BaselineError) as exc:
        parser.exit(2, f"evaluate: {exc}\n")
    margin = config.max_regression if args.max_regression is None else args.max_regression
    problems = []
    if accuracy < config.min_accuracy:
        problems.append(
            f"accuracy {accuracy:.4f} is below min_accuracy {config.min_accuracy:.4f} "
            "([tool.model-training.evaluation] in pyproject.toml)"
        )
    compared: dict[str, Any] | None = None
    if baseline is not None:
        drop = baseline.accuracy - accuracy
        regressed = drop > margin + _EPSILON
        compared = {
            "model_version": baseline.model_version,
            "accuracy": baseline.accuracy,
            "max_regression": margin,
            "drop": drop,
            "regressed": regressed,
        }
        if regressed:
            problems.append(
                f"accuracy {accuracy:.4f} is {drop:.4f} below the baseline's "
                f"{baseline.accuracy:.4f} (model {baseline.model_version}, {baseline.source}); "
                f"at most {margin:.4f} is allowed (max_regression)"
            )
    report = {
        "model_name": MODEL_NAME,
        "model_version": version,
        "accuracy": accuracy,
        "min_accuracy": config.min_accuracy,
        "passed": not problems,
        "baseline": compared,
    }
    print(json.dumps(report))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for problem in problems:
        print(f"evaluate: {problem}")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
