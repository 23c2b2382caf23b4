"""Fixtures of the pre-commit hook tests: projects the template generates (good examples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.template.answers import MATRIX, PROJECT_DIR
from tests.template.rendering import render_untrusted

# What `uv lock` writes at the top of the lockfile of a generated project.
LOCK_HEADER = 'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n[[package]]\nname = "x"\n'


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every matrix answer set rendered without tasks, plus a lockfile header (no uv lock)."""
    projects = {}
    for answer_id, answers in MATRIX.items():
        project = render_untrusted(tmp_path_factory.mktemp(answer_id) / PROJECT_DIR, answers)
        (project / "uv.lock").write_text(LOCK_HEADER, encoding="utf-8")
        projects[answer_id] = project
    return projects
