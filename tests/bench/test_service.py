"""The rendered repos' venvs get the runtime's compile extra; their lock stays as rendered."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import service
from bench.service import GeneratedService, NotAvailable

PYPROJECT = """
[project]
name = "churn-service"

[[tool.uv.index]]
name = "modelrail"
url = "file:///work/build/runtime-index"
explicit = true
"""


def repo(tmp_path: Path, pyproject: str = PYPROJECT) -> GeneratedService:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    return GeneratedService(tmp_path, "churn_service", "churn", 8080, tmp_path / "python")


def test_the_runtime_index_is_the_one_the_repo_names(tmp_path: Path) -> None:
    assert service.runtime_index(repo(tmp_path).root) == "file:///work/build/runtime-index"
    assert service.runtime_index(repo(tmp_path, '[project]\nname = "x"\n').root) is None


def test_the_extra_comes_from_the_repos_index_with_every_installed_version_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = repo(tmp_path)
    ran: list[tuple[list[str], str]] = []

    def fake_freeze(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        assert cmd[:3] == ["uv", "pip", "freeze"]
        freeze = "-e file:///work/svc\nmodelrail-runtime==0.3.0\nnumpy==2.4.6\n"
        return subprocess.CompletedProcess(cmd, 0, freeze, "")

    def fake_run(cmd: list[str], cwd: Path, timeout: float = 900) -> None:
        constraints = Path(cmd[cmd.index("--constraint") + 1]).read_text()
        ran.append((cmd, constraints))

    monkeypatch.setattr(GeneratedService, "library_versions", lambda self, names: {
        "modelrail-runtime": "0.3.0"})  # fmt: skip
    monkeypatch.setattr(service.subprocess, "run", fake_freeze)
    monkeypatch.setattr(service, "_run", fake_run)
    service.add_runtime_extra(svc, "compile")
    ((cmd, constraints),) = ran
    assert cmd[-1] == "modelrail-runtime[compile]==0.3.0"
    assert cmd[cmd.index("--extra-index-url") + 1] == "file:///work/build/runtime-index"
    assert constraints == "modelrail-runtime==0.3.0\nnumpy==2.4.6\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]  # nothing left


def test_a_venv_without_the_runtime_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GeneratedService, "library_versions", lambda self, names: {})
    with pytest.raises(NotAvailable, match="modelrail-runtime is not installed in"):
        service.add_runtime_extra(repo(tmp_path), "compile")
