"""hooks/post_copy.py: what a trusted copy sets up; what an untrusted one leaves to `make setup`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT, render, run, runtime_index
from tests.template.answers import PROJECT_DIR

HOOK = REPO_ROOT / "hooks" / "post_copy.py"


def git(project: Path, *args: str) -> str:
    return run(["git", *args], project).stdout.strip()


def test_trusted_copy_is_a_committed_git_repo_on_main(rendered: dict[str, Path]) -> None:
    project = rendered["defaults"]
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    tracked = set(git(project, "ls-files").splitlines())
    assert {"uv.lock", "pyproject.toml", ".copier-answers.yml", "artifacts/.gitkeep"} <= tracked
    assert (project / ".git" / "hooks" / "pre-commit").exists()


def test_the_hook_is_idempotent(rendered: dict[str, Path]) -> None:
    project = rendered["py312-mit"]
    lock = (project / "uv.lock").read_bytes()
    proc = run([sys.executable, str(HOOK)], project)
    assert "already has commits" in proc.stderr
    assert "uv.lock exists" in proc.stderr
    assert git(project, "rev-list", "--count", "HEAD") == "1"
    assert (project / "uv.lock").read_bytes() == lock


def copier_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--defaults", "--vcs-ref", "HEAD",
         "--data", f"runtime_index={runtime_index()}", *args],  # fmt: skip
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_untrusted_copy_is_refused_until_tasks_are_skipped(tmp_path: Path) -> None:
    refused = copier_cli(str(REPO_ROOT), PROJECT_DIR, cwd=tmp_path)
    assert refused.returncode != 0
    assert "--trust" in refused.stderr
    assert not (tmp_path / PROJECT_DIR).exists()

    copied = copier_cli("--skip-tasks", str(REPO_ROOT), PROJECT_DIR, cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert "make setup" in copied.stderr
    project = tmp_path / PROJECT_DIR
    assert not (project / ".git").exists()
    assert not (project / "uv.lock").exists()

    run(["make", "setup"], project)
    assert (project / "uv.lock").exists()
    assert git(project, "symbolic-ref", "--short", "HEAD") == "main"
    run(["uv", "run", "--locked", "python", "-c", "import churn_model.train"], project)


def test_a_copy_inside_another_repository_leaves_that_repository_alone(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    run(["git", "init", "-q", "-b", "main"], outer)
    project = render(outer / "services" / PROJECT_DIR)
    assert not (project / ".git").exists()
    assert not (outer / ".git" / "hooks" / "pre-commit").exists()
    assert run(["git", "rev-list", "--all", "--count"], outer).stdout.strip() == "0"
    assert (project / "uv.lock").exists()
