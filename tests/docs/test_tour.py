"""docs/tour.md mentions everything a generated repository has at its top level, every
module of its package and every make target: the tour cannot silently fall behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

TOUR = (REPO_ROOT / "docs" / "tour.md").read_text(encoding="utf-8")
# Created by the post-copy tasks, not rendered: the tour still names them.
AFTER_TASKS = ["uv.lock"]


def missing(names: list[str]) -> list[str]:
    return [name for name in names if f"`{name}`" not in TOUR and f"`{name}/`" not in TOUR]


@pytest.fixture(scope="module")
def project(rendered_untrusted: dict[str, Path]) -> Path:
    return rendered_untrusted["defaults"]


def test_every_top_level_entry_is_in_the_tour(project: Path) -> None:
    entries = sorted(path.name for path in project.iterdir()) + AFTER_TASKS
    assert missing(entries) == [], "add these to the table 'Top level' of docs/tour.md"


def test_every_module_of_the_package_is_in_the_tour(project: Path) -> None:
    package = project / "src" / "churn_model"
    modules = sorted(
        path.name
        for path in package.iterdir()
        if path.name not in ("__init__.py", "py.typed", "__pycache__")
    )
    assert missing(modules) == [], "add these to the table 'The package' of docs/tour.md"


def test_every_make_target_is_in_the_tour(project: Path) -> None:
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][a-z-]*):.*## ", makefile, re.M)
    assert len(targets) > 10
    absent = [t for t in targets if not re.search(rf"`make (?:[a-z-]+ )*{t}[` ]", TOUR)]
    assert absent == [], "add these to the table 'The commands' of docs/tour.md"
