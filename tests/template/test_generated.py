"""The generated repos' own checks pass, and their training is reproducible."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.helpers import run, uses_torch
from tests.template.answers import MATRIX

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("answer_id", sorted(MATRIX))
def test_make_check_passes(make_check: dict[str, Future[object]], answer_id: str) -> None:
    make_check[answer_id].result(timeout=900)


def test_train_is_reproducible_and_evaluate_passes(
    rendered: dict[str, Path], make_check: dict[str, Future[object]], tmp_path: Path
) -> None:
    project = rendered["defaults"]
    make_check["defaults"].result(timeout=900)
    run(["make", "train", "evaluate"], project)
    metadata = json.loads((project / "artifacts" / "metadata.json").read_text())
    again = run(
        [
            "uv",
            "run",
            "--locked",
            "python",
            "-m",
            "churn_model.train",
            "--output-dir",
            str(tmp_path),
        ],
        project,
    )
    assert json.loads(again.stdout)["sha256"] == metadata["artifact_sha256"]
    for name in ("model.onnx", "metadata.json", "reference_profile.json"):
        assert (tmp_path / name).read_bytes() == (project / "artifacts" / name).read_bytes()


@pytest.mark.parametrize("answer_id", sorted(set(MATRIX) - {"defaults"}))
def test_train_and_evaluate_pass(
    rendered: dict[str, Path], make_check: dict[str, Future[object]], answer_id: str
) -> None:
    """Every other model trains and passes its gates too (`make train evaluate`)."""
    project = rendered[answer_id]
    make_check[answer_id].result(timeout=900)
    run(["make", "train", "evaluate"], project)
    report = json.loads((project / "reports" / "metrics.json").read_text())
    assert report["passed"] is True, report
    metadata = json.loads((project / "artifacts" / "metadata.json").read_text())
    assert report["metrics"] == metadata["metrics"], "evaluate scores what train recorded"
    if uses_torch(MATRIX[answer_id]):
        # Exported to ONNX and checked against the module before it was saved.
        assert metadata["framework"] == "onnx"
        assert metadata["onnx_parity"]["min_cosine"] >= 0.9999, metadata["onnx_parity"]


def test_model_card_is_filled_from_training_and_the_docs_build(
    rendered: dict[str, Path], make_check: dict[str, Future[object]], tmp_path: Path
) -> None:
    make_check["defaults"].result(timeout=900)
    # A copy: the shared rendering must keep the files the template wrote, and no site/.
    project = tmp_path / "churn-model"
    shutil.copytree(
        rendered["defaults"], project, ignore=shutil.ignore_patterns(".venv", "site", "*_cache")
    )
    card = project / "docs" / "model-card.md"
    assert "Not filled yet: run `make train model-card`." in card.read_text()
    run(["make", "model-card", "docs"], project)
    metadata = json.loads((project / "artifacts" / "metadata.json").read_text())
    text = card.read_text()
    assert f"| Model | `churn-model`, version `{metadata['artifact_sha256'][:12]}` |" in text
    assert "Not filled yet" not in text
    assert "## Intended use and limits" in text, "the prose around the markers is kept"
    run(["uv", "run", "--locked", "modelrail-model-card", "--check"], project)
    pages = {path.parent.name for path in (project / "site").glob("*/index.html")}
    assert {"train", "evaluate", "serve", "release", "model-card"} <= pages
