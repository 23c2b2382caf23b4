"""`modelrail-model-card` fills only the generated part of the card, from the training metadata."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelrail_runtime.tools.model_card import (
    BEGIN,
    END,
    ModelCardError,
    fill,
    main,
    read_gates,
    read_metadata,
    render,
)

CARD = f"""# Model card

Prose the owners wrote.

{BEGIN}
Not filled yet: run `make train model-card`.
{END}

## Intended use and limits

An example model.
"""

METADATA: dict[str, Any] = {
    "model_name": "churn-model",
    "framework": "scikit-learn",
    "artifact": "model.skops",
    "artifact_sha256": "ab" * 32,
    "git_revision": "0123456789abcdef0123456789abcdef01234567",
    "data": {"name": "iris", "rows": 150, "test_rows": 38, "sha256": "cd" * 32},
    "seed": 42,
    "test_size": 0.25,
    "params": {"C": 1.0, "max_iter": 1000},
    "metrics": {"accuracy": 0.9736842105263158},
    "libraries": {"python": "3.11.9", "scikit-learn": "1.5.2"},
    "signature": {
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]}],
    },
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A card with prose around the markers, and the metadata of a training."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "docs" / "model-card.md").write_text(CARD)
    (tmp_path / "artifacts" / "metadata.json").write_text(json.dumps(METADATA))
    (tmp_path / "pyproject.toml").write_text(
        "[tool.model-training]\n[tool.model-training.evaluation]\nmin_accuracy = 0.9\n"
    )
    return tmp_path


def args(project: Path, *extra: str) -> list[str]:
    return [
        "--metadata", str(project / "artifacts" / "metadata.json"),
        "--card", str(project / "docs" / "model-card.md"),
        "--pyproject", str(project / "pyproject.toml"),
        *extra,
    ]  # fmt: skip


def test_the_card_shows_the_training_figures(project: Path) -> None:
    assert main(args(project)) == 0
    card = (project / "docs" / "model-card.md").read_text()
    assert "| Model | `churn-model`, version `abababababab` |" in card
    assert f"| Artifact | `model.skops`, sha256 `{'ab' * 32}` |" in card
    assert "| Trained from | git revision `0123456789abcdef" in card
    assert "| Held-out accuracy | 0.9737 (passes the quality gate: min_accuracy 0.9) |" in card
    assert "`C=1.0`, `max_iter=1000`" in card
    assert "| Split | test_size 0.25, seed 42 |" in card
    assert "| Libraries | python 3.11.9, scikit-learn 1.5.2 |" in card
    assert "| `input-0` | input | FP64 | `[-1, 4]` |" in card
    assert "| `label` | output | INT64 | `[-1]` |" in card
    assert "iris: 150 rows, 38 held out for evaluation" in card
    assert "Not filled yet" not in card


def test_only_the_part_between_the_markers_changes(project: Path) -> None:
    path = project / "docs" / "model-card.md"
    before = path.read_text().replace("An example model", "Our own words")
    path.write_text(before)
    assert main(args(project)) == 0
    after = path.read_text()
    assert after.split(BEGIN)[0] == before.split(BEGIN)[0]
    assert after.split(END)[1] == before.split(END)[1]
    assert main(args(project)) == 0
    assert path.read_text() == after, "filling twice changes nothing"


def test_check_fails_until_the_card_is_filled(project: Path) -> None:
    assert main(args(project, "--check")) == 1
    assert main(args(project)) == 0
    assert main(args(project, "--check")) == 0


def test_a_failed_gate_shows_on_the_card() -> None:
    low = {**METADATA, "metrics": {"accuracy": 0.5, "f1": 0.7}}
    rendered = render(low, {"min_accuracy": 0.9})
    assert "0.5000 (FAILS the quality gate: min_accuracy 0.9)" in rendered
    assert "| Held-out f1 | 0.7000 |" in rendered, "no gate, no verdict"


def test_a_compiled_model_shows_what_it_was_compiled_from() -> None:
    serving = {
        "engine": "onnxruntime",
        "source": "lightgbm",
        "source_versions": {"lightgbm": "4.7.0", "onnxmltools": "1.16.0"},
    }
    compiled = {**METADATA, "framework": "onnx", "serving": serving}
    rendered = render(compiled, {})
    assert "| Framework | onnx, compiled from lightgbm 4.7.0, served by onnxruntime |" in rendered
    natively = {**METADATA, "serving": {"engine": "scikit-learn"}}
    assert "| Framework | scikit-learn |" in render(natively, {})


def test_an_upper_gate_shows_on_the_card() -> None:
    regression = {**METADATA, "metrics": {"rmse": 21.5, "mae": 25.0, "r2": 0.9}}
    rendered = render(regression, {"max_rmse": 30.0, "max_mae": 22.0, "min_r2": 0.85})
    assert "| Held-out rmse | 21.5000 (passes the quality gate: max_rmse 30.0) |" in rendered
    assert "| Held-out mae | 25.0000 (FAILS the quality gate: max_mae 22.0) |" in rendered
    assert "| Held-out r2 | 0.9000 (passes the quality gate: min_r2 0.85) |" in rendered


def test_gates_are_read_from_every_min_and_max_key(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.model-training.evaluation]\n"
        "min_accuracy = 0.9\nmin_f1 = 1\nmax_rmse = 30\nmax_regression = 0.02\n"
        "min_flag = true\n"
    )
    assert read_gates(pyproject) == {"min_accuracy": 0.9, "min_f1": 1.0, "max_rmse": 30.0}
    assert read_gates(tmp_path / "missing.toml") == {}
    pyproject.write_text("not toml [")
    assert read_gates(pyproject) == {}


def test_a_card_without_markers_is_refused_with_the_fix() -> None:
    with pytest.raises(ModelCardError, match="has no generated part: add a line"):
        fill("# Model card\n", "figures", Path("docs/model-card.md"))


def test_metadata_without_the_needed_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps({"model_name": "m", "framework": "f"}))
    with pytest.raises(ModelCardError, match="has no artifact, artifact_sha256, metrics"):
        read_metadata(path)
    path.write_text("[]")
    with pytest.raises(ModelCardError, match="does not hold a JSON object"):
        read_metadata(path)


def test_without_training_metadata_it_says_to_train(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "artifacts" / "metadata.json").unlink()
    assert main(args(project)) == 2
    assert "not found: run `make train` first" in capsys.readouterr().err


def test_the_command_is_installed(project: Path) -> None:
    script = Path(sys.executable).with_name("modelrail-model-card")
    done = subprocess.run([script, *args(project)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "model-card: wrote" in done.stdout


def test_the_metadata_save_model_writes_fills_a_card(project: Path, artifacts: Path) -> None:
    card = project / "docs" / "model-card.md"
    run = ["--metadata", str(artifacts / "metadata.json"), "--card", str(card)]
    assert main([*run, "--pyproject", str(project / "pyproject.toml")]) == 0
    filled = card.read_text()
    assert "| Model | `iris`, version `" in filled
    assert "| Framework | scikit-learn |" in filled
    assert "| Held-out accuracy | " in filled
    assert "passes the quality gate: min_accuracy 0.9" in filled
    assert "| `probabilities` | output | FP64 | `[-1, 3]` |" in filled
