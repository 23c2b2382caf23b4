"""Rendering helpers beyond tests.helpers.render: untrusted copies, and walking the output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers import REPO_ROOT, answers_with_index

# Created by tasks, tools or tests, not by the template.
NOT_RENDERED = {
    ".git",
    ".venv",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    "reports",
}


def render_untrusted(dst: Path, answers: dict[str, Any] | None = None) -> Path:
    """Render like `copier copy --defaults --skip-tasks` (no --trust): no hooks run."""
    from copier import run_copy

    run_copy(
        str(REPO_ROOT),
        str(dst),
        data=answers_with_index(answers),
        defaults=True,
        unsafe=False,
        skip_tasks=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return dst


def rendered_files(project: Path) -> Iterator[Path]:
    """Files the template produced (paths relative to ``project``)."""
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if relative.parts[0] in NOT_RENDERED or "__pycache__" in relative.parts:
            continue
        if relative.parts[0] == "artifacts" and relative.name != ".gitkeep":
            continue
        if path.is_file():
            yield relative
