"""A real MLflow server (SQLite backend, artifacts on a real SeaweedFS S3 store) and trained
model directories to register in it."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.servers.fixtures import mlflow_server, s3_store  # noqa: F401

Trained = Callable[..., Path]


@pytest.fixture
def trained(artifacts: Path, tmp_path: Path) -> Trained:
    """A copy of the iris artifacts, as `make train` records them, under a fresh model name.

    ``trained(accuracy=0.9)`` returns the directory; each call in a test is a new training
    of the same model (same name), with the metrics given.
    """
    name = f"iris-{uuid.uuid4().hex[:8]}"
    count = 0

    def train(**metrics: float) -> Path:
        nonlocal count
        count += 1
        directory = tmp_path / f"training-{count}"
        shutil.copytree(artifacts, directory)
        meta_file = directory / "metadata.json"
        metadata: dict[str, Any] = json.loads(meta_file.read_text())
        metadata.update(
            model_name=name,
            git_revision="0123456789abcdef",
            seed=42,
            test_size=0.25,
            params={"C": 1.0, "max_iter": 1000},
            data={"name": "iris", "sha256": "d" * 64, "rows": 150},
            metrics=metrics or {"accuracy": 0.9},
        )
        meta_file.write_text(json.dumps(metadata))
        return directory

    return train
