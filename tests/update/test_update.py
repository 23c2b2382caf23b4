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

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from copier.errors import UserMessageError
from hypothesis import HealthCheck, given, settings
from modelrail_fleet.cli import main as modelrail
from packaging.version import Version

from tests.helpers import CONFORMANCE_DIR, answers_with_index, run
from tests.template.answers import valid_answers
from tests.update.conftest import (
    MAIN_ANSWERS,
    UNTOUCHED_ANSWERS,
    FreshCopies,
    History,
    ReleaseUpdate,
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
from tests.update.releases import (
    Migration,
    ReleaseRepo,
    crossed_migrations,
    each_release,
    recorded_releases,
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
    project_version,
)

pytestmark = pytest.mark.slow
targets = pytest.mark.parametrize("target", TARGETS)

CONFLICT = re.compile(rb"^(<<<<<<< |=======$|>>>>>>> )", re.MULTILINE)
LOCKFILE = "uv.lock"
ANSWERS = ".copier-answers.yml"


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


# --- every release of this repository (releases.toml) -----------------------------------
RELEASES = recorded_releases()
# Overridable so that two checkouts testing on one Docker engine do not retag each other's image.
RELEASE_IMAGE = os.environ.get("MODELRAIL_RELEASE_UPDATE_IMAGE", "modelrail-release-update:test")
KEPT_AS_THEY_WERE = (
    "README.md",
    "docs/model-card.md",
    "tests/golden/infer_request.json",
    "tests/golden/infer_response.json",
)
"""Project-owned files this version renders otherwise: an update leaves each as it was,
unless a migration it crosses renews it (`kept_as_they_were`)."""


def crossed(update: ReleaseUpdate) -> list[Migration]:
    return crossed_migrations(update.tag, Version(project_version()))


def renewed(update: ReleaseUpdate, path: str) -> bool:
    """Whether the update renews ``path`` (a ``renew.py`` migration matches it)."""
    return any(m.script == "renew.py" and m.matches(path) for m in crossed(update))


def kept_together(update: ReleaseUpdate) -> list[str]:
    """Files of a ``renew.py --together`` unit one of whose files the owners edited."""
    edited = update.edited()
    kept: list[str] = []
    for migration in crossed(update):
        if migration.script == "renew.py" and migration.together:
            unit = [path for path in update.before if migration.matches(path)]
            if any(path in edited for path in unit):
                kept += [path for path in unit if path not in kept]
    return kept


def kept_as_they_were(update: ReleaseUpdate) -> list[str]:
    """The files an update from a release leaves with their bytes: `KEPT_AS_THEY_WERE`
    that no crossed migration renews, the files the owners edited, and the units kept with
    them."""
    kept = [path for path in KEPT_AS_THEY_WERE if not renewed(update, path)]
    for path in (*update.edited(), *kept_together(update)):
        if path not in kept:
            kept.append(path)
    return kept


def expected_from_release(update: ReleaseUpdate, fresh: Snapshot) -> Snapshot:
    """The project after an update from a release: a fresh copy of this checkout, but for
    the files `kept_as_they_were` (those this version no longer renders or renews are kept
    with a word). uv.lock, never rendered, is left out (`make check` checks it)."""
    expected = dict(fresh)
    for path in kept_as_they_were(update):
        expected[path] = update.before[path]
    return expected


def without_lockfile(files: Snapshot) -> Snapshot:
    return {path: content for path, content in files.items() if path != LOCKFILE}


@each_release(RELEASES)
def test_every_release_updates_to_this_checkout_like_a_fresh_copy(
    release_repo: ReleaseRepo,
    release_updates: Callable[[str | None], ReleaseUpdate],
    release_fresh: Path,
    tag: str | None,
) -> None:
    """An untouched project from each release of releases.toml, updated to this checkout
    (its migrations included), equals a fresh copy of this checkout: the same files, the
    answers file included, but for the README (and what no crossed migration renews), as
    it was."""
    update = release_updates(tag)
    fresh = snapshot(release_fresh)
    assert differing(without_lockfile(update.after), expected_from_release(update, fresh)) == []
    assert "README.md" in kept_as_they_were(update)
    for path in kept_as_they_were(update):
        assert update.after[path] == update.before[path], path
    assert update.after[ANSWERS] == fresh[ANSWERS]
    if release_repo.target != "HEAD":
        assert f"_commit: {release_repo.target}\n".encode() in update.after[ANSWERS]
    assert update.unmerged == ""
    assert [line for line in update.said if line.startswith("kept")] == []
    assert "uv.lock updated for the new pyproject.toml: review and commit it with the update" in (
        update.said
    )


def test_the_release_owners_are_on_passes_make_check_once_updated(
    users_update: ReleaseUpdate,
) -> None:
    """Lint, format check, mypy --strict and the project's tests, on the runtime from the
    local index, as uv.lock (re-locked by the update) pins it."""
    proc = run(["make", "check"], users_update.project, timeout=1800)
    assert re.search(r"\d+ passed", proc.stdout), proc.stdout[-2000:]


@pytest.mark.docker
def test_the_release_owners_are_on_builds_an_image_that_passes_every_conformance_rule(
    users_update: ReleaseUpdate, base_image: str
) -> None:
    """The updated project's own `make image` and `make conformance-only` (with this
    checkout's suite): every active rule passes, SHOULD rules included, but INF-007
    (nested tensor data), which needs an input of rank 2: the churn model's are of rank 1."""
    from modelrail_conformance import build_registry

    project = users_update.project
    run(["make", "image", f"BASE_IMAGE={base_image}", f"IMAGE={RELEASE_IMAGE}"], project)
    suite = f"MODELRAIL_CONFORMANCE={CONFORMANCE_DIR}"
    proc = run(["make", "conformance-only", f"IMAGE={RELEASE_IMAGE}", suite], project,
               ok_codes=(0, 1))  # fmt: skip
    report = json.loads((project / "reports" / "conformance" / "report.json").read_text())
    failed = [rule for rule in report["rules"] if rule["status"] != "pass"]
    assert [rule["rule_id"] for rule in failed] == ["INF-007"], json.dumps(failed, indent=1)[:4000]
    assert failed[0]["status"] == "not_applicable"
    active = {rule.id for rule in build_registry().active()}
    assert {rule["rule_id"] for rule in report["rules"]} == active
    assert (proc.returncode, report["passed"]) == (0, True)


# --- an edited project from the last release with the runtime as source -----------------
TRAINING_CODE = (
    "src/churn_model/train.py",
    "src/churn_model/evaluate.py",
    "src/churn_model/dataset.py",
    "tests/test_training.py",
)
"""Project-owned, importing runtime modules up to v0.1.x: v0.2.0 renews unedited copies, but
v0.3.0 keeps the whole example as it was when one of its files was edited."""


def kept_lines(update: ReleaseUpdate, path: str, script: str, opening: str) -> list[str]:
    """What each crossed ``script`` migration says of an edited ``path`` it keeps:
    ``opening``, then its hint."""
    lines = []
    for migration in crossed(update):
        if migration.script == script and migration.matches(path):
            assert migration.hint, f"the {script} migration of {migration.version} has no --hint"
            lines.append(opening + migration.hint.format(path=path))
    assert lines, f"no crossed {script} migration matches {path}"
    return lines


def test_edited_runtime_files_are_kept_and_named_with_what_to_do(
    edited_release: ReleaseUpdate,
) -> None:
    update = edited_release
    for path in update.edited("runtime"):
        assert update.after[path] == update.before[path], path
        opening = f"kept {path}: the template no longer provides it, but this repository "
        (line,) = kept_lines(update, path, "remove.py", opening + "changed it; ")
        assert line in update.said
        assert f"then `git rm {path}`" in line


def test_an_edited_training_file_is_kept_and_named_with_what_to_change(
    edited_release: ReleaseUpdate,
) -> None:
    update = edited_release
    (path,) = update.edited("training")
    assert renewed(update, path)
    assert update.after[path] == update.before[path]
    opening = f"kept {path} as you changed it, but this version changes what it must contain: "
    lines = kept_lines(update, path, "renew.py", opening)
    assert len(lines) == 4, (
        "v0.2.0 renews the training code, v0.3.0, v0.5.0 and v0.6.0 the example as a unit"
    )
    for line in lines:
        assert line in update.said


def test_unedited_runtime_files_go_and_the_example_stays_with_the_edited_training_file(
    edited_release: ReleaseUpdate, release_fresh: Path
) -> None:
    update, fresh = edited_release, snapshot(release_fresh)
    edited = update.edited()
    dropped = [path for path in update.before if path not in fresh and path not in edited]
    assert len(dropped) > 40, dropped
    assert [path for path in dropped if path in update.after] == []
    unedited = [path for path in TRAINING_CODE if path not in edited]
    assert len(unedited) == 3
    assert set(unedited) <= set(kept_together(update))
    for path in unedited:
        assert update.before[path] != fresh[path], f"{path}: no renewal to test"
        assert update.after[path] == update.before[path], path
    # v0.3.0, v0.5.0 and v0.6.0 renew the example as a unit: each keeps the unedited files
    # with it.
    lines = [line for line in update.said if "as they were too" in line]
    assert len(lines) == 3, lines
    for line in lines:
        assert all(path in line for path in unedited), line


def test_an_edited_release_keeps_the_owners_files_and_updates_without_conflicts(
    edited_release: ReleaseUpdate, release_fresh: Path
) -> None:
    """The edited files and the example kept with them as they were; nothing else but the
    fresh copy; no conflict marker, *.rej file or unmerged path."""
    update = edited_release
    for path in (*update.edited("own"), *kept_as_they_were(update)):
        assert update.after[path] == update.before[path], path
    expected = expected_from_release(update, snapshot(release_fresh))
    assert differing(update.after, expected) == []
    assert [p for p, content in update.after.items() if CONFLICT.search(content)] == []
    assert update.unmerged == ""
