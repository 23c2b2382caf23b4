"""hooks/migrations/: the cases the update histories do not reach, one script at a time.

The scripts run as Copier runs them (in the project, after the merge, HEAD = the project
before the update); here HEAD is a project at `BASE` and the "update" is simulated by
editing its working tree.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

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
    """The project, put back as it was (commits included) after each test."""
    start = git(project, "rev-parse", "HEAD").strip()
    yield project
    git(project, "reset", "-q", "--hard", start)
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


def test_remove_takes_several_patterns_and_a_hint_naming_each_kept_path(clean: Path) -> None:
    (clean / "docs/train.md").write_text("# Train\n\nOur own page.\n")
    git(clean, "commit", "-qam", "Our train page")
    hint = "--hint=fold it into docs/index.md, then `git rm {path}`"
    said = migrate(clean, "remove.py", hint, "docs/[st]*.md", "docs/absent/*.md", "LICENSE")
    assert "removed docs/serve.md" in said
    assert "removed LICENSE" in said
    assert "no file matches docs/absent/*.md: nothing to remove there" in said
    assert (
        "kept docs/train.md: the template no longer provides it, but this repository changed "
        "it; fold it into docs/index.md, then `git rm docs/train.md`"
    ) in said
    assert not (clean / "docs/serve.md").exists()
    assert (clean / "docs/train.md").read_text() == "# Train\n\nOur own page.\n"
    again = snapshot(clean)
    migrate(clean, "remove.py", hint, "docs/[st]*.md", "docs/absent/*.md", "LICENSE")
    assert snapshot(clean) == again


def test_remove_with_patterns_that_match_nothing_says_so(clean: Path) -> None:
    before = snapshot(clean)
    said = migrate(clean, "remove.py", "--hint={x} {path}", "src/*/absent.py", "docs/*/x.md")
    assert "nothing to remove: no file matches src/*/absent.py docs/*/x.md" in said
    assert snapshot(clean) == before


# --- renew.py: project-owned files a version changes -------------------------------------
def test_renew_deletes_an_unedited_file_only_while_it_holds_the_previous_versions_bytes(
    clean: Path,
) -> None:
    train = clean / "src/churn_model/train.py"
    said = migrate(clean, "renew.py", "src/*/train.py")
    assert "src/churn_model/train.py had no local edits: it takes the new version's" in said
    assert not train.exists()
    assert migrate(clean, "renew.py", "src/*/train.py") == ""  # nothing left to delete
    assert not train.exists()
    train.write_text("# the new version's training\n")  # as Copier then renders it
    assert migrate(clean, "renew.py", "src/*/train.py") == ""
    assert train.read_text() == "# the new version's training\n"


def test_renew_keeps_an_edited_file_and_reports_it_with_the_hint(clean: Path) -> None:
    dataset = clean / "src/churn_model/dataset.py"
    dataset.write_text(dataset.read_text() + "\n\nOURS = 1\n")
    git(clean, "commit", "-qam", "Our data code")
    edited = dataset.read_bytes()
    args = ("--hint=compare {path} with a fresh copy", "src/*/dataset.py", "tests/test_training.py")
    said = migrate(clean, "renew.py", *args)
    kept = (
        "kept src/churn_model/dataset.py as you changed it, but this version changes what it "
        "must contain: compare src/churn_model/dataset.py with a fresh copy"
    )
    assert kept in said
    assert dataset.read_bytes() == edited
    assert "tests/test_training.py had no local edits" in said
    assert not (clean / "tests/test_training.py").exists()
    after = snapshot(clean)
    assert kept in migrate(clean, "renew.py", "--quiet=True", *args)  # a problem: always said
    assert snapshot(clean) == after


def test_renew_without_a_hint_says_to_compare_with_the_new_version(clean: Path) -> None:
    evaluate = clean / "src/churn_model/evaluate.py"
    evaluate.write_text(evaluate.read_text() + "\n# ours\n")
    git(clean, "commit", "-qam", "Our evaluation")
    said = migrate(clean, "renew.py", "src/*/evaluate.py")
    assert "compare it with a fresh copy of the new version and carry your changes over" in said


TOGETHER = ("--together", "--hint=compare {path} with a fresh copy", "src/*/[dt]*.py")
"""An example's files as one unit: dataset.py, train.py and training_config.py."""


def test_renew_together_renews_every_file_when_none_was_edited(clean: Path) -> None:
    said = migrate(clean, "renew.py", *TOGETHER)
    for name in ("dataset", "train", "training_config"):
        assert f"src/churn_model/{name}.py had no local edits" in said
        assert not (clean / f"src/churn_model/{name}.py").exists()
    assert "kept" not in said


def test_renew_together_keeps_every_file_when_one_was_edited(clean: Path) -> None:
    dataset = clean / "src/churn_model/dataset.py"
    dataset.write_text(dataset.read_text() + "\n\nOURS = 1\n")
    git(clean, "commit", "-qam", "Our data code")
    before = snapshot(clean)
    said = migrate(clean, "renew.py", *TOGETHER)
    assert (
        "kept src/churn_model/dataset.py as you changed it, but this version changes what it "
        "must contain: compare src/churn_model/dataset.py with a fresh copy"
    ) in said
    assert (
        "kept src/churn_model/train.py, src/churn_model/training_config.py as they were too: "
        "they go with src/churn_model/dataset.py; compare them with a fresh copy of the new "
        "version"
    ) in said
    assert "had no local edits" not in said
    assert snapshot(clean) == before
    assert "as they were too" in migrate(clean, "renew.py", "--quiet=True", *TOGETHER)
    assert snapshot(clean) == before


def test_renew_together_puts_back_what_an_earlier_version_renewed(clean: Path) -> None:
    dataset = clean / "src/churn_model/dataset.py"
    dataset.write_text(dataset.read_text() + "\n\nOURS = 1\n")
    git(clean, "commit", "-qam", "Our data code")
    before = snapshot(clean)
    migrate(clean, "renew.py", "src/*/train.py")  # an earlier version's renewal, unedited
    assert not (clean / "src/churn_model/train.py").exists()
    migrate(clean, "renew.py", *TOGETHER)
    assert snapshot(clean) == before


def test_renew_and_remove_without_patterns_are_usage_errors(clean: Path) -> None:
    for script in ("renew.py", "remove.py"):
        proc = subprocess.run(
            [sys.executable, str(MIGRATIONS / script), "--hint=x"],
            cwd=clean, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode != 0
        assert f"usage: {script} [--hint=TEXT]" in proc.stderr
        assert "PATTERN..." in proc.stderr


# --- common.head_paths ---------------------------------------------------------------------
def load_common() -> ModuleType:
    path = MIGRATIONS / "common.py"
    spec = importlib.util.spec_from_file_location("modelrail_migrations_common", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_head_paths_match_one_path_segment_per_star(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``_skip_if_exists`` globs: ``*`` never crosses a ``/``; only HEAD's files count."""
    files = ["src/a/app.py", "src/a/b/app.py", "src/app.py", "tests/test_x.py", "tests/s/test_y.py"]
    for path in files:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "files")
    (tmp_path / "src/c").mkdir()
    (tmp_path / "src/c/app.py").write_text("not committed\n")
    monkeypatch.chdir(tmp_path)
    head_paths = load_common().head_paths
    assert head_paths(["src/*/app.py"]) == ["src/a/app.py"]
    assert head_paths(["tests/*.py", "src/a/app.py", "src/?/app.py"]) == [
        "tests/test_x.py",
        "src/a/app.py",
    ]
    assert head_paths(["*/*/*/app.py", "src/*"]) == ["src/a/b/app.py", "src/app.py"]
    assert head_paths(["*.py", "src/[!a]/app.py"]) == []


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
