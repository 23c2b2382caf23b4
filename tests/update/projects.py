"""Generated projects for the update tests: copy at a version, commit, update, snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pathspec
import yaml

from tests.helpers import REPO_ROOT, answers_with_index, run
from tests.update.template_versions import GIT_IDENTITY, TemplateRepo, git

PROJECT_DIR = "churn-model"
"""Every project is rendered into a folder of this name: answers derive from it."""

NOT_RENDERED = {".git", ".venv", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis"}

Snapshot = dict[str, bytes]

SKIP_IF_EXISTS: list[str] = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())[
    "_skip_if_exists"
]
PROJECT_OWNED = pathspec.GitIgnoreSpec.from_lines(SKIP_IF_EXISTS)


def is_project_owned(path: str) -> bool:
    """True for the files copier.yml's ``_skip_if_exists`` gives to the project."""
    return PROJECT_OWNED.match_file(path)


def copy_at(
    template: TemplateRepo,
    parent: Path,
    version: str,
    answers: dict[str, Any] | None = None,
    *,
    tasks: bool = False,
    name: str = PROJECT_DIR,
) -> Path:
    """Generate ``parent/name`` at ``version``; without tasks, also git init and commit it.

    With tasks (``--trust``), the template's own post-copy task does git init, uv lock,
    the first commit and ``pre-commit install``. The runtime comes from this checkout's
    local index (`answers_with_index`), which versions without the question ignore.
    """
    from copier import run_copy

    project = parent / name
    run_copy(
        template.source,
        str(project),
        data=answers_with_index(answers),
        vcs_ref=version,
        defaults=True,
        unsafe=True,
        skip_tasks=not tasks,
        quiet=True,
    )
    if not tasks:
        git(project, "init", "-q", "-b", "main")
        commit_all(project, "Generated from modelrail")
    return project


def fresh_copy(template: TemplateRepo, parent: Path, version: str, answers: dict[str, Any]) -> Path:
    """A reference render at ``version``: no tasks, no git, nothing else."""
    from copier import run_copy

    project = parent / PROJECT_DIR
    run_copy(
        template.source,
        str(project),
        data=answers_with_index(answers),
        vcs_ref=version,
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
    return project


def commit_all(project: Path, message: str) -> None:
    """Commit everything, without hooks (the projects' hooks are tested on their own)."""
    git(project, "add", "-A")
    git(project, "commit", "-q", "--no-verify", "--allow-empty", "-m", message)


def update(project: Path, version: str, **options: Any) -> None:
    """``copier update --defaults --conflict inline --vcs-ref VERSION --trust``."""
    from copier import run_update

    run_update(
        str(project),
        vcs_ref=version,
        defaults=True,
        overwrite=True,
        conflict="inline",
        unsafe=True,
        skip_tasks=True,
        quiet=True,
        **options,
    )


def copier_update(project: Path, version: str) -> subprocess.CompletedProcess[str]:
    """``copier update`` as owners run it (a generated repo's docs/updating.md), with the
    runtime from this checkout's local index. Raises with Copier's output if it fails;
    its stderr holds what the migrations said (`said`)."""
    data = [f"--data={key}={value}" for key, value in answers_with_index().items()]
    command = ["--trust", "--defaults", "--conflict", "inline", "--vcs-ref", version, *data]
    return run([sys.executable, "-m", "copier", "update", *command], project, env=GIT_IDENTITY)


def said(stderr: str) -> list[str]:
    """What the migrations reported (their ``modelrail: ...`` lines), prefix removed."""
    prefix = "modelrail: "
    return [line.removeprefix(prefix) for line in stderr.splitlines() if line.startswith(prefix)]


def snapshot(project: Path) -> Snapshot:
    """Every file's bytes, by relative path, leaving out git and tool caches."""
    files: Snapshot = {}
    for path in project.rglob("*"):
        relative = path.relative_to(project)
        if relative.parts[0] in NOT_RENDERED or "__pycache__" in relative.parts:
            continue
        if path.is_file():
            files[relative.as_posix()] = path.read_bytes()
    return files


def status(project: Path) -> str:
    """``git status --porcelain`` (untracked files listed one by one)."""
    return git(project, "status", "--porcelain", "--untracked-files=all")


def head(project: Path) -> str:
    return git(project, "rev-parse", "HEAD").strip()


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def rerun_migration(
    project: Path, template: TemplateRepo, script: str, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run one of the template's migration scripts again, as Copier runs it."""
    return subprocess.run(
        [sys.executable, str(template.path / "hooks" / "migrations" / script), *args],
        cwd=project,
        env={**clean_environ(), **GIT_IDENTITY, **env},
        capture_output=True,
        text=True,
        check=True,
    )


def clean_environ() -> dict[str, str]:
    """This process's environment without its virtualenv (projects use their own)."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    return env
