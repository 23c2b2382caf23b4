"""hooks/migrations/: the cases the update histories do not reach, one script at a time.

The scripts run as Copier runs them (in the project, after the merge, HEAD = the project
before the update); here HEAD is a project at `BASE` and the "update" is simulated by
editing its working tree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT
from tests.update.projects import clean_environ, copy_at, snapshot
from tests.update.template_versions import BASE, GIT_IDENTITY, TemplateRepo, git

MIGRATIONS = REPO_ROOT / "hooks" / "migrations"


@pytest.fixture(scope="module")
def project(template_repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_at(template_repo, tmp_path_factory.mktemp("migrations"), BASE)


@pytest.fixture
def clean(project: Path) -> Iterator[Path]:
    """The project, put back to HEAD after each test."""
    yield project
    git(project, "reset", "-q", "--hard")
    git(project, "clean", "-qfd")


def migrate(project: Path, script: str, *args: str) -> str:
    """Run one script under this Python (which has Copier, like Copier's); return what it
    said on stderr."""
    proc = subprocess.run(
        [sys.executable, str(MIGRATIONS / script), *args],
        cwd=project,
        env={**clean_environ(), **GIT_IDENTITY, "VERSION_FROM": BASE},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_copier_yml_runs_existing_scripts_with_post_update_last() -> None:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    migrations = config["_migrations"]
    scripts = []
    for migration in migrations:
        match = re.search(r"hooks/migrations/(\S+\.py)", " ".join(migration["command"]))
        assert match, migration
        scripts.append(match.group(1))
    assert scripts[-1] == "post_update.py"
    assert [s for s in scripts if not (MIGRATIONS / s).is_file()] == []
    assert all("version" in m for m in migrations[:-1])


def test_rename_of_a_file_the_project_never_had_does_nothing(clean: Path) -> None:
    before = snapshot(clean)
    said = migrate(clean, "rename.py", "docs/absent.md", "docs/new.md")
    assert "docs/absent.md is not in this repository" in said
    assert snapshot(clean) == before


def test_rename_onto_a_file_the_project_already_had_leaves_both(clean: Path) -> None:
    before = snapshot(clean)
    said = migrate(clean, "rename.py", "docs/serve.md", "docs/train.md")
    assert "both docs/serve.md and docs/train.md were in this repository" in said
    assert snapshot(clean) == before


def test_rename_when_the_new_version_does_not_render_the_new_name_moves_the_file(
    clean: Path,
) -> None:
    content = (clean / "docs/serve.md").read_bytes()
    said = migrate(clean, "rename.py", "docs/serve.md", "docs/serving/index.md")
    assert "moved docs/serve.md to docs/serving/index.md" in said
    assert (clean / "docs/serving/index.md").read_bytes() == content
    assert not (clean / "docs/serve.md").exists()


def test_rename_of_an_unedited_file_keeps_the_new_render(clean: Path) -> None:
    (clean / "docs/serving.md").write_text("# Serve (the new version's page)\n")
    said = migrate(clean, "rename.py", "docs/serve.md", "docs/serving.md")
    assert "docs/serve.md is now docs/serving.md (it had no local edits)" in said
    assert (clean / "docs/serving.md").read_text() == "# Serve (the new version's page)\n"
    assert not (clean / "docs/serve.md").exists()


def test_remove_of_a_file_the_project_never_had_does_nothing(clean: Path) -> None:
    before = snapshot(clean)
    assert "nothing to remove" in migrate(clean, "remove.py", "docs/absent.md")
    assert snapshot(clean) == before


def test_remove_deletes_an_unedited_file_and_keeps_an_edited_one(clean: Path) -> None:
    said = migrate(clean, "remove.py", "docs/serve.md")
    assert "removed docs/serve.md" in said
    assert not (clean / "docs/serve.md").exists()

    (clean / "docs/train.md").write_text("# Train\n\nOur own page.\n")
    git(clean, "commit", "-qam", "Our train page")
    (clean / "docs/train.md").unlink()  # as Copier does for a file the template dropped
    said = migrate(clean, "remove.py", "docs/train.md")
    assert "kept docs/train.md: the template no longer provides it" in said
    assert (clean / "docs/train.md").read_text() == "# Train\n\nOur own page.\n"
    assert git(clean, "status", "--porcelain", "docs/train.md") == ""
    git(clean, "reset", "-q", "--hard", "HEAD~1")


def test_post_update_reports_conflicts_and_does_not_lock_a_conflicted_pyproject(
    clean: Path,
) -> None:
    (clean / "uv.lock").write_text("# stand-in lockfile\n")
    pyproject = clean / "pyproject.toml"
    pyproject.write_text("<<<<<<< before updating\nA\n=======\nB\n>>>>>>> after updating\n")
    (clean / "Dockerfile.rej").write_text("@@ a rejected hunk\n")
    said = migrate(clean, "post_update.py")
    assert "the update left conflicts in Dockerfile.rej, pyproject.toml:" in said
    assert "pyproject.toml has conflicts: resolve them, then run `uv lock`" in said
    assert (clean / "uv.lock").read_text() == "# stand-in lockfile\n"


def test_post_update_without_a_lockfile_says_how_to_make_one(clean: Path) -> None:
    assert "no uv.lock here" in migrate(clean, "post_update.py")
    assert "no uv.lock here" not in migrate(clean, "post_update.py", "--quiet=True")
