"""``make train``: fit the model and write it to ``artifacts/`` with its metadata and profile.

Writes ``model.<ext>``, ``metadata.json`` and ``reference_profile.json`` (the training
data's distributions, which drift detection compares traffic with). The same code,
configuration, data and library versions give byte-identical files (same sha256);
`metadata.json` records everything needed to say where an artifact came from.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from . import artifact, dataset, reference_profile
from .frameworks.selected import framework
from .identity import MODEL_NAME
from .training_config import TrainingConfig, TrainingConfigError, load_training_config


def train(output_dir: Path, config: TrainingConfig) -> dict[str, Any]:
    """Train, evaluate on the held-out rows, write the artifact; return its metadata."""
    data = framework.load_dataset()
    rows = dataset.split(data, config.test_size, config.seed)
    model = framework.fit(rows.train_features, rows.train_labels, config.params, config.seed)
    payload = framework.serialize(model)
    # Measure what will be served: the artifact as the service loads it.
    predictor = framework.deserialize(payload)
    input_name = framework.SIGNATURE.inputs[0].name
    predicted = predictor.predict({input_name: rows.test_features})
    # What production traffic is compared with: the training rows and the model's answers.
    training_inputs = {input_name: rows.train_features}
    profile = reference_profile.build(
        framework.MONITORING, training_inputs, predictor.predict(training_inputs)
    )
    profile_record = reference_profile.write(output_dir, profile)
    metadata: dict[str, Any] = {
        "model_name": MODEL_NAME,
        "framework": framework.NAME,
        "git_revision": _git_revision(),
        "data": {
            "name": data.name,
            "sha256": dataset.fingerprint(data),
            "rows": len(data.labels),
            "test_rows": len(rows.test_labels),
        },
        "seed": config.seed,
        "test_size": config.test_size,
        "params": config.params,
        "metrics": {"accuracy": dataset.accuracy(predicted["label"], rows.test_labels)},
        "libraries": framework.library_versions(),
        "reference_profile": profile_record,
        "signature": {
            "inputs": [spec.as_metadata() for spec in framework.SIGNATURE.inputs],
            "outputs": [spec.as_metadata() for spec in framework.SIGNATURE.outputs],
        },
    }
    path = artifact.write(output_dir, framework.ARTIFACT_FILE, payload, metadata)
    return json.loads(artifact.metadata_path(path).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _git_revision() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    head = subprocess.run(  # noqa: S603 - fixed arguments, no user input
        [git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(  # noqa: S603
        [git, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m <package>.train [--output-dir DIR] [--pyproject FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output-dir", type=Path, default=Path("artifacts"))
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    try:
        config = load_training_config(args.pyproject)
    except TrainingConfigError as exc:
        parser.exit(2, f"train: {exc}\n")
    metadata = train(args.output_dir, config)
    summary = {
        "artifact": str(args.output_dir / metadata["artifact"]),
        "sha256": metadata["artifact_sha256"],
        "accuracy": metadata["metrics"]["accuracy"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
