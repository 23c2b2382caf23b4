"""``copier update`` across template versions, one test per promise of the update contract.

The main history (tests/update/conftest.py) is a project generated at this checkout's own
version (`BASE`), edited the way owners edit, then updated to the scripted `NEXT`, `LATEST`
and HEAD. Expected contents are computed, not written down: a fresh copy at the target
version, with the owner's edits applied to the template-owned files they touched, and the
project's own versions of project-owned files.

The last part updates projects generated at this repository's real releases
(releases.toml) to this checkout, untouched and edited, as their owners will.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from copier.errors import UserMessageError
from hypothesis import HealthCheck, given, settings
from modelrail_conformance.fleet.cli import main as modelrail

from tests.helpers import REPO_ROOT, answers_with_index
from tests.template.answers import valid_answers
from tests.update.conftest import (
    MAIN_ANSWERS,
    UNTOUCHED_ANSWERS,
    FreshCopies,
    History,
    Untouched,
)
from tests.update.edits import Edit, appending, overlapping
from tests.update.projects import (
    PROJECT_DIR,
    Snapshot,
    clean_environ,
    commit_all,
    copy_at,
    fresh_copy,
    head,
    is_project_owned,
    snapshot,
    status,
    update,
)
from tests.update.template_versions import (
    BASE,
    CHANGED_PROJECT_OWNED,
    GIT_IDENTITY,
    LATEST,
    NEW_ALERT,
    NEW_QUESTION,
    NEXT,
    REMOVED,
    RENAMED,
    TARGETS,
    TemplateRepo,
    git,
)

pytestmark = pytest.mark.slow
targets = pytest.mark.parametrize("target", TARGETS)

CONFLICT = re.compile(rb"^(<<<<<<< |=======$|>>>>>>> )", re.MULTILINE)
LOCKFILE = "uv.lock"


def differing(actual: Snapshot, expected: Snapshot) -> list[str]:
    """Paths whose content differs, or that exist on one side only."""
    return sorted(p for p in actual.keys() | expected.keys() if actual.get(p) != expected.get(p))


def template_owned_edits(history: History, fresh: FreshCopies) -> list[Edit]:
    """The owners' edits of files the template renders and owns."""
    first = snapshot(fresh(BASE, MAIN_ANSWERS))
    return [e for e in history.edits if e.path in first and not is_project_owned(e.path)]


def expected_after(history: History, fresh: FreshCopies, target: str) -> Snapshot:
    """The project after updating to ``target``: new standard in, owner's edits kept."""
    first, new = snapshot(fresh(BASE, MAIN_ANSWERS)), snapshot(fresh(target, MAIN_ANSWERS))
    expected = dict(new)
    for path in new:
        if is_project_owned(path):
            expected[path] = history.edited.get(path, first[path])
    for edit in history.edits:
        if edit.path not in first:  # added by the owners
            expected[edit.path] = history.edited[edit.path]
        elif not is_project_owned(edit.path):
            moved = edit.path_at(target)
            if moved in new:
                expected[moved] = edit.change(new[moved].decode()).encode()
            else:  # removed by the template: the owners' edited copy is kept
                expected[moved] = history.edited[edit.path]
    expected[LOCKFILE] = history.lock
    return expected


# --- the main history, per target -------------------------------------------------------
@targets
def test_untouched_template_owned_files_equal_a_fresh_copy(
    history: History, fresh: FreshCopies, target: str
) -> None:
    after = history.steps[target].after
    new = snapshot(fresh(target, MAIN_ANSWERS))
    edited = {e.path_at(target) for e in history.edits}
    untouched = [p for p in new if not is_project_owned(p) and p not in edited]
    assert len(untouched) > 40
    assert [p for p in untouched if after.get(p) != new[p]] == []


@targets
def test_owner_edits_of_template_owned_files_are_merged_into_the_new_standard(
    history: History, fresh: FreshCopies, target: str
) -> None:
    expected = expected_after(history, fresh, target)
    after = history.steps[target].after
    merged = [e.path_at(target) for e in template_owned_edits(history, fresh)]
    assert sorted(merged) == [REMOVED, "Dockerfile", RENAMED[1], "pyproject.toml"]
    assert [p for p in merged if after.get(p) != expected[p]] == []


@targets
def test_project_owned_files_survive_byte_for_byte(
    history: History, fresh: FreshCopies, target: str
) -> None:
    after = history.steps[target].after
    for path, content in history.edited.items():
        if is_project_owned(path) or path not in snapshot(fresh(BASE, MAIN_ANSWERS)):
            assert after.get(path) == content, path
    assert after[LOCKFILE] == history.lock
    first = snapshot(fresh(BASE, MAIN_ANSWERS))
    untouched_owned = [p for p in first if is_project_owned(p) and p not in history.edited]
    assert [p for p in untouched_owned if after.get(p) != first[p]] == []


@targets
def test_the_project_is_exactly_what_the_contract_says(
    history: History, fresh: FreshCopies, target: str
) -> None:
    """No file lost, none left over, none different from the computed expectation."""
    assert differing(history.steps[target].after, expected_after(history, fresh, target)) == []


@targets
def test_no_conflict_and_no_rej_file_when_edits_do_not_overlap(
    history: History, target: str
) -> None:
    step = history.steps[target]
    assert [p for p in step.after if p.endswith(".rej")] == []
    assert [p for p, content in step.after.items() if CONFLICT.search(content)] == []
    assert step.unmerged == ""


@targets
def test_a_second_update_is_a_no_op(history: History, target: str) -> None:
    step = history.steps[target]
    assert step.second_status == ""
    assert differing(step.second, step.rerun) == []


@targets
def test_migrations_run_again_change_nothing(history: History, target: str) -> None:
    step = history.steps[target]
    assert differing(step.rerun, step.after) == []
    assert "conflict" not in step.rerun_output


def test_renames_new_rules_and_new_questions_reach_the_project(history: History) -> None:
    after = history.steps[NEXT].after
    old, new = RENAMED
    assert old not in after
    assert b"## Our alerts" in after[new]
    assert after[new].startswith(b"# Monitoring\n")
    assert f"\n### {NEW_ALERT}\n".encode() in after[new]
    runbook = f"docs/monitoring.md#{NEW_ALERT.lower()}".encode()
    rules, rule_tests = "monitoring/prometheus/rules.yml", "monitoring/tests/model_test.yml"
    assert f"- alert: {NEW_ALERT}\n".encode() in after[rules]
    assert f"alertname: {NEW_ALERT}\n".encode() in after[rule_tests]
    assert runbook in after[rules]
    assert runbook in after[rule_tests]
    assert b"docs/monitoring.md" in after["tests/test_monitoring_assets.py"]
    assert b"--interval=15s" in after["Dockerfile"]
    assert b"uv lock --check" in after[".github/workflows/ci.yml"]
    name, default = NEW_QUESTION
    assert f"{name}: {default}\n".encode() in after[".copier-answers.yml"]
    assert REMOVED in after


def test_a_removed_file_is_deleted_unless_the_owners_edited_it(
    history: History, untouched: Untouched
) -> None:
    assert REMOVED not in untouched.steps[LATEST].after
    step = history.steps[LATEST]
    assert step.after[REMOVED] == history.edited[REMOVED]
    assert REMOVED not in step.status
    assert f"kept {REMOVED}: the template no longer provides it" in step.rerun_output


def test_a_project_owned_file_the_template_changed_keeps_the_projects_version(
    history: History, fresh: FreshCopies
) -> None:
    assert b"## Fairness" in snapshot(fresh(LATEST, MAIN_ANSWERS))[CHANGED_PROJECT_OWNED]
    for target in (LATEST, "HEAD"):
        card = history.steps[target].after[CHANGED_PROJECT_OWNED]
        assert card == history.edited[CHANGED_PROJECT_OWNED]
        assert b"## Fairness" not in card


# --- projects nobody edited --------------------------------------------------------------
@targets
def test_an_untouched_project_updated_to_a_version_equals_a_fresh_copy(
    untouched: Untouched, fresh: FreshCopies, target: str
) -> None:
    """Equal file for file, except project-owned files the template changed meanwhile:
    those keep the project's version (here only the model card, from `LATEST` on)."""
    new = snapshot(fresh(target, UNTOUCHED_ANSWERS))
    after = untouched.steps[target].after
    differences = differing(after, new)
    assert differences == ([] if target == NEXT else [CHANGED_PROJECT_OWNED])
    for path in differences:
        assert after[path] == untouched.first[path]


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(answers=valid_answers)
def test_any_answers_untouched_project_updated_to_head_equals_a_fresh_copy(
    template_repo: TemplateRepo, tmp_path_factory: pytest.TempPathFactory, answers: dict
) -> None:
    """Two drawn answer sets (each costs a copy, an update across every version and a
    fresh copy): the update equals a fresh copy, whatever the names and choices."""
    project = copy_at(template_repo, tmp_path_factory.mktemp("drawn"), BASE, answers)
    first = snapshot(project)
    update(project, "HEAD")
    reference = fresh_copy(template_repo, tmp_path_factory.mktemp("drawn-fresh"), "HEAD", answers)
    after = snapshot(project)
    differences = differing(after, snapshot(reference))
    assert differences == [CHANGED_PROJECT_OWNED]
    assert after[CHANGED_PROJECT_OWNED] == first[CHANGED_PROJECT_OWNED]


# --- conflicts ---------------------------------------------------------------------------
def take_after_updating(text: str) -> str:
    """Resolve every inline conflict by keeping the template's side."""
    return re.sub(
        r"<<<<<<< before updating\n.*?=======\n(.*?)>>>>>>> after updating\n",
        r"\1",
        text,
        flags=re.DOTALL,
    )


def commit_with_hooks(project: Path) -> subprocess.CompletedProcess[str]:
    """``git commit`` through the generated pre-commit hooks.

    The ruff and mypy hooks are skipped (SKIP): they need the project's uv environment,
    which this test does not build; the hooks under test are the conflict ones.
    """
    git(project, "add", "-A")
    return subprocess.run(
        ["git", "commit", "-m", f"Update modelrail template to {NEXT}"],
        cwd=project,
        env={**clean_environ(), **GIT_IDENTITY, "SKIP": "ruff,ruff-format,mypy"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_overlapping_edits_conflict_inline_and_the_hooks_refuse_to_commit_them(
    template_repo: TemplateRepo, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = copy_at(template_repo, tmp_path, BASE)
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=project, check=True)
    for edit in overlapping():
        edit.apply(project)
    commit_all(project, f"Local edits on the lines {NEXT} changes")
    before = head(project)
    capfd.readouterr()

    update(project, NEXT)

    dockerfile = (project / "Dockerfile").read_text()
    assert re.search(
        r"<<<<<<< before updating\n.*--interval=30s.*\n=======\n.*--interval=15s.*\n"
        r">>>>>>> after updating\n",
        dockerfile,
    ), dockerfile
    monitoring = (project / RENAMED[1]).read_text()
    assert "<<<<<<< before updating\n# Monitoring the churn model\n=======\n# Monitoring\n" in (
        monitoring
    )
    assert not (project / RENAMED[0]).exists()
    assert not list(project.rglob("*.rej"))
    assert "Dockerfile" in git(project, "ls-files", "--unmerged")
    assert "the update left conflicts in Dockerfile, docs/monitoring.md" in capfd.readouterr().err

    refused = commit_with_hooks(project)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert re.search(r"refuse merge conflict markers\.+Failed", output), output
    assert "Dockerfile:" in output
    assert f"{RENAMED[1]}:" in output
    assert head(project) == before

    for path in ("Dockerfile", RENAMED[1]):
        file = project / path
        file.write_text(take_after_updating(file.read_text()))
    (project / "Dockerfile.rej").write_text("@@ a hunk copier could not apply\n")
    refused = commit_with_hooks(project)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert re.search(r"refuse \*\.rej files\.+Failed", output), output
    assert re.search(r"refuse merge conflict markers\.+Passed", output), output
    assert head(project) == before

    (project / "Dockerfile.rej").unlink()
    committed = commit_with_hooks(project)
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert head(project) != before


# --- refusals ----------------------------------------------------------------------------
@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_an_update_in_a_dirty_tree_is_refused_and_changes_nothing(
    template_repo: TemplateRepo, tmp_path: Path, change: str
) -> None:
    project = copy_at(template_repo, tmp_path, BASE)
    if change == "modified":
        Edit("Dockerfile", appending("# work in progress\n")).apply(project)
    else:
        Edit("notes.txt", appending("work in progress\n")).apply(project)
    before, before_status, before_head = snapshot(project), status(project), head(project)
    with pytest.raises(UserMessageError, match=r"dirty.*commit or stash your local changes"):
        update(project, NEXT)
    assert snapshot(project) == before
    assert status(project) == before_status
    assert head(project) == before_head


def test_a_repository_without_answers_file_is_told_how_to_adopt_the_template(
    template_repo: TemplateRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message names the command; following it makes the repository updatable (the
    fleet sees its version and the update available)."""
    repo = tmp_path / PROJECT_DIR
    repo.mkdir()
    (repo / "README.md").write_text("# Churn model\n\nOur own README.\n")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "A service written before the template")
    args = ["fleet", "update", str(repo), "--to", NEXT, "--run", "true"]
    assert modelrail([*args, "--template", template_repo.source]) == 1
    out = capsys.readouterr().out
    adopt = f"uvx copier copy --trust --overwrite --vcs-ref {NEXT} {template_repo.source} ."
    assert "refused" in out
    assert "no .copier-answers.yml" in out
    assert adopt in out

    from copier import run_copy

    run_copy(template_repo.source, str(repo), data=answers_with_index(), vcs_ref=NEXT,
             defaults=True, overwrite=True, unsafe=True, skip_tasks=True, quiet=True)  # fmt: skip
    assert (repo / "README.md").read_text() == "# Churn model\n\nOur own README.\n"
    commit_all(repo, f"Adopt modelrail {NEXT}")
    assert modelrail(["fleet", "status", str(repo)]) == 0
    assert f"| {repo} | {NEXT} | {LATEST} | yes | no report | — |" in capsys.readouterr().out


# --- every release of this repository -----------------------------------------------------
def release_tags() -> list[str]:
    proc = subprocess.run(
        ["git", "tag", "--list", "v*"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    return sorted(proc.stdout.split()) if proc.returncode == 0 else []


@pytest.mark.parametrize("tag", release_tags())
def test_every_release_updates_to_this_checkout_like_a_fresh_copy(tag: str, tmp_path: Path) -> None:
    """An untouched project from each released tag of this repository, updated to the
    working tree, equals a fresh copy of it (apart from project-owned files)."""
    from copier import run_copy, run_update

    project = tmp_path / "from" / PROJECT_DIR
    run_copy(str(REPO_ROOT), str(project), vcs_ref=tag, defaults=True, unsafe=True,
             skip_tasks=True, quiet=True)  # fmt: skip
    git(project, "init", "-q", "-b", "main")
    commit_all(project, f"Generated from {tag}")
    run_update(str(project), vcs_ref="HEAD", defaults=True, overwrite=True, conflict="inline",
               unsafe=True, skip_tasks=True, quiet=True)  # fmt: skip
    reference = tmp_path / "fresh" / PROJECT_DIR
    run_copy(str(REPO_ROOT), str(reference), vcs_ref="HEAD", defaults=True, unsafe=True,
             skip_tasks=True, quiet=True)  # fmt: skip
    updated, fresh = snapshot(project), snapshot(reference)
    if uncommitted_changes(REPO_ROOT):
        # Copier renders a dirty checkout from a commit of its own, made anew on each run:
        # `_commit` ends in a different `-g<hash>` each time. A CI checkout is clean.
        for files in (updated, fresh):
            files[ANSWERS] = DIRTY_COMMIT.sub(rb"\1-g<dirty>", files[ANSWERS])
    differences = differing(updated, fresh)
    assert [p for p in differences if not is_project_owned(p)] == []
    assert updated[ANSWERS] == fresh[ANSWERS]


ANSWERS = ".copier-answers.yml"
DIRTY_COMMIT = re.compile(rb"^(_commit: \S+?)-g[0-9a-f]+$", re.MULTILINE)


def uncommitted_changes(repo: Path) -> bool:
    """Whether ``repo``'s working tree differs from its HEAD (untracked files included)."""
    return bool(git(repo, "status", "--porcelain").strip())
