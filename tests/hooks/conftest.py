"""Fixtures of the pre-commit hook tests: projects the template generates (good examples)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# What `uv lock` writes at the top of the lockfile of a generated project.
LOCK_HEADER = 'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n[[package]]\nname = "x"\n'


@pytest.fixture(scope="session")
def generated(
    rendered_untrusted: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Every matrix answer set as rendered, plus a lockfile header (no `uv lock` needed)."""
    projects = {}
    for answer_id, rendered in rendered_untrusted.items():
        project = tmp_path_factory.mktemp(f"hooks-{answer_id}") / rendered.name
        shutil.copytree(rendered, project)
        (project / "uv.lock").write_text(LOCK_HEADER, encoding="utf-8")
        projects[answer_id] = project
    return projects
