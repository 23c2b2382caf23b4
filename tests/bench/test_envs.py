"""Every bench target runs the generated service's scikit-learn and numpy."""

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
